"""DMRG results: the stages of a bond-dimension schedule, the extrapolation of their energies to zero
discarded weight with an uncertainty covering the step, and the ETA model of a running schedule.
Pure numpy (no tenpy): `lthbench.exact.dmrg` runs the schedule.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np

ROUNDING_REL = 1e-12  # relative floor of every stated uncertainty (float64 sums over ~1e2 terms)
WARMUP_SWEEPS = 3  # stages before the last two only grow the state: they are not extrapolated from


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


FINAL_SWEEPS_GUESS = 6  # sweeps a converged stage takes, for the ETA before one has finished


def sweeps_to_converge(delta_es, stop: float, cap: int) -> int:
    """Sweeps a final stage still needs, from its |dE| per sweep so far (geometric decay through the
    last two, ratio clipped to [0.05, 0.95]) until |dE| < stop; at least 1, at most cap (its budget)."""
    d = [abs(float(x)) for x in delta_es if math.isfinite(float(x)) and float(x) != 0.0]
    if len(d) < 2 or not stop > 0:
        return max(cap, 1)
    if d[-1] < stop:
        return 1
    ratio = min(max(d[-1] / d[-2], 0.05), 0.95)
    return max(1, min(cap, math.ceil(math.log(stop / d[-1]) / math.log(ratio))))


def eta_seconds(
    schedule, stages, current_chi, current_elapsed, current_sweeps: int = 0, current_left: int | None = None
) -> float:
    """Seconds left in the schedule (NaN until two stages have finished).

    Model: seconds per sweep t(chi) = A chi^p through the last two finished stages, p clipped to
    [1, 3]: chi^3 is the asymptotic cost of the contractions, but up to chi ~ 256 on these lattices the
    per-site overhead keeps the measured exponent near 2 (6 x 6: 64 -> 128 gave p = 2.0, and the
    chi = 256 stage then took 182 s per sweep against 215 s predicted). Stages before the last two
    run WARMUP_SWEEPS + 1 sweeps, the last two FINAL_SWEEPS_GUESS. Once the running stage has
    finished `current_sweeps` sweeps, its own rate (current_elapsed / current_sweeps) replaces the
    model where it is slower (the first sweeps at a new chi grow the bonds and cost the most; 9 x 9
    chi 256 -> 512 took 549 s for its first sweep against 134 s modelled), for this stage and, scaled
    by chi^p, for the stages after it; the running stage counts at least one more sweep, or
    `current_left` sweeps when given (a final stage's own estimate, `sweeps_to_converge`).
    """
    if len(stages) < 2:
        return float("nan")
    (c0, t0), (c1, t1) = [(s.chi, s.wall_time_s / max(s.sweeps, 1)) for s in stages[-2:]]
    power = min(max(math.log(t1 / t0) / math.log(c1 / c0), 1.0), 3.0) if t0 > 0 and t1 > 0 else 3.0
    if current_chi is not None and current_sweeps > 0:
        rate = current_elapsed / current_sweeps
        if rate > t1 * (current_chi / c1) ** power:
            c1, t1 = current_chi, rate
    total = 0.0
    for chi in schedule:
        if any(s.chi == chi for s in stages):
            continue
        n_sweeps = FINAL_SWEEPS_GUESS if chi in schedule[-2:] else WARMUP_SWEEPS + 1
        per_sweep = t1 * (chi / c1) ** power
        if chi != current_chi:
            total += n_sweeps * per_sweep
        elif current_left is not None:
            total += max(current_left, 1) * per_sweep
        elif current_sweeps:
            total += max(n_sweeps - current_sweeps, 1) * per_sweep
        else:
            total += n_sweeps * per_sweep - current_elapsed
    return max(total, 0.0)


def details_json(result: DMRGResult) -> str:
    """The JSON stored in a table row's `details` (see `DMRGResult.details`)."""
    return json.dumps(result.details(), sort_keys=True)
