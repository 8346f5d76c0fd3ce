#!/usr/bin/env python3
"""Throughput history with asv, commit by commit, into the tracked folder benchmarks/asv-results/.

asv runs with `environment_type: existing` (no internet, no builds), so it can only time the code it
imports. This script checks each commit out into a temporary git worktree and runs asv with that
worktree's benchmarks/ (whose common.py puts the worktree's lthbench first on sys.path), saving the
results under the commit's hash and the machine name in this checkout's benchmarks/asv-results/.

    python .ci/asv_history.py record HEAD~2 HEAD~1 HEAD     # results for these commits (default subset)
    python .ci/asv_history.py compare HEAD~1 HEAD           # record both if missing, then `asv compare`
    asv publish && asv preview                              # HTML of the whole history

Options: --machine NAME (default: cpu-<N>core, one name per machine kind), --bench REGEX (asv -b),
--quick-attrs (one round, three repeats, no warm-up: fit CI's budget, noisier). Compare is informational:
it prints asv's table (changes beyond --factor that asv's own statistics call significant) and exits 0
whatever the numbers say.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "asv-results"
DEFAULT_BENCH = r"^throughput\.LocalEnergyFast"
QUICK_ATTRS = ["-a", "rounds=1", "-a", "repeat=3", "-a", "warmup_time=0"]


def default_machine() -> str:
    return f"cpu-{os.cpu_count()}core"


def rev(commit: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", commit], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def asv_config(worktree: Path, where: Path | None = None) -> Path:
    """An asv config (written in `where`, default `worktree`) for `worktree`'s benchmarks with results in
    this checkout's tracked folder."""
    cfg = {
        "version": 1,
        "project": "lthbench",
        "project_url": "https://github.com/",
        "repo": str(ROOT),
        "branches": ["HEAD"],
        "dvcs": "git",
        "environment_type": "existing",
        "benchmark_dir": str(worktree / "benchmarks"),
        "env_dir": str(worktree / ".asv" / "env"),
        "results_dir": str(RESULTS),
        "html_dir": str(ROOT / ".asv" / "html"),
        "build_command": [],
        "install_command": [],
        "uninstall_command": [],
        "default_benchmark_timeout": 600,
    }
    path = (where or worktree) / "asv-history.conf.json"
    path.write_text(json.dumps(cfg, indent=1))
    return path


def ensure_machine(machine: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "asv", "machine", "--machine", machine, "--yes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )


def env_name() -> str:
    """asv's name of the 'existing' environment of this interpreter (it encodes the interpreter's path, so
    results from another checkout's virtualenv are another series)."""
    return "existing-py_" + sys.executable.strip("/").replace("/", "_")


def has_results(commit: str, machine: str) -> bool:
    return (RESULTS / machine / f"{commit[:8]}-{env_name()}.json").exists()


def record(commit: str, machine: str, bench: str, attrs: list[str]) -> int:
    """Run asv on `commit` (a temporary worktree) and save the results; asv's exit status."""
    full = rev(commit)
    with tempfile.TemporaryDirectory(prefix="asv-history-") as tmp:
        wt = Path(tmp) / "wt"
        subprocess.run(["git", "worktree", "add", "--detach", str(wt), full], cwd=ROOT, capture_output=True, check=True)
        try:
            cfg = asv_config(wt)
            cmd = [
                sys.executable,
                "-m",
                "asv",
                "run",
                "--config",
                str(cfg),
                "--python=same",
                "--machine",
                machine,
                "--set-commit-hash",
                full,
                "-b",
                bench,
                "--show-stderr",
                *attrs,
            ]
            print(f"asv on {full[:12]}: {' '.join(cmd[3:])}", flush=True)
            return subprocess.run(cmd, cwd=wt).returncode
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(wt)], cwd=ROOT, capture_output=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["record", "compare"])
    p.add_argument("commits", nargs="+")
    p.add_argument("--machine", default=default_machine())
    p.add_argument("--bench", default=DEFAULT_BENCH)
    p.add_argument("--quick-attrs", action="store_true")
    p.add_argument("--factor", type=float, default=1.5)
    p.add_argument("--force", action="store_true", help="re-run commits that already have results")
    args = p.parse_args(argv)
    ensure_machine(args.machine)
    attrs = QUICK_ATTRS if args.quick_attrs else []
    for c in args.commits:
        if args.force or not has_results(rev(c), args.machine):
            record(c, args.machine, args.bench, attrs)
    if args.action == "compare":
        a, b = (rev(c) for c in args.commits[-2:])
        with tempfile.TemporaryDirectory() as tmp:
            cfg = asv_config(ROOT, Path(tmp))
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "asv",
                    "compare",
                    "--config",
                    str(cfg),
                    "--machine",
                    args.machine,
                    "--factor",
                    str(args.factor),
                    "--split",
                    a,
                    b,
                ],
                cwd=ROOT,
            )
        print("asv comparison: informational (CI ignores its result; timings on a shared machine are noisy)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
