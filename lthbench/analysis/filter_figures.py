"""The toric code's surviving first-layer filters drawn on the torus, one PNG per (task, method, round)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..experiment.baselines import artifacts_next_to
from ..results import CellKey
from ..systems.lattice import torus_edge_midpoints
from .curve_stats import curve, dense_level
from .figures import pyplot, slug
from .filters import filter_plaquette, surviving_filters
from .task_params import task_parameters

MAX_FILTERS = 16


def _torus_size(task_id: str) -> int | None:
    p = task_parameters(task_id)
    return p["L"] if p["model"] == "toric" else None


def _draw_filter(ax, f, k: int, size: int, points, vmax: float):
    """One filter (N,) on its panel: the lattice, the plaquette it covers, its alive weights coloured."""
    from matplotlib.patches import Rectangle

    for x in range(size + 1):  # the lattice (periodic: the last line repeats the first)
        ax.plot([x, x], [0, size], color="0.85", lw=0.6, zorder=0)
        ax.plot([0, size], [x, x], color="0.85", lw=0.6, zorder=0)
    alive = f != 0
    plaq, parity = filter_plaquette(f, size)
    if plaq is not None:
        px, py = divmod(plaq, size)
        ax.add_patch(Rectangle((px, py), 1, 1, fill=False, ec="k", lw=1.6, zorder=1))
    ax.scatter(points[~alive, 0], points[~alive, 1], s=8, color="0.8", zorder=1)
    # periodic images on the far boundary, so a plaquette at the edge shows all four of its edges
    px_, py_, vals = [points[alive, 0]], [points[alive, 1]], [f[alive]]
    for axis in (0, 1):
        wrap = alive & (points[:, axis] == 0)
        shifted = points[wrap].copy()
        shifted[:, axis] = size
        px_.append(shifted[:, 0])
        py_.append(shifted[:, 1])
        vals.append(f[wrap])
    sc = ax.scatter(
        np.concatenate(px_),
        np.concatenate(py_),
        s=70,
        c=np.concatenate(vals),
        cmap="coolwarm",
        vmin=-vmax,
        vmax=vmax,
        edgecolors="k",
        linewidths=0.5,
        zorder=2,
    )
    ax.set_title(f"#{k}: {parity}", fontsize=6.5)
    ax.set_aspect("equal")
    ax.set_xlim(-0.3, size + 0.3)
    ax.set_ylim(-0.3, size + 0.3)
    return sc


def _filters_figure(filters, size, title, path, max_filters=MAX_FILTERS):
    plt = pyplot()
    points = torus_edge_midpoints(size)
    shown = filters[:max_filters]
    n = max(1, len(shown))
    cols = min(4, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.4 * cols + 0.9, 2.5 * rows + 0.6), squeeze=False)
    vmax = float(np.abs(shown).max()) if shown.size else 1.0
    sc = None
    for k, ax in enumerate(axes.ravel()):
        ax.set_axis_off()
        if k < len(shown):
            sc = _draw_filter(ax, shown[k], k, size, points, vmax)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    if sc is not None:
        cax = fig.add_axes((0.92, 0.15, 0.02, 0.7))
        fig.colorbar(sc, cax=cax, label="weight w (alive)")
    fig.savefig(path, dpi=110)
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


def draw_filters(ds, task: str, method: str, source, out_dir: Path, stem: str) -> list[Path]:
    size = _torus_size(task)
    store = artifacts_next_to(source) if size is not None and isinstance(source, str) else None
    if store is None:
        return []
    n_spins = int(ds["n_spins"].sel(task=task))
    written = []
    seed = int(ds["seed"].values[0])
    for rnd in _filter_rounds(ds, task, method):
        key = CellKey(task, method.split(" [")[0], "imp", rnd, seed)
        if not store.has(key):
            continue
        arts = store.read_artifacts(key)
        if "params" not in arts:
            continue
        filters = surviving_filters(arts["params"], arts.get("mask"), n_spins)
        rho = float(ds["rho"].sel({"task": task, "method": method, "control": "imp", "round": rnd, "seed": seed}))
        path = out_dir / f"{stem}__{slug(method)}__filters_round{rnd:03d}.png"
        shown = min(MAX_FILTERS, len(filters))
        title = (
            f"{task}, {method}, round {rnd}, seed {seed}: rho = {rho:.3g}\ntop {shown} of {len(filters)} "
            "surviving filters (by sum |w|); box: the plaquette; edges on the far boundary repeat the periodic ones"
        )
        _filters_figure(filters, size, title, path)
        written.append(path)
    return written
