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
import json
import math
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .errors import LthbenchError

TENPY_PIN = "physics-tenpy==1.1.1"
ROUNDING_REL = 1e-12  # relative floor of every stated uncertainty (float64 sums over ~1e2 terms)
STAGE_E_TOL = 1e-11  # a final stage is converged when a sweep changes E by less than this per spin
STAGE_MAX_SWEEPS = 12
WARMUP_SWEEPS = 3  # stages before the last two only grow the state: they are not extrapolated from
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

    tenpy.tools.misc.setup_logging(to_stdout=None)  # tenpy logs to nowhere unless asked
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


@dataclasses.dataclass
class Stage:
    """One bond dimension of the schedule: chi, energy <H> (variational), max discarded weight of the
    last sweep, variance (NaN when skipped), sweeps run, wall time (s)."""

    chi: int
    energy: float
    trunc_err: float
    variance: float
    sweeps: int
    wall_time_s: float
    max_chi: int = 0
    delta_e: float = float("nan")  # |change of E| in the stage's last sweep: how far from converged


@dataclasses.dataclass
class DMRGResult:
    """A finished schedule: stages (ascending chi), the extrapolation (see `extrapolate`), versions."""

    system_id: str
    stages: list
    extrapolation: dict
    wall_time_s: float
    library: str
    load: str = ""

    @property
    def energy(self) -> float:
        return float(self.extrapolation["energy"])

    @property
    def uncertainty(self) -> float:
        return float(self.extrapolation["uncertainty"])

    def details(self) -> dict:
        return {
            "schedule": [s.chi for s in self.stages],
            "stages": [dataclasses.asdict(s) for s in self.stages],
            "extrapolation": self.extrapolation,
            "library": self.library,
            "wall_time_s": self.wall_time_s,
            "load": self.load,
        }


def _linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares y = c0 + c1 x: (c0, c1)."""
    if len(x) == 1:
        return float(y[0]), 0.0
    c1, c0 = np.polyfit(x, y, 1)
    return float(c0), float(c1)


def extrapolate(trunc_errs, energies, variances=None, delta_es=None) -> dict:
    """Extrapolate stage energies to zero discarded weight, with an uncertainty covering the step.

    trunc_errs, energies, variances: (S,) per stage, ascending chi (variational energies).
    energy = E_0, the straight line through the last two stages (E, eps) evaluated at eps = 0, i.e.
    E_last - a eps_last with the chord slope a; a longer fit is not used because the early stages of
    a schedule lie outside the linear regime (a 3-point fit on 4 x 4 with chi 12, 16, 64 misses ED by
    1e-5 while the 2-point one is within 3e-10). uncertainty = max(|E_last - E_0|, |E_0 - E_0^var|,
    1e-12 |E_last|) (absolute, energy units), where E_0^var is the same 2-point line in the energy
    variance when the last two variances are known: the interval then contains the variational bound
    E_last and both extrapolations. energy_3pt (a 3-point least-squares fit) is reported for reference.
    delta_es: (S,) |change of E| in each stage's last sweep; when given, the last two (finite) are
    added to the uncertainty, so a stage stopped by its sweep limit before converging widens it.
    """
    eps = np.asarray(trunc_errs, dtype=np.float64)
    e = np.asarray(energies, dtype=np.float64)
    var = np.full_like(e, np.nan) if variances is None else np.asarray(variances, dtype=np.float64)
    e_last = float(e[-1])
    floor = ROUNDING_REL * abs(e_last)
    out = {"energy_last": e_last, "trunc_err_last": float(eps[-1]), "method": "2-point line in discarded weight"}
    if np.isfinite(var[-1]):
        out["variance_last"] = float(var[-1])
    if len(e) < 2 or eps[-1] <= 0.0 or eps[-2] <= eps[-1]:
        # No truncation at the largest chi (the MPS is exact up to the eigensolver's tolerance), or no
        # decrease of the discarded weight to extrapolate along: keep the variational energy, with the
        # last step's change as the uncertainty when there was truncation.
        change = abs(e_last - e[-2]) if len(e) > 1 and eps[-1] > 0.0 else 0.0
        out.update(
            energy=e_last,
            uncertainty=max(floor, change),
            method="no truncation at the largest chi" if eps[-1] <= 0.0 else "no extrapolation possible",
        )
        return out
    e0, slope = _linear_fit(eps[-2:], e[-2:])
    unc = max(abs(e_last - e0), floor)
    out.update(energy=e0, slope=slope)
    if len(e) >= 3:
        out["energy_3pt"] = _linear_fit(eps[-3:], e[-3:])[0]
    if np.all(np.isfinite(var[-2:])) and var[-2] != var[-1]:
        out["energy_var"] = _linear_fit(var[-2:], e[-2:])[0]
        unc = max(unc, abs(e0 - out["energy_var"]))
    if delta_es is not None:
        unconverged = np.nan_to_num(np.asarray(delta_es, dtype=np.float64)[-2:], nan=0.0)
        out["unconverged"] = float(unconverged.sum())
        unc += out["unconverged"]
    out["uncertainty"] = unc
    return out


def default_checkpoint_path(system_id: str, schedule) -> Path:
    """Where `lthbench exact --regenerate --method dmrg` keeps a run's checkpoint:
    $LTHBENCH_CACHE (default ~/.cache/lthbench)/dmrg/<system_id>-chi<max chi>.pkl."""
    root = Path(os.environ.get("LTHBENCH_CACHE") or Path.home() / ".cache" / "lthbench")
    return root / "dmrg" / f"{system_id}-chi{max(schedule)}.pkl"


def _save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(path) -> dict | None:
    """The checkpoint dict at `path` (keys system_id, schedule, stages, chi, psi, sweeps, elapsed), or
    None when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        return pickle.load(fh)


FINAL_SWEEPS_GUESS = 6  # sweeps a converged stage takes, for the ETA before one has finished


def eta_seconds(schedule, stages, current_chi, current_elapsed) -> float:
    """Seconds left in the schedule (NaN until two stages have finished).

    Model: seconds per sweep t(chi) = A chi^p through the last two finished stages, p clipped to
    [1, 3]: chi^3 is the asymptotic cost of the contractions, but up to chi ~ 256 on these lattices the
    per-site overhead keeps the measured exponent near 2 (6 x 6: 64 -> 128 gave p = 2.0, and the
    chi = 256 stage then took 182 s per sweep against 215 s predicted). Stages before the last two
    run WARMUP_SWEEPS + 1 sweeps, the last two FINAL_SWEEPS_GUESS.
    """
    if len(stages) < 2:
        return float("nan")
    (c0, t0), (c1, t1) = [(s.chi, s.wall_time_s / max(s.sweeps, 1)) for s in stages[-2:]]
    power = min(max(math.log(t1 / t0) / math.log(c1 / c0), 1.0), 3.0) if t0 > 0 and t1 > 0 else 3.0
    total = 0.0
    for chi in schedule:
        if any(s.chi == chi for s in stages):
            continue
        n_sweeps = FINAL_SWEEPS_GUESS if chi in schedule[-2:] else WARMUP_SWEEPS + 1
        total += n_sweeps * t1 * (chi / c1) ** power
        if chi == current_chi:
            total -= current_elapsed
    return max(total, 0.0)


def _status(msg: str, stream) -> None:
    if stream is not None:
        print(msg, file=stream, flush=True)


def run_dmrg(
    system,
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
    from tenpy.algorithms.dmrg import TwoSiteDMRGEngine

    schedule = tuple(int(c) for c in (schedule or default_schedule(system)))
    if list(schedule) != sorted(set(schedule)) or schedule[0] < 1:
        raise LthbenchError(f"bond-dimension schedule must be strictly ascending positive, got {schedule}")
    model = tenpy_model(system)
    ckpt_path = Path(checkpoint) if checkpoint else None
    state = load_checkpoint(ckpt_path) if ckpt_path else None
    if state is not None and (
        state["system_id"] != system.id
        or tuple(state["schedule"][: len(state["stages"])]) != schedule[: len(state["stages"])]
    ):
        raise LthbenchError(
            f"checkpoint {ckpt_path} is for {state['system_id']} / chi {state['schedule']}, "
            f"not {system.id} / chi {schedule}; delete it or give another --checkpoint"
        )
    stages = [Stage(**s) for s in state["stages"]] if state else []
    psi = state["psi"] if state else product_state(model)
    elapsed_before = float(state.get("elapsed", 0.0)) if state else 0.0
    start = time.perf_counter()
    if state:
        _status(f"dmrg {system.id}: resuming from {ckpt_path} ({len(stages)} stages done)", progress)
    for chi in schedule[len(stages) :]:
        t0 = time.perf_counter()
        resumed = bool(state and state.get("chi") == chi)
        stage_before = float(state.get("stage_elapsed", 0.0)) if resumed else 0.0
        sweeps_before = int(state.get("stage_sweeps", 0)) if resumed else 0
        final = chi in schedule[-2:]  # the two stages the extrapolation uses are converged fully
        options = {
            "trunc_params": {"chi_max": chi, "svd_min": 1e-14},
            "mixer": False,  # two-site updates grow the bond dimension without it
            # tenpy compares |dE| / max(E, 1), i.e. |dE| for E < 0: scale the per-spin tolerance by N.
            # Below ~1e-11 per spin the sweep-to-sweep change is truncation noise, not convergence.
            "max_E_err": (e_tol if final else WARMUP_E_TOL) * system.n_spins,
            "max_S_err": 1.0,  # converge on the energy alone (the entropy fluctuates at truncation level)
            "min_sweeps": min(2, max_sweeps) if final else 1,
            "max_sweeps": max_sweeps if final else min(max_sweeps, WARMUP_SWEEPS),
            "max_trunc_err": 1.0,
        }
        engine = TwoSiteDMRGEngine(psi, model, options)

        def on_sweep(eng, chi=chi, t0=t0, stage_before=stage_before, sweeps_before=sweeps_before):
            stats = eng.sweep_stats
            now = time.perf_counter() - t0 + stage_before
            eta = eta_seconds(schedule, stages, chi, now)
            _status(
                f"dmrg {system.id}: chi={chi} sweep {eng.sweeps} E={stats['E'][-1]:.13f} "
                f"dE={stats['Delta_E'][-1]:.2e} trunc={stats['max_trunc_err'][-1]:.2e} "
                f"stage {now:.0f} s" + (f", ETA rest of schedule ~{eta / 60:.1f} min" if math.isfinite(eta) else ""),
                progress,
            )
            if ckpt_path:
                _save_checkpoint(
                    ckpt_path,
                    {
                        "system_id": system.id,
                        "schedule": list(schedule),
                        "stages": [dataclasses.asdict(s) for s in stages],
                        "chi": chi,
                        "psi": eng.psi.copy(),
                        "stage_elapsed": now,
                        "stage_sweeps": sweeps_before + int(eng.sweeps),
                        "elapsed": elapsed_before + time.perf_counter() - start,
                    },
                )

        engine.checkpoint.connect(on_sweep)
        engine.run()
        on_sweep(engine)
        psi = engine.psi
        energy = mps_energy(model, psi)
        want_var = variance == "all" or final or (variance == "auto" and variance_cost(model, chi) < VARIANCE_MAX_COST)
        var = mps_variance(model, psi) if want_var else float("nan")
        stages.append(
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
        state = None
        _status(
            f"dmrg {system.id}: chi={chi} done: <H>={energy:.13f} trunc={stages[-1].trunc_err:.2e} "
            f"var={var:.2e} ({stages[-1].wall_time_s:.0f} s, {stages[-1].sweeps} sweeps)",
            progress,
        )
        if ckpt_path:
            _save_checkpoint(
                ckpt_path,
                {
                    "system_id": system.id,
                    "schedule": list(schedule),
                    "stages": [dataclasses.asdict(s) for s in stages],
                    "chi": None,
                    "psi": psi.copy(),
                    "elapsed": elapsed_before + time.perf_counter() - start,
                },
            )
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
        elapsed_before + time.perf_counter() - start,
        f"physics-tenpy {tenpy.__version__}",
        load=" ".join(f"{x:.1f}" for x in os.getloadavg()),
    )


def details_json(result: DMRGResult) -> str:
    """The JSON stored in a table row's `details` (see `DMRGResult.details`)."""
    return json.dumps(result.details(), sort_keys=True)
