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


def _seed_jumps(c, ly, cols) -> list[tuple[float, float, float, float]]:
    """(rho at the jump, size in decades, rho before, rho after) of every seed in cols whose own
    curve has a jump; rho at the jump is the geometric mean of the two rounds' rho."""
    out = []
    for s in cols:
        js = largest_jump(ly[:, s])
        if js is not None:
            before, after = float(c.rho[js.before]), float(c.rho[js.after])
            out.append((math.sqrt(before * after), js.size, before, after))
    return out


def _error_jump_claim(task, method, c) -> Claim:
    """The largest rise of the seed-mean log10 error; its CI from the per-seed jumps (t on log rho),
    never narrower than the rounds around each seed's jump (the grid's resolution: seeds that jump at
    one round would otherwise give a CI of zero width).

    Seeds that each jump, but at different rounds, smear the seed mean below the threshold: then the
    jump is read from the seeds themselves when most of them have one (value: the geometric mean of
    their jump rhos, wherever they lie; the CI shows their spread)."""
    ly = log_err(c)
    cols = np.flatnonzero(c.requested)
    mean = np.nanmean(ly[:, cols], axis=1) if cols.size else np.full(len(c.rounds), np.nan)
    jump = largest_jump(mean)
    seeds = _seed_jumps(c, ly, cols)
    cl = Claim(
        "Fig 3/4a",
        "transition: largest error jump",
        task,
        "rho at the jump",
        method=method,
        ci="t interval of log rho over seeds with a jump, at least the rounds around each",
        threshold=(
            f"rise >= {JUMP_MIN:g} decades and >= {JUMP_RATIO:g}x the median rise, in the seed mean "
            "or else in most seeds"
        ),
        paper="TFIM: jump near rho ~ 4; TC alpha 8: near rho ~ 8.7",
    )
    e = mean_estimate([math.log10(j[0]) for j in seeds])
    where = ", ".join(f"{j[0]:.3g}" for j in seeds)
    lo_z, hi_z = (min(j[1] for j in seeds), max(j[1] for j in seeds)) if seeds else (0.0, 0.0)
    sizes = f"{lo_z:.2f}" if f"{lo_z:.2f}" == f"{hi_z:.2f}" else f"{lo_z:.2f}-{hi_z:.2f}"
    if jump is not None:
        before, after = c.rho[jump.before], c.rho[jump.after]
        cl.value = float(math.sqrt(before * after))
        cl.verdict = f"jump of {jump.size:.2f} decades between rho {before:.3g} and {after:.3g}"
    elif 2 * len(seeds) > cols.size:
        cl.value = 10**e.value
        cl.verdict = (
            f"no jump stands out in the seed mean, but in {len(seeds)} of "
            f"{cols.size} seeds: {sizes} decades at rho {where}"
        )
    else:
        cl.verdict = "undetermined: no jump stands out" + (
            f" ({len(seeds)} of {cols.size} seeds: {sizes} decades at rho {where})" if seeds else ""
        )
        return cl
    if seeds:
        lo, hi = (10**e.lo, 10**e.hi) if math.isfinite(e.lo) else (math.inf, -math.inf)
        cl.lo, cl.hi = min(lo, *(j[3] for j in seeds)), max(hi, *(j[2] for j in seeds))
    if task_parameters(task)["model"] == "toric":
        cl.verdict += f"; {'below' if cl.value < 16 else 'above'} the n/N = 16 line"
    return cl


def _round_event_claim(
    cl: Claim,
    c: CurveData,
    find: Callable[[np.ndarray], tuple[float, tuple[int, ...]] | None],
    seed_values: Callable[[CurveData, tuple[int, ...]], np.ndarray],
    where: Callable[[np.ndarray, tuple[int, ...]], str],
    no_data: str,
    no_event: str,
) -> Claim:
    """A claim on one event of a per-round observable (a dip, a jump) found in its seed means.

    find(means) -> (value, rounds) or None, rounds a tuple of round indices (the dip's round; the
    rounds before and after a jump); the CI is the t interval over seeds of seed_values(c, rounds);
    where(rho, rounds) is the verdict; no_data / no_event the undetermined verdicts."""
    means = round_means(c)
    hit = find(means) if means.size else None
    if hit is None:
        cl.verdict = no_data if not means.size else no_event
        return cl
    value, rounds = hit
    e = mean_estimate(seed_values(c, rounds))
    cl.value, cl.lo, cl.hi = value, e.lo, e.hi
    cl.verdict = where(c.rho, rounds)
    return cl


def _dip_event(means) -> tuple[float, tuple[int]] | None:
    hit = dip(means)
    return None if hit is None else (hit[1], (hit[0],))


def _mz_event(means) -> tuple[float, tuple[int, int]] | None:
    hit = largest_jump(means, min_jump=MZ_JUMP_MIN, either_sign=True)
    return None if hit is None else (hit.size, (hit.before, hit.after))


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
        _dip_event,
        lambda c, r: c.value[r[0]],
        lambda rho, r: f"dip at rho {rho[r[0]]:.3g}",
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
        _mz_event,
        lambda c, r: c.value[r[1]] - c.value[r[0]],
        lambda rho, r: f"jump between rho {rho[r[0]]:.3g} and {rho[r[1]]:.3g}",
        "undetermined: no |M_z| jump stands out",
        "undetermined: no |M_z| jump stands out",
    )


def transition_claims(ds, task, method, c) -> list[Claim]:
    """[largest error jump, fidelity minimum, |M_z| jump] of (task, method); c: the IMP error curve."""
    return [_error_jump_claim(task, method, c), _fidelity_claim(ds, task, method), _mz_claim(ds, task, method)]
