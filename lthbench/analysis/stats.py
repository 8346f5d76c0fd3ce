"""Statistics shared by `compare`, `claims` and `report`: pure NumPy/SciPy, no physics, no pruning.

The error model (docs/comparison.md states it in full):

- Per seed s and matched density, the paired difference of *signed* errors d_s = e_B,s - e_A,s with
  e = (E - E_ref) / |E_ref| (both methods share the seed's dense net, so the pair removes its scatter),
  and its Monte Carlo variance v_s = sigma_A,s^2 + sigma_B,s^2 (sigma = energy_sigma / |E_ref|).
- A hierarchical (random-effects) model d_s = Delta + u_s + e_s: u_s ~ Normal(0, tau^2) the seed-to-seed
  scatter of the true difference, e_s ~ Normal(0, v_s) the MC noise. Delta = mean over seeds,
  Var = max(s^2 / k, sum(v) / k^2), t on k - 1 degrees of freedom (`random_effects`). The floor keeps
  the variance at least the pure Monte Carlo one: two methods inside each other's MC error bars cannot
  come out significant however small the seed scatter happens to be.
- Holm's step-down correction across the densities of one comparison.

Array conventions: `(..., k)` arrays, k = seeds on the last axis; NaN marks a missing seed.
The "matches dense" operating point built on these is `dense_match`, the log-log area `area`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

LEVEL = 0.95

# Chain diagnostics: thresholds at which a cell's Monte Carlo error bar is not trusted.
ACCEPTANCE_MIN = 0.005  # a chain accepting fewer moves than this is stuck
R_HAT_MAX = 1.2  # split R-hat above this: chains disagree


@dataclass(frozen=True)
class Estimate:
    """A mean with a 95% interval: `lo <= value <= hi`; k = number of seeds used; df for the t reference."""

    value: float
    lo: float
    hi: float
    k: int
    se: float = float("nan")
    p: float = float("nan")

    def fmt(self, spec: str = ".3e") -> str:
        if not math.isfinite(self.value):
            return fmt_number(self.value)
        if math.isfinite(self.lo) and math.isfinite(self.hi):
            return f"{self.value:{spec}} [{self.lo:{spec}}, {self.hi:{spec}}]"
        return f"{self.value:{spec}}"


def fmt_number(x: float, spec: str = ".3g") -> str:
    """x in the format spec, or "-" for a value that is not finite (not determined, no data)."""
    return f"{x:{spec}}" if math.isfinite(x) else "-"


def t_quantile(df, level: float = LEVEL):
    """Two-sided t quantile for `level` (array-friendly); df <= 0 gives NaN."""
    df = np.asarray(df, dtype=float)
    with np.errstate(invalid="ignore"):
        return np.where(df > 0, sps.t.ppf(0.5 + level / 2, np.maximum(df, 1)), np.nan)


def random_effects(d, v) -> dict:
    """Hierarchical mean of paired differences over seeds, vectorised over leading axes.

    Model: d_s = Delta + u_s + e_s, seed effect u_s ~ Normal(0, tau^2), Monte Carlo noise
    e_s ~ Normal(0, v_s). Seeds are exchangeable, so Delta is estimated by the plain mean (equal
    weights) and Var(mean) = tau^2 / k + sum(v_s) / k^2 by max(s^2 / k, sum(v_s) / k^2): the sample
    variance s^2 estimates tau^2 + mean(v) without bias, and the floor keeps the variance at least the
    known MC part. t reference with k - 1 degrees of freedom. (Inverse-variance weights with a
    DerSimonian-Laird tau^2 and the Hartung-Knapp rule were tried first: with 3 seeds whose MC errors
    differ 10x their false-positive rate reached 14%; this rule stays <= 5%, tests/analysis/test_compare_stats.py.)

    d, v: (..., k) float arrays (v >= 0; NaN in d = seed missing).
    Returns dict of (...) arrays: delta, se, df (= k_used - 1), t, p (two-sided), tau2, k.
    With one seed there is no scatter estimate: se and p are NaN.
    """
    d = np.asarray(d, dtype=float)
    v = np.broadcast_to(np.asarray(v, dtype=float), d.shape)
    have = np.isfinite(d) & np.isfinite(v)
    k = have.sum(axis=-1)
    d0 = np.where(have, d, 0.0)
    v0 = np.where(have, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = d0.sum(axis=-1) / k
        s2 = (np.where(have, d0 - delta[..., None], 0.0) ** 2).sum(axis=-1) / (k - 1)
        mc = v0.sum(axis=-1) / k**2
        var = np.maximum(s2 / k, mc)
        se = np.where(k > 1, np.sqrt(var), np.nan)
        t = delta / se
        df = (k - 1).astype(float)
        p = np.where(k > 1, 2.0 * sps.t.sf(np.abs(t), np.maximum(df, 1)), np.nan)
        # no spread at all (identical runs): p = 1 for equal values, 0 otherwise
        p = np.where((k > 1) & (var == 0), np.where(delta == 0, 1.0, 0.0), p)
        tau2 = np.where(k > 1, np.maximum(0.0, s2 - v0.sum(axis=-1) / k), np.nan)
    return {"delta": delta, "se": se, "df": df, "t": t, "p": p, "tau2": tau2, "k": k}


def mean_estimate(x, v=None, level: float = LEVEL) -> Estimate:
    """Mean over seeds of x (1-D, NaN dropped) with a t interval whose variance is at least the MC one.

    v: per-seed Monte Carlo variances (optional). se^2 = max(s^2 / k, mean(v) / k).
    """
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    vv = np.zeros_like(x) if v is None else np.nan_to_num(np.asarray(v, dtype=float), nan=0.0)
    x, vv = x[ok], vv[ok]
    k = x.size
    if k == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    m = float(x.mean())
    mc = float(vv.mean() / k)
    if k == 1:
        se = math.sqrt(mc)
        h = 1.959963984540054 * se if se > 0 else float("nan")
        return Estimate(m, m - h, m + h, 1, se)
    se = math.sqrt(max(float(np.var(x, ddof=1)) / k, mc))
    h = float(t_quantile(k - 1, level)) * se
    return Estimate(m, m - h, m + h, k, se)


def paired_difference(a, va, b, vb, level: float = LEVEL) -> Estimate:
    """B - A over the seeds both have (1-D arrays), random-effects model; p two-sided."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = np.isfinite(a) & np.isfinite(b)
    d = np.where(both, b - a, np.nan)
    v = np.nan_to_num(np.asarray(va, float), nan=0.0) + np.nan_to_num(np.asarray(vb, float), nan=0.0)
    r = random_effects(d, v)
    k = int(r["k"])
    delta, se = float(r["delta"]), float(r["se"])
    if k < 2:
        return Estimate(delta if k else float("nan"), float("nan"), float("nan"), k, se, float("nan"))
    h = float(t_quantile(k - 1, level)) * se
    return Estimate(delta, delta - h, delta + h, k, se, float(r["p"]))


def welch_mc(a, va, b, vb) -> dict:
    """Unpaired B - A when the seeds differ, vectorised over leading axes ((..., k_a), (..., k_b) arrays).

    Each mean's variance is max(s^2 / k, sum(v) / k^2) (seed scatter, at least the MC part), the
    difference's the sum, with Welch-Satterthwaite degrees of freedom. Returns dict: delta, se, df, p.
    """

    def part(x, v):
        x = np.asarray(x, float)
        v = np.broadcast_to(np.asarray(v, float), x.shape)
        have = np.isfinite(x)
        k = have.sum(axis=-1)
        x0 = np.where(have, x, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = x0.sum(axis=-1) / k
            s2 = (np.where(have, x0 - m[..., None], 0.0) ** 2).sum(axis=-1) / (k - 1)
            var = np.maximum(s2 / k, np.where(have, np.nan_to_num(v), 0.0).sum(axis=-1) / k**2)
        return m, var, k

    ma, wa, ka = part(a, va)
    mb, wb, kb = part(b, vb)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(wa + wb)
        df = (wa + wb) ** 2 / (wa**2 / (ka - 1) + wb**2 / (kb - 1))
        delta = mb - ma
        ok = (ka > 1) & (kb > 1)
        p = np.where(ok, 2.0 * sps.t.sf(np.abs(delta / se), np.where(ok, np.maximum(df, 1.0), 1.0)), np.nan)
        p = np.where(ok & (se == 0), np.where(delta == 0, 1.0, 0.0), p)
    return {"delta": delta, "se": np.where(ok, se, np.nan), "df": np.where(ok, df, np.nan), "p": p}


def unpaired_difference(a, va, b, vb, level: float = LEVEL) -> Estimate:
    """B - A over different seeds (1-D arrays; `welch_mc`); k = the smaller side's seed count."""
    r = welch_mc(a, va, b, vb)
    k = int(min(np.isfinite(np.asarray(a, float)).sum(), np.isfinite(np.asarray(b, float)).sum()))
    delta, se, df = float(r["delta"]), float(r["se"]), float(r["df"])
    if not math.isfinite(se):
        return Estimate(delta, float("nan"), float("nan"), k, se, float("nan"))
    h = float(t_quantile(df, level)) * se if se > 0 else 0.0
    return Estimate(delta, delta - h, delta + h, k, se, float(r["p"]))


def ratio_estimate(a, va, b, vb, level: float = LEVEL) -> Estimate:
    """Ratio of mean errors mean(B) / mean(A) over the paired seeds, delta method on the log.

    The variance of each mean is at least its MC part; the covariance of the pair is the seed covariance.
    When either mean is not resolved above zero at `level`, the interval is unbounded (lo = 0, hi = inf).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    both = np.isfinite(a) & np.isfinite(b)
    a, b = a[both], b[both]
    va = np.nan_to_num(np.asarray(va, float), nan=0.0)[both]
    vb = np.nan_to_num(np.asarray(vb, float), nan=0.0)[both]
    k = a.size
    if k == 0:
        return Estimate(float("nan"), float("nan"), float("nan"), 0)
    ma, mb = float(a.mean()), float(b.mean())
    r = mb / ma if ma != 0 else float("nan")
    if k < 2:
        return Estimate(r, float("nan"), float("nan"), k)
    var_a = max(float(np.var(a, ddof=1)) / k, float(va.mean()) / k)
    var_b = max(float(np.var(b, ddof=1)) / k, float(vb.mean()) / k)
    cov = float(np.cov(a, b, ddof=1)[0, 1]) / k
    tq = float(t_quantile(k - 1, level))
    if ma <= tq * math.sqrt(var_a) or mb <= tq * math.sqrt(var_b):
        return Estimate(r, 0.0, float("inf"), k)
    var_log = var_b / mb**2 + var_a / ma**2 - 2 * cov / (ma * mb)
    var_log = max(var_log, (float(va.mean()) / ma**2 + float(vb.mean()) / mb**2) / k)  # never below MC
    h = tq * math.sqrt(var_log)
    return Estimate(r, r * math.exp(-h), r * math.exp(h), k, math.sqrt(var_log))


def holm(p) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN entries stay NaN and do not count as tests)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = ok.size
    if not m:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    adj = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out[order] = np.maximum.accumulate(adj)
    return out


def inflate_sigma(sigma, error, acceptance=None, r_hat=None) -> tuple[np.ndarray, np.ndarray]:
    """MC error bars widened by the chain diagnostics (never narrowed).

    sigma, error: arrays of the same shape (signed error and its MC sigma, same units).
    r_hat (split R-hat) finite: sigma * max(1, r_hat). A stuck chain (acceptance < ACCEPTANCE_MIN) or
    r_hat > R_HAT_MAX: the error is not resolved, sigma >= |error|. Missing diagnostics (None or NaN)
    leave sigma as recorded. Returns (sigma, unreliable bool array).
    """
    sigma = np.asarray(sigma, dtype=float).copy()
    error = np.asarray(error, dtype=float)
    bad = np.zeros(sigma.shape, dtype=bool)
    if r_hat is not None:
        r_hat = np.asarray(r_hat, dtype=float)
        sigma = np.where(np.isfinite(r_hat), sigma * np.maximum(1.0, np.nan_to_num(r_hat, nan=1.0)), sigma)
        bad |= np.isfinite(r_hat) & (r_hat > R_HAT_MAX)
    if acceptance is not None:
        acceptance = np.asarray(acceptance, dtype=float)
        bad |= np.isfinite(acceptance) & (acceptance < ACCEPTANCE_MIN)
    sigma = np.where(bad, np.maximum(sigma, np.abs(error)), sigma)
    return sigma, bad


# --------------------------------------------------------------------------------------------------
# Simulation (calibration and power of the paired test; vectorised, no training)


def simulate_paired(n_trials: int, k: int, *, delta: float, tau: float, sigma, rng) -> dict:
    """Random-effects test on simulated paired differences d_s = delta + tau z_s + MC noise.

    sigma: per-seed MC standard error of each method's error (scalar or (k,)); the MC noise of d_s has
    variance 2 sigma^2 while the test is told v_s = 2 sigma^2. Returns random_effects' dict.
    """
    sigma = np.broadcast_to(np.asarray(sigma, float), (k,))
    v = 2.0 * sigma**2
    d = delta + tau * rng.standard_normal((n_trials, k)) + np.sqrt(v) * rng.standard_normal((n_trials, k))
    return random_effects(d, np.broadcast_to(v, (n_trials, k)))
