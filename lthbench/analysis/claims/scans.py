"""Across tasks: the region boundaries' collapse across alpha (Fig 2) and the transition's trend with L
(Fig 3), from the per-(task, method) summaries `compute_claims` collects."""

from __future__ import annotations

import math

from ..stats import fmt_number
from .claim import Claim


def _scan_groups(per_task) -> dict:
    """{key: [(alpha or L, task, info)]}: same system and net with several alpha; same kappa, several L."""
    groups: dict = {}
    for (task, method), info in per_task.items():
        p = info["params"]
        groups.setdefault(("alpha", p["model"], p["L"], p["kappa"], p["net"], method), []).append(
            (p["alpha"], task, info)
        )
        groups.setdefault(("L", p["model"], p["kappa"], p["net"], p["alpha"], method), []).append((p["L"], task, info))
    return groups


GRID_RTOL = 1e-9  # a CI end within this of an alive count sits on it


def widened_to_grid(ci: tuple[float, float], grid) -> tuple[float, float]:
    """A boundary's CI (lo, hi) widened to the neighbouring alive counts of its chain's rounds.

    The fitted boundaries sit on the rounds' alive counts, so a boundary is known only to one round
    either side, however narrow the bootstrap over a few seeds (which can land on one round) makes
    its CI. grid: the alive counts of the rounds (any order); no grid leaves the CI as it is. A CI end
    on a grid point counts as that point (within 1e-9 relative): the ends come back from the fit as
    10**log10(n), which libm may round to either side of n, and the widening must not depend on it."""
    lo, hi = ci
    below = [g for g in grid if g < lo * (1.0 - GRID_RTOL)]
    above = [g for g in grid if g > hi * (1.0 + GRID_RTOL)]
    return (max(below) if below else lo, min(above) if above else hi)


def _collapse_claims(key, members) -> list[Claim]:
    """n1 and n2 across alpha: collapse when their 95% CIs, each widened by one round (the
    resolution of a boundary on the rounds' alive counts: `widened_to_grid`), overlap."""
    out = []
    for which, idx in (("n1", 0), ("n2", 1)):
        vals = [
            (a, info["bounds"][idx], widened_to_grid(info["bounds_ci"][idx], info.get("n_grid", ())))
            for a, _, info in members
        ]
        have = [v for v in vals if math.isfinite(v[1])]
        cl = Claim(
            "Fig 2",
            f"collapse across alpha ({which})",
            ", ".join(t for _, t, _ in members),
            f"{which} per alpha: " + ", ".join(f"a{a:g}: {v:.3g}" for a, v, _ in vals),
            threshold="boundaries' 95% CIs, each widened by one round, overlap",
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
                spans = ", ".join(f"a{a:g}: [{c[0]:.3g}, {c[1]:.3g}]" for a, _, c in have)
                overlap = max(los) <= min(his)
                cl.verdict = f"collapse (CIs overlap; {spans})" if overlap else f"no collapse ({spans})"
        out.append(cl)
    return out


def _trend_claim(key, members) -> Claim:
    """The fidelity minimum against L: sharpening when it decreases with L."""
    vals = [(L, info["jump_rho"], info["fid_min"]) for L, _, info in members]
    cl = Claim(
        "Fig 3",
        "trend with L",
        ", ".join(t for _, t, _ in members),
        "L: jump rho / min fidelity = " + ", ".join(f"{L}: {fmt_number(j)} / {fmt_number(f)}" for L, j, f in vals),
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
    return cl


def scan_claims(per_task) -> list[Claim]:
    """Collapse across alpha (same system and net, several alpha) and trends with L (same kappa)."""
    out = []
    for key, members in sorted(_scan_groups(per_task).items(), key=lambda kv: str(kv[0])):
        members = [m for m in members if m[0] is not None]
        if len({m[0] for m in members}) < 2:
            continue
        members.sort(key=lambda m: m[0])
        if key[0] == "alpha":
            out += _collapse_claims(key, members)
        else:
            out.append(_trend_claim(key, members))
    return out
