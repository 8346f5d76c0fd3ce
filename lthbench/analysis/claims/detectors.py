"""The claims' detectors: small pure functions on arrays (tests/analysis/test_claims.py checks them on synthetic
curves). See the package docstring for what each one accepts."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .claim import BIC_MIN, DIP_MIN, JUMP_MIN, JUMP_RATIO


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


class Jump(NamedTuple):
    """A jump of a per-round quantity: the finite rounds on either side (round indices) and its size."""

    before: int
    after: int  # the next round with data: a round without data in between is skipped, not straddled
    size: float  # y[after] - y[before]


def largest_jump(y, *, min_jump: float = JUMP_MIN, ratio: float = JUMP_RATIO, either_sign: bool = False) -> Jump | None:
    """The largest rise y[after] - y[before] between consecutive finite rounds, or None when none
    stands out.

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
    return Jump(int(idx[k]), int(idx[k + 1]), size)


def dip(f, *, min_dip: float = DIP_MIN, ratio: float = JUMP_RATIO) -> tuple[int, float] | None:
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


def n_at_error(n, err, level: float) -> float:
    """The alive count at which a pruning curve first reaches the error `level`, going down in n.

    n: (R,) alive weights per round, decreasing; err: (R,) positive errors (NaN = no data; rounds with
    err <= 0 or n <= 0 are skipped too); level > 0. Interpolated linearly in (log n, log err) between the last finite round below `level` and the
    first at or above it; n of the first finite round when that one already reaches it; NaN when the
    curve never does.
    """
    n, err = np.asarray(n, float), np.asarray(err, float)
    ok = np.isfinite(n) & (n > 0) & np.isfinite(err) & (err > 0)
    n, err = n[ok], err[ok]
    hit = np.flatnonzero(err >= level)
    if not hit.size or not level > 0:
        return float("nan")
    k = int(hit[0])
    if k == 0:
        return float(n[0])
    t = (math.log(level) - math.log(err[k - 1])) / (math.log(err[k]) - math.log(err[k - 1]))
    return float(math.exp(math.log(n[k - 1]) + t * (math.log(n[k]) - math.log(n[k - 1]))))


def largest_shift(n_imp, err_imp, n_rand, err_rand, *, lower: float, upper: float) -> tuple[float, int]:
    """How many times IMP's weights a control needs for IMP's error, at its worst point.

    n_imp, err_imp: (R,) IMP's alive weights (decreasing) and errors per round; n_rand, err_rand: (K,)
    the control's, at its rounds. Over the control points with lower < err_rand <= upper:
    n_rand / n_at_error(n_imp, err_imp, err_rand), the largest of them and its index into the (K,)
    arrays; (NaN, -1) when no point qualifies or IMP never reaches any of their errors.
    """
    best, index = float("nan"), -1
    for k, (n, level) in enumerate(zip(np.asarray(n_rand, float), np.asarray(err_rand, float))):
        if not lower < level <= upper:
            continue
        shift = n / n_at_error(n_imp, err_imp, level)
        if math.isfinite(shift) and (index < 0 or shift > best):
            best, index = shift, k
    return best, index
