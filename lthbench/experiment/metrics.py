"""What a cell records after training: energies and their errors against the reference row, the
fidelities (to the previous round, to the ED ground space), M_z / M_x, the V-score, sizes and time.

`cell_record` is the one place a record is built; `reference` / `reference_row` are the one lookup
of the row a task is scored against (part of the cell identity).
"""

from __future__ import annotations

import math
from functools import lru_cache

from .. import exact, systems
from ..errors import LthbenchError
from ..masks import alive_count, apply_mask, prunable_count
from . import training

EXACT_FIDELITY_MAX_SPINS = 20  # fidelity_exact (weight in the ED ground space) up to this N, else NaN


@lru_cache(maxsize=8)
def ground_space_of(system_id: str):
    """(energies, vectors) of the ED ground space of a system id (cached)."""
    return exact.ground_space(systems.system_from_id(system_id))


@lru_cache(maxsize=64)
def reference_of(reference_id: str, compute: bool):
    """The Reference row a task is scored against, or None when there is none. The one lookup behind
    `reference` and `reference_row`, so a row missing from the table is computed (ED) at most once."""
    try:
        return exact.reference_energy(reference_id, compute=compute)
    except LthbenchError:
        return None


def reference(reference_id: str) -> tuple[float, str, float, str]:
    """(energy, source, uncertainty, method) of the reference row a task is scored against."""
    ref = reference_of(reference_id, True)
    if ref is None:
        return float("nan"), "", float("nan"), ""
    source = getattr(ref, "source", "") or getattr(ref, "method", "")
    row = f"{ref.row_id}: " if getattr(ref, "row_id", "") else ""
    return float(ref.energy), row + str(source), float(getattr(ref, "uncertainty", float("nan"))), str(ref.method)


def reference_row(reference_id: str, compute: bool = True) -> str:
    """The id of the reference row a task is scored against ('computed:<method>' for one computed
    now, '' when there is none, or none in the table and not `compute`): part of the cell identity."""
    ref = reference_of(reference_id, bool(compute))
    if ref is None:
        return ""
    return str(getattr(ref, "row_id", "") or f"computed:{getattr(ref, 'method', '')}")


def fidelity_exact(system, ansatz, params) -> float:
    """The weight of the net's state in the ED ground space (NaN beyond EXACT_FIDELITY_MAX_SPINS)."""
    if system.n_spins > EXACT_FIDELITY_MAX_SPINS:
        return float("nan")
    try:
        vectors = ground_space_of(system.id)[1]
    except LthbenchError:
        return float("nan")
    return training.ground_space_weight(system, ansatz, params, vectors)


def result_value(result, name: str) -> float:
    """float(result.name), NaN when the trainer's result lacks it."""
    value = getattr(result, name, None)
    return float("nan") if value is None else float(value)


def cell_record(state, mask, result, *, fidelity_prev=float("nan"), params=None, wall_time=float("nan")) -> dict:
    """The record of one cell of the chain `state` (a `cells.ChainState`) from its training result."""
    n = state.system.n_spins
    e = float(result.energy)
    ref = state.reference
    n_alive = alive_count(mask, state.prunable)
    n_prunable = prunable_count(mask, state.prunable)
    diverged = bool(getattr(result, "diverged", False)) or not math.isfinite(e)
    return {
        "n_alive": n_alive,
        "n_prunable": n_prunable,
        "density": n_alive / n_prunable if n_prunable else 1.0,
        "rho": n_alive / n,
        "energy": e,
        "energy_sigma": result_value(result, "energy_sigma"),
        "variance": result_value(result, "variance"),
        "rel_error": abs(e - ref) / abs(ref) if ref else float("nan"),
        "abs_error_per_spin": abs(e - ref) / n,
        "v_score": result_value(result, "v_score"),
        "fidelity_prev": float(fidelity_prev),
        "fidelity_exact": float("nan")
        if diverged or params is None
        else fidelity_exact(state.system, state.ansatz, apply_mask(params, mask)),
        "m_z": result_value(result, "m_z"),
        "m_x": result_value(result, "m_x"),
        "wall_time": float(wall_time),
        "samples_per_s": result_value(result, "samples_per_s"),
        "diverged": int(diverged),
        "reference_energy": ref,
        "reference_source": state.reference_source,
        "reference_uncertainty": state.reference_uncertainty,
        "reference_method": state.reference_method,
        "n_spins": n,
        "fingerprint": state.fingerprint,
        "identity": state.identity,
    }
