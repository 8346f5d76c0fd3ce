"""The report's figures of a task: errors and observables vs n (methods overlaid, controls as markers),
and the size / field / width scans. Matplotlib is imported when a figure is drawn (`pyplot`)."""

from __future__ import annotations

import math
import re

import numpy as np

from .curve_stats import curve, dense_level
from .curves import methods_with
from .task_params import task_parameters

CONTROL_STYLE = {
    "imp": dict(label="IMP", marker="o"),
    "ticket": dict(label=r"ticket $T(\theta_{init}, m_{IMP})$", marker="s"),
    "reinit": dict(label=r"reinit $T(\theta_{rand}, m_{IMP})$", marker="^"),
    "random-mask": dict(label=r"random mask $T(\theta_{init}, m_{rand})$", marker="v"),
}
BAND_LABEL = "bands: 95% CI over seeds (t); bars: MC sigma"


def slug(text: str) -> str:
    """`text` as a file-name part (runs of other characters become one underscore)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def pyplot():
    """matplotlib.pyplot on the Agg backend (imported here: matplotlib is only needed for figures)."""
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


def error_figure(ds, task: str, methods: list[str], path, boundaries: dict) -> None:
    plt = pyplot()
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


def observables_figure(ds, task: str, methods: list[str], path) -> None:
    plt = pyplot()
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


def scan_groups(ds, tasks) -> dict:
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


def scan_figure(ds, key: tuple, members: list, methods: list[str], path) -> None:
    plt = pyplot()
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
