"""The paper's figures from a results file (PNG), and the curve summaries the figures and tests share.

Per (task, method): relative error vs n (log-log) with the IMP chain, the three controls and the dense
level; |E - E_ref|/N vs n; fidelity between consecutive rounds and M_z vs rho; for toric-code tasks the
surviving first-layer filters (rows of the FFNN's W) drawn on the torus edges, read from the cell
artifacts next to the results file.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import LthbenchError

CURVE_STYLE = {
    "imp": dict(label="IMP", color="C0", marker="o", ls="-"),
    "ticket": dict(label=r"ticket $T(\theta_{init}, m_{IMP})$", color="C1", marker="s", ls="--"),
    "reinit": dict(label=r"reinit $T(\theta_{rand}, m_{IMP})$", color="C2", marker="^", ls="--"),
    "random-mask": dict(label=r"random mask $T(\theta_{init}, m_{rand})$", color="C3", marker="v", ls=":"),
}


@dataclass
class Curve:
    """One control's curve for one (task, method): per round, means over seeds (NaN rows dropped)."""

    control: str
    rounds: np.ndarray
    n_alive: np.ndarray
    rho: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n_seeds: np.ndarray


def curve(ds, task: str, method: str, control: str, var: str = "rel_error") -> Curve:
    """Seed statistics of `var` along the rounds that have data (min/max over seeds as the band)."""
    sel = {"task": task, "method": method, "control": control}
    if control not in ds["control"].values:
        empty = np.array([])
        return Curve(control, empty.astype(int), empty, empty, empty, empty, empty, empty.astype(int))
    values = ds[var].sel(sel).transpose("round", "seed").values
    n_alive = ds["n_alive"].sel(sel).transpose("round", "seed").values
    rho = ds["rho"].sel(sel).transpose("round", "seed").values
    have = ~np.isnan(values)
    keep = have.any(axis=1)
    with warnings.catch_warnings():  # all-NaN rows are dropped by `keep`
        warnings.simplefilter("ignore", RuntimeWarning)
        out = Curve(
            control=control,
            rounds=ds["round"].values[keep],
            n_alive=np.nanmean(n_alive, axis=1)[keep],
            rho=np.nanmean(rho, axis=1)[keep],
            mean=np.nanmean(values, axis=1)[keep],
            lo=np.nanmin(values, axis=1)[keep],
            hi=np.nanmax(values, axis=1)[keep],
            n_seeds=have.sum(axis=1)[keep],
        )
    return out


def dense_level(ds, task: str, method: str, var: str = "rel_error") -> float:
    """Mean over seeds of round 0 of the IMP chain (the dense network)."""
    c = curve(ds, task, method, "imp", var)
    dense = c.mean[c.rounds == 0]
    return float(dense[0]) if dense.size else float("nan")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def _present(ds, task, method) -> bool:
    return bool(np.isfinite(ds["energy"].sel({"task": task, "method": method}).values).any())


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _error_figure(ds, task, method, var, ylabel, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    for control, style in CURVE_STYLE.items():
        c = curve(ds, task, method, control, var)
        ok = (c.n_alive > 0) & (c.mean > 0)
        if not ok.any():
            continue
        ax.plot(c.n_alive[ok], c.mean[ok], ms=4, **style)
        if (c.n_seeds[ok] > 1).any():
            ax.fill_between(c.n_alive[ok], c.lo[ok], c.hi[ok], color=style["color"], alpha=0.15, lw=0)
    dense = dense_level(ds, task, method, var)
    if math.isfinite(dense) and dense > 0:
        ax.axhline(dense, color="k", lw=0.8, ls="-.", label="dense")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n (alive weights)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{task}\n{method}", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _transition_figure(ds, task, method, path):
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.6))
    for ax, var, ylabel in ((axes[0], "fidelity_prev", r"fidelity $|\langle\psi_t|\psi_{t+1}\rangle|^2$"),
                            (axes[1], "m_z", r"$M_z$")):
        c = curve(ds, task, method, "imp", var)
        ok = c.rho > 0
        if ok.any():
            ax.plot(c.rho[ok], c.mean[ok], **CURVE_STYLE["imp"], ms=4)
            if (c.n_seeds[ok] > 1).any():
                ax.fill_between(c.rho[ok], c.lo[ok], c.hi[ok], color="C0", alpha=0.15, lw=0)
        ax.set_xscale("log")
        ax.set_xlabel(r"$\rho = n / N$")
        ax.set_ylabel(ylabel)
    fig.suptitle(f"{task} — {method}", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def first_layer_kernel(params: dict, n_spins: int) -> np.ndarray | None:
    """The first layer's (N, hidden) kernel of an FFNN params dict (Haiku: w[i, j], input i)."""
    for module in sorted(params):
        leaf = params[module]
        if isinstance(leaf, dict):
            w = leaf.get("w")
            if w is not None and np.ndim(w) == 2 and np.shape(w)[0] == n_spins:
                return np.asarray(w)
    return None


def surviving_filters(params: dict, mask: dict | None, n_spins: int) -> np.ndarray:
    """(n_filters, N): the hidden units' incoming weights with at least one alive weight."""
    w = first_layer_kernel(params, n_spins)
    if w is None:
        return np.zeros((0, n_spins))
    if mask is not None:
        m = first_layer_kernel(mask, n_spins)
        if m is not None:
            w = w * (np.asarray(m) != 0)
    filters = w.T
    alive = np.any(filters != 0, axis=1)
    filters = filters[alive]
    order = np.argsort(-np.abs(filters).sum(axis=1), kind="stable")
    return filters[order]


def _torus_size(task_id: str, n_spins: int) -> int | None:
    m = re.match(r"^(?:tiny-)?toric-(\d+)", task_id)
    if m:
        return int(m.group(1))
    return None


def _filters_figure(filters, size, title, path, max_filters=16):
    from .systems.lattice import torus_edge_midpoints

    plt = _plt()
    points = torus_edge_midpoints(size)
    shown = filters[:max_filters]
    n = max(1, len(shown))
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.3 * cols, 2.3 * rows + 0.4), squeeze=False)
    vmax = float(np.abs(shown).max()) if shown.size else 1.0
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k >= len(shown):
            continue
        for x in range(size + 1):  # the lattice (periodic: the last line repeats the first)
            ax.plot([x, x], [0, size], color="0.85", lw=0.6, zorder=0)
            ax.plot([0, size], [x, x], color="0.85", lw=0.6, zorder=0)
        f = shown[k]
        alive = f != 0
        ax.scatter(points[~alive, 0], points[~alive, 1], s=8, color="0.8", zorder=1)
        ax.scatter(points[alive, 0], points[alive, 1], s=70, c=f[alive], cmap="coolwarm", vmin=-vmax,
                   vmax=vmax, edgecolors="k", linewidths=0.5, zorder=2)
        ax.set_title(f"filter {k} ({int(alive.sum())} edges)", fontsize=7)
        ax.set_aspect("equal")
        ax.set_xlim(-0.3, size + 0.3)
        ax.set_ylim(-0.3, size + 0.3)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _filter_rounds(ds, task, method) -> list[int]:
    """Rounds to draw: the sparsest IMP round still within 3x of dense, and the last IMP round."""
    c = curve(ds, task, method, "imp", "rel_error")
    if not c.rounds.size:
        return []
    dense = dense_level(ds, task, method)
    rounds = [int(c.rounds[-1])]
    if math.isfinite(dense):
        ok = c.rounds[c.mean <= 3 * max(dense, 1e-12)]
        if ok.size:
            rounds.insert(0, int(ok.max()))
    return sorted(set(rounds))


def make_report(results_path, out_dir, *, tasks=None, methods=None) -> list[Path]:
    """Write the figures for every (task, method) in the results file; returns the PNG paths."""
    from .results import CellKey, RunStore, load_dataset

    results_path = Path(results_path)
    ds = load_dataset(results_path)
    out_dir = Path(out_dir)
    if not out_dir.parent.is_dir():
        raise LthbenchError(f"directory {str(out_dir.parent)!r} does not exist")
    out_dir.mkdir(exist_ok=True)
    cells = Path(f"{results_path}.cells")
    store = RunStore(results_path, create=False) if cells.is_dir() else None
    written: list[Path] = []
    for task in ds["task"].values:
        task = str(task)
        if tasks and task not in tasks:
            continue
        n_spins = int(ds["n_spins"].sel(task=task))
        for method in ds["method"].values:
            method = str(method)
            if (methods and method not in methods) or not _present(ds, task, method):
                continue
            stem = f"{_slug(task)}__{_slug(method)}"
            for var, ylabel, suffix in (("rel_error", r"relative error $|E - E_{ref}| / |E_{ref}|$", "rel_error"),
                                        ("abs_error_per_spin", r"$|E - E_{ref}| / N$", "abs_error_per_spin")):
                path = out_dir / f"{stem}__{suffix}.png"
                _error_figure(ds, task, method, var, ylabel, path)
                written.append(path)
            path = out_dir / f"{stem}__fidelity_mz.png"
            _transition_figure(ds, task, method, path)
            written.append(path)
            size = _torus_size(task, n_spins)
            if size is None or store is None:
                continue
            seed = int(ds["seed"].values[0])
            for rnd in _filter_rounds(ds, task, method):
                key = CellKey(task, method, "imp", rnd, seed)
                if not store.has(key):
                    continue
                arts = store.read_artifacts(key)
                if "params" not in arts:
                    continue
                filters = surviving_filters(arts["params"], arts.get("mask"), n_spins)
                rho = float(ds["rho"].sel({"task": task, "method": method, "control": "imp", "round": rnd,
                                           "seed": seed}))
                path = out_dir / f"{stem}__filters_round{rnd:03d}.png"
                title = (f"{task}, {method}, round {rnd}, seed {seed}: rho = {rho:.3g}, "
                         f"{len(filters)} surviving filters")
                _filters_figure(filters, size, title, path)
                written.append(path)
    if not written:
        raise LthbenchError(f"no finished cells to plot in {str(results_path)!r}")
    return written
