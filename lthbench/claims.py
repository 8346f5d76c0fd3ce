"""The paper's claims (arXiv:2505.22734) as computed statements: quantity, 95% CI over seeds, verdict.

Every claim is a `Claim` row: what was measured, its value and 95% interval over seeds (bootstrap over
seeds or a t interval, named in `ci`), a verdict and the threshold the verdict used. A quantity that
the data cannot pin down is "undetermined", with the reason. The detectors are small pure functions on
arrays (tests/test_claims.py checks them on synthetic curves):

- `fit_regions`: the LEP / APL / HEP regions by a piecewise-linear fit in (log10 n, log10 error) with
  slopes 0, beta, 0 (breakpoints on the measured n; least squares), continuous or with a jump at the
  HEP end (the jump when it lowers the BIC by > BIC_MIN); a plateau is accepted only when it improves the BIC by
  > BIC_MIN over the fit without it and holds >= 3 points.
- `largest_jump`: the largest rise of log10 error between consecutive rounds, accepted when it is
  >= JUMP_MIN decades and >= JUMP_RATIO x the median rise.
- `dip`: the minimum of a per-round quantity (fidelity) accepted when 1 - F_min >= DIP_MIN and
  >= JUMP_RATIO x the median of 1 - F.
- `odd_parity_filters`: hidden units supported on exactly the 4 edges of one plaquette with an odd
  number of negative weights.

"Matches dense" is `lthbench.stats.matches_dense`, the definition `lthbench compare` uses.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .curves import curve_data, load_results, methods_with, product_state_energy, task_parameters
from .stats import MATCH_FACTOR, matches_dense, mean_estimate, ratio_estimate

BIC_MIN = 6.0  # "strong" evidence for a plateau (Kass & Raftery)
JUMP_MIN = 0.5  # decades of error
JUMP_RATIO = 5.0
DIP_MIN = 0.02
MZ_JUMP_MIN = 0.2
HEP_TOL = 0.1  # decades: HEP level within 10^0.1 = 1.26x of the product state's error
PAPER_MATCH = (0.05, 0.20)  # "matches dense down to 5-20% of the weights"
CONTROL_FACTOR = 3.0  # a control "comparable" to IMP: ratio CI inside [1/3, 3]
N_BOOT = 200


@dataclass
class Claim:
    figure: str
    claim: str
    task: str
    quantity: str
    value: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")
    ci: str = ""  # how the interval was made
    verdict: str = "undetermined"
    threshold: str = ""
    paper: str = ""
    method: str = ""

    def value_text(self, spec=".3g") -> str:
        if not math.isfinite(self.value):
            return "-"
        if math.isfinite(self.lo) and math.isfinite(self.hi):
            return f"{self.value:{spec}} [{self.lo:{spec}}, {self.hi:{spec}}]"
        return f"{self.value:{spec}}"


# --------------------------------------------------------------------------------------------------
# Detectors (pure)


@dataclass(frozen=True)
class RegionFit:
    """Piecewise fit in log10: HEP level a for x <= x1, slope beta for x1 < x < x2, LEP level b for x >= x2."""

    x1: float
    x2: float
    a: float
    b: float
    beta: float
    hep: bool  # the HEP plateau is supported by the data
    lep: bool
    regions: bool  # any structure at all (amplitude and fit better than a constant)
    jump: bool = False  # the HEP plateau is reached by a discontinuity (x1 = last HEP point)


def _hinge_fits(x, y, i_idx, j_idx):
    """RSS and levels of the hinge model for breakpoint index pairs (vectorised over pairs)."""
    x1 = x[i_idx][:, None]
    x2 = x[j_idx][:, None]
    with np.errstate(invalid="ignore", divide="ignore"):  # x2 == x1 where a chain stalls at one n
        h = np.nan_to_num(np.clip((x[None, :] - x1) / (x2 - x1), 0.0, 1.0), nan=1.0)
    g = 1.0 - h
    s11, s12, s22 = (g * g).sum(1), (g * h).sum(1), (h * h).sum(1)
    t1, t2 = (g * y).sum(1), (h * y).sum(1)
    det = s11 * s22 - s12**2
    with np.errstate(invalid="ignore", divide="ignore"):
        a = (s22 * t1 - s12 * t2) / det
        b = (s11 * t2 - s12 * t1) / det
    rss = ((y[None, :] - a[:, None] * g - b[:, None] * h) ** 2).sum(1)
    return np.where(np.isfinite(rss), rss, np.inf), a, b


def fit_regions(x, y, *, min_amplitude: float = 0.3) -> RegionFit:
    """Regions of one curve. x: (P,) log10 n; y: (P,) log10 error (NaN dropped). See module docstring."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order]
    p = x.size
    nan = float("nan")
    if p < 5:
        return RegionFit(nan, nan, nan, nan, nan, False, False, False, False)
    ii, jj = np.triu_indices(p, k=1)
    rss, a, b = _hinge_fits(x, y, ii, jj)
    rss_j, a_j, c_j, b_j = _jump_fits(x, y, ii, jj)

    def bic(r, k):
        return p * math.log(max(r, 1e-300) / p) + k * math.log(p)

    best = int(np.argmin(rss))
    best_j = int(np.argmin(rss_j))
    jump = bic(float(rss_j[best_j]), 5) < bic(float(rss[best]), 4) - BIC_MIN  # strong evidence only
    if jump:  # a discontinuity at the HEP end (a first-order transition) fits better
        best, r_full, k_full = best_j, float(rss_j[best_j]), 5
        lvl_a, lvl_c, lvl_b = float(a_j[best]), float(c_j[best]), float(b_j[best])
    else:
        r_full, k_full = float(rss[best]), 4
        lvl_a, lvl_b = float(a[best]), float(b[best])
        lvl_c = lvl_a
    rss0 = float(((y - y.mean()) ** 2).sum())
    no_hep = ii == 0
    no_lep = jj == p - 1
    r_nohep = float(rss[no_hep].min())
    r_nolep = float(min(rss[no_lep].min(), rss_j[no_lep].min()))
    r_line = float(rss[no_hep & no_lep].min())
    i, j = int(ii[best]), int(jj[best])
    hep = i >= 2 and bic(r_nohep, 3) - bic(r_full, k_full) > BIC_MIN
    lep = (p - 1 - j) >= 2 and bic(r_nolep, k_full - 1) - bic(r_full, k_full) > BIC_MIN
    amp = lvl_a - lvl_b
    regions = abs(amp) >= min_amplitude and bic(rss0, 1) - bic(min(r_full, r_line), k_full) > BIC_MIN
    beta = (lvl_b - lvl_c) / (x[j] - x[i])
    return RegionFit(
        float(x[i]),
        float(x[j]),
        lvl_a,
        lvl_b,
        float(beta),
        bool(hep and regions),
        bool(lep and regions),
        bool(regions),
        bool(jump and hep and regions),
    )


def _jump_fits(x, y, i_idx, j_idx):
    """The hinge model with a free level c just after x1 (a jump at the HEP end): y = a for x <= x1,
    c -> b linearly on (x1, x2], b beyond. RSS and (a, c, b) per breakpoint pair (vectorised)."""
    x1 = x[i_idx][:, None]
    x2 = x[j_idx][:, None]
    after = x[None, :] > x1
    with np.errstate(invalid="ignore", divide="ignore"):  # x2 == x1 where a chain stalls at one n
        h = np.nan_to_num(np.clip((x[None, :] - x1) / (x2 - x1), 0.0, 1.0), nan=1.0)
    basis = np.stack([~after, after * (1.0 - h), after * h], axis=-1).astype(float)  # (G, P, 3)
    gram = np.einsum("gpi,gpj->gij", basis, basis) + 1e-12 * np.eye(3)
    rhs = np.einsum("gpi,p->gi", basis, y)
    coef = np.linalg.solve(gram, rhs[..., None])[..., 0]
    rss = ((y[None, :] - np.einsum("gpi,gi->gp", basis, coef)) ** 2).sum(1)
    return np.where(np.isfinite(rss), rss, np.inf), coef[:, 0], coef[:, 1], coef[:, 2]


def largest_jump(y, *, min_jump: float = JUMP_MIN, ratio: float = JUMP_RATIO, either_sign: bool = False):
    """(index r, size) of the largest rise y[r+1] - y[r] along the rounds, or None when none stands out.

    y: (R,) per round in pruning order (e.g. log10 error, |M_z|); NaN rounds dropped. either_sign: the
    largest change in absolute value (a fall counts too).
    """
    y = np.asarray(y, float)
    idx = np.flatnonzero(np.isfinite(y))
    if idx.size < 3:
        return None
    d = np.diff(y[idx])
    k = int(np.argmax(np.abs(d) if either_sign else d))
    size = float(d[k])
    typical = float(np.median(np.abs(d)))
    if abs(size) < min_jump or abs(size) < ratio * typical:
        return None
    return int(idx[k]), size


def dip(f, *, min_dip: float = DIP_MIN, ratio: float = JUMP_RATIO):
    """(index, F_min) of the minimum of f (e.g. fidelity) when it stands out, else None."""
    f = np.asarray(f, float)
    idx = np.flatnonzero(np.isfinite(f))
    if idx.size < 3:
        return None
    k = int(idx[np.argmin(f[idx])])
    depth = 1.0 - f[k]
    typical = float(np.median(1.0 - f[idx]))
    if depth < min_dip or depth < ratio * typical:
        return None
    return k, float(f[k])


def odd_parity_filters(w, size: int) -> tuple[int, int, float]:
    """(odd-parity units, surviving units, fraction of the alive weights they hold).

    w: (N, H) masked first-layer kernel (0 = pruned), N = 2 size^2 torus edges. A unit is odd-parity
    when its alive inputs are exactly the 4 edges of one plaquette and an odd number of them is negative.
    """
    from .systems.lattice import torus_plaquettes

    w = np.asarray(w)
    alive = w != 0
    units = np.flatnonzero(alive.any(axis=0))
    plaquettes = [frozenset(p.tolist()) for p in torus_plaquettes(size)]
    odd = 0
    odd_weights = 0
    for u in units:
        support = frozenset(np.flatnonzero(alive[:, u]).tolist())
        if support in plaquettes and int((w[list(support), u] < 0).sum()) % 2 == 1:
            odd += 1
            odd_weights += len(support)
    total = int(alive.sum())
    return odd, int(units.size), (odd_weights / total if total else float("nan"))


# --------------------------------------------------------------------------------------------------
# Claims on a dataset


def _log_err(c):
    """(R, S) log10 |relative error| with diverged seeds as failures; floored at the MC resolution."""
    v = np.abs(c.scored())
    floor = np.sqrt(np.nanmax(c.var)) if c.var.size and np.isfinite(c.var).any() else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.maximum(v, max(float(floor), 1e-300)))


def _boot_cols(s, n_boot, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, s, size=(n_boot, s))


def _region_claims(ds, task, method, c) -> tuple[list[Claim], RegionFit | None, tuple]:
    out = []
    ly = _log_err(c)
    cols = np.flatnonzero(c.requested)
    if not cols.size:
        return out, None, ()
    ly = ly[:, cols]
    x = np.log10(c.n_alive)
    fit = fit_regions(x, np.nanmean(ly, axis=1))
    boots = []
    if cols.size > 1:
        for b in _boot_cols(cols.size, N_BOOT):
            boots.append(fit_regions(x, np.nanmean(ly[:, b], axis=1)))
    ci_text = f"bootstrap over {cols.size} seeds" if boots else "1 seed: no CI"

    def ci(attr, flag):
        vals = np.array([getattr(f, attr) for f in boots if getattr(f, flag)])
        if vals.size < max(10, 0.5 * len(boots)):
            return float("nan"), float("nan")
        return tuple(float(v) for v in np.percentile(vals, [2.5, 97.5]))

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
    if fit.hep:
        lo, hi = ci("x1", "hep")
        n1.value, n1.lo, n1.hi, n1.verdict = 10**fit.x1, 10**lo, 10**hi, "determined"
    else:
        n1.verdict = "undetermined: no HEP plateau in the data" if fit.regions else "undetermined: no regions"
    if fit.lep:
        lo, hi = ci("x2", "lep")
        n2.value, n2.lo, n2.hi, n2.verdict = 10**fit.x2, 10**lo, 10**hi, "determined"
    else:
        n2.verdict = "undetermined: no LEP plateau in the data" if fit.regions else "undetermined: no regions"
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
        lo, hi = ci("beta", "regions")
        apl.value, apl.lo, apl.hi = fit.beta, lo, hi
        apl.verdict = "power law" if fit.beta < 0 else "no decay"
    else:
        apl.verdict = "undetermined: no regions"
    out += [n1, n2, apl]
    # HEP level vs the product state |+...+>
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
        lo, hi = ci("a", "hep")
        hep.value, hep.lo, hep.hi = 10**fit.a, 10**lo, 10**hi
        ok = abs(fit.a - math.log10(ps_err)) <= HEP_TOL or (lo <= math.log10(ps_err) <= hi)
        hep.verdict = f"{'yes' if ok else 'no'} (product state: {ps_err:.3g})"
    elif not math.isfinite(ps_err):
        hep.verdict = "undetermined: no product-state energy for this task"
    else:
        hep.verdict = f"undetermined: no HEP plateau (product state: {ps_err:.3g})"
    out.append(hep)
    return out, fit, (10**fit.x1 if fit.hep else float("nan"), 10**fit.x2 if fit.lep else float("nan"))


def _seeds_claim(task, method, c):
    """Divergence accounting: the IMP rounds with fewer finished seeds than requested."""
    short = np.flatnonzero(c.short())
    cl = Claim(
        "-",
        "seeds finished / diverged",
        task,
        "IMP rounds short of the requested seeds",
        float(short.size),
        method=method,
        threshold=f"{c.n_requested} seeds requested; a diverged seed counts as a failure",
    )
    if short.size:
        cl.verdict = "marked: " + ", ".join(
            f"round {c.rounds[r]}: {c.finished()[r]}/{c.n_requested} ({c.diverged()[r]} diverged)" for r in short[:8]
        )
        if short.size > 8:
            cl.verdict += f", ... ({short.size} rounds)"
    else:
        cl.verdict = f"all rounds {c.n_requested}/{c.n_requested}"
    return cl


def _match_claim(task, method, c):
    m = matches_dense(c.density, np.abs(c.value), c.var, c.failed)
    cl = Claim(
        "Fig 1",
        "matches dense",
        task,
        "lowest density matching dense",
        method=method,
        ci="bootstrap over seeds",
        threshold=f"mean error <= {MATCH_FACTOR:g} x upper end of the dense 95% CI, all rounds before too",
        paper="5-20% of the weights",
    )
    if math.isfinite(m.density):
        cl.value, cl.lo, cl.hi = m.density, m.lo, m.hi
        inside = PAPER_MATCH[0] <= m.density <= PAPER_MATCH[1]
        cl.verdict = ("within" if inside else "outside") + f" the paper's {PAPER_MATCH[0]:.0%}-{PAPER_MATCH[1]:.0%}"
        cl.verdict += f" (rho {c.rho[m.round]:.3g})"
        if m.incomplete:
            cl.verdict += "; * fewer seeds than requested near it"
    else:
        cl.verdict = "undetermined: no dense level"
    dense = np.abs(c.value[0]) if c.value.size else np.array([])
    if math.isfinite(c.reference_precision) and dense.size and np.nanmean(dense) < c.reference_precision:
        cl.verdict = "below reference precision (dense error < reference uncertainty); " + cl.verdict
    return cl, m


def _control_claims(ds, task, method, c_imp, match):
    out = []
    for control, label in (("ticket", "T(theta_init, m_IMP)"), ("reinit", "T(theta_rand, m_IMP)")):
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
            if not (math.isfinite(r.lo) and math.isfinite(r.hi)):
                cl.verdict = (
                    "undetermined: errors not resolved above 0 (seed scatter + MC)"
                    if r.k > 1
                    else "undetermined: < 2 seeds"
                )
            elif r.lo >= 1 / CONTROL_FACTOR and r.hi <= CONTROL_FACTOR:
                cl.verdict = "comparable"
            elif r.lo > 1:
                cl.verdict = "control worse"
            elif r.hi < 1:
                cl.verdict = "control better"
            else:
                cl.verdict = "inconclusive (CI wider than the band)"
            out.append(cl)
    # random mask failure density vs IMP's
    cr = curve_data(ds, task, method, "random-mask")
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
    if cr.rounds.size and math.isfinite(match.threshold) and c_imp.rounds.size:
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
    else:
        cl.verdict = "undetermined: no random-mask control"
    out.append(cl)
    return out


def _round_means(c) -> np.ndarray:
    """(R,) seed means of a curve's values, or an empty array when it has no finite value."""
    if not c.value.size or not np.isfinite(c.value).any():
        return np.array([])
    return np.nanmean(c.value, axis=1)


def _transition_claims(ds, task, method, c):
    out = []
    ly = _log_err(c)
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
    if jump is not None:
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
    else:
        cl.verdict = "undetermined: no jump stands out"
    out.append(cl)
    fc = curve_data(ds, task, method, "imp", "fidelity_prev")
    fcl = Claim(
        "Fig 3/4b",
        "transition: fidelity minimum",
        task,
        "min fidelity_prev",
        method=method,
        ci="t interval over seeds",
        threshold=f"1 - F_min >= {DIP_MIN:g} and >= {JUMP_RATIO:g}x median",
        paper="dip at the transition, sharpening with L",
    )
    fmean = _round_means(fc)
    d = dip(fmean) if fmean.size else None
    if d is not None:
        k, fmin = d
        e = mean_estimate(fc.value[k])
        fcl.value, fcl.lo, fcl.hi = fmin, e.lo, e.hi
        fcl.verdict = f"dip at rho {fc.rho[k]:.3g}"
    else:
        fcl.verdict = "undetermined: no fidelity data" if not fmean.size else "undetermined: no dip stands out"
    out.append(fcl)
    mc = curve_data(ds, task, method, "imp", "abs_m_z")
    mcl = Claim(
        "Fig 3",
        "transition: |M_z| jump",
        task,
        "largest change of |M_z|",
        method=method,
        ci="t interval over seeds",
        threshold=f"|change| >= {MZ_JUMP_MIN:g} and >= {JUMP_RATIO:g}x median",
        paper="spontaneous |M_z| only for L >= 7",
    )
    mmean = _round_means(mc)
    mj = largest_jump(mmean, min_jump=MZ_JUMP_MIN, either_sign=True) if mmean.size else None
    if mj is not None:
        k, size = mj
        e = mean_estimate(mc.value[k + 1] - mc.value[k])
        mcl.value, mcl.lo, mcl.hi = size, e.lo, e.hi
        mcl.verdict = f"jump between rho {mc.rho[k]:.3g} and {mc.rho[k + 1]:.3g}"
    else:
        mcl.verdict = "undetermined: no |M_z| jump stands out"
    out.append(mcl)
    return out


def _filter_claim(task, method, c, match, store):
    cl = Claim(
        "Fig 4d",
        "odd-parity filters",
        task,
        "odd-parity units at the plateau end",
        method=method,
        ci="t interval over seeds",
        threshold="alive inputs = one plaquette's 4 edges, odd # negative",
        paper="pruned TC nets keep odd-parity single-plaquette filters",
    )
    p = task_parameters(task)
    if p["model"] != "toric":
        return None
    if store is None:
        cl.verdict = "undetermined: no masks/params artifacts next to the results file"
        return cl
    from .report import first_layer_kernel
    from .results import CellKey

    if match.round < 0:
        cl.verdict = "undetermined: no plateau end"
        return cl
    rnd = int(c.rounds[match.round])
    counts, fracs, totals = [], [], []
    n_spins = 2 * p["L"] ** 2
    for seed in c.seeds[c.requested]:
        key = CellKey(task, method, "imp", rnd, int(seed))
        if not store.has(key):
            continue
        arts = store.read_artifacts(key)
        w = first_layer_kernel(arts.get("params", {}), n_spins)
        if w is None:
            continue
        m = first_layer_kernel(arts.get("mask", {}), n_spins) if "mask" in arts else None
        w = w * (np.asarray(m) != 0) if m is not None else w
        odd, total, frac = odd_parity_filters(w, p["L"])
        counts.append(odd)
        totals.append(total)
        fracs.append(frac)
    if not counts:
        cl.verdict = "undetermined: no artifacts for that round"
        return cl
    e = mean_estimate(counts)
    cl.value, cl.lo, cl.hi = e.value, e.lo, e.hi
    cl.quantity = f"odd-parity units at round {rnd} (rho {c.rho[match.round]:.3g})"
    cl.verdict = (
        f"{e.value:.3g} of {np.mean(totals):.3g} surviving units, holding {np.mean(fracs):.1%} of the alive weights"
    )
    return cl


def _scan_claims(per_task):
    """Collapse across alpha (same system and net, several alpha) and trends with L (same kappa)."""
    out = []
    groups: dict = {}
    for (task, method), info in per_task.items():
        p = info["params"]
        groups.setdefault(("alpha", p["model"], p["L"], p["kappa"], p["net"], method), []).append(
            (p["alpha"], task, info)
        )
        groups.setdefault(("L", p["model"], p["kappa"], p["net"], p["alpha"], method), []).append((p["L"], task, info))
    for key, members in sorted(groups.items(), key=lambda kv: str(kv[0])):
        members = [m for m in members if m[0] is not None]
        if len({m[0] for m in members}) < 2:
            continue
        members.sort(key=lambda m: m[0])
        if key[0] == "alpha":
            for which, idx in (("n1", 0), ("n2", 1)):
                vals = [(a, info["bounds"][idx], info["bounds_ci"][idx]) for a, _, info in members]
                have = [v for v in vals if math.isfinite(v[1])]
                cl = Claim(
                    "Fig 2",
                    f"collapse across alpha ({which})",
                    ", ".join(t for _, t, _ in members),
                    f"{which} per alpha: " + ", ".join(f"a{a:g}: {v:.3g}" for a, v, _ in vals),
                    threshold="boundaries' 95% CIs overlap",
                    paper="boundaries set by H, not width",
                    method=key[-1],
                    ci="bootstrap over seeds",
                )
                if len(have) < 2:
                    cl.verdict = "undetermined: boundary not determined for >= 2 widths"
                else:
                    los = [c[0] for _, _, c in have]
                    his = [c[1] for _, _, c in have]
                    if not all(map(math.isfinite, los + his)):
                        cl.verdict = "undetermined: no CI (1 seed)"
                    else:
                        cl.verdict = "collapse (CIs overlap)" if max(los) <= min(his) else "no collapse"
                out.append(cl)
        else:
            vals = [(L, info["jump_rho"], info["fid_min"]) for L, _, info in members]
            cl = Claim(
                "Fig 3",
                "trend with L",
                ", ".join(t for _, t, _ in members),
                "L: jump rho / min fidelity = " + ", ".join(f"{L}: {j:.3g} / {f:.3g}" for L, j, f in vals),
                threshold="fidelity minimum decreasing with L = sharpening",
                paper="dip sharpens with L",
                method=key[-1],
            )
            fids = [f for _, _, f in vals]
            if sum(map(math.isfinite, fids)) < 2:
                cl.verdict = "undetermined: fidelity dip found for < 2 sizes"
            else:
                f = [x for x in fids if math.isfinite(x)]
                cl.verdict = "sharpens with L" if all(b < a for a, b in zip(f, f[1:])) else "no monotone sharpening"
            out.append(cl)
    return out


def compute_claims(results, *, methods=None) -> list[Claim]:
    """Every claim for every (task, method) in `results` (a path, or a dataset with no artifacts)."""
    with warnings.catch_warnings():  # all-NaN rounds (controls, fidelity at round 0) are expected
        warnings.simplefilter("ignore", RuntimeWarning)
        return _compute_claims(results, methods)


def _compute_claims(results, methods) -> list[Claim]:
    ds = load_results(results)
    store = None
    if not hasattr(results, "data_vars"):
        from .results import RunStore

        cells = Path(f"{results}.cells")
        store = RunStore(results, create=False) if cells.is_dir() else None
    out: list[Claim] = []
    per_task = {}
    for task in map(str, ds["task"].values):
        for method in methods_with(ds, task, "imp"):
            if methods and method not in methods:
                continue
            c = curve_data(ds, task, method, "imp", "rel_error")
            if not c.has_reference:
                out.append(
                    Claim(
                        "-",
                        "all error claims",
                        task,
                        "-",
                        method=method,
                        verdict="undetermined: no reference energy for this task",
                    )
                )
                continue
            out.append(_seeds_claim(task, method, c))
            match_claim, match = _match_claim(task, method, c)
            out.append(match_claim)
            region, fit, bounds = _region_claims(ds, task, method, c)
            out += region
            out += _control_claims(ds, task, method, c, match)
            trans = _transition_claims(ds, task, method, c)
            out += trans
            fc = _filter_claim(task, method, c, match, store)
            if fc is not None:
                out.append(fc)
            n1c, n2c = region[0], region[1]
            per_task[(task, method)] = {
                "params": task_parameters(task),
                "bounds": bounds,
                "fit": fit,
                "bounds_ci": ((n1c.lo, n1c.hi), (n2c.lo, n2c.hi)),
                "jump_rho": trans[0].value,
                "fid_min": trans[1].value,
            }
    out += _scan_claims(per_task)
    return out


def region_boundaries(ds, task: str, method: str) -> list[float]:
    """The determined region boundaries [n1, n2] (alive weights) of the IMP curve, for dashed lines."""
    c = curve_data(ds, task, method, "imp", "rel_error")
    cols = np.flatnonzero(c.requested)
    if not c.has_reference or not cols.size:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = fit_regions(np.log10(c.n_alive), np.nanmean(_log_err(c)[:, cols], axis=1))
    return [10**v for v, ok in ((fit.x1, fit.hep), (fit.x2, fit.lep)) if ok]


def boundaries(claims, task, method) -> list[float]:
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


def format_claims(claims) -> str:
    """Plain-text table of the claims."""
    if not claims:
        return "no claims: no IMP curves in these results"
    header = ["figure", "task", "claim", "quantity", "value [95% CI]", "verdict", "threshold"]
    rows = [[c.figure, c.task, c.claim, c.quantity, c.value_text(), c.verdict, c.threshold] for c in claims]
    widths = [min(60, max(len(h), *(len(r[i]) for r in rows))) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip(), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    methods = sorted({c.method for c in claims if c.method})
    lines.append("method(s): " + ", ".join(methods) + "; CIs: see each claim's ci (bootstrap or t over seeds)")
    return "\n".join(lines)


def _md(text: str) -> str:
    return re.sub(r"\|", "\\|", text)


def claims_markdown(claims) -> str:
    """Markdown table of the claims (docs/reproduction.md's generated section)."""
    lines = [
        "| figure | task | claim | quantity | ours [95% CI] | paper | verdict (threshold) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in claims:
        lines.append(
            "| "
            + " | ".join(
                _md(x)
                for x in (
                    c.figure,
                    c.task,
                    c.claim,
                    c.quantity,
                    c.value_text(),
                    c.paper,
                    f"{c.verdict} ({c.threshold}; CI: {c.ci})" if c.threshold else c.verdict,
                )
            )
            + " |"
        )
    return "\n".join(lines)
