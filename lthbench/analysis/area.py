"""Area between two curves in log-log (decades^2), per seed: the one test of a whole curve."""

from __future__ import annotations

import numpy as np


def loglog_area(n_a, err_a, n_b, err_b, floor=1e-300) -> np.ndarray:
    """Per seed: integral over log10 n of log10(err_B / err_A) on the overlap of the two n ranges.

    n_a: (R_a,) alive weights per round, err_a: (R_a, S); likewise B; the same seeds on axis 1.
    Errors below `floor` are clipped (pass the MC resolution). Units: decades x decades; positive means
    B has the larger error. Returns (S,) with NaN where a seed lacks two points on either curve.
    """
    n_a, n_b = np.asarray(n_a, float), np.asarray(n_b, float)
    err_a, err_b = np.asarray(err_a, float), np.asarray(err_b, float)
    out = np.full(err_a.shape[1], np.nan)
    for s in range(err_a.shape[1]):
        xa, ya = _log_curve(n_a, err_a[:, s], floor)
        xb, yb = _log_curve(n_b, err_b[:, s], floor)
        if xa.size < 2 or xb.size < 2:
            continue
        lo, hi = max(xa[0], xb[0]), min(xa[-1], xb[-1])
        if hi <= lo:
            continue
        grid = np.union1d(xa, xb)
        grid = np.concatenate([[lo], grid[(grid > lo) & (grid < hi)], [hi]])
        diff = np.interp(grid, xb, yb) - np.interp(grid, xa, ya)
        out[s] = float(np.sum(0.5 * (diff[1:] + diff[:-1]) * np.diff(grid)))
    return out


def _log_curve(n, err, floor):
    ok = np.isfinite(err) & np.isfinite(n) & (n > 0)
    x = np.log10(n[ok])
    y = np.log10(np.maximum(err[ok], floor))
    order = np.argsort(x, kind="stable")
    return x[order], y[order]
