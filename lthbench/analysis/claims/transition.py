"""Fig 3/4: the transition along the IMP rounds: the largest error jump (rho at the jump), the fidelity
minimum and the |M_z| jump. The last two share one builder (`_round_event_claim`)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..curves import CurveData, curve_data
from ..stats import mean_estimate
from ..task_params import task_parameters
from .claim import DIP_MIN, JUMP_MIN, JUMP_RATIO, MZ_JUMP_MIN, Claim, log_err
from .detectors import dip, largest_jump


def round_means(c) -> np.ndarray:
    """(R,) seed means of a curve's values, or an empty array when it has no finite value."""
    if not c.value.size or not np.isfinite(c.value).any():
        return np.array([])
    return np.nanmean(c.value, axis=1)


def _error_jump_claim(task, method, c) -> Claim:
    """The largest rise of the seed-mean log10 error; its CI from the per-seed jumps (t on log rho)."""
    ly = log_err(c)
    cols = np.flatnonzero(c.requested)
    mean = np.nanmean(ly[:, cols], axis=1) if cols.size else np.full(len(c.rounds), np.nan)
    jump = largest_jump(mean)
    cl = Claim(
        "Fig 3/4a",
        "transition: largest error jump",
        task,
        "rho at the jump",
        method=method,
        ci="t interval of log rho over seeds with a jump",
        threshold=f"rise >= {JUMP_MIN:g} decades and >= {JUMP_RATIO:g}x the median rise",
        paper="TFIM: jump near rho ~ 4; TC alpha 8: near rho ~ 8.7",
    )
    if jump is None:
        cl.verdict = "undetermined: no jump stands out"
        return cl
    k, size = jump
    cl.value = float(math.sqrt(c.rho[k] * c.rho[k + 1]))
    per_seed = []
    for s in cols:
        js = largest_jump(ly[:, s])
        if js is not None:
            per_seed.append(math.log10(math.sqrt(c.rho[js[0]] * c.rho[js[0] + 1])))
    e = mean_estimate(per_seed)
    cl.lo, cl.hi = 10**e.lo, 10**e.hi
    cl.verdict = f"jump of {size:.2f} decades between rho {c.rho[k]:.3g} and {c.rho[k + 1]:.3g}"
    if task_parameters(task)["model"] == "toric":
        cl.verdict += f"; {'below' if cl.value < 16 else 'above'} the n/N = 16 line"
    return cl


def _round_event_claim(
    cl: Claim,
    c: CurveData,
    find: Callable[[np.ndarray], tuple | None],
    seed_values: Callable[[CurveData, int], np.ndarray],
    where: Callable[[np.ndarray, int], str],
    no_data: str,
    no_event: str,
) -> Claim:
    """A claim on one event of a per-round observable (a dip, a jump) found in its seed means.

    find(means) -> (round index k, value) or None; the CI is the t interval over seeds of
    seed_values(c, k); where(rho, k) is the verdict; no_data / no_event the undetermined verdicts."""
    means = round_means(c)
    hit = find(means) if means.size else None
    if hit is None:
        cl.verdict = no_data if not means.size else no_event
        return cl
    k, value = hit
    e = mean_estimate(seed_values(c, k))
    cl.value, cl.lo, cl.hi = value, e.lo, e.hi
    cl.verdict = where(c.rho, k)
    return cl


def _fidelity_claim(ds, task, method) -> Claim:
    cl = Claim(
        "Fig 3/4b",
        "transition: fidelity minimum",
        task,
        "min fidelity_prev",
        method=method,
        ci="t interval over seeds",
        threshold=f"1 - F_min >= {DIP_MIN:g} and >= {JUMP_RATIO:g}x median",
        paper="dip at the transition, sharpening with L",
    )
    return _round_event_claim(
        cl,
        curve_data(ds, task, method, "imp", "fidelity_prev"),
        dip,
        lambda c, k: c.value[k],
        lambda rho, k: f"dip at rho {rho[k]:.3g}",
        "undetermined: no fidelity data",
        "undetermined: no dip stands out",
    )


def _mz_claim(ds, task, method) -> Claim:
    cl = Claim(
        "Fig 3",
        "transition: |M_z| jump",
        task,
        "largest change of |M_z|",
        method=method,
        ci="t interval over seeds",
        threshold=f"|change| >= {MZ_JUMP_MIN:g} and >= {JUMP_RATIO:g}x median",
        paper="spontaneous |M_z| only for L >= 7",
    )
    return _round_event_claim(
        cl,
        curve_data(ds, task, method, "imp", "abs_m_z"),
        lambda means: largest_jump(means, min_jump=MZ_JUMP_MIN, either_sign=True),
        lambda c, k: c.value[k + 1] - c.value[k],
        lambda rho, k: f"jump between rho {rho[k]:.3g} and {rho[k + 1]:.3g}",
        "undetermined: no |M_z| jump stands out",
        "undetermined: no |M_z| jump stands out",
    )


def transition_claims(ds, task, method, c) -> list[Claim]:
    """[largest error jump, fidelity minimum, |M_z| jump] of (task, method); c: the IMP error curve."""
    return [_error_jump_claim(task, method, c), _fidelity_claim(ds, task, method), _mz_claim(ds, task, method)]
