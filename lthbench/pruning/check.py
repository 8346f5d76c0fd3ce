"""Checking a method: its signature, its scores and its output mask, and running it on read-only inputs.

`prune` runs every method (the built-ins included) on read-only copies of params, mask and
context.grad, and `check_new_mask` refuses an output that is no valid pruning step: structure or shapes
unlike the mask, values other than 0/1, a pruned weight revived, a non-prunable leaf changed, or not
exactly the requested number removed. `check_scores` refuses scores of the wrong shape or NaN/inf on
finite alive weights. Every violation is an `LthbenchError` with a one-line message.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
from collections.abc import Callable

import jax
import numpy as np

from ..errors import LthbenchError, UserCodeError, one_line
from ..masks import is_subset, same_structure
from .api import NRemove, PruneContext, PyTree, named_leaves, prunable_names
from .hparams import object_label


def check_signature(method: Callable) -> None:
    """LthbenchError unless `method` can be called as method(params, mask, n_remove, key, context)."""
    try:
        sig = inspect.signature(method)
    except (TypeError, ValueError):
        return
    try:
        sig.bind(None, None, None, None, None)
    except TypeError:
        raise LthbenchError(
            f"pruning method {object_label(method)!r} must take (params, mask, n_remove, key, "
            f"context); its signature is {sig}"
        ) from None


def check_scores(scores: PyTree, params: PyTree, mask: PyTree, prunable: PyTree) -> None:
    """LthbenchError unless scores mirror params (structure, exact shapes) and are finite on every
    alive prunable weight whose value is finite (a diverged round's NaN weights may score NaN)."""
    s_leaves = jax.tree_util.tree_leaves(scores)
    p_named = named_leaves(params)
    if len(s_leaves) != len(p_named):
        raise LthbenchError(f"scores have {len(s_leaves)} leaves, the params {len(p_named)}")
    for (name, w), sc, m, is_p in zip(
        p_named, s_leaves, jax.tree_util.tree_leaves(mask), jax.tree_util.tree_leaves(prunable)
    ):
        if not is_p:
            continue
        if np.shape(sc) != np.shape(w):
            raise LthbenchError(f"scores of {name!r} have shape {np.shape(sc)}, the weights {np.shape(w)}")
        arr = np.asarray(sc)
        if arr.dtype.kind not in "biuf":
            raise LthbenchError(f"scores of {name!r} are not numbers (dtype {arr.dtype})")
        bad = (np.asarray(m) != 0) & np.isfinite(np.asarray(w, dtype=np.float64)) & ~np.isfinite(arr)
        if bad.any():
            raise LthbenchError(f"{int(bad.sum())} scores of {name!r} are NaN or infinite")


def count_removed(new_mask: PyTree, old_mask: PyTree, prunable: PyTree) -> dict[str, int]:
    """{'leaf': number of weights alive in old_mask and dead in new_mask} over prunable leaves."""
    old = dict(named_leaves(old_mask))
    new = dict(named_leaves(new_mask))
    return {
        name: int(np.count_nonzero((np.asarray(old[name]) != 0) & (np.asarray(new[name]) == 0)))
        for name in prunable_names(prunable)
    }


def _check_values(new_mask: PyTree, old_mask: PyTree, prunable: PyTree, who: str) -> None:
    """Same structure and shapes as the old mask, 0/1 values, nothing revived, non-prunable untouched."""
    try:
        ok = same_structure(new_mask, old_mask)
    except Exception:  # noqa: BLE001 - anything that is not a pytree like the mask
        ok = False
    if not ok:
        raise LthbenchError(f"pruning {who} returned a mask whose structure or shapes differ from the current mask")
    for leaf in jax.tree_util.tree_leaves(new_mask):
        arr = np.asarray(leaf)
        if arr.dtype.kind not in "biuf" or not np.all((arr == 0) | (arr == 1)):
            raise LthbenchError(f"pruning {who} returned mask values other than 0 and 1")
    if not is_subset(new_mask, old_mask):
        raise LthbenchError(f"pruning {who} revived weights that an earlier round pruned")
    for (name, new), old, is_p in zip(
        named_leaves(new_mask), jax.tree_util.tree_leaves(old_mask), jax.tree_util.tree_leaves(prunable)
    ):
        if not is_p and not np.array_equal(np.asarray(new), np.asarray(old)):
            raise LthbenchError(f"pruning {who} changed the mask of the non-prunable leaf {name!r}")


def check_new_mask(
    new_mask: PyTree, old_mask: PyTree, n_remove: NRemove, prunable: PyTree, who: str = "method"
) -> PyTree:
    """The new mask as numpy arrays of the old mask's dtypes, or LthbenchError if it is no valid step."""
    _check_values(new_mask, old_mask, prunable, who)
    removed = count_removed(new_mask, old_mask, prunable)
    if isinstance(n_remove, dict):
        wrong = {n: (removed.get(n, 0), int(k)) for n, k in n_remove.items() if removed.get(n, 0) != int(k)}
        if wrong:
            name, (got, want) = next(iter(wrong.items()))
            raise LthbenchError(f"pruning {who} removed {got} weights from {name!r}, expected exactly {want}")
    elif sum(removed.values()) != int(n_remove):
        raise LthbenchError(f"pruning {who} removed {sum(removed.values())} weights, expected exactly {int(n_remove)}")
    return jax.tree_util.tree_map(lambda n, o: np.asarray(n).astype(np.asarray(o).dtype), new_mask, old_mask)


def read_only(tree: PyTree) -> PyTree:
    """A copy of a pytree of arrays (fresh containers, numpy copies) whose arrays cannot be written."""

    def freeze(x):
        arr = np.array(x, copy=True)
        arr.setflags(write=False)
        return arr

    return jax.tree_util.tree_map(freeze, tree)


def prune(method: Callable, params: PyTree, mask: PyTree, n_remove: NRemove, key, context: PruneContext) -> PyTree:
    """Run `method` on read-only copies of params, mask and context.grad, and check its output (see
    `check_new_mask`): a method cannot change the arrays the protocol keeps (the rewind target).

    An exception raised by the method becomes a one-line `UserCodeError` naming the method and the
    round (the original exception is its `__cause__`); a bad output is an LthbenchError.
    """
    who = f"method {object_label(method)!r}"
    if context.grad is not None:
        context = dataclasses.replace(context, grad=read_only(context.grad))
    try:
        new_mask = method(read_only(params), read_only(mask), copy.deepcopy(n_remove), key, context)
    except LthbenchError as exc:
        raise type(exc)(f"pruning {who}, round {context.round}: {exc}") from exc
    except Exception as exc:  # noqa: BLE001 - the method's own failure, reported as the user's error
        raise UserCodeError(
            f"pruning {who} failed in round {context.round}: {one_line(exc)} (--debug shows the traceback)"
        ) from exc
    return check_new_mask(new_mask, mask, n_remove, context.prunable, who=who)
