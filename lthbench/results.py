"""Results: one record per cell, a store of cells on disk, and the xarray dataset they merge into.

A cell is one (task, method, control, round, seed). `RunStore(out_path)` keeps every finished cell in
`f"{out_path}.cells/"` as a JSON record plus an `.npz` of artifacts (masks and params), each written
atomically (temp file in the same directory, then `os.replace`); the record is written last, so a cell
whose record exists is complete, and a rerun skips it (resume). `finalize` merges every cell into an
`xr.Dataset` and writes `out_path` (netCDF, h5netcdf engine), again atomically. The file format is
documented in docs/results-format.md.

Every record carries the `fingerprint` of its chain (see `lthbench.experiment.identity`); the dataset
keeps it per (task, method) and says which layout it has in `schema_version`. `RunStore.lock()` is
the advisory lock (fcntl.flock) a run holds on its output while it writes.

This layer knows only records: no physics, no pruning.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import math
import os
import re
import socket
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import LthbenchError, one_line

CONTROLS = ("imp", "ticket", "reinit", "random-mask")
KEY_FIELDS = ("task", "method", "control", "round", "seed")
DIMS = KEY_FIELDS

# Per-cell variables of the dataset: name -> (units, long name).
VARIABLES = {
    "energy": ("energy unit of the task's Hamiltonian", "variational energy <H>"),
    "energy_sigma": ("energy unit of the task's Hamiltonian", "standard error of the energy"),
    "variance": ("energy unit squared", "variance of the local energy Var(E_loc)"),
    "rel_error": ("1", "relative error |E - E_ref| / |E_ref|"),
    "abs_error_per_spin": ("energy unit per spin", "|E - E_ref| / N"),
    "v_score": ("1", "V-score N Var(E) / (E - E_inf)^2, E_inf = Tr H / dim H"),
    "fidelity_prev": ("1", "fidelity to the previous IMP round's state"),
    "fidelity_exact": ("1", "weight of the state in the exact ground space"),
    "m_z": ("1", "signed Z magnetisation per spin, mean <Z_i>"),
    "m_x": ("1", "X magnetisation per spin, mean <X_i>"),
    "n_alive": ("weights", "number of alive prunable weights n"),
    "n_prunable": ("weights", "number of prunable weights of the dense net"),
    "density": ("1", "n_alive / n_prunable"),
    "rho": ("weights per spin", "rho = n_alive / N"),
    "wall_time": ("s", "wall-clock time of the cell"),
    "samples_per_s": ("1/s", "configurations evaluated per second of training"),
    "diverged": ("1", "1 when training diverged (non-finite energy), 0 otherwise"),
}
# Per-task variables.
TASK_VARIABLES = {
    "reference_energy": ("energy unit of the task's Hamiltonian", "reference ground-state energy E_ref"),
    "reference_uncertainty": (
        "energy unit of the task's Hamiltonian",
        "stated absolute uncertainty of E_ref (NaN: unknown)",
    ),
    "n_spins": ("spins", "number of spins N"),
}
RECORD_FIELDS = (
    KEY_FIELDS + tuple(VARIABLES) + tuple(TASK_VARIABLES) + ("reference_source", "reference_method", "fingerprint")
)
# The dataset layout: 1 = before fingerprints (read as is, fingerprints ''), 2 = with `fingerprint`.
SCHEMA_VERSION = 2
READABLE_SCHEMAS = (1, 2)
TITLE = "lthbench results"
BENCH_TITLE = "lthbench throughput"  # `lthbench bench` files (lthbench.bench.to_dataset), also read here


@dataclass(frozen=True, order=True)
class CellKey:
    """One cell: (task, method, control, round, seed). control is 'imp', 'ticket', 'reinit' or
    'random-mask'; round 0 of control 'imp' is the dense network."""

    task: str
    method: str
    control: str
    round: int
    seed: int

    def as_dict(self) -> dict:
        return {
            "task": self.task,
            "method": self.method,
            "control": self.control,
            "round": int(self.round),
            "seed": int(self.seed),
        }

    @classmethod
    def from_record(cls, record: dict) -> CellKey:
        return cls(
            str(record["task"]),
            str(record["method"]),
            str(record["control"]),
            int(record["round"]),
            int(record["seed"]),
        )

    @property
    def stem(self) -> str:
        """A file-system-safe, collision-free file stem for this cell."""
        readable = f"{self.task}__{self.method}__{self.control}__r{self.round:03d}__s{self.seed}"
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", readable)[:160]
        digest = hashlib.sha1(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:10]
        return f"{readable}__{digest}"


# --------------------------------------------------------------------------------------------------
# Atomic files


def _umask() -> int:
    """The process umask: from /proc (Linux; no window in which another thread sees a changed umask),
    else by setting and restoring it."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_replace(path: Path, produce) -> None:
    """`produce(tmp_path)` writes a temp file in path's directory, which then replaces path (os.replace).

    The file gets the mode a plain `open()` would give it (0666 minus the umask), not mkstemp's 0600.
    Temp files are named `.<name>.<random>.tmp`; ones a killed process left behind are removed by the
    next run that takes the output's lock (`RunStore.lock`).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise LthbenchError(f"cannot write in {str(path.parent)!r}: {err.strerror}") from None
    os.close(fd)
    try:
        produce(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _atomic_write(path: Path, write) -> None:
    """Write via `write(file_object)`, fsync, then move into place atomically."""

    def produce(tmp):
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())

    _atomic_replace(path, produce)


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def _to_json(obj, **kw) -> str:
    """JSON with NaN/inf kept as the (non-standard) tokens Python's json reads back."""
    return json.dumps(obj, default=_json_default, sort_keys=True, **kw)


# --------------------------------------------------------------------------------------------------
# Artifacts: nested dicts of arrays <-> flat npz


def flatten_tree(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Haiku-style nested dicts -> {'module/param': array}. Leaves become numpy arrays."""
    flat: dict[str, np.ndarray] = {}
    if isinstance(tree, dict):
        for key in sorted(tree):
            flat.update(flatten_tree(tree[key], f"{prefix}{key}/"))
        return flat
    flat[prefix.rstrip("/")] = np.asarray(tree)
    return flat


def unflatten_tree(flat: dict[str, np.ndarray]) -> dict:
    """Inverse of flatten_tree for Haiku params: the last '/' separates module from param name.

    Haiku module names contain '/' ('ffnn/~/linear'), so a flat name 'ffnn/~/linear/w' becomes
    {'ffnn/~/linear': {'w': ...}} — Haiku's own two-level layout.
    """
    tree: dict = {}
    for name, value in flat.items():
        module, _, leaf = name.rpartition("/")
        if module:
            tree.setdefault(module, {})[leaf] = value
        else:
            tree[leaf] = value
    return tree


def _pack_artifacts(artifacts: dict[str, Any]) -> dict[str, np.ndarray]:
    packed = {}
    for kind, tree in artifacts.items():
        if "::" in kind:
            raise ValueError(f"artifact name {kind!r} may not contain '::'")
        for name, arr in flatten_tree(_host(tree)).items():
            packed[f"{kind}::{name}"] = arr
    return packed


def _unpack_artifacts(npz) -> dict[str, dict]:
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for key in npz.files:
        kind, _, name = key.partition("::")
        grouped.setdefault(kind, {})[name] = npz[key]
    return {kind: unflatten_tree(flat) for kind, flat in grouped.items()}


def _host(tree):
    if isinstance(tree, dict):
        return {k: _host(v) for k, v in tree.items()}
    return np.asarray(tree)


# --------------------------------------------------------------------------------------------------
# The store


def check_output_path(out_path: str | os.PathLike) -> Path:
    """The output path as a Path; LthbenchError when its directory does not exist or cannot be written,
    or the path is a directory."""
    path = Path(out_path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LthbenchError(f"output directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise LthbenchError(f"output path {str(path)!r} is a directory; give a file name such as results.nc")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise LthbenchError(f"output directory {str(parent)!r} is not writable")
    if path.exists() and not os.access(path, os.R_OK):
        raise LthbenchError(f"output file {str(path)!r} is not readable")
    return path


def check_results_output(out_path: str | os.PathLike) -> Path:
    """check_output_path, and an existing file at the path must be an lthbench results file that this
    version reads (runs merge into it): a foreign file is refused before any work starts."""
    path = check_output_path(out_path)
    if path.exists():
        read_attrs(path)
    cells = Path(f"{path}.cells")
    if cells.exists() and (not cells.is_dir() or not os.access(cells, os.W_OK | os.X_OK)):
        raise LthbenchError(f"{str(cells)!r} (the cells of {str(path)!r}) is not a writable directory")
    return path


def is_results_file(path: str | os.PathLike) -> bool:
    """True when path is a readable lthbench results file (any schema version)."""
    try:
        read_attrs(path)
    except LthbenchError:
        return False
    return True


def read_attrs(path: str | os.PathLike) -> dict:
    """The global attributes of an lthbench results file; LthbenchError when the file is none (another
    netCDF, not netCDF at all) or has a schema version this lthbench does not read."""
    import h5netcdf

    path = Path(path)
    if not path.is_file():
        raise LthbenchError(f"no results file {str(path)!r}")
    try:
        with h5netcdf.File(path, "r") as fh:
            attrs = {k: fh.attrs[k] for k in fh.attrs}
    except Exception as err:  # noqa: BLE001 - whatever the file is, it is not ours
        raise LthbenchError(f"{str(path)!r} is not an lthbench results file ({one_line(err, 120)})") from None
    return check_schema(attrs, str(path))


def _title(path: Path) -> str:
    import h5netcdf

    try:
        with h5netcdf.File(path, "r") as fh:
            title = fh.attrs.get("title", "")
    except Exception:  # noqa: BLE001 - not readable: no title
        return ""
    return title.decode() if isinstance(title, bytes) else str(title)


def check_schema(attrs: dict, where: str) -> dict:
    """attrs, or LthbenchError when they are not an lthbench results file's of a readable version."""
    attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in attrs.items()}
    version = attrs.get("schema_version", attrs.get("lthbench_schema"))
    if version is None or str(attrs.get("title", "")) != TITLE:
        raise LthbenchError(f"{where!r} is not an lthbench results file (no lthbench schema attribute)")
    try:
        version = int(str(version))
    except ValueError:
        version = -1
    if version not in READABLE_SCHEMAS:
        raise LthbenchError(
            f"{where!r} has results schema version {attrs.get('schema_version', version)}; this "
            f"lthbench reads versions {', '.join(map(str, READABLE_SCHEMAS))} (upgrade lthbench)"
        )
    return attrs


class RunStore:
    """Cells of a run on disk, in f"{out_path}.cells/": <stem>.json (record) + <stem>.npz (artifacts)."""

    def __init__(self, out_path: str | os.PathLike, *, create: bool = True):
        self.out_path = check_output_path(out_path)
        self.cells_dir = Path(f"{self.out_path}.cells")
        if create:
            self.cells_dir.mkdir(exist_ok=True)

    def _paths(self, key: CellKey) -> tuple[Path, Path]:
        stem = key.stem
        return self.cells_dir / f"{stem}.json", self.cells_dir / f"{stem}.npz"

    def has(self, key: CellKey) -> bool:
        return self._paths(key)[0].is_file()

    def write(self, key: CellKey, record: dict, artifacts: dict[str, Any]) -> None:
        """Store one finished cell: artifacts first, then the record (so a record means complete)."""
        self.cells_dir.mkdir(exist_ok=True)
        record_path, npz_path = self._paths(key)
        record = dict(record)
        for field, value in key.as_dict().items():
            if field in record and record[field] != value:
                raise ValueError(f"record {field}={record[field]!r} does not match the cell key {value!r}")
            record[field] = value
        record = normalize_record(record)
        packed = _pack_artifacts(artifacts)
        _atomic_write(npz_path, lambda fh: np.savez(fh, **packed))
        _atomic_write(record_path, lambda fh: fh.write(_to_json(record, indent=1).encode()))

    def read_record(self, key: CellKey) -> dict:
        record_path, _ = self._paths(key)
        if not record_path.is_file():
            raise KeyError(f"no finished cell {key}")
        record = _read_record(record_path)
        if CellKey.from_record(record) != key:
            raise LthbenchError(
                f"damaged cell file {str(record_path)!r}: it holds another cell's record; "
                "delete it (and its .npz) to recompute the cell"
            )
        return record

    def read_artifacts(self, key: CellKey) -> dict[str, dict]:
        _, npz_path = self._paths(key)
        try:
            with np.load(npz_path) as npz:
                return _unpack_artifacts(npz)
        except Exception as err:  # noqa: BLE001 - missing, truncated or not an npz
            raise LthbenchError(
                f"damaged cell file {str(npz_path)!r} ({one_line(err, 120)}); delete it and its "
                ".json to recompute the cell"
            ) from None

    def keys(self) -> list[CellKey]:
        return sorted(CellKey.from_record(r) for r in self.records())

    def records(self) -> list[dict]:
        """Every finished cell's record; LthbenchError for a damaged one (unreadable, or whose record
        belongs to another cell than its file name says)."""
        if not self.cells_dir.is_dir():
            return []
        out = []
        for path in sorted(self.cells_dir.glob("*.json")):
            if path.name.startswith("."):
                continue
            record = _read_record(path)
            if f"{CellKey.from_record(record).stem}.json" != path.name:
                raise LthbenchError(
                    f"damaged cell file {str(path)!r}: its record is another cell's; delete it "
                    "(and its .npz) to recompute the cell"
                )
            out.append(record)
        return out

    def finalize(self, provenance: dict) -> xr.Dataset:  # noqa: F821
        """Merge every cell (and any dataset already at out_path) and write out_path atomically."""
        ds = records_to_dataset(self.records(), provenance)
        if self.out_path.is_file():
            ds = merge([load_dataset(self.out_path), ds])
        save_dataset(ds, self.out_path)
        return ds

    def fingerprint_records(self) -> list[dict]:
        """Every finished cell's record, plus {'task', 'method', 'fingerprint'} for each (task, method)
        of the dataset already at out_path (what a resume must agree with)."""
        return self.records() + stored_fingerprints(self.out_path)

    def discard(self) -> None:
        """Delete every cell and the results file (`--fresh`). Call only while holding the lock."""
        if self.cells_dir.is_dir():
            for path in self.cells_dir.iterdir():
                if path.name != ".lock" and path.is_file():
                    path.unlink()
        if self.out_path.is_file():
            self.out_path.unlink()

    @contextlib.contextmanager
    def lock(self):
        """Hold the advisory lock (fcntl.flock) on this output while writing it.

        A second process asking for it gets an LthbenchError naming the holder (pid and host). Stale
        temp files of killed runs are removed once the lock is held. The lock file is
        `<out>.cells/.lock`; it stays (empty) after release.
        """
        try:
            self.cells_dir.mkdir(exist_ok=True)
            fd = os.open(self.cells_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise LthbenchError(f"cannot lock {str(self.out_path)!r}: {err.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                raise LthbenchError(
                    f"{str(self.out_path)!r} is being written by {holder}; wait for that run to "
                    "finish, or use another --out"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"lthbench pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
            self.clean_temp_files()
            try:
                yield self
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def clean_temp_files(self) -> list[Path]:
        """Remove the temp files killed writers left (`.*.tmp` in the cells directory and
        `.<out name>.*.tmp` next to the output). Call only while holding the lock."""
        stale = list(self.cells_dir.glob(".*.tmp")) + list(self.out_path.parent.glob(f".{self.out_path.name}.*.tmp"))
        for path in stale:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return stale


def stored_fingerprints(path: str | os.PathLike) -> list[dict]:
    """[{'task', 'method', 'fingerprint'}] of a results file ([] when there is none or it predates
    fingerprints); reads only those variables."""
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        return []
    read_attrs(path)
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            if "fingerprint" not in ds:
                return []
            fps = ds["fingerprint"].values
            tasks, methods = [str(t) for t in ds["task"].values], [str(m) for m in ds["method"].values]
    except Exception as err:  # noqa: BLE001 - a damaged file
        raise LthbenchError(f"cannot read results file {str(path)!r}: {one_line(err, 200)}") from None
    return [
        {"task": t, "method": m, "fingerprint": str(fps[i, j])}
        for i, t in enumerate(tasks)
        for j, m in enumerate(methods)
        if str(fps[i, j])
    ]


def _read_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        CellKey.from_record(record)
    except Exception as err:  # noqa: BLE001 - truncated, not JSON, not UTF-8, keys missing
        raise LthbenchError(
            f"damaged cell file {str(path)!r} ({one_line(err, 120)}); delete it (and its .npz) to recompute the cell"
        ) from None
    return record


# --------------------------------------------------------------------------------------------------
# Records -> dataset


def normalize_record(record: dict) -> dict:
    """A record with every field present: floats (NaN when missing), ints for round/seed, diverged 0/1."""
    out = {k: v for k, v in record.items()}
    for field in KEY_FIELDS:
        if field not in out:
            raise ValueError(f"record lacks {field!r}")
    out["round"], out["seed"] = int(out["round"]), int(out["seed"])
    out["task"], out["method"], out["control"] = str(out["task"]), str(out["method"]), str(out["control"])
    for field in tuple(VARIABLES) + tuple(TASK_VARIABLES):
        value = out.get(field)
        out[field] = float("nan") if value is None else float(value)
    if not math.isnan(out["diverged"]):
        out["diverged"] = float(int(bool(out["diverged"])))
    out["reference_source"] = str(out.get("reference_source") or "")
    out["fingerprint"] = str(out.get("fingerprint") or "")
    out["reference_method"] = str(out.get("reference_method") or "")
    return out


def _object_array(values: Iterable[str]) -> np.ndarray:
    return np.asarray(list(values), dtype=object)


def _netcdf_safe(value):
    """netCDF attributes take str, numbers and 1-D arrays: no nested dicts, no bools, no None."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if value is None:
        return ""
    if isinstance(value, dict):
        return _to_json(value)
    if isinstance(value, (list, tuple)):
        return _to_json(list(value))
    return value


def records_to_dataset(records: list[dict], provenance: dict | None = None) -> xr.Dataset:  # noqa: F821
    """Records -> Dataset with dims (task, method, control, round, seed); missing cells are NaN.

    Per-cell variables (VARIABLES) have all five dims; reference_energy, reference_source and n_spins
    have dim task. Attributes: units and long_name per variable, and `provenance_json`.
    """
    import xarray as xr

    records = [normalize_record(r) for r in records]
    coords = {
        "task": sorted({r["task"] for r in records}),
        "method": sorted({r["method"] for r in records}),
        "control": _order_controls({r["control"] for r in records}),
        "round": sorted({r["round"] for r in records}),
        "seed": sorted({r["seed"] for r in records}),
    }
    index = {dim: {v: i for i, v in enumerate(values)} for dim, values in coords.items()}
    shape = tuple(len(coords[d]) for d in DIMS)
    cell_data = {name: np.full(shape, np.nan) for name in VARIABLES}
    n_task = len(coords["task"])
    task_data = {name: np.full(n_task, np.nan) for name in TASK_VARIABLES}
    sources = [""] * n_task
    fingerprints = np.full((n_task, len(coords["method"])), "", dtype=object)
    ref_methods = [""] * n_task
    for r in records:
        pos = tuple(index[d][r[d]] for d in DIMS)
        for name in VARIABLES:
            cell_data[name][pos] = r[name]
        t = index["task"][r["task"]]
        for name in TASK_VARIABLES:
            if not math.isnan(r[name]):
                task_data[name][t] = r[name]
        if r["reference_source"]:
            sources[t] = r["reference_source"]
        if r["fingerprint"]:
            fingerprints[t, index["method"][r["method"]]] = r["fingerprint"]
        if r["reference_method"]:
            ref_methods[t] = r["reference_method"]

    data_vars = {}
    for name, (units, long_name) in VARIABLES.items():
        data_vars[name] = (DIMS, cell_data[name], {"units": units, "long_name": long_name})
    for name, (units, long_name) in TASK_VARIABLES.items():
        data_vars[name] = (("task",), task_data[name], {"units": units, "long_name": long_name})
    data_vars["reference_source"] = (("task",), _object_array(sources), {"long_name": "how E_ref was obtained"})
    data_vars["fingerprint"] = (
        ("task", "method"),
        fingerprints,
        {"long_name": "cell identity: sha256 of everything that determines the chain's numbers ('' = unknown)"},
    )
    data_vars["reference_method"] = (
        ("task",),
        _object_array(ref_methods),
        {"long_name": "method of the E_ref row (ed-lanczos, dmrg-tenpy, ...)"},
    )
    ds = xr.Dataset(
        data_vars,
        coords={
            "task": ("task", _object_array(coords["task"])),
            "method": ("method", _object_array(coords["method"])),
            "control": ("control", _object_array(coords["control"])),
            "round": ("round", np.asarray(coords["round"], dtype=np.int64)),
            "seed": ("seed", np.asarray(coords["seed"], dtype=np.int64)),
        },
    )
    ds["round"].attrs["long_name"] = "pruning round (0 = dense)"
    ds["control"].attrs["long_name"] = "imp = the pruning chain; ticket, reinit, random-mask = controls"
    ds["method"].attrs["long_name"] = "pruning method label: method/protocol/rewind=target"
    ds.attrs.update(
        {
            "title": TITLE,
            "schema_version": SCHEMA_VERSION,
            "lthbench_schema": str(SCHEMA_VERSION),
            "diverged_values": "0 = finite, 1 = diverged, NaN = no such cell",
            "fingerprints_json": _to_json(
                {
                    t: {m: fp for m, fp in zip(coords["method"], fingerprints[i]) if fp}
                    for i, t in enumerate(coords["task"])
                }
            ),
            "provenance_json": _to_json(provenance or {}),
        }
    )
    return ds


def _order_controls(controls: set[str]) -> list[str]:
    known = [c for c in CONTROLS if c in controls]
    return known + sorted(controls - set(CONTROLS))


def dataset_to_records(ds) -> list[dict]:
    """The inverse of records_to_dataset: one dict per cell that has an energy or an n_alive."""
    records = []
    for t, task in enumerate(ds["task"].values):
        for m, method in enumerate(ds["method"].values):
            for c, control in enumerate(ds["control"].values):
                for r, rnd in enumerate(ds["round"].values):
                    for s, seed in enumerate(ds["seed"].values):
                        pos = (t, m, c, r, s)
                        values = {name: float(ds[name].values[pos]) for name in VARIABLES}
                        if all(math.isnan(v) for v in values.values()):
                            continue
                        rec = {
                            "task": str(task),
                            "method": str(method),
                            "control": str(control),
                            "round": int(rnd),
                            "seed": int(seed),
                            **values,
                        }
                        for name in TASK_VARIABLES:  # files from before a variable existed lack it
                            rec[name] = float(ds[name].values[t]) if name in ds else float("nan")
                        rec["reference_source"] = str(ds["reference_source"].values[t])
                        rec["fingerprint"] = str(ds["fingerprint"].values[t, m]) if "fingerprint" in ds else ""
                        rec["reference_method"] = (
                            str(ds["reference_method"].values[t]) if "reference_method" in ds else ""
                        )
                        records.append(rec)
    return records


def merge(datasets: list) -> xr.Dataset:  # noqa: F821
    """Merge datasets cell by cell; where two hold the same cell, the later one wins.

    The provenance of a merged dataset is {'merged_from': [provenance of each input, in order]}
    (inputs that are themselves merges are flattened).
    """
    if not datasets:
        raise ValueError("nothing to merge")
    by_key: dict[CellKey, dict] = {}
    provs: list = []
    for ds in datasets:
        for rec in dataset_to_records(ds):
            by_key[CellKey.from_record(rec)] = rec
        prov = json.loads(ds.attrs.get("provenance_json", "{}") or "{}")
        for p in prov.get("merged_from", [prov]) if isinstance(prov, dict) else [prov]:
            if p not in provs:
                provs.append(p)
    provenance = provs[0] if len(provs) == 1 else {"merged_from": provs}
    return records_to_dataset(list(by_key.values()), provenance)


def save_dataset(ds, path: str | os.PathLike) -> None:
    """Write a dataset to netCDF (h5netcdf) atomically: temp file in the same directory + os.replace."""
    path = check_output_path(path)
    ds = ds.copy()
    ds.attrs = {k: _netcdf_safe(v) for k, v in ds.attrs.items()}
    for name in ds.variables:
        ds[name].attrs = {k: _netcdf_safe(v) for k, v in ds[name].attrs.items()}
    _atomic_replace(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"))


def load_dataset(path: str | os.PathLike) -> xr.Dataset:  # noqa: F821
    """Read a results file (or a `lthbench bench` file) fully into memory (the file is closed
    afterwards). LthbenchError (one line) for anything else: another netCDF, not netCDF, damaged, or
    a results schema version this lthbench does not read."""
    import xarray as xr

    path = Path(path)
    try:
        read_attrs(path)
    except LthbenchError:
        if _title(path) != BENCH_TITLE:
            raise
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            ds = ds.load()
    except Exception as err:  # noqa: BLE001 - a damaged file
        raise LthbenchError(f"cannot read results file {str(path)!r}: {one_line(err, 200)}") from None
    if ds.attrs.get("title") == BENCH_TITLE:
        return ds
    missing = [name for name in DIMS if name not in ds.dims]
    if missing:
        raise LthbenchError(f"{str(path)!r} is not an lthbench results file (no dimension {missing[0]})")
    return ds


def provenance_of(ds) -> dict:
    """The provenance dict of a dataset (parsed from its `provenance_json` attribute)."""
    return json.loads(ds.attrs.get("provenance_json", "{}") or "{}")
