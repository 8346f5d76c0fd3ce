"""Rebuilding the reference table: compute rows, merge them with the kept ones, write the netCDF file
atomically (by default the package's own `data/references.nc`) and, in a source checkout, its
human-readable `reference_data/README.md`."""

from __future__ import annotations

import sys
from pathlib import Path

import xarray as xr

from ..atomic import atomic_replace
from .compute import compute_reference
from .feasibility import check_id_size
from .references import (
    DEFAULT_TABLE_PATH,
    check_table_out,
    load_reference_table,
    reference_energy,
    references_to_dataset,
    table_references,
)
from .render import render_markdown
from .rows import Reference, computed_row_ids, dmrg_row_ids, published_rows, split_row_id

SOURCE_ROOT = Path(__file__).resolve().parents[2]  # the repository, when the package runs from a checkout


def checkout_readme_path() -> Path | None:
    """`reference_data/README.md` of the source checkout the package runs from; None for an installed
    package (no checkout around it)."""
    folder = SOURCE_ROOT / "reference_data"
    if (SOURCE_ROOT / "pyproject.toml").is_file() and folder.is_dir():
        return folder / "README.md"
    return None


def merged_rows(old: list[Reference], new: list[Reference]) -> list[Reference]:
    """old rows with the new ones replacing equal row ids; new ids are inserted before the published
    rows (computed rows first, in computed_row_ids / dmrg_row_ids order, then any others)."""
    by_id = {r.row_id: r for r in old}
    by_id.update({r.row_id: r for r in new})
    order = computed_row_ids() + dmrg_row_ids()
    rank = {rid: i for i, rid in enumerate(order)}
    published = [r for r in by_id.values() if r.method.startswith("published-")]
    computed = [r for r in by_id.values() if not r.method.startswith("published-")]
    computed.sort(key=lambda r: (rank.get(r.row_id, len(order)), r.row_id))
    return computed + published


def write_reference_table(rows: list[Reference], path=None, readme=None) -> xr.Dataset:
    """Write rows as the netCDF table at path (default the shipped one, whose README.md is then
    rewritten too when running from a source checkout; readme: another README path) atomically;
    clears the lookup caches. Returns the Dataset."""
    path = Path(path) if path is not None else DEFAULT_TABLE_PATH
    if readme is None and path.resolve() == DEFAULT_TABLE_PATH.resolve():
        readme = checkout_readme_path()
    ds = references_to_dataset(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_replace(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"))
    if readme is not None:
        text = render_markdown(rows)
        readme = Path(readme)
        readme.parent.mkdir(parents=True, exist_ok=True)
        atomic_replace(readme, lambda tmp: Path(tmp).write_text(text))
    load_reference_table.cache_clear()
    reference_energy.cache_clear()
    return ds


def merge_into_table(new_rows: list[Reference], path=None, readme=None) -> xr.Dataset:
    """Add or replace rows (by row id) in the table at path (default the shipped one), keep the rest."""
    path = check_table_out(path if path is not None else DEFAULT_TABLE_PATH)
    old = table_references(path) if path.exists() else table_references()
    return write_reference_table(merged_rows(old, new_rows), path, readme)


def regenerate_reference_table(
    path=None, progress: bool = True, readme=None, row_ids=None, merge: bool = False, dmrg_options=None
) -> xr.Dataset:
    """Recompute rows, keep the published ones, write the netCDF table atomically.

    path: output .nc (default `DEFAULT_TABLE_PATH`), validated by `check_table_out` before any work.
    readme: where to write the markdown rendering (default: reference_data/README.md of the source
    checkout when writing the default table, none outside a checkout or for another path). row_ids:
    compute only these (default `computed_row_ids()`, i.e. every ED and closed-form row; DMRG rows are
    made only when named). merge: keep every other row of the existing table (at path, else the
    shipped one) and write after each computed row, so a long list loses nothing when interrupted;
    without merge, the ED/closed-form rows are all recomputed and the existing DMRG rows are kept as
    they are. dmrg_options: keyword arguments for `run_dmrg` (schedule, checkpoint, ...). Returns the
    xarray Dataset written.
    """
    path = check_table_out(path if path is not None else DEFAULT_TABLE_PATH)
    source_table = path if path.exists() else DEFAULT_TABLE_PATH
    old = table_references(source_table) if source_table.exists() else []
    ids = list(row_ids) if row_ids is not None else computed_row_ids()
    for row_id in ids:
        check_id_size(*split_row_id(row_id))
    stream = sys.stderr if progress else None
    if merge:
        base = old
    else:
        base = [r for r in old if r.method == "dmrg-tenpy"] + published_rows()
    computed: list[Reference] = []

    def write(rows):
        return write_reference_table(rows, path, readme)

    ds = None
    for i, row_id in enumerate(ids):
        system_id, method = split_row_id(row_id)
        if stream is not None:
            print(f"references: row {i + 1}/{len(ids)}: {row_id}", file=stream, flush=True)
        kwargs = dict(dmrg_options or {}) if method == "dmrg-tenpy" else {}
        computed.append(compute_reference(system_id, method, progress=stream, **kwargs))
        if merge:
            ds = write(merged_rows(base, computed))
    if ds is None:
        ds = write(merged_rows(base, computed))
    return ds
