"""The gate's two comparisons, as pure functions of measured and stored numbers.

1. Fixed keys: every tracked value (exact and Monte Carlo cells alike, each seed its own value) must
   equal the stored one to RTOL = 1e-10, in both directions (an "improvement" is a change too):
   |measured - stored| <= RTOL * max(|stored|, 1). That is relative for energies and variances (|E| > 1
   here) and absolute for the quantities that live in [0, 1] (rel_error, magnetisations, fidelities,
   density): an absolute 1e-10 on rel_error = |E - E_ref| / |E_ref| is 1e-10 relative on E, whereas a
   relative 1e-10 on a rel_error of 2e-6 would ask for 2e-16 on E, below float64 rounding of the
   reference itself (measured: the Lanczos reference's last bit differs between 1 and 2 cores, which
   moved a 2e-6 rel_error by 1.2e-10 relative). NaN matches only NaN. A value present on one side
   only is a change too.
2. Across seeds (Monte Carlo cells): the mean over the gate's seeds of STAT_QUANTITY against the stored
   distribution (other seeds, recorded with the reference), a two-sided two-sample t-test per cell, the
   p-values corrected by Holm's step-down method over all cells tested, family-wise false-alarm rate
   ALPHA = 0.01 (when the two samples come from one normal distribution; exact for that case, approximate
   otherwise). With fixed keys the outcome is deterministic: it is a statement about the stored seeds,
   and what it adds is the check of a change that legitimately moves the random stream (then 1. fails
   for every Monte Carlo value and 2. says whether the distribution moved).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .cells import split_value_name, task_of

RTOL = 1e-10
ALPHA = 0.01


def same(measured: float, stored: float, rtol: float = RTOL) -> bool:
    """|measured - stored| <= rtol * max(|stored|, 1) (NaN == NaN, inf == inf)."""
    if math.isnan(stored) or math.isnan(measured):
        return math.isnan(stored) and math.isnan(measured)
    if math.isinf(stored) or math.isinf(measured):
        return measured == stored
    return abs(measured - stored) <= rtol * max(abs(stored), 1.0)


def relative_change(measured: float, stored: float) -> float:
    """(measured - stored) / max(|stored|, 1), the number `same` bounds (NaN when either is NaN)."""
    return (measured - stored) / max(abs(stored), 1.0)


def compare_values(measured: dict[str, float], stored: dict[str, float], tasks=None, rtol: float = RTOL) -> list[dict]:
    """One verdict per value name of either side (restricted to gate tasks `tasks` when given):
    {'name', 'measured', 'stored', 'change', 'status'}, status 'ok', 'MOVED', 'MISSING' (stored, not
    measured) or 'NEW' (measured, not stored). Sorted by name."""
    names = set(measured) | set(stored)
    if tasks is not None:
        names = {n for n in names if task_of(n) in set(tasks)}
    out = []
    for name in sorted(names):
        m, s = measured.get(name), stored.get(name)
        if m is None:
            status, change = "MISSING", math.nan
        elif s is None:
            status, change = "NEW", math.nan
        else:
            status = "ok" if same(m, s, rtol) else "MOVED"
            change = relative_change(m, s)
        out.append({"name": name, "measured": m, "stored": s, "change": change, "status": status})
    return out


def _num(x) -> str:
    return "-" if x is None else repr(float(x))


def format_value_verdict(v: dict, rtol: float = RTOL) -> str:
    """One line naming the value and both numbers (shortest repr, so every stored bit shows), e.g.
    'MOVED tfim3x3-exact/imp@r1/s0:energy: measured -9.1, stored -9.2 (relative change -1.1e-02, allowed 1e-10)'."""
    line = f"{v['status']} {v['name']}: measured {_num(v['measured'])}, stored {_num(v['stored'])}"
    if v["status"] == "MOVED":
        line += f" (change {v['change']:+.3e} of max(|stored|, 1), allowed {rtol:.0e})"
    elif v["status"] == "MISSING":
        line += " (stored but not produced: a cell or quantity disappeared)"
    elif v["status"] == "NEW":
        line += " (produced but not stored: a new cell or quantity)"
    return line


def t_test_p(sample: list[float], population: list[float]) -> float:
    """Two-sided p-value of Student's two-sample t-test of equal means, pooled variance (under the null
    both samples come from one distribution, for which the pooled test is exact with normal data;
    Welch's approximation is not, with 3 seeds: its measured false-alarm rate was 1.85% at a nominal 1%).
    1.0 when both samples are constant and equal, 0.0 when constant and different."""
    a, b = np.asarray(sample, float), np.asarray(population, float)
    n, m = a.size, b.size
    pooled = (((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()) / (n + m - 2)
    diff = a.mean() - b.mean()
    if pooled == 0:
        return 1.0 if diff == 0 else 0.0
    t = diff / math.sqrt(pooled * (1.0 / n + 1.0 / m))
    return float(2.0 * stats.t.sf(abs(t), n + m - 2))


def holm(pvalues: dict[str, float], alpha: float = ALPHA) -> dict[str, bool]:
    """{name: rejected} by Holm's step-down procedure at family-wise level alpha."""
    order = sorted(pvalues, key=lambda k: pvalues[k])
    m, rejected, stop = len(order), {}, False
    for i, name in enumerate(order):
        stop = stop or pvalues[name] > alpha / (m - i)
        rejected[name] = not stop
    return rejected


def seed_samples(values: dict[str, float], quantity: str) -> dict[str, list[float]]:
    """{cell: [value at each seed, in seed order]} of one quantity."""
    by_cell: dict[str, list[tuple[int, float]]] = {}
    for name, v in values.items():
        cell, seed, q = split_value_name(name)
        if q == quantity:
            by_cell.setdefault(cell, []).append((seed, v))
    return {cell: [v for _, v in sorted(pairs)] for cell, pairs in sorted(by_cell.items())}


def compare_distributions(
    samples: dict[str, list[float]], distributions: dict[str, dict], alpha: float = ALPHA
) -> list[dict]:
    """One verdict per cell of `distributions` ({cell: {'values': [...]}}) that `samples` has:
    {'name', 'mean', 'stored_mean', 'stored_std', 'n', 'm', 'p', 'status'}; status 'ok' or 'SHIFTED'
    (rejected by Holm at family-wise level alpha), 'MISSING' when the cell has fewer than 2 seeds."""
    pvals, out = {}, []
    for cell, dist in sorted(distributions.items()):
        if cell.split("/", 1)[0] not in {c.split("/", 1)[0] for c in samples}:
            continue
        sample, pop = samples.get(cell, []), list(dist["values"])
        entry = {
            "name": cell,
            "n": len(sample),
            "m": len(pop),
            "stored_mean": float(np.mean(pop)),
            "stored_std": float(np.std(pop, ddof=1)),
            "mean": float(np.mean(sample)) if sample else math.nan,
        }
        if len(sample) < 2 or not all(math.isfinite(x) for x in sample):
            entry.update(p=0.0, status="MISSING")
        else:
            entry["p"] = pvals[cell] = t_test_p(sample, pop)
        out.append(entry)
    rejected = holm(pvals, alpha)
    for entry in out:
        if entry["name"] in rejected:
            entry["status"] = "SHIFTED" if rejected[entry["name"]] else "ok"
    return out


def format_distribution_verdict(v: dict, alpha: float = ALPHA) -> str:
    """'ok tfim3x3-mc/imp@r0 energy: mean of 3 seeds -9.1 vs stored -9.2 +- 0.01 (8 seeds), Welch p 0.4 (Holm, FWER 0.01)'."""
    return (
        f"{v['status']} {v['name']} (across seeds): mean of {v['n']} seeds {v['mean']!r} vs stored mean "
        f"{v['stored_mean']!r} (std {v['stored_std']:.3e}, {v['m']} seeds), two-sided t-test p = {v['p']:.3g} "
        f"(Holm over the cells tested, family-wise false-alarm rate {alpha})"
    )
