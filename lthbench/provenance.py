"""Provenance of a run: package versions, git commit, JAX backend and device, CPU vector instruction
sets, config and CLI args."""

from __future__ import annotations

import datetime
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jax

from . import __version__

PACKAGES = ("jax", "jaxlib", "dm-haiku", "optax", "numpy", "scipy", "xarray", "h5netcdf")
VECTOR_ISA_PREFIXES = ("sse4", "avx", "fma", "f16c", "amx")


def cpu_features() -> str:
    """The CPU's vector instruction sets XLA compiles for ('avx avx2 avx512f fma ...', sorted; '' where
    /proc/cpuinfo is unreadable): float32 training's last bits depend on them, so two machines with the
    same platform string can give float32 nets (CNN, ResCNN) different numbers."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return " ".join(sorted({f for f in flags if f.startswith(VECTOR_ISA_PREFIXES)}))


def git_commit(repo_dir: str | Path | None = None) -> str:
    """`git rev-parse HEAD` of the checkout this package lives in ('' when not a git checkout)."""
    repo_dir = Path(repo_dir) if repo_dir else Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo_dir, capture_output=True, text=True, timeout=10, check=True
        )
        commit = out.stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo_dir,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return ""


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out


def device_info() -> dict[str, str]:
    devices = jax.devices()
    return {
        "backend": jax.default_backend(),
        "device": str(devices[0]) if devices else "",
        "device_kind": getattr(devices[0], "device_kind", "") if devices else "",
        "n_devices": str(len(devices)),
        "x64": str(bool(jax.config.jax_enable_x64)),  # pyright: ignore[reportAttributeAccessIssue] - jax sets its flags as attributes at run time
    }


def collect(*, task=None, args: dict | None = None, extra: dict | None = None) -> dict:
    """The provenance dict stored (as JSON) in a results file's `provenance_json` attribute."""
    prov = {
        "lthbench_version": __version__,
        "git_commit": git_commit(),
        "versions": versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_features": cpu_features(),
        "created_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        **device_info(),
    }
    if task is not None:
        prov["task"] = task.to_dict() if hasattr(task, "to_dict") else task
    if args is not None:
        prov["args"] = args
    if extra:
        prov.update(extra)
    return prov
