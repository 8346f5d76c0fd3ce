"""From scores to a mask: the paper's removal counts, exactly-k removal of the lowest scores, and
`ScoreMethod`, the base class that makes a method out of a score function (jaxpruner's shape).

Scopes: 'layer' removes rint(p * alive) from every prunable leaf; 'global' removes rint(p * alive_total)
over the prunable leaves (the task's exclusions are already out of `prunable`). Ties are broken
deterministically: lower flat index first within a leaf, and in global scope the leaf that comes first
in the pytree's flattening order first. NaN scores count as -inf (removed first).
"""

from __future__ import annotations

import jax
import numpy as np

from ..errors import LthbenchError
from ..masks import path_name
from .api import SCOPES, NRemove, PruneContext, PyTree, named_leaves, prunable_names
from .check import check_scores


def removal_counts(mask: PyTree, prunable: PyTree, fraction: float, scope: str = "layer") -> NRemove:
    """The paper's counts: {'leaf': rint(p * alive_leaf)} (scope 'layer') or rint(p * alive_total) ('global')."""
    if scope not in SCOPES:
        raise LthbenchError(f"unknown pruning scope {scope!r}; choose one of {', '.join(SCOPES)}")
    if not 0.0 < float(fraction) < 1.0:
        raise LthbenchError(f"prune fraction must lie in (0, 1), got {fraction}")
    alive = {name: int(np.count_nonzero(np.asarray(m))) for name, m in named_leaves(mask)}
    names = prunable_names(prunable)
    if scope == "layer":
        return {name: int(np.rint(fraction * alive[name])) for name in names}
    return int(np.rint(fraction * sum(alive[name] for name in names)))


def _candidates(mask: np.ndarray, scores) -> tuple[np.ndarray, np.ndarray]:
    """(flat indices of the alive weights, their scores as float64 with NaN -> -inf)."""
    alive = np.flatnonzero(mask.reshape(-1) != 0)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)[alive]
    return alive, np.where(np.isnan(s), -np.inf, s)


def _remove_per_leaf(masks, score_leaves, names, is_p, n_remove: dict) -> None:
    """Layer scope: exactly n_remove[name] of the lowest alive scores of each leaf set to 0, in place."""
    unknown = set(n_remove) - {n for n, p in zip(names, is_p) if p}
    if unknown:
        raise LthbenchError(f"n_remove names leaves that are not prunable: {', '.join(sorted(unknown))}")
    for i, name in enumerate(names):
        k = int(n_remove.get(name, 0)) if is_p[i] else 0
        if k == 0:
            continue
        alive, s = _candidates(masks[i], score_leaves[i])
        if not 0 <= k <= alive.size:
            raise LthbenchError(f"cannot remove {k} weights from {name!r}: {alive.size} alive")
        drop = alive[np.argsort(s, kind="stable")[:k]]
        masks[i].reshape(-1)[drop] = 0


def _remove_global(masks, score_leaves, is_p, n_remove: int) -> None:
    """Global scope: exactly n_remove of the lowest alive scores over the prunable leaves set to 0, in place."""
    k = int(n_remove)
    idx = [i for i in range(len(masks)) if is_p[i]]
    parts = [_candidates(masks[i], score_leaves[i]) for i in idx]
    total = sum(a.size for a, _ in parts)
    if not 0 <= k <= total:
        raise LthbenchError(f"cannot remove {k} weights: {total} alive in the prunable leaves")
    if k:
        leaf_of = np.concatenate([np.full(a.size, j) for j, (a, _) in enumerate(parts)] or [np.zeros(0, int)])
        flat = np.concatenate([a for a, _ in parts] or [np.zeros(0, int)])
        s = np.concatenate([s for _, s in parts] or [np.zeros(0)])
        drop = np.argsort(s, kind="stable")[:k]
        for j in np.unique(leaf_of[drop]):
            masks[idx[j]].reshape(-1)[flat[drop][leaf_of[drop] == j]] = 0


def remove_lowest(scores: PyTree, mask: PyTree, n_remove: NRemove, prunable: PyTree) -> PyTree:
    """New mask with exactly n_remove alive prunable weights of lowest score set to 0.

    Ties are broken deterministically: within a leaf the lower flat index goes first; in global scope
    the leaf that comes first in the pytree's flattening order goes first. NaN scores count as -inf
    (removed first). Only alive weights of prunable leaves are candidates.
    """
    flat_mask = jax.tree_util.tree_flatten_with_path(mask)[0]
    names = [path_name(p) for p, _ in flat_mask]
    masks = [np.array(m, copy=True) for _, m in flat_mask]
    score_leaves = jax.tree_util.tree_leaves(scores)
    is_p = [bool(x) for x in jax.tree_util.tree_leaves(prunable)]
    if len(score_leaves) != len(masks) or len(is_p) != len(masks):
        raise LthbenchError("scores, mask and prunable pytrees differ in structure")
    for i, (name, m) in enumerate(zip(names, masks)):
        if is_p[i] and np.shape(score_leaves[i]) != m.shape:
            raise LthbenchError(f"scores of {name!r} have shape {np.shape(score_leaves[i])}, the weights {m.shape}")
    if isinstance(n_remove, dict):
        _remove_per_leaf(masks, score_leaves, names, is_p, n_remove)
    else:
        _remove_global(masks, score_leaves, is_p, n_remove)
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(mask), masks)


class ScoreMethod:
    """Base class: remove the alive weights with the lowest `scores()` (exactly k, deterministic ties).

    Give the subclass a `name` (used in labels); without one its label is its qualified name
    'module:Class' (a `name` inherited from a parent class does not count). Hyperparameters are the
    keyword arguments of `__init__` (or the fields of a dataclass), stored as attributes of the same
    name; they appear in the label as 'name[k=v,...]' when they differ from their defaults.
    """

    requires: tuple = ()

    def scores(self, params: PyTree, mask: PyTree, key, context: PruneContext) -> PyTree:
        raise NotImplementedError

    def __call__(self, params, mask, n_remove, key, context):
        scores = self.scores(params, mask, key, context)
        check_scores(scores, params, mask, context.prunable)
        return remove_lowest(scores, mask, n_remove, context.prunable)

    def __repr__(self):
        return f"{type(self).__name__}()"
