"""Masks as pytrees mirroring params: 1 = alive, 0 = pruned. No physics, no pruning policy.

A mask has the same tree structure and leaf shapes as the params it masks. Leaves that are not
prunable (biases, LayerNorm scales, the ResCNN embedding) carry an all-ones mask and are never counted
as prunable weights. Masks are applied outside the network (`apply_mask(params, mask)`), so any Haiku
or Flax net can be pruned without knowing about it; the trainer masks the update as well, so pruned
weights stay exactly zero through training.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

PyTree = Any


def path_name(path) -> str:
    """A key path as a readable 'module/param' string, e.g. 'ffnn/~/linear/w'."""
    parts = []
    for key in path:
        if hasattr(key, "key"):
            parts.append(str(key.key))
        elif hasattr(key, "name"):
            parts.append(str(key.name))
        elif hasattr(key, "idx"):
            parts.append(str(key.idx))
        else:
            parts.append(str(key))
    return "/".join(parts)


def default_is_prunable(name: str, leaf) -> bool:
    """Kernels only: leaves named 'w' with at least 2 dimensions (Haiku's Linear/Conv weights)."""
    return name.rsplit("/", 1)[-1] == "w" and np.ndim(leaf) >= 2


def prunable_leaves(params: PyTree, is_prunable: Callable[[str, Any], bool] = default_is_prunable) -> PyTree:
    """Pytree of Python bools mirroring params: which leaves may be pruned."""
    return jax.tree_util.tree_map_with_path(lambda p, x: bool(is_prunable(path_name(p), x)), params)


def full_mask(params: PyTree, dtype=None) -> PyTree:
    """All-alive mask: ones shaped like each leaf (dtype defaults to each leaf's dtype)."""
    return jax.tree_util.tree_map(lambda x: jnp.ones(jnp.shape(x), dtype=dtype or jnp.asarray(x).dtype), params)


def mask_with_alive_count(params: PyTree, prunable: PyTree, n_alive: int) -> PyTree:
    """A numpy mask with exactly n_alive alive prunable entries (the first ones, in leaf order) and every
    non-prunable leaf alive: a stand-in with a given alive count, e.g. to compile for it ahead of time."""
    left = int(n_alive)

    def leaf(p, is_prunable):
        nonlocal left
        m = np.ones(np.shape(p), dtype=np.asarray(p).dtype)
        if is_prunable:
            k = min(left, m.size)
            m.reshape(-1)[k:] = 0
            left -= k
        return m

    return jax.tree_util.tree_map(leaf, params, prunable)


def apply_mask(params: PyTree, mask: PyTree) -> PyTree:
    """params * mask, leaf by leaf (cast to each param's dtype, so a float64 net stays float64)."""
    return jax.tree_util.tree_map(lambda p, m: p * jnp.asarray(m, dtype=jnp.asarray(p).dtype), params, mask)


def leaf_alive_counts(mask: PyTree, prunable: PyTree) -> dict[str, int]:
    """{'layer/path': alive count} over prunable leaves only."""
    counts = {}
    flat_m = jax.tree_util.tree_flatten_with_path(mask)[0]
    flat_p = jax.tree_util.tree_leaves(prunable)
    for (path, m), is_p in zip(flat_m, flat_p):
        if is_p:
            counts[path_name(path)] = int(np.count_nonzero(np.asarray(m)))
    return counts


def leaf_sizes(mask: PyTree, prunable: PyTree) -> dict[str, int]:
    """{'layer/path': number of weights} over prunable leaves only."""
    sizes = {}
    flat_m = jax.tree_util.tree_flatten_with_path(mask)[0]
    flat_p = jax.tree_util.tree_leaves(prunable)
    for (path, m), is_p in zip(flat_m, flat_p):
        if is_p:
            sizes[path_name(path)] = int(np.size(m))
    return sizes


def alive_count(mask: PyTree, prunable: PyTree) -> int:
    """Number of alive prunable weights (the paper's n)."""
    return int(sum(leaf_alive_counts(mask, prunable).values()))


def prunable_count(mask: PyTree, prunable: PyTree) -> int:
    """Number of prunable weights in the dense net."""
    return int(sum(leaf_sizes(mask, prunable).values()))


def density(mask: PyTree, prunable: PyTree) -> float:
    """alive / prunable, in (0, 1]."""
    total = prunable_count(mask, prunable)
    return alive_count(mask, prunable) / total if total else 1.0


def layer_densities(mask: PyTree, prunable: PyTree) -> dict[str, float]:
    """{'layer/path': alive / size} per prunable leaf."""
    alive = leaf_alive_counts(mask, prunable)
    sizes = leaf_sizes(mask, prunable)
    return {k: alive[k] / sizes[k] for k in alive}


def is_subset(new_mask: PyTree, old_mask: PyTree) -> bool:
    """True when new_mask revives no weight that old_mask had pruned."""
    revived = jax.tree_util.tree_map(
        lambda n, o: bool(np.any((np.asarray(n) != 0) & (np.asarray(o) == 0))), new_mask, old_mask
    )
    return not any(jax.tree_util.tree_leaves(revived))


def same_structure(a: PyTree, b: PyTree) -> bool:
    """True when a and b have the same tree structure and leaf shapes."""
    if jax.tree_util.tree_structure(a) != jax.tree_util.tree_structure(b):
        return False
    return all(np.shape(x) == np.shape(y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def to_numpy(tree: PyTree) -> PyTree:
    """Host copy of a pytree (for saving)."""
    return jax.tree_util.tree_map(lambda x: np.asarray(x), tree)
