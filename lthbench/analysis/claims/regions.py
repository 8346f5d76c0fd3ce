"""Fig 2: the LEP / APL / HEP regions of an IMP curve (boundaries n1, n2, the APL exponent) and whether
the HEP level is the product state |+...+>; the fitted boundaries for the report's dashed lines."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..curves import curve_data
from ..task_params import product_state_energy
from .claim import BIC_MIN, HEP_TOL, N_BOOT, Claim, boot_columns, log_err
from .detectors import RegionFit, fit_regions


def _ci(boots: list[RegionFit], attr: str, flag: str) -> tuple[float, float]:
    """95% percentile interval of `attr` over the bootstrap fits where `flag` holds (NaN when too few)."""
    vals = np.array([getattr(f, attr) for f in boots if getattr(f, flag)])
    if vals.size < max(10, 0.5 * len(boots)):
        return float("nan"), float("nan")
    lo, hi = (float(v) for v in np.percentile(vals, [2.5, 97.5]))
    return lo, hi


def _boundary_claims(task, method, fit: RegionFit, boots, ci_text) -> list[Claim]:
    """n1 (HEP/APL), n2 (APL/LEP) and the APL exponent."""
    thr = f"plateau kept when it lowers the BIC by > {BIC_MIN:g} and holds >= 3 rounds"
    n1 = Claim(
        "Fig 2",
        "regions: HEP/APL boundary n1",
        task,
        "n1 (alive weights)",
        method=method,
        ci=ci_text,
        threshold=thr,
        paper="kappa_c 10x10: n ~ 400; kappa < kappa_c: ~200",
    )
    n2 = Claim(
        "Fig 2",
        "regions: APL/LEP boundary n2",
        task,
        "n2 (alive weights)",
        method=method,
        ci=ci_text,
        threshold=thr,
        paper="kappa_c 10x10: n ~ 4.5e3; kappa < kappa_c: ~800",
    )
    for cl, attr, flag, where in ((n1, "x1", "hep", "HEP"), (n2, "x2", "lep", "LEP")):
        if getattr(fit, flag):
            lo, hi = _ci(boots, attr, flag)
            cl.value, cl.lo, cl.hi, cl.verdict = 10 ** getattr(fit, attr), 10**lo, 10**hi, "determined"
        else:
            cl.verdict = f"undetermined: no {where} plateau in the data" if fit.regions else "undetermined: no regions"
    apl = Claim(
        "Fig 2",
        "regions: APL exponent",
        task,
        "d log10 err / d log10 n",
        method=method,
        ci=ci_text,
        threshold="between the fitted boundaries",
        paper="algebraic decay (power law)",
    )
    if fit.regions:
        lo, hi = _ci(boots, "beta", "regions")
        apl.value, apl.lo, apl.hi = fit.beta, lo, hi
        apl.verdict = "power law" if fit.beta < 0 else "no decay"
    else:
        apl.verdict = "undetermined: no regions"
    return [n1, n2, apl]


def _hep_claim(ds, task, method, fit: RegionFit, boots, ci_text) -> Claim:
    """The HEP level against the product state |+...+>."""
    n_spins = float(ds["n_spins"].sel(task=task))
    e_ref = float(ds["reference_energy"].sel(task=task))
    e_ps = product_state_energy(task, n_spins)
    hep = Claim(
        "Fig 2",
        "HEP = product state |+...+>",
        task,
        "HEP relative error",
        method=method,
        ci=ci_text,
        threshold=f"|log10(HEP / product-state error)| <= {HEP_TOL:g}",
        paper="HEP = product state",
    )
    ps_err = abs(e_ps - e_ref) / abs(e_ref) if math.isfinite(e_ps) and math.isfinite(e_ref) else float("nan")
    if fit.hep and math.isfinite(ps_err):
        lo, hi = _ci(boots, "a", "hep")
        hep.value, hep.lo, hep.hi = 10**fit.a, 10**lo, 10**hi
        ok = abs(fit.a - math.log10(ps_err)) <= HEP_TOL or (lo <= math.log10(ps_err) <= hi)
        hep.verdict = f"{'yes' if ok else 'no'} (product state: {ps_err:.3g})"
    elif not math.isfinite(ps_err):
        hep.verdict = "undetermined: no product-state energy for this task"
    else:
        hep.verdict = f"undetermined: no HEP plateau (product state: {ps_err:.3g})"
    return hep


def region_claims(ds, task, method, c) -> tuple[list[Claim], RegionFit | None, tuple]:
    """The region claims of an IMP curve, its fit, and the determined (n1, n2) (NaN where not)."""
    cols = np.flatnonzero(c.requested)
    if not cols.size:
        return [], None, ()
    ly = log_err(c)[:, cols]
    x = np.log10(c.n_alive)
    fit = fit_regions(x, np.nanmean(ly, axis=1))
    boots = []
    if cols.size > 1:
        for b in boot_columns(cols.size, N_BOOT):
            boots.append(fit_regions(x, np.nanmean(ly[:, b], axis=1)))
    ci_text = f"bootstrap over {cols.size} seeds" if boots else "1 seed: no CI"
    out = _boundary_claims(task, method, fit, boots, ci_text)
    out.append(_hep_claim(ds, task, method, fit, boots, ci_text))
    return out, fit, (10**fit.x1 if fit.hep else float("nan"), 10**fit.x2 if fit.lep else float("nan"))


def region_boundaries(ds, task: str, method: str) -> list[float]:
    """The determined region boundaries [n1, n2] (alive weights) of the IMP curve, for dashed lines."""
    c = curve_data(ds, task, method, "imp", "rel_error")
    cols = np.flatnonzero(c.requested)
    if not c.has_reference or not cols.size:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = fit_regions(np.log10(c.n_alive), np.nanmean(log_err(c)[:, cols], axis=1))
    return [10**v for v, ok in ((fit.x1, fit.hep), (fit.x2, fit.lep)) if ok]


def boundaries(claims: list[Claim], task: str, method: str) -> list[float]:
    """The determined region boundaries n1, n2 of (task, method), for the figures' dashed lines."""
    return [
        c.value
        for c in claims
        if c.task == task
        and c.method == method
        and c.claim.startswith("regions: ")
        and "boundary" in c.claim
        and math.isfinite(c.value)
    ]
