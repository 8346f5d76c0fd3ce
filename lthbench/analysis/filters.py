"""First-layer filters of an FFNN on the torus: the kernel in a params tree, the surviving filters,
and which plaquette a filter covers (the report draws them; the toric claims count them)."""

from __future__ import annotations

import numpy as np

from ..systems.lattice import torus_plaquettes


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


def filter_plaquette(f, size: int) -> tuple[int | None, str]:
    """(plaquette index or None, parity text) of one filter (N,) on the torus."""
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
