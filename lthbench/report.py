"""The paper's figures from one or more results files (PNG), plus the claims as a text section.

Per task, every method overlaid in one figure:
- `<task>__error.png`: relative error and |E - E_ref|/N vs n (log-log; rho = n/N on the top axis).
  IMP chains as lines with markers, their band the 95% t interval over seeds (variance at least the
  MC one, `stats.mean_estimate`), error bars the mean Monte Carlo sigma; controls as markers only at
  the rounds where they ran (no line joining them); the dense level dash-dotted; dashed vertical lines
  at the fitted region boundaries (`claims.fit_regions`) and at rho = 4 (TFIM) or n/N = 16 (toric
  code). Hollow markers: a point with fewer finished seeds than requested (diverged seeds counted in
  the legend).
- `<task>__observables.png`: fidelity to the previous round, exact fidelity, |M_z| and M_x vs n.
- `scan__<...>.png`: relative error vs rho overlaid across L, kappa or alpha for the size, field and
  width scans (tasks that differ in one of them).
- `<task>__<method>__filters_roundNNN.png` (toric code): the surviving first-layer filters on the
  torus with a colour bar, their plaquette outlined and the sign parity written, "top 16 of K".
- `claims.txt`: `lthbench claims` of each input.

A task without a reference energy gets a warning and no error figure (never empty axes).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .curves import curve_data, load_many, methods_with, task_parameters
from .errors import LthbenchError
from .stats import mean_estimate

CONTROL_STYLE = {
    "imp": dict(label="IMP", marker="o"),
    "ticket": dict(label=r"ticket $T(\theta_{init}, m_{IMP})$", marker="s"),
    "reinit": dict(label=r"reinit $T(\theta_{rand}, m_{IMP})$", marker="^"),
    "random-mask": dict(label=r"random mask $T(\theta_{init}, m_{rand})$", marker="v"),
}
BAND_LABEL = "bands: 95% CI over seeds (t); bars: MC sigma"
MAX_FILTERS = 16


@dataclass
class Curve:
    """One control's curve for one (task, method): per round, mean over seeds and its 95% CI."""

    control: str
    rounds: np.ndarray
    n_alive: np.ndarray
    rho: np.ndarray
    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    mc: np.ndarray  # mean MC sigma per round
    n_seeds: np.ndarray  # finished seeds
    short: np.ndarray  # fewer finished than requested
    n_diverged: int = 0
    n_requested: int = 0


def curve(ds, task: str, method: str, control: str, var: str = "rel_error") -> Curve:
    """Seed statistics of `var` along the rounds with data (|signed error| for the error metrics)."""
    c = curve_data(ds, task, method, control, var)
    value = np.abs(c.value) if var in ("rel_error", "abs_error_per_spin") else c.value
    rows = [mean_estimate(value[r], c.var[r]) for r in range(len(c.rounds))]
    keep = np.array([e.k > 0 for e in rows], dtype=bool)
    arr = lambda f: np.array([f(e) for e in rows], dtype=float)[keep] if rows else np.array([])  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mc = np.sqrt(np.nanmean(np.where(c.failed, np.nan, c.var), axis=1)) if c.var.size else np.array([])
    return Curve(
        control,
        c.rounds[keep],
        c.n_alive[keep],
        c.rho[keep],
        arr(lambda e: e.value),
        arr(lambda e: e.lo),
        arr(lambda e: e.hi),
        mc[keep] if mc.size else mc,
        c.finished()[keep],
        c.short()[keep],
        int(c.diverged().max()) if c.rounds.size else 0,
        c.n_requested,
    )


def dense_level(ds, task: str, method: str, var: str = "rel_error") -> float:
    """Mean over seeds of round 0 of the IMP chain (the dense network)."""
    c = curve(ds, task, method, "imp", var)
    dense = c.mean[c.rounds == 0]
    return float(dense[0]) if dense.size else float("nan")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _rho_axis(ax, n_spins):
    sec = ax.secondary_xaxis("top", functions=(lambda n: n / n_spins, lambda r: r * n_spins))
    sec.set_xlabel(r"$\rho = n / N$", fontsize=8)
    sec.tick_params(labelsize=7)


def _reference_lines(ax, task, n_spins, boundaries, colors):
    p = task_parameters(task)
    line = {"tfim": 4.0, "toric": 16.0}.get(p["model"])
    if line is not None:
        ax.axvline(line * n_spins, color="0.4", ls="--", lw=0.9, label=rf"$\rho = {line:g}$")
    for method, bounds in boundaries.items():
        for k, n in enumerate(bounds):
            ax.axvline(
                n,
                color=colors[method],
                ls=(0, (4, 2)),
                lw=0.8,
                alpha=0.8,
                label="fitted region boundaries" if k == 0 else None,
            )


def _draw_method(ax, ds, task, method, var, color, label_method, x="n"):
    """IMP line + CI band + MC bars, controls as markers; returns whether anything was drawn."""
    drawn = False
    for control, style in CONTROL_STYLE.items():
        c = curve(ds, task, method, control, var)
        xs = c.n_alive if x == "n" else c.rho
        ok = (xs > 0) & np.isfinite(c.mean) & ((c.mean > 0) | (var not in ("rel_error", "abs_error_per_spin")))
        if not ok.any():
            continue
        drawn = True
        seeds = f"{c.n_requested} seeds" + (f", {c.n_diverged} diverged" if c.n_diverged else "")
        label = f"{label_method}: {style['label']} ({seeds})"
        face = np.where(c.short[ok], "white", color)
        if control == "imp":
            ax.plot(xs[ok], c.mean[ok], color=color, lw=1.2, zorder=2)
            if (c.n_seeds[ok] > 1).any():
                lo = np.where(c.lo[ok] > 0, c.lo[ok], c.mean[ok] * 0.5) if ax.get_yscale() == "log" else c.lo[ok]
                ax.fill_between(xs[ok], lo, c.hi[ok], color=color, alpha=0.18, lw=0, zorder=1)
        if np.isfinite(c.mc[ok]).any() and (c.mc[ok] > 0).any():
            ax.errorbar(
                xs[ok],
                c.mean[ok],
                yerr=np.nan_to_num(c.mc[ok]),
                fmt="none",
                ecolor=color,
                elinewidth=0.7,
                capsize=1.5,
                zorder=3,
            )
        ax.scatter(
            xs[ok],
            c.mean[ok],
            marker=style["marker"],
            s=18 if control == "imp" else 34,
            c=list(face),
            edgecolors=color,
            linewidths=0.9,
            zorder=4,
            label=label,
        )
    return drawn


def _colors(methods):
    return {m: f"C{k % 10}" for k, m in enumerate(methods)}


def _short_label(method: str) -> str:
    return method if len(method) <= 40 else method[:37] + "..."


def _error_figure(ds, task, methods, path, boundaries):
    plt = _plt()
    n_spins = float(ds["n_spins"].sel(task=task))
    colors = _colors(methods)
    fig, axes = plt.subplots(1, 2, figsize=(12.0, 4.8))
    for ax, var, ylabel in (
        (axes[0], "rel_error", r"relative error $|E - E_{ref}| / |E_{ref}|$"),
        (axes[1], "abs_error_per_spin", r"$|E - E_{ref}| / N$"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        for method in methods:
            _draw_method(ax, ds, task, method, var, colors[method], _short_label(method))
            dense = dense_level(ds, task, method, var)
            if math.isfinite(dense) and dense > 0:
                ax.axhline(dense, color=colors[method], lw=0.7, ls="-.", alpha=0.7)
        _reference_lines(ax, task, n_spins, boundaries, colors)
        _rho_axis(ax, n_spins)
        ax.set_xlabel("n (alive weights)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.25)
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].legend(handles, labels, fontsize=6, loc="best")
    fig.suptitle(f"{task}   ({BAND_LABEL}; dash-dot: dense; hollow: fewer seeds than requested)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


OBSERVABLES = (
    ("fidelity_prev", r"fidelity to previous round $|\langle\psi_t|\psi_{t+1}\rangle|^2$ (MC; no error bar stored)"),
    ("fidelity_exact", "fidelity to the exact ground space"),
    ("abs_m_z", r"$|M_z|$ (seed mean of $|\langle M_z\rangle|$)"),
    ("m_x", r"$M_x$"),
)


def _observables_figure(ds, task, methods, path):
    plt = _plt()
    n_spins = float(ds["n_spins"].sel(task=task))
    colors = _colors(methods)
    fig, axes = plt.subplots(2, 2, figsize=(11.0, 7.5))
    for ax, (var, ylabel) in zip(axes.ravel(), OBSERVABLES):
        ax.set_xscale("log")
        drawn = False
        for method in methods:
            drawn |= _draw_method(ax, ds, task, method, var, colors[method], _short_label(method))
        if not drawn:
            why = "no exact ground state for this task (no ED)" if var == "fidelity_exact" else "not recorded"
            ax.set_axis_off()
            ax.text(0.5, 0.5, f"{ylabel}:\n{why}", ha="center", va="center", transform=ax.transAxes, fontsize=8)
            continue
        _rho_axis(ax, n_spins)
        _reference_lines(ax, task, n_spins, {}, colors)
        ax.set_xlabel("n (alive weights)")
        ax.set_ylabel(ylabel, fontsize=7)
        ax.grid(True, alpha=0.25)
    for ax in axes.ravel():
        if ax.axison:
            ax.legend(fontsize=5.5, loc="best")
            break
    fig.suptitle(f"{task}   ({BAND_LABEL})", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _scan_groups(ds, tasks):
    """{(kind, key): [(value, task)]} for tasks differing only in L, kappa or alpha (>= 2 tasks)."""
    groups: dict = {}
    for task in tasks:
        p = task_parameters(task)
        if p["model"] is None:
            continue
        for kind, varying, fixed in (
            ("L", "L", ("model", "kappa", "net", "alpha")),
            ("kappa", "kappa", ("model", "L", "net", "alpha")),
            ("alpha", "alpha", ("model", "L", "kappa", "net")),
        ):
            if p[varying] is None:
                continue
            key = (kind,) + tuple(p[f] for f in fixed)
            groups.setdefault(key, []).append((p[varying], task))
    return {k: sorted(v) for k, v in groups.items() if len({x for x, _ in v}) >= 2}


def _scan_figure(ds, key, members, methods, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    ax.set_xscale("log")
    ax.set_yscale("log")
    cmap = plt.get_cmap("viridis")
    linestyles = ["-", "--", ":", "-."]
    for k, (value, task) in enumerate(members):
        color = cmap(k / max(1, len(members) - 1))
        for j, method in enumerate(m for m in methods if m in methods_with(ds, task)):
            c = curve(ds, task, method, "imp", "rel_error")
            ok = (c.rho > 0) & (c.mean > 0)
            if not ok.any():
                continue
            ax.plot(
                c.rho[ok],
                c.mean[ok],
                color=color,
                ls=linestyles[j % 4],
                marker="o",
                ms=2.5,
                label=f"{key[0]} = {value:g}" + (f" ({_short_label(method)})" if len(methods) > 1 else ""),
            )
            if (c.n_seeds[ok] > 1).any():
                ax.fill_between(
                    c.rho[ok],
                    np.where(c.lo[ok] > 0, c.lo[ok], c.mean[ok] * 0.5),
                    c.hi[ok],
                    color=color,
                    alpha=0.15,
                    lw=0,
                )
    model = key[1]
    ax.axvline({"tfim": 4.0, "toric": 16.0}.get(model, np.nan), color="0.4", ls="--", lw=0.9)
    ax.set_xlabel(r"$\rho = n / N$")
    ax.set_ylabel("relative error (IMP)")
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=7)
    names = {
        "L": ("model", "kappa", "net", "alpha"),
        "kappa": ("model", "L", "net", "alpha"),
        "alpha": ("model", "L", "kappa", "net"),
    }[key[0]]
    fixed = ", ".join(
        f"{n} {x:g}" if isinstance(x, float) else f"{n} {x}" for n, x in zip(names, key[1:]) if x is not None
    )
    ax.set_title(f"{key[0]} scan ({fixed}); bands: 95% CI over seeds", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------------------------------
# Filters


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
    """(n_filters, N): the hidden units' incoming weights with at least one alive weight, largest first."""
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


def filter_plaquette(f, size: int):
    """(plaquette index or None, parity text) of one filter (N,) on the torus."""
    from .systems.lattice import torus_plaquettes

    alive = set(np.flatnonzero(f != 0).tolist())
    plaq = torus_plaquettes(size)
    for p, edges in enumerate(plaq):
        if alive == set(edges.tolist()):
            neg = int((f[edges] < 0).sum())
            return p, f"one plaquette, {'odd' if neg % 2 else 'even'} ({neg} negative)"
    touched = [p for p, edges in enumerate(plaq) if alive & set(edges.tolist())]
    inside = [p for p, edges in enumerate(plaq) if alive <= set(edges.tolist())]
    edges_text = f"{len(alive)} edge{'s' if len(alive) != 1 else ''}"
    if len(inside) == 1:  # part of exactly one plaquette: outline it
        return inside[0], f"{edges_text} of one plaquette"
    return None, f"{edges_text}, touching {len(touched)} plaquettes"


def _torus_size(task_id: str) -> int | None:
    p = task_parameters(task_id)
    return p["L"] if p["model"] == "toric" else None


def _filters_figure(filters, size, title, path, max_filters=MAX_FILTERS):
    from matplotlib.patches import Rectangle

    from .systems.lattice import torus_edge_midpoints

    plt = _plt()
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
        if k >= len(shown):
            continue
        for x in range(size + 1):  # the lattice (periodic: the last line repeats the first)
            ax.plot([x, x], [0, size], color="0.85", lw=0.6, zorder=0)
            ax.plot([0, size], [x, x], color="0.85", lw=0.6, zorder=0)
        f = shown[k]
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


def _draw_filters(ds, task, method, source, out_dir, stem):
    from .results import CellKey, RunStore

    size = _torus_size(task)
    if size is None or not isinstance(source, str) or not Path(f"{source}.cells").is_dir():
        return []
    store = RunStore(source, create=False)
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
        path = out_dir / f"{stem}__{_slug(method)}__filters_round{rnd:03d}.png"
        shown = min(MAX_FILTERS, len(filters))
        title = (
            f"{task}, {method}, round {rnd}, seed {seed}: rho = {rho:.3g}\ntop {shown} of {len(filters)} "
            "surviving filters (by sum |w|); box: the plaquette; edges on the far boundary repeat the periodic ones"
        )
        _filters_figure(filters, size, title, path)
        written.append(path)
    return written


# --------------------------------------------------------------------------------------------------


def _boundaries(ds, task, methods):
    """{method: [n1, n2 determined]} from the claims' region fit of each IMP curve."""
    from .claims import region_boundaries

    return {m: region_boundaries(ds, task, m) for m in methods}


def check_out_dir(out_dir) -> Path:
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise LthbenchError(f"--out {str(out_dir)!r} is a file; give a directory for the figures")
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    if not parent.is_dir():
        raise LthbenchError(f"directory {str(parent)!r} does not exist")
    return out_dir


def make_report(results, out_dir, *, tasks=None, methods=None, claims: bool = True) -> list[Path]:
    """Write the figures (and claims.txt) for the results; returns the paths written.

    results: one results path (or dataset) or a list of them; their methods are overlaid.
    """
    sources = list(results) if isinstance(results, (list, tuple)) else [results]
    sources = [s if hasattr(s, "data_vars") else str(s) for s in sources]
    out_dir = check_out_dir(out_dir)
    ds, origin = load_many(sources)
    out_dir.mkdir(exist_ok=True)
    written: list[Path] = []
    all_methods: list[str] = []
    task_list = [str(t) for t in ds["task"].values if not tasks or str(t) in tasks]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for task in task_list:
            ms = [m for m in methods_with(ds, task) if not methods or m in methods or m.split(" [")[0] in methods]
            if not ms:
                continue
            all_methods += [m for m in ms if m not in all_methods]
            stem = _slug(task)
            e_ref = float(ds["reference_energy"].sel(task=task))
            if math.isfinite(e_ref):
                path = out_dir / f"{stem}__error.png"
                _error_figure(ds, task, ms, path, _boundaries(ds, task, ms))
                written.append(path)
            else:
                warnings.warn(f"{task}: no reference energy, so no error figure (observables only)", stacklevel=2)
            path = out_dir / f"{stem}__observables.png"
            _observables_figure(ds, task, ms, path)
            written.append(path)
            for m in ms:
                written += _draw_filters(ds, task, m, origin.get(m), out_dir, stem)
        for key, members in _scan_groups(ds, task_list).items():
            path = out_dir / f"scan__{key[0]}__{_slug('_'.join(str(x) for x in key[1:] if x is not None))}.png"
            _scan_figure(ds, key, members, all_methods, path)
            written.append(path)
    if not written:
        raise LthbenchError("no finished cells to plot in " + ", ".join(map(str, sources)))
    if claims:
        from .claims import compute_claims, format_claims

        text = []
        for src in sources:
            text.append(f"# {src if isinstance(src, str) else 'dataset'}\n{format_claims(compute_claims(src))}\n")
        path = out_dir / "claims.txt"
        path.write_text("\n".join(text))
        written.append(path)
    return written
