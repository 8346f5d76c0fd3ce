"""Fig 4d (toric code): odd-parity single-plaquette filters among the surviving first-layer units."""

from __future__ import annotations

import numpy as np

from ...results import CellKey
from ...systems.lattice import torus_plaquettes
from ..filters import first_layer_kernel
from ..stats import mean_estimate
from ..task_params import task_parameters
from .claim import Claim


def odd_parity_filters(w, size: int) -> tuple[int, int, float]:
    """(odd-parity units, surviving units, fraction of the alive weights they hold).

    w: (N, H) masked first-layer kernel (0 = pruned), N = 2 size^2 torus edges. A unit is odd-parity
    when its alive inputs are exactly the 4 edges of one plaquette and an odd number of them is negative.
    """
    w = np.asarray(w)
    alive = w != 0
    units = np.flatnonzero(alive.any(axis=0))
    plaquettes = [frozenset(p.tolist()) for p in torus_plaquettes(size)]
    odd = 0
    odd_weights = 0
    for u in units:
        support = frozenset(np.flatnonzero(alive[:, u]).tolist())
        if support in plaquettes and int((w[list(support), u] < 0).sum()) % 2 == 1:
            odd += 1
            odd_weights += len(support)
    total = int(alive.sum())
    return odd, int(units.size), (odd_weights / total if total else float("nan"))


def _odd_parity_counts(store, task, method, rnd: int, seeds, size: int):
    """Per seed with artifacts at IMP round rnd: (odd-parity units, surviving units, their weight share)."""
    counts, fracs, totals = [], [], []
    n_spins = 2 * size**2
    for seed in seeds:
        key = CellKey(task, method, "imp", rnd, int(seed))
        if not store.has(key):
            continue
        arts = store.read_artifacts(key)
        w = first_layer_kernel(arts.get("params", {}), n_spins)
        if w is None:
            continue
        m = first_layer_kernel(arts.get("mask", {}), n_spins) if "mask" in arts else None
        w = w * (np.asarray(m) != 0) if m is not None else w
        odd, total, frac = odd_parity_filters(w, size)
        counts.append(odd)
        totals.append(total)
        fracs.append(frac)
    return counts, totals, fracs


def filter_claim(task, method, c, match, store) -> Claim | None:
    """The odd-parity claim at the plateau end (the matching-dense round); None for a non-toric task."""
    cl = Claim(
        "Fig 4d",
        "odd-parity filters",
        task,
        "odd-parity units at the plateau end",
        method=method,
        ci="t interval over seeds",
        threshold="alive inputs = one plaquette's 4 edges, odd # negative",
        paper="pruned TC nets keep odd-parity single-plaquette filters",
    )
    p = task_parameters(task)
    if p["model"] != "toric":
        return None
    if store is None:
        cl.verdict = "undetermined: no masks/params artifacts next to the results file"
        return cl
    if match.round < 0:
        cl.verdict = "undetermined: no plateau end"
        return cl
    rnd = int(c.rounds[match.round])
    counts, totals, fracs = _odd_parity_counts(store, task, method, rnd, c.seeds[c.requested], p["L"])
    if not counts:
        cl.verdict = "undetermined: no artifacts for that round"
        return cl
    e = mean_estimate(counts)
    cl.value, cl.lo, cl.hi = e.value, e.lo, e.hi
    cl.quantity = f"odd-parity units at round {rnd} (rho {c.rho[match.round]:.3g})"
    cl.verdict = (
        f"{e.value:.3g} of {np.mean(totals):.3g} surviving units, holding {np.mean(fracs):.1%} of the alive weights"
    )
    return cl
