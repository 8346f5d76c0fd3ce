"""The shipped reference table: netCDF I/O of its rows and the lookup of a system's best reference.

The table ships as package data (`lthbench/exact/data/references.nc`), read through this package's
own folder, so an installed wheel has it too. Published rows are kept as shipped; computed rows are
rebuilt by `lthbench.exact.regenerate_reference_table`; a system not in the table is computed by ED.
"""

from __future__ import annotations

import dataclasses
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import __version__
from ..errors import LthbenchError
from .compute import compute_reference
from .rows import METHODS, REGENERATE_COMMAND, Reference

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_TABLE_PATH = DATA_DIR / "references.nc"


def references_to_dataset(rows: list[Reference]) -> xr.Dataset:
    """Rows -> xarray Dataset with one dim `row` (string coord = row ids) and a `system_id` coord."""
    fields = [f.name for f in dataclasses.fields(Reference) if f.name != "row_id"]
    data = {}
    for name in fields:
        values = [getattr(r, name) for r in rows]
        if name in ("n_spins", "degeneracy"):
            arr = np.asarray(values, dtype=np.int64)
        elif name in ("energy", "energy_per_spin", "tolerance", "wall_time_s", "uncertainty"):
            arr = np.asarray(values, dtype=np.float64)
        else:
            arr = np.asarray(values, dtype=object)
        data[name] = ("row", arr)
    coords = {"row": np.asarray([r.row_id for r in rows], dtype=object)}
    coords["system_id"] = data.pop("system_id")
    ds = xr.Dataset(data, coords=coords)
    ds["energy"].attrs["units"] = "Hamiltonian energy unit (J for the TFIM, star/plaquette coupling for the toric code)"
    ds["tolerance"].attrs["description"] = "estimate of |energy - exact|; NaN when unknown"
    ds["uncertainty"].attrs["description"] = "stated absolute uncertainty of energy (energy units); NaN when unknown"
    ds["details"].attrs["description"] = "JSON of method-specific data (DMRG stages and extrapolation)"
    ds["degeneracy"].attrs["description"] = "degeneracy of the ground level; -1 when unknown"
    ds.attrs.update(
        {
            "title": "lthbench reference ground energies",
            "generated_by": REGENERATE_COMMAND,
            "lthbench_version": __version__,
            "methods_best_first": ",".join(METHODS),
        }
    )
    return ds


def dataset_to_references(ds: xr.Dataset) -> list[Reference]:
    """Inverse of `references_to_dataset`."""
    rows = []
    for i, row_id in enumerate(ds["row"].values):
        kwargs: dict[str, Any] = {"row_id": str(row_id), "system_id": str(ds["system_id"].values[i])}
        for f in dataclasses.fields(Reference):
            if f.name in kwargs or f.name not in ds:  # older tables lack uncertainty and details
                continue
            value = ds[f.name].values[i]
            kwargs[f.name] = int(value) if f.type == "int" else float(value) if f.type == "float" else str(value)
        if "uncertainty" not in ds:
            kwargs["uncertainty"] = kwargs["tolerance"]
        rows.append(Reference(**kwargs))
    return rows


def check_table_out(path) -> Path:
    """Validate an output path for the reference table before any computation (LthbenchError, one line).

    It must end in .nc, its folder must exist and be writable, and an existing file there must be a
    reference table (never overwrite someone's results file).
    """
    path = Path(path)
    if path.suffix != ".nc":
        raise LthbenchError(f"--out {path}: the reference table is a netCDF file; give a path ending in .nc")
    if path.is_dir():
        raise LthbenchError(f"--out {path} is a directory; give a .nc file path")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise LthbenchError(f"--out {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise LthbenchError(f"--out {path}: folder {folder} is not writable")
    if path.exists():
        try:
            with xr.open_dataset(path, engine="h5netcdf") as ds:
                ok = {"energy", "method", "system_id"} <= set(ds.variables)
        except Exception as err:  # noqa: BLE001 - any unreadable file is refused the same way
            raise LthbenchError(f"--out {path} exists and is not a reference table ({type(err).__name__})") from None
        if not ok:
            raise LthbenchError(f"--out {path} exists and is not a reference table; give another path")
    return path


@lru_cache(maxsize=4)
def load_reference_table(path=None) -> xr.Dataset:
    """The shipped table as an xarray Dataset (dim `row`; coords `row` ids and `system_id`).

    Raises LthbenchError when the file is missing (rebuild it with `lthbench exact --regenerate`).
    """
    path = Path(path) if path is not None else DEFAULT_TABLE_PATH
    if not path.exists():
        raise LthbenchError(f"reference table {path} not found; rebuild it with `{REGENERATE_COMMAND}`")
    return xr.load_dataset(path, engine="h5netcdf")


def table_references(path=None) -> list[Reference]:
    """Every row of the table, in table order."""
    return dataset_to_references(load_reference_table(path))


def _rank(ref: Reference) -> int:
    return METHODS.index(ref.method)


def references_for(system_id: str, path=None) -> list[Reference]:
    """The table rows for a system id (best first), or the single row named by a row id; [] if none."""
    rows = table_references(path)
    if "/" in system_id:
        return [r for r in rows if r.row_id == system_id]
    return sorted((r for r in rows if r.system_id == system_id), key=_rank)


@lru_cache(maxsize=64)
def reference_energy(system_id: str, compute: bool = True) -> Reference:
    """The best reference for a system id (analytic > ed-lanczos > published-dmrg > published-nqs).

    A row id ('tfim2d-10x10-obc-k3.04438/dmrg') picks that row. A system absent from the table is
    computed by ED when `compute` (notes say 'computed now'); otherwise, or when it is too large,
    raises LthbenchError / TooLargeForExactError with a one-line message.
    """
    rows = references_for(system_id) if DEFAULT_TABLE_PATH.exists() else []
    if rows:
        return rows[0]
    if "/" in system_id:
        raise LthbenchError(f"no row {system_id!r} in the reference table")
    if not compute:
        raise LthbenchError(f"no reference for {system_id!r} in the table")
    ref = compute_reference(system_id, "ed-lanczos", source="lthbench.exact.reference_energy (computed now)")
    return dataclasses.replace(ref, row_id="", notes="computed now, not from the table; " + ref.notes)
