"""The results layout: cell keys, variables and their units, the schema version, and reading the version
of a file (older readable versions are accepted as they are; see docs/results-format.md)."""

from __future__ import annotations

import os
from pathlib import Path

import h5netcdf

from ..errors import LthbenchError, one_line
from ..pruning.controls import CONTROL_NAMES

# The order of the control coordinate (other control names follow, sorted).
CONTROLS = ("imp", *CONTROL_NAMES)
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


def read_attrs(path: str | os.PathLike) -> dict:
    """The global attributes of an lthbench results file; LthbenchError when the file is none (another
    netCDF, not netCDF at all) or has a schema version this lthbench does not read."""
    path = Path(path)
    if not path.is_file():
        raise LthbenchError(f"no results file {str(path)!r}")
    try:
        with h5netcdf.File(path, "r") as fh:
            attrs = {k: fh.attrs[k] for k in fh.attrs}
    except Exception as err:  # noqa: BLE001 - whatever the file is, it is not ours
        raise LthbenchError(f"{str(path)!r} is not an lthbench results file ({one_line(err, 120)})") from None
    return check_schema(attrs, str(path))


def read_title(path: str | os.PathLike) -> str:
    """The `title` attribute of a netCDF file ('' when it has none or cannot be read)."""
    try:
        with h5netcdf.File(path, "r") as fh:
            title = fh.attrs.get("title", "")
    except Exception:  # noqa: BLE001 - not readable: no title
        return ""
    return title.decode() if isinstance(title, bytes) else str(title)


def is_results_file(path: str | os.PathLike) -> bool:
    """True when path is a readable lthbench results file (any schema version)."""
    try:
        read_attrs(path)
    except LthbenchError:
        return False
    return True
