"""Computing one reference row: by exact diagonalisation, a closed form or DMRG."""

from __future__ import annotations

import json
import platform
import time
from importlib import metadata

from .. import __version__
from ..errors import LthbenchError
from ..systems import PauliStringHamiltonian, system_from_id
from . import dmrg
from .closed_forms import analytic_ground_level
from .dmrg_checkpoint import default_checkpoint_path
from .dmrg_fit import details_json
from .feasibility import check_id_size
from .ground import DEGENERACY_TOL, solve_ground_level
from .rows import REGENERATE_COMMAND, ROW_TAGS, Reference


def versions_json() -> str:
    """JSON of the versions of lthbench, python and the numerical libraries a row was computed with."""
    out = {"lthbench": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "jax", "physics-tenpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return json.dumps(out, sort_keys=True)


def _dmrg_row(system: PauliStringHamiltonian, progress, dmrg_kwargs: dict) -> dict:
    """Energy, tolerance, degeneracy, notes, details and wall time of a DMRG row."""
    dmrg_kwargs.setdefault("schedule", None)
    dmrg_kwargs["schedule"] = dmrg_kwargs["schedule"] or dmrg.default_schedule(system)
    if not dmrg_kwargs.get("checkpoint"):
        dmrg_kwargs["checkpoint"] = default_checkpoint_path(system.id, dmrg_kwargs["schedule"])
    # DMRG finds one state; the level is unique by Perron-Frobenius for the TFIM with kappa != 0
    # (decided from the parameters: N >= 64 spins have no int64 basis codes to test it on).
    degeneracy = 1 if system.params.get("kappa", 0.0) != 0.0 else -1
    result = dmrg.run_dmrg(system, progress=progress, **dmrg_kwargs)
    fit, last = result.extrapolation, result.stages[-1]
    notes = (
        f"{result.library}, two-site DMRG, snake MPS, parity conserved; chi {[s.chi for s in result.stages]}; "
        f"E(chi={last.chi}) = {last.energy:.13f} (variational), discarded weight {last.trunc_err:.2g}, "
        f"variance {last.variance:.2g}; {fit['method']} -> {fit['energy']:.13f} +- {fit['uncertainty']:.2g}"
        f"; load {result.load}"
    )
    return {
        "energy": result.energy,
        "tolerance": result.uncertainty,
        "degeneracy": degeneracy,
        "notes": notes,
        "details": details_json(result),
        "wall": result.wall_time_s,  # includes time before a resume
    }


def _ed_row(system: PauliStringHamiltonian, progress) -> dict:
    """Energy, tolerance, degeneracy and notes of an exact-diagonalisation row."""
    level = solve_ground_level(system, progress=progress)
    energy, degeneracy = float(level.energies[0]), level.degeneracy
    tolerance = max(level.residual, 1e-12 * abs(energy))
    how = "Perron-Frobenius: unique" if level.unique_by_theorem else f"degeneracy to {DEGENERACY_TOL:g} rel."
    sectors = ",".join(str(s or "full") for s, _ in level.parts)
    notes = f"scipy eigsh (ARPACK) on the matrix-free operator, sectors: {sectors}; {how}"
    return {"energy": energy, "tolerance": tolerance, "degeneracy": degeneracy, "notes": notes}


def _analytic_row(system: PauliStringHamiltonian, system_id: str) -> dict:
    """Energy, tolerance, degeneracy and notes of a closed-form row."""
    closed = analytic_ground_level(system)
    if closed is None:
        raise LthbenchError(f"no closed form for {system_id}")
    energy, degeneracy = closed
    tolerance = 1e-12 * abs(energy)
    notes = (
        "free fermions (Jordan-Wigner), " + ("antiperiodic k" if system.params.get("pbc") else "OBC singular values")
        if system.kind == "tfim"
        else "pure toric code: -(stars + plaquettes) = -2 L^2, 4-fold on the torus"
    )
    return {"energy": energy, "tolerance": tolerance, "degeneracy": degeneracy, "notes": notes}


def compute_reference(
    system_id: str, method: str = "ed-lanczos", source: str = "", progress=None, **dmrg_kwargs
) -> Reference:
    """Compute one reference by ED ('ed-lanczos'), a closed form ('analytic') or DMRG ('dmrg-tenpy').

    ED: the full ground level (with degeneracy) by `solve_ground_level`; tolerance = the residual
    norm ||H v - E v|| (a rigorous bound), floored at 1e-12 |E| for the rounding of E itself.
    DMRG: `lthbench.exact.dmrg.run_dmrg(system, **dmrg_kwargs)` (schedule, checkpoint, ...); energy and
    uncertainty from its extrapolation, the stages in `details`. progress: a text stream for status
    lines (ED: Lanczos products; DMRG: one line per sweep with an ETA), None for silence.
    """
    check_id_size(system_id, method)
    system = system_from_id(system_id)
    start = time.perf_counter()
    if method == "dmrg-tenpy":
        row = _dmrg_row(system, progress, dmrg_kwargs)
        source = source or f"{REGENERATE_COMMAND} --method dmrg {system_id}"
    elif method == "ed-lanczos":
        row = _ed_row(system, progress)
    elif method == "analytic":
        row = _analytic_row(system, system_id)
    else:
        raise ValueError(f"cannot compute a {method!r} reference")
    wall = row["wall"] if method == "dmrg-tenpy" else time.perf_counter() - start
    energy = row["energy"]
    return Reference(
        system_id,
        system.n_spins,
        energy,
        energy / system.n_spins,
        method,
        float(row["tolerance"]),
        int(row["degeneracy"]),
        source or REGENERATE_COMMAND,
        versions_json(),
        row_id=f"{system_id}/{ROW_TAGS[method]}",
        notes=row["notes"],
        wall_time_s=wall,
        uncertainty=float(row["tolerance"]),
        details=row.get("details", ""),
    )
