"""Fig 1/4a: the controls against IMP: structure, not init (ticket and reinit vs IMP, paired error
ratios), and the random mask failing earlier (first failing round; n at equal error)."""

from __future__ import annotations

import math

import numpy as np

from ...pruning.controls import RANDOM_MASK, REINIT, TICKET
from ..curves import curve_data
from ..dense_match import MatchDense
from ..stats import ratio_estimate
from .claim import CONTROL_FACTOR, HEP_MARGIN, N_BOOT, SHIFT_BOOT_MIN, Claim, boot_columns
from .detectors import largest_shift

CONTROLS = ((TICKET, "T(theta_init, m_IMP)"), (REINIT, "T(theta_rand, m_IMP)"))


def _ratio_verdict(r) -> str:
    if not (math.isfinite(r.lo) and math.isfinite(r.hi)):
        return "undetermined: errors not resolved above 0 (seed scatter + MC)" if r.k > 1 else "undetermined: < 2 seeds"
    if r.lo >= 1 / CONTROL_FACTOR and r.hi <= CONTROL_FACTOR:
        return "comparable"
    if r.lo > 1:
        return "control worse"
    if r.hi < 1:
        return "control better"
    return "inconclusive (CI wider than the band)"


def _structure_claims(ds, task, method, c_imp) -> list[Claim]:
    """Per round of the ticket and reinit controls: error ratio control / IMP (paired seeds)."""
    out = []
    for control, label in CONTROLS:
        cc = curve_data(ds, task, method, control)
        for i, rnd in enumerate(cc.rounds):
            j = c_imp.row(int(rnd))
            if j is None:
                continue
            r = ratio_estimate(np.abs(c_imp.scored()[j]), c_imp.var[j], np.abs(cc.scored()[i]), cc.var[i])
            cl = Claim(
                "Fig 1/4a",
                f"structure, not init: {label} vs IMP",
                task,
                f"error ratio at round {rnd} (rho {cc.rho[i]:.3g})",
                r.value,
                r.lo,
                r.hi,
                "delta method, paired seeds",
                threshold=f"comparable when the CI lies in [1/{CONTROL_FACTOR:g}, {CONTROL_FACTOR:g}]",
                paper="comparable (the mask matters, not the init)",
                method=method,
            )
            cl.verdict = _ratio_verdict(r)
            out.append(cl)
    return out


def _random_mask_claim(task, method, c_imp, cr, match: MatchDense) -> Claim:
    """n_fail(random mask) / n_fail(IMP): failure = mean error above the matching-dense bound."""
    cl = Claim(
        "Fig 1/4a",
        "random mask fails earlier",
        task,
        "n_fail(random) / n_fail(IMP)",
        method=method,
        ci="resolution: control rounds",
        threshold="failure = mean error > the matching-dense bound",
        paper="shallow FFNN ~10x earlier in n; ResCNN comparable",
    )
    if not (cr.rounds.size and math.isfinite(match.threshold) and c_imp.rounds.size):
        cl.verdict = "undetermined: no random-mask control"
        return cl
    mean_r = np.nanmean(np.abs(cr.scored()), axis=1)
    fail_r = np.flatnonzero(mean_r > match.threshold)
    nfail_imp = c_imp.n_alive[match.round + 1] if match.round + 1 < c_imp.rounds.size else float("nan")
    if fail_r.size and math.isfinite(nfail_imp):
        k = int(fail_r[0])
        ratio = cr.n_alive[k] / nfail_imp
        upper = cr.n_alive[k - 1] / nfail_imp if k > 0 else float("nan")
        cl.value, cl.lo, cl.hi = ratio, ratio, upper
        cl.verdict = (
            f"random mask fails at rho {cr.rho[k]:.3g} (first failing control round), IMP at rho "
            f"{c_imp.rho[match.round + 1]:.3g}"
        )
    elif not fail_r.size:
        cl.verdict = "undetermined: the random mask never fails at the control rounds"
    else:
        cl.verdict = "undetermined: IMP never fails"
    return cl


def _seed_mean_shift(c_imp, c_rand, cols, lower: float) -> tuple[float, int]:
    """`largest_shift` of the seed-mean curves over the seed columns `cols` ((k,) int, repeats allowed:
    a bootstrap resample), between `lower` (relative error) and HEP_MARGIN decades below IMP's
    highest seed-mean error; (value, row of c_rand)."""
    e_imp = np.nanmean(np.abs(c_imp.scored()[:, cols]), axis=1)
    e_rand = np.nanmean(np.abs(c_rand.scored()[:, cols]), axis=1)
    upper = float(np.nanmax(e_imp)) * 10**-HEP_MARGIN if np.isfinite(e_imp).any() else float("nan")
    return largest_shift(c_imp.n_alive, e_imp, c_rand.n_alive, e_rand, lower=lower, upper=upper)


def _shift_interval(c_imp, c_rand, cols, lower: float) -> tuple[float, float, str]:
    """(lo, hi, how): 95% percentile interval of the shift over seed resamples (paired: IMP and the
    random mask resample the same seeds; fixed RNG seed); NaN when fewer than SHIFT_BOOT_MIN of the
    resamples have a value (a CI of the lucky resamples only would be too narrow)."""
    if cols.size < 2:
        return float("nan"), float("nan"), "1 seed: no CI"
    boots = np.array([_seed_mean_shift(c_imp, c_rand, cols[b], lower)[0] for b in boot_columns(cols.size, N_BOOT)])
    finite = boots[np.isfinite(boots)]
    how = f"bootstrap over {cols.size} seeds ({finite.size} of {N_BOOT} resamples with a value)"
    if finite.size < SHIFT_BOOT_MIN * N_BOOT:
        return float("nan"), float("nan"), how + ": no CI"
    lo, hi = (float(v) for v in np.percentile(finite, [2.5, 97.5]))
    return lo, hi, how


def _shift_verdict(value: float, lo: float, hi: float, where: str) -> str:
    if math.isfinite(lo) and lo > 1 and value >= CONTROL_FACTOR:
        return f"earlier: the random mask needs {value:.2g}x IMP's weights for the same error {where}"
    if math.isfinite(lo) and lo >= 1 / CONTROL_FACTOR and hi <= CONTROL_FACTOR:
        return f"comparable (largest gap {where})"
    return f"inconclusive (largest gap {where})"


def _random_mask_shift_claim(task, method, c_imp, cr, match: MatchDense) -> Claim:
    """How much earlier in n the random mask fails, read at equal error: at each control round where its
    seed-mean error exceeds the matching-dense bound (and lies HEP_MARGIN decades below IMP's highest),
    its n over the n at which IMP's seed-mean curve first reaches that error; the largest over those
    rounds (a maximum: biased up by noise when several rounds qualify), with a bootstrap CI over seeds."""
    cl = Claim(
        "Fig 1/4a",
        "random mask fails earlier (equal error)",
        task,
        "n_random / n_IMP at equal error (largest)",
        method=method,
        threshold=(
            f"over the control rounds failing the matching-dense bound, with errors >= {HEP_MARGIN:g} decades below "
            f"IMP's highest; earlier when the CI lies above 1 and "
            f"the value >= {CONTROL_FACTOR:g}, comparable when the CI lies in [1/{CONTROL_FACTOR:g}, {CONTROL_FACTOR:g}]"
        ),
        paper="shallow FFNN ~10x earlier in n; ResCNN comparable",
    )
    cols = np.flatnonzero(c_imp.requested)
    if not (cr.rounds.size and math.isfinite(match.threshold) and cols.size):
        cl.verdict = "undetermined: no random-mask control"
        return cl
    cl.value, row = _seed_mean_shift(c_imp, cr, cols, match.threshold)
    if row < 0:
        cl.verdict = "undetermined: no failing control round below the HEP end whose error IMP reaches"
        return cl
    cl.lo, cl.hi, cl.ci = _shift_interval(c_imp, cr, cols, match.threshold)
    cl.verdict = _shift_verdict(cl.value, cl.lo, cl.hi, f"at rho {cr.rho[row]:.3g} (round {cr.rounds[row]})")
    return cl


def control_claims(ds, task, method, c_imp, match: MatchDense) -> list[Claim]:
    """Every control claim of (task, method): the structure claims, then the two random-mask ones."""
    cr = curve_data(ds, task, method, RANDOM_MASK)
    return _structure_claims(ds, task, method, c_imp) + [
        _random_mask_claim(task, method, c_imp, cr, match),
        _random_mask_shift_claim(task, method, c_imp, cr, match),
    ]
