"""DMRG ground energies beyond exact diagonalisation (physics-tenpy, an optional extra: `.[dmrg]`).

The TFIM H = -J sum_<ij> Z_i Z_j - kappa sum_i X_i (Pauli matrices, open boundaries) is handed to
tenpy's `TFIModel`, whose convention is H = -J sum sigma^x sigma^x - g sum sigma^z: the same operator
after a Hadamard on every site (Z <-> X), so the spectra agree with g = kappa. The square lattice is
a snake-ordered MPS (`order='snake'`), so every MPS bond cuts the lattice between two consecutive
sites of the snake; the global spin flip (tenpy's parity of sigma^z) is conserved and the state is
started in the even sector, where the Perron-Frobenius ground state lies for kappa > 0.

`run_dmrg` grows the bond dimension through a schedule chi_1 < chi_2 < ...; each stage sweeps two-site
DMRG to convergence and records the variational energy <psi|H|psi> of the truncated MPS, the largest
discarded weight of its last sweep and (when affordable) the energy variance <H^2> - <H>^2.
`extrapolate` fits E(eps) = E_0 + a eps over the last stages (eps = discarded weight) and states an
uncertainty that covers the whole extrapolation step: the reference is E_0 +- |E_last - E_0| (and the
spread between fits over 2 and 3 points), never tighter than 1e-12 |E| (rounding). A stage is
checkpointed (pickle of the MPS and the finished stages) after every sweep, so a long run resumes.

tenpy is imported lazily: the rest of lthbench works without it.
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LthbenchError
from ..systems import PauliStringHamiltonian
from .dmrg_checkpoint import load_checkpoint, save_checkpoint
from .dmrg_fit import WARMUP_SWEEPS, DMRGResult, Stage, eta_seconds, extrapolate, sweeps_to_converge

TENPY_PIN = "physics-tenpy==1.1.1"
STAGE_E_TOL = 1e-11  # a final stage is converged when a sweep changes E by less than this per spin
STAGE_MAX_SWEEPS = 12
WARMUP_E_TOL = 1e-7  # per spin
VARIANCE_MAX_COST = 2e11  # skip the variance of an intermediate stage above this many flops (est.)


def default_schedule(system) -> tuple[int, ...]:
    """The bond dimensions grown through, for an L x L lattice (chains: L = 2)."""
    L = max(system.lattice_shape) if len(system.lattice_shape) == 2 else 2
    if L <= 4:
        return (8, 16, 32, 64, 128)
    if L == 5:
        return (16, 32, 64, 128, 256)
    if L == 6:
        return (32, 64, 128, 256)
    if L == 7:
        return (32, 64, 128, 256)
    return (32, 64, 128, 256, 512)


def _import_tenpy():
    try:
        import tenpy  # noqa: F401
    except ImportError as err:
        raise LthbenchError(f"DMRG needs physics-tenpy: pip install -e '.[dmrg]' ({TENPY_PIN}); {err}") from err
    import tenpy

    # tenpy logs to nowhere unless asked (None is documented; its annotation says str)
    tenpy.tools.misc.setup_logging(to_stdout=None)  # pyright: ignore[reportArgumentType]
    return tenpy


def check_dmrg_supported(system) -> None:
    """Raise LthbenchError unless `system` is an open-boundary TFIM (chain or square lattice)."""
    if system.kind != "tfim" or system.params.get("pbc"):
        raise LthbenchError(f"{system.id}: DMRG rows are made for open-boundary TFIM systems only")


def tenpy_model(system):
    """tenpy's TFIModel for an open-boundary TFIM `system` (chain or Lx x Ly square, snake order)."""
    check_dmrg_supported(system)
    _import_tenpy()
    from tenpy.models.tf_ising import TFIModel

    p = system.params
    shape = system.lattice_shape
    params = {"J": float(p["J"]), "g": float(p["kappa"]), "bc_MPS": "finite", "conserve": "parity"}
    if len(shape) == 1:
        params.update(lattice="Chain", L=int(shape[0]), bc_x="open")
    else:
        params.update(lattice="Square", Lx=int(shape[0]), Ly=int(shape[1]), bc_x="open", bc_y="open", order="snake")
    return TFIModel(params)


def product_state(model, which: str = "plus"):
    """An MPS product state of `model`: 'plus' = our |+...+> (tenpy's all sigma^z up, even parity)."""
    from tenpy.networks.mps import MPS

    if which != "plus":
        raise ValueError(f"unknown product state {which!r}")
    return MPS.from_product_state(
        model.lat.mps_sites(), ["up"] * model.lat.N_sites, bc="finite", unit_cell_width=model.lat.mps_unit_cell_width
    )


def mps_energy(model, psi) -> float:
    """<psi|H|psi> / <psi|psi>, float (the MPS is normalised by the engine)."""
    return float(np.real(model.H_MPO.expectation_value(psi)))


def mps_variance(model, psi) -> float:
    """<H^2> - <H>^2 of the MPS, float; exact contraction of the MPO twice (cost ~ chi^3 D^2 d N)."""
    return float(np.real(model.H_MPO.variance(psi)))


def variance_cost(model, chi: int) -> float:
    """Rough flop count of `mps_variance` at bond dimension chi (for deciding whether to compute it)."""
    d_mpo = max(model.H_MPO.chi)
    return 2.0 * model.lat.N_sites * chi**3 * d_mpo**2 * 2


def _status(msg: str, stream) -> None:
    if stream is not None:
        print(msg, file=stream, flush=True)


def _stage_options(chi: int, final: bool, n_spins: int, max_sweeps: int, e_tol: float) -> dict:
    """tenpy's TwoSiteDMRGEngine options for one stage of the schedule."""
    return {
        "trunc_params": {"chi_max": chi, "svd_min": 1e-14},
        "mixer": False,  # two-site updates grow the bond dimension without it
        # tenpy compares |dE| / max(E, 1), i.e. |dE| for E < 0: scale the per-spin tolerance by N.
        # Below ~1e-11 per spin the sweep-to-sweep change is truncation noise, not convergence.
        "max_E_err": (e_tol if final else WARMUP_E_TOL) * n_spins,
        "max_S_err": 1.0,  # converge on the energy alone (the entropy fluctuates at truncation level)
        "min_sweeps": min(2, max_sweeps) if final else 1,
        "max_sweeps": max_sweeps if final else min(max_sweeps, WARMUP_SWEEPS),
        "max_trunc_err": 1.0,
    }


@dataclasses.dataclass
class _Run:
    """The state of one `run_dmrg` call shared by its stages: the finished stages, the checkpoint file,
    the progress stream and the clock (elapsed_before: seconds spent before a resume)."""

    system: PauliStringHamiltonian
    model: Any
    schedule: tuple[int, ...]
    stages: list
    ckpt_path: Path | None
    progress: Any
    elapsed_before: float
    start: float

    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.start

    def save(self, chi, psi, **stage_clock) -> None:
        """Checkpoint the finished stages and psi (chi: the stage running, None between stages)."""
        if self.ckpt_path:
            state = {
                "system_id": self.system.id,
                "schedule": list(self.schedule),
                "stages": [dataclasses.asdict(s) for s in self.stages],
                "chi": chi,
                "psi": psi.copy(),
                **stage_clock,
            }
            state["elapsed"] = self.elapsed()
            save_checkpoint(self.ckpt_path, state)

    def sweep_callback(self, chi: int, t0: float, stage_before: float, sweeps_before: int, final: bool, options: dict):
        """The engine's per-sweep hook: one status line with an ETA, then a checkpoint. A final stage
        estimates its own remaining sweeps from its |dE| decay (`sweeps_to_converge`)."""

        def on_sweep(eng) -> None:
            stats = eng.sweep_stats
            now = time.perf_counter() - t0 + stage_before
            done = sweeps_before + int(eng.sweeps)
            left = None
            if final:
                cap = options["max_sweeps"] - int(eng.sweeps)
                left = sweeps_to_converge(stats["Delta_E"], options["max_E_err"], cap) if cap > 0 else 0
            eta = eta_seconds(self.schedule, self.stages, chi, now, done, left)
            _status(
                f"dmrg {self.system.id}: chi={chi} sweep {done} E={stats['E'][-1]:.13f} "
                f"dE={stats['Delta_E'][-1]:.2e} trunc={stats['max_trunc_err'][-1]:.2e} "
                f"stage {now:.0f} s" + (f", ETA rest of schedule ~{eta / 60:.1f} min" if math.isfinite(eta) else ""),
                self.progress,
            )
            self.save(chi, eng.psi, stage_elapsed=now, stage_sweeps=done)

        return on_sweep

    def run_stage(self, chi: int, psi, resume: dict | None, max_sweeps: int, e_tol: float, variance: str):
        """Sweep one bond dimension to convergence from psi, append its Stage; returns the new psi."""
        from tenpy.algorithms.dmrg import TwoSiteDMRGEngine

        t0 = time.perf_counter()
        resumed = bool(resume and resume.get("chi") == chi)
        stage_before = float(resume.get("stage_elapsed", 0.0)) if resume and resumed else 0.0
        sweeps_before = int(resume.get("stage_sweeps", 0)) if resume and resumed else 0
        final = chi in self.schedule[-2:]  # the two stages the extrapolation uses are converged fully
        # a resumed stage has spent sweeps_before of its budget (at least one more sweep rebuilds the
        # engine's statistics)
        options = _stage_options(chi, final, self.system.n_spins, max(1, max_sweeps - sweeps_before), e_tol)
        engine = TwoSiteDMRGEngine(psi, self.model, options)
        on_sweep = self.sweep_callback(chi, t0, stage_before, sweeps_before, final, options)
        engine.checkpoint.connect(on_sweep)
        engine.run()
        on_sweep(engine)
        psi = engine.psi
        energy = mps_energy(self.model, psi)
        want_var = (
            variance == "all" or final or (variance == "auto" and variance_cost(self.model, chi) < VARIANCE_MAX_COST)
        )
        var = mps_variance(self.model, psi) if want_var else float("nan")
        self.stages.append(
            Stage(
                chi=chi,
                energy=energy,
                trunc_err=float(engine.sweep_stats["max_trunc_err"][-1]),
                variance=var,
                sweeps=sweeps_before + int(engine.sweeps),
                max_chi=int(max(psi.chi)),
                wall_time_s=time.perf_counter() - t0 + stage_before,
                delta_e=abs(float(engine.sweep_stats["Delta_E"][-1])),
            )
        )
        last = self.stages[-1]
        _status(
            f"dmrg {self.system.id}: chi={chi} done: <H>={energy:.13f} trunc={last.trunc_err:.2e} "
            f"var={var:.2e} ({last.wall_time_s:.0f} s, {last.sweeps} sweeps)",
            self.progress,
        )
        self.save(None, psi)
        return psi


def _checked_schedule(schedule, system: PauliStringHamiltonian) -> tuple[int, ...]:
    schedule = tuple(int(c) for c in (schedule or default_schedule(system)))
    if list(schedule) != sorted(set(schedule)) or schedule[0] < 1:
        raise LthbenchError(f"bond-dimension schedule must be strictly ascending positive, got {schedule}")
    return schedule


def _resume_state(ckpt_path: Path | None, system: PauliStringHamiltonian, schedule: tuple[int, ...]) -> dict | None:
    """The checkpoint to resume from (None when there is none); LthbenchError when it is another run's."""
    state = load_checkpoint(ckpt_path) if ckpt_path else None
    if state is not None and (
        state["system_id"] != system.id
        or tuple(state["schedule"][: len(state["stages"])]) != schedule[: len(state["stages"])]
    ):
        raise LthbenchError(
            f"checkpoint {ckpt_path} is for {state['system_id']} / chi {state['schedule']}, "
            f"not {system.id} / chi {schedule}; delete it or give another --checkpoint"
        )
    return state


def run_dmrg(
    system: PauliStringHamiltonian,
    schedule=None,
    checkpoint=None,
    progress=sys.stderr,
    max_sweeps: int = STAGE_MAX_SWEEPS,
    e_tol: float = STAGE_E_TOL,
    variance: str = "auto",
) -> DMRGResult:
    """Two-site DMRG through the bond-dimension `schedule` (ascending); see the module docstring.

    checkpoint: a file path; the run saves there after every sweep and resumes from it when it holds
    the same system and schedule prefix. progress: a text stream for one line per sweep (None: silent),
    with an ETA from the (chi'/chi)^3 cost of the stages left. variance: 'auto' (every stage whose
    estimated cost is below VARIANCE_MAX_COST flops, and always the last), 'last', or 'all'.
    """
    tenpy = _import_tenpy()
    schedule = _checked_schedule(schedule, system)
    model = tenpy_model(system)
    ckpt_path = Path(checkpoint) if checkpoint else None
    state = _resume_state(ckpt_path, system, schedule)
    stages = [Stage(**s) for s in state["stages"]] if state else []
    psi = state["psi"] if state else product_state(model)
    elapsed_before = float(state.get("elapsed", 0.0)) if state else 0.0
    run = _Run(system, model, schedule, stages, ckpt_path, progress, elapsed_before, time.perf_counter())
    if state:
        _status(f"dmrg {system.id}: resuming from {ckpt_path} ({len(stages)} stages done)", progress)
    for chi in schedule[len(stages) :]:
        psi = run.run_stage(chi, psi, state, max_sweeps, e_tol, variance)
        state = None
    fit = extrapolate(
        [s.trunc_err for s in stages],
        [s.energy for s in stages],
        [s.variance for s in stages],
        [s.delta_e for s in stages],
    )
    return DMRGResult(
        system.id,
        stages,
        fit,
        run.elapsed(),
        f"physics-tenpy {tenpy.__version__}",
        load=" ".join(f"{x:.1f}" for x in os.getloadavg()),
    )
