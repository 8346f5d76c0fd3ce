"""Results: one record per cell, a store of cells on disk, and the xarray dataset they merge into.

A cell is one (task, method, control, round, seed). `RunStore(out_path)` keeps every finished cell in
`f"{out_path}.cells/"` as a JSON record plus an `.npz` of artifacts (masks and params), each written
atomically (temp file in the same directory, then `os.replace`); the record is written last, so a cell
whose record exists is complete, and a rerun skips it (resume). `finalize` merges every cell into an
`xr.Dataset` and writes `out_path` (netCDF, h5netcdf engine), again atomically. The file format is
documented in docs/results-format.md.

This layer knows only records: no physics, no pruning.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .errors import LthbenchError

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
    "reference_uncertainty": ("energy unit of the task's Hamiltonian", "stated absolute uncertainty of E_ref (NaN: unknown)"),
    "n_spins": ("spins", "number of spins N"),
}
RECORD_FIELDS = KEY_FIELDS + tuple(VARIABLES) + tuple(TASK_VARIABLES) + ("reference_source", "reference_method")


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
        return {"task": self.task, "method": self.method, "control": self.control,
                "round": int(self.round), "seed": int(self.seed)}

    @classmethod
    def from_record(cls, record: dict) -> "CellKey":
        return cls(str(record["task"]), str(record["method"]), str(record["control"]),
                   int(record["round"]), int(record["seed"]))

    @property
    def stem(self) -> str:
        """A file-system-safe, collision-free file stem for this cell."""
        readable = f"{self.task}__{self.method}__{self.control}__r{self.round:03d}__s{self.seed}"
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", readable)[:160]
        digest = hashlib.sha1(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:10]
        return f"{readable}__{digest}"


# --------------------------------------------------------------------------------------------------
# Atomic files


def _atomic_replace(path: Path, produce) -> None:
    """`produce(tmp_path)` writes a temp file in path's directory, which then replaces path (os.replace)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        produce(tmp)
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
    """The output path as a Path; LthbenchError when its directory does not exist or it is a directory."""
    path = Path(out_path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LthbenchError(f"output directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise LthbenchError(f"output path {str(path)!r} is a directory; give a file name such as results.nc")
    return path


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
        return json.loads(record_path.read_text())

    def read_artifacts(self, key: CellKey) -> dict[str, dict]:
        _, npz_path = self._paths(key)
        with np.load(npz_path) as npz:
            return _unpack_artifacts(npz)

    def keys(self) -> list[CellKey]:
        return sorted(CellKey.from_record(r) for r in self.records())

    def records(self) -> list[dict]:
        if not self.cells_dir.is_dir():
            return []
        out = []
        for path in sorted(self.cells_dir.glob("*.json")):
            if path.name.startswith("."):
                continue
            out.append(json.loads(path.read_text()))
        return out

    def finalize(self, provenance: dict) -> "xr.Dataset":  # noqa: F821
        """Merge every cell (and any dataset already at out_path) and write out_path atomically."""
        ds = records_to_dataset(self.records(), provenance)
        if self.out_path.is_file():
            ds = merge([load_dataset(self.out_path), ds])
        save_dataset(ds, self.out_path)
        return ds


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


def records_to_dataset(records: list[dict], provenance: dict | None = None) -> "xr.Dataset":  # noqa: F821
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
        if r["reference_method"]:
            ref_methods[t] = r["reference_method"]

    data_vars = {}
    for name, (units, long_name) in VARIABLES.items():
        data_vars[name] = (DIMS, cell_data[name], {"units": units, "long_name": long_name})
    for name, (units, long_name) in TASK_VARIABLES.items():
        data_vars[name] = (("task",), task_data[name], {"units": units, "long_name": long_name})
    data_vars["reference_source"] = (("task",), _object_array(sources), {"long_name": "how E_ref was obtained"})
    data_vars["reference_method"] = (("task",), _object_array(ref_methods),
                                     {"long_name": "method of the E_ref row (ed-lanczos, dmrg-tenpy, ...)"})
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
            "title": "lthbench results",
            "lthbench_schema": "1",
            "diverged_values": "0 = finite, 1 = diverged, NaN = no such cell",
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
                        rec = {"task": str(task), "method": str(method), "control": str(control),
                               "round": int(rnd), "seed": int(seed), **values}
                        for name in TASK_VARIABLES:  # files from before a variable existed lack it
                            rec[name] = float(ds[name].values[t]) if name in ds else float("nan")
                        rec["reference_source"] = str(ds["reference_source"].values[t])
                        rec["reference_method"] = str(ds["reference_method"].values[t]) if "reference_method" in ds else ""
                        records.append(rec)
    return records


def merge(datasets: list) -> "xr.Dataset":  # noqa: F821
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


def load_dataset(path: str | os.PathLike) -> "xr.Dataset":  # noqa: F821
    """Read a results file fully into memory (the file is closed afterwards)."""
    import xarray as xr

    path = Path(path)
    if not path.is_file():
        raise LthbenchError(f"no results file {str(path)!r}")
    try:
        with xr.open_dataset(path, engine="h5netcdf") as ds:
            return ds.load()
    except (OSError, ValueError) as err:
        raise LthbenchError(f"cannot read results file {str(path)!r}: {err}") from None


def provenance_of(ds) -> dict:
    """The provenance dict of a dataset (parsed from its `provenance_json` attribute)."""
    return json.loads(ds.attrs.get("provenance_json", "{}") or "{}")
