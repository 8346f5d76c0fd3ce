"""Pruning methods: the PruningMethod protocol, the baselines, scopes, the registry, and the check that
every method's output is a valid pruning step.

No physics here. A method sees the current params, the current mask, how many weights to remove, a PRNG
key and a `PruneContext` (which leaves are prunable, and whatever else it asked for through its
`requires` attribute: the energy gradient, the ansatz's `log_psi`); it returns the new mask.

    method(params, mask, n_remove, key, context) -> new_mask

`n_remove` is a dict {'module/param': k} (layer-wise scope: remove exactly k from that leaf) or an int
(global scope: remove exactly k in total over the prunable leaves, wherever the scores are lowest).
The paper's counts are `removal_counts`: k = rint(p * alive) per layer (FFNN, CNN) or
rint(p * alive_total) over the included leaves (ResCNN).

A user's method is any callable with that signature (a function, or a class whose instances are
callable and which can be built without arguments), given by import path 'package.module:Name'.
Optional attributes: `name` (str, used in labels) and `requires` (tuple of 'grad' and/or 'log_psi').
`prune()` checks the output of every method, the baselines included: same structure and shapes as the
mask, 0/1 values, no pruned weight revived, non-prunable leaves untouched, exactly the requested number
removed. A violation raises `LthbenchError` with a one-line message.

Most methods are "remove the lowest scores": subclass `ScoreMethod` and implement `scores()`; ties
are broken deterministically (lower leaf position first, then lower flat index).
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Union, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import LthbenchError
from ..masks import is_subset, path_name, same_structure

PyTree = Any
NRemove = Union[dict, int]

SCOPES = ("layer", "global")


@dataclass(frozen=True)
class PruneContext:
    """What a method may look at besides params, mask and key.

    prunable: pytree of bools mirroring params (the ansatz's prunable leaves minus the task's exclusions).
    grad: gradient of the energy at `params` (a pytree like params), when the method requires 'grad'.
    log_psi: the ansatz's `log_psi(params, spins (B, N)) -> (B,)`, when the method requires 'log_psi'.
    n_spins: number of spins N (the input width of log_psi).
    round: the pruning round being made (1 for the first pruning).
    extra: free-form dict for user methods.
    """

    prunable: PyTree
    grad: PyTree | None = None
    log_psi: Callable | None = None
    n_spins: int | None = None
    round: int = 0
    extra: dict = field(default_factory=dict)


@runtime_checkable
class PruningMethod(Protocol):
    """(params, mask, n_remove, key, context) -> new_mask. See the module docstring."""

    def __call__(self, params: PyTree, mask: PyTree, n_remove: NRemove, key, context: PruneContext) -> PyTree: ...


# --------------------------------------------------------------------------------------------------
# Counting


def _leaves(tree) -> list[tuple[str, Any]]:
    return [(path_name(p), x) for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]]


def _prunable_names(prunable: PyTree) -> list[str]:
    return [name for name, is_p in _leaves(prunable) if is_p]


def removal_counts(mask: PyTree, prunable: PyTree, fraction: float, scope: str = "layer") -> NRemove:
    """The paper's counts: {'leaf': rint(p * alive_leaf)} (scope 'layer') or rint(p * alive_total) ('global')."""
    if scope not in SCOPES:
        raise LthbenchError(f"unknown pruning scope {scope!r}; choose one of {', '.join(SCOPES)}")
    if not 0.0 < float(fraction) < 1.0:
        raise LthbenchError(f"prune fraction must lie in (0, 1), got {fraction}")
    alive = {name: int(np.count_nonzero(np.asarray(m))) for name, m in _leaves(mask)}
    names = _prunable_names(prunable)
    if scope == "layer":
        return {name: int(np.rint(fraction * alive[name])) for name in names}
    return int(np.rint(fraction * sum(alive[name] for name in names)))


def count_removed(new_mask: PyTree, old_mask: PyTree, prunable: PyTree) -> dict[str, int]:
    """{'leaf': number of weights alive in old_mask and dead in new_mask} over prunable leaves."""
    old = dict(_leaves(old_mask))
    new = dict(_leaves(new_mask))
    return {
        name: int(np.count_nonzero((np.asarray(old[name]) != 0) & (np.asarray(new[name]) == 0)))
        for name in _prunable_names(prunable)
    }


# --------------------------------------------------------------------------------------------------
# Exactly-k removal of the lowest scores


def remove_lowest(scores: PyTree, mask: PyTree, n_remove: NRemove, prunable: PyTree) -> PyTree:
    """New mask with exactly n_remove alive prunable weights of lowest score set to 0.

    Ties are broken deterministically: within a leaf the lower flat index goes first; in global scope
    the leaf that comes first in the pytree's flattening order goes first. NaN scores count as -inf
    (removed first). Only alive weights of prunable leaves are candidates.
    """
    flat_mask, treedef = jax.tree_util.tree_flatten_with_path(mask)
    names = [path_name(p) for p, _ in flat_mask]
    masks = [np.array(m, copy=True) for _, m in flat_mask]
    score_leaves = jax.tree_util.tree_leaves(scores)
    is_p = [bool(x) for x in jax.tree_util.tree_leaves(prunable)]
    if len(score_leaves) != len(masks) or len(is_p) != len(masks):
        raise LthbenchError("scores, mask and prunable pytrees differ in structure")

    def candidates(i):
        alive = np.flatnonzero(masks[i].reshape(-1) != 0)
        s = np.asarray(score_leaves[i], dtype=np.float64).reshape(-1)[alive]
        return alive, np.where(np.isnan(s), -np.inf, s)

    if isinstance(n_remove, dict):
        unknown = set(n_remove) - {n for n, p in zip(names, is_p) if p}
        if unknown:
            raise LthbenchError(f"n_remove names leaves that are not prunable: {', '.join(sorted(unknown))}")
        for i, name in enumerate(names):
            k = int(n_remove.get(name, 0)) if is_p[i] else 0
            if k == 0:
                continue
            alive, s = candidates(i)
            if not 0 <= k <= alive.size:
                raise LthbenchError(f"cannot remove {k} weights from {name!r}: {alive.size} alive")
            drop = alive[np.argsort(s, kind="stable")[:k]]
            masks[i].reshape(-1)[drop] = 0
    else:
        k = int(n_remove)
        idx = [i for i in range(len(masks)) if is_p[i]]
        parts = [candidates(i) for i in idx]
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
    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(mask), masks)


class ScoreMethod:
    """Base class: remove the alive weights with the lowest `scores()` (exactly k, deterministic ties)."""

    name = "score"
    requires: tuple = ()

    def scores(self, params: PyTree, mask: PyTree, key, context: PruneContext) -> PyTree:
        raise NotImplementedError

    def __call__(self, params, mask, n_remove, key, context):
        return remove_lowest(self.scores(params, mask, key, context), mask, n_remove, context.prunable)

    def __repr__(self):
        return f"{type(self).__name__}()"


class Magnitude(ScoreMethod):
    """Iterative magnitude pruning (the paper): remove the smallest |w|."""

    name = "magnitude"

    def scores(self, params, mask, key, context):
        return jax.tree_util.tree_map(lambda w: np.abs(np.asarray(w)), params)


class RandomPruning(ScoreMethod):
    """Remove uniformly random alive weights (IRP)."""

    name = "random"

    def scores(self, params, mask, key, context):
        leaves, treedef = jax.tree_util.tree_flatten(params)
        out = [np.asarray(jax.random.uniform(jax.random.fold_in(key, i), np.shape(w))) for i, w in enumerate(leaves)]
        return jax.tree_util.tree_unflatten(treedef, out)


class SNIP(ScoreMethod):
    """Connection sensitivity |w * dE/dw| (Lee et al. 2019), with the energy gradient at the current params."""

    name = "snip"
    requires = ("grad",)

    def scores(self, params, mask, key, context):
        if context.grad is None:
            raise LthbenchError("SNIP needs the energy gradient in context.grad")
        return jax.tree_util.tree_map(lambda w, g: np.abs(np.asarray(w) * np.asarray(g)), params, context.grad)


class SynFlow(ScoreMethod):
    """Iterative synaptic flow (Tanaka et al. 2020), data-free.

    R(theta) = sum log_psi(|theta| * mask, all-ones input); score = |theta * dR/dtheta|. The k removals
    of one round are spread over `iterations` re-scorings with an exponential schedule (the last one
    lands exactly on k per layer, or in total for global scope).
    """

    name = "synflow"
    requires = ("log_psi",)

    def __init__(self, iterations: int = 10):
        self.iterations = int(iterations)

    def scores(self, params, mask, key, context):
        if context.log_psi is None or context.n_spins is None:
            raise LthbenchError("SynFlow needs context.log_psi and context.n_spins")
        ones = jnp.ones((1, int(context.n_spins)))

        def flow(theta):
            return jnp.sum(context.log_psi(theta, ones.astype(jax.tree_util.tree_leaves(theta)[0].dtype)))

        lin = jax.tree_util.tree_map(lambda w, m: jnp.abs(jnp.asarray(w)) * jnp.asarray(m, jnp.asarray(w).dtype),
                                     params, mask)
        grad = jax.grad(flow)(lin)
        return jax.tree_util.tree_map(lambda w, g: np.abs(np.asarray(w * g)), lin, grad)

    def __call__(self, params, mask, n_remove, key, context):
        def schedule(alive, k, t):  # cumulative removals after iteration t of T
            keep = (alive - k) / alive if alive else 1.0
            return int(np.rint(alive - alive * keep ** (t / self.iterations))) if t < self.iterations else k

        alive0 = {n: int(np.count_nonzero(np.asarray(m))) for n, m in _leaves(mask)}
        total0 = sum(alive0[n] for n in _prunable_names(context.prunable))
        current, done = mask, (dict.fromkeys(n_remove, 0) if isinstance(n_remove, dict) else 0)
        for t in range(1, self.iterations + 1):
            if isinstance(n_remove, dict):
                target = {n: schedule(alive0[n], k, t) for n, k in n_remove.items()}
                step = {n: target[n] - done[n] for n in n_remove}
            else:
                target = schedule(total0, int(n_remove), t)
                step = target - done
            if (sum(step.values()) if isinstance(step, dict) else step) > 0:
                current = remove_lowest(self.scores(params, current, key, context), current, step, context.prunable)
            done = target
        return current

    def __repr__(self):
        return f"SynFlow(iterations={self.iterations})"


# --------------------------------------------------------------------------------------------------
# Registry and user methods

METHODS: dict[str, Callable] = {
    "magnitude": Magnitude(),
    "random": RandomPruning(),
    "snip": SNIP(),
    "synflow": SynFlow(),
}


def register_method(name: str, method: Callable) -> None:
    """Make `method` available by `name` (e.g. from a plugin's import-time code)."""
    if not callable(method):
        raise LthbenchError(f"pruning method {name!r} is not callable")
    METHODS[name] = method


def resolve_method(spec: str | Callable) -> Callable:
    """A pruning method from a registry name, an import path 'package.module:Name', or a callable.

    A class found by import path is instantiated without arguments; a function is used as is.
    """
    if callable(spec) and not isinstance(spec, type):
        return spec
    if isinstance(spec, type):
        return _instantiate(spec, repr(spec))
    spec = str(spec)
    if spec in METHODS:
        return METHODS[spec]
    if ":" not in spec:
        raise LthbenchError(
            f"unknown pruning method {spec!r}; choose one of {', '.join(METHODS)} or give 'package.module:Name'"
        )
    module_name, _, attr = spec.partition(":")
    obj = _import(module_name)
    for part in attr.split("."):
        if not part or not hasattr(obj, part):
            raise LthbenchError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if isinstance(obj, type):
        return _instantiate(obj, spec)
    if not callable(obj):
        raise LthbenchError(f"pruning method {spec!r} is not callable")
    return obj


def _import(module_name: str):
    """Import a method's module; like `python -m`, also look in the current directory (kept on sys.path,
    so the module's own later imports work)."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        cwd = os.getcwd()
        if cwd in sys.path or "" in sys.path or not (exc.name and module_name.startswith(exc.name)):
            raise LthbenchError(f"cannot import pruning method module {module_name!r}: {exc}") from None
        sys.path.append(cwd)
        try:
            return importlib.import_module(module_name)
        except ImportError as exc2:
            raise LthbenchError(f"cannot import pruning method module {module_name!r}: {exc2}") from None
    except ImportError as exc:
        raise LthbenchError(f"cannot import pruning method module {module_name!r}: {exc}") from None


def _instantiate(cls: type, spec: str):
    try:
        obj = cls()
    except TypeError as exc:
        raise LthbenchError(f"pruning method class {spec} must be constructible without arguments: {exc}") from None
    if not callable(obj):
        raise LthbenchError(f"instances of {spec} are not callable (define __call__)")
    return obj


def method_name(method: str | Callable) -> str:
    """The name of a method for labels: the registry name or import path as given, else its `name`."""
    if isinstance(method, str):
        return method
    name = getattr(method, "name", None)
    if isinstance(name, str) and name:
        return name
    target = method if isinstance(method, type) or hasattr(method, "__qualname__") else type(method)
    return f"{target.__module__}:{target.__qualname__}"


def requirements(method: Callable) -> tuple:
    """What the method asks the protocol to put in its context ('grad', 'log_psi')."""
    return tuple(getattr(method, "requires", ()) or ())


# --------------------------------------------------------------------------------------------------
# Running a method, with its output checked


def check_new_mask(new_mask: PyTree, old_mask: PyTree, n_remove: NRemove, prunable: PyTree, who: str = "method") -> PyTree:
    """The new mask as numpy arrays of the old mask's dtypes, or LthbenchError if it is no valid step."""
    try:
        ok = same_structure(new_mask, old_mask)
    except Exception:  # noqa: BLE001 - anything that is not a pytree like the mask
        ok = False
    if not ok:
        raise LthbenchError(f"pruning {who} returned a mask whose structure or shapes differ from the current mask")
    leaves = jax.tree_util.tree_leaves(new_mask)
    for leaf in leaves:
        arr = np.asarray(leaf)
        if arr.dtype.kind not in "biuf" or not np.all((arr == 0) | (arr == 1)):
            raise LthbenchError(f"pruning {who} returned mask values other than 0 and 1")
    if not is_subset(new_mask, old_mask):
        raise LthbenchError(f"pruning {who} revived weights that an earlier round pruned")
    for (name, new), old, is_p in zip(_leaves(new_mask), jax.tree_util.tree_leaves(old_mask),
                                      jax.tree_util.tree_leaves(prunable)):
        if not is_p and not np.array_equal(np.asarray(new), np.asarray(old)):
            raise LthbenchError(f"pruning {who} changed the mask of the non-prunable leaf {name!r}")
    removed = count_removed(new_mask, old_mask, prunable)
    if isinstance(n_remove, dict):
        wrong = {n: (removed.get(n, 0), int(k)) for n, k in n_remove.items() if removed.get(n, 0) != int(k)}
        if wrong:
            name, (got, want) = next(iter(wrong.items()))
            raise LthbenchError(f"pruning {who} removed {got} weights from {name!r}, expected exactly {want}")
    elif sum(removed.values()) != int(n_remove):
        raise LthbenchError(f"pruning {who} removed {sum(removed.values())} weights, expected exactly {int(n_remove)}")
    return jax.tree_util.tree_map(lambda n, o: np.asarray(n).astype(np.asarray(o).dtype), new_mask, old_mask)


def prune(method: Callable, params: PyTree, mask: PyTree, n_remove: NRemove, key, context: PruneContext) -> PyTree:
    """Run `method` and check its output (see `check_new_mask`)."""
    new_mask = method(params, mask, n_remove, key, context)
    return check_new_mask(new_mask, mask, n_remove, context.prunable, who=f"method {method_name(method)!r}")
