"""Compare methods across results files at matched densities, with seed statistics.

For every task present in the inputs, the first method seen is the baseline. For each round of the
baseline's curve (one control, IMP by default), every other method's round with the nearest rho is
matched when |log(rho_b / rho_a)| <= tolerance. Each side reports its mean over seeds with a 95%
t-interval; a Welch t-test (scipy) says whether the difference is significant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import LthbenchError


@dataclass
class SeedStats:
    n: int
    mean: float
    half_width: float  # 95% t-interval half width (NaN for one seed)

    def __str__(self) -> str:
        if not math.isfinite(self.mean):
            return "-"
        if math.isfinite(self.half_width):
            return f"{self.mean:.3e} ± {self.half_width:.1e}"
        return f"{self.mean:.3e}"


def seed_stats(values) -> SeedStats:
    """Mean and 95% t-interval half width of the finite values."""
    from scipy import stats

    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return SeedStats(0, float("nan"), float("nan"))
    if x.size == 1:
        return SeedStats(1, float(x[0]), float("nan"))
    sem = float(np.std(x, ddof=1) / math.sqrt(x.size))
    return SeedStats(int(x.size), float(x.mean()), float(stats.t.ppf(0.975, x.size - 1) * sem))


def welch_p(a, b) -> float:
    """Two-sided Welch t-test p-value (NaN when either side has < 2 values or both have no spread)."""
    from scipy import stats

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return float("nan")
    if np.std(a) == 0 and np.std(b) == 0:
        return 0.0 if a.mean() != b.mean() else 1.0
    return float(stats.ttest_ind(a, b, equal_var=False).pvalue)


@dataclass
class Row:
    task: str
    rho_a: float
    method_a: str
    stats_a: SeedStats
    rho_b: float
    method_b: str
    stats_b: SeedStats
    p_value: float
    significant: str  # 'yes' | 'no' | 'n/a'


def _load_all(paths):
    from .results import load_dataset, merge

    datasets = [load_dataset(p) for p in paths]
    labelled = []
    seen: dict[str, int] = {}
    for k, ds in enumerate(datasets):
        # The same method label in two files is two methods for comparison: suffix it with the file.
        renamed = {}
        for m in ds["method"].values:
            m = str(m)
            if m in seen and seen[m] != k:
                renamed[m] = f"{m} [{paths[k]}]"
            seen.setdefault(m, k)
        if renamed:
            ds = ds.assign_coords(method=[renamed.get(str(m), str(m)) for m in ds["method"].values])
            ds["method"] = ds["method"].astype(object)
        labelled.append(ds)
    return merge(labelled) if len(labelled) > 1 else labelled[0]


def _points(ds, task, method, control, metric):
    """[(round, rho (mean over seeds), values over seeds)] where the cell exists."""
    if control not in ds["control"].values:
        return []
    sel = {"task": task, "method": method, "control": control}
    vals = ds[metric].sel(sel).transpose("round", "seed").values
    rho = ds["rho"].sel(sel).transpose("round", "seed").values
    out = []
    for r, rnd in enumerate(ds["round"].values):
        finite = np.isfinite(vals[r])
        if finite.any():
            out.append((int(rnd), float(np.nanmean(rho[r][finite])), vals[r][finite]))
    return out


def compare(paths, *, metric: str = "rel_error", control: str = "imp", tolerance: float = 0.1,
            alpha: float = 0.05) -> list[Row]:
    """Rows of the comparison table (see the module docstring)."""
    if len(paths) < 1:
        raise LthbenchError("give at least one results file")
    if tolerance <= 0:
        raise LthbenchError(f"tolerance must be > 0, got {tolerance}")
    ds = _load_all([str(p) for p in paths])
    if metric not in ds:
        raise LthbenchError(f"unknown metric {metric!r}")
    rows: list[Row] = []
    for task in map(str, ds["task"].values):
        methods = [str(m) for m in ds["method"].values if _points(ds, task, str(m), control, metric)]
        if len(methods) < 2:
            continue
        base = methods[0]
        pts_a = _points(ds, task, base, control, metric)
        for other in methods[1:]:
            pts_b = _points(ds, task, other, control, metric)
            for _, rho_a, vals_a in pts_a:
                dist = [abs(math.log(rho_b / rho_a)) if rho_a > 0 and rho_b > 0 else math.inf
                        for _, rho_b, _ in pts_b]
                j = int(np.argmin(dist))
                if dist[j] > tolerance:
                    continue
                _, rho_b, vals_b = pts_b[j]
                p = welch_p(vals_a, vals_b)
                sig = "n/a" if math.isnan(p) else ("yes" if p < alpha else "no")
                rows.append(Row(task, rho_a, base, seed_stats(vals_a), rho_b, other, seed_stats(vals_b), p, sig))
    return rows


def format_table(rows: list[Row], metric: str = "rel_error") -> str:
    """Plain-text table of the comparison."""
    if not rows:
        return "no matched densities (need two methods on the same task; try a larger --tolerance)"
    header = ["task", "rho", "method A", f"{metric} A (95% CI)", "rho B", "method B", f"{metric} B (95% CI)",
              "p (Welch)", "significant"]
    body = [
        [r.task, f"{r.rho_a:.4g}", r.method_a, str(r.stats_a), f"{r.rho_b:.4g}", r.method_b, str(r.stats_b),
         "-" if math.isnan(r.p_value) else f"{r.p_value:.3g}", r.significant]
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(lines)
