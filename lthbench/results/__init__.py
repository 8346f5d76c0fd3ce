"""Results: one record per cell, a store of cells on disk, and the xarray dataset they merge into.

A cell is one (task, method, control, round, seed). `RunStore(out_path)` keeps every finished cell in
`f"{out_path}.cells/"` as a JSON record plus an `.npz` of artifacts (masks and params), each written
atomically (`lthbench.atomic`: temp file in the same directory, then `os.replace`); the record is
written last, so a cell whose record exists is complete, and a rerun skips it (resume). `finalize`
merges every cell into an `xr.Dataset` and writes `out_path` (netCDF, h5netcdf engine), again
atomically. The file format is documented in docs/results-format.md.

Every record carries the `fingerprint` of its chain (see `lthbench.experiment.identity`); the dataset
keeps it per (task, method) and says which layout it has in `schema_version`. `RunStore.lock()` is
the advisory lock (fcntl.flock) a run holds on its output while it writes.

This layer knows only records: no physics, no pruning. Modules, from the bottom up:
`schema` (variables, units, versions), `records` (CellKey, the normal form, JSON), `trees`
(artifacts <-> npz names), `paths` (the output and its cells directory), `dataset` (records <->
xarray <-> netCDF), `store` (RunStore).
"""

from .dataset import (
    dataset_to_records,
    load_dataset,
    merge,
    provenance_of,
    records_to_dataset,
    save_dataset,
    stored_fingerprints,
)
from .paths import cells_dir_of, check_output_path, check_results_output
from .records import CellKey, normalize_record, to_json
from .schema import (
    CONTROLS,
    DIMS,
    KEY_FIELDS,
    READABLE_SCHEMAS,
    RECORD_FIELDS,
    SCHEMA_VERSION,
    TASK_VARIABLES,
    TITLE,
    VARIABLES,
    check_schema,
    is_results_file,
    read_attrs,
    read_title,
)
from .store import RunStore, read_cell_record
from .trees import flatten_tree, pack_artifacts, unflatten_tree, unpack_artifacts

__all__ = [
    "CONTROLS",
    "DIMS",
    "KEY_FIELDS",
    "READABLE_SCHEMAS",
    "RECORD_FIELDS",
    "SCHEMA_VERSION",
    "TASK_VARIABLES",
    "TITLE",
    "VARIABLES",
    "CellKey",
    "RunStore",
    "cells_dir_of",
    "check_output_path",
    "check_results_output",
    "check_schema",
    "dataset_to_records",
    "flatten_tree",
    "is_results_file",
    "load_dataset",
    "merge",
    "normalize_record",
    "pack_artifacts",
    "provenance_of",
    "read_attrs",
    "read_cell_record",
    "read_title",
    "records_to_dataset",
    "save_dataset",
    "stored_fingerprints",
    "to_json",
    "unflatten_tree",
    "unpack_artifacts",
]
