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

import copy
import dataclasses
import functools
import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import LthbenchError, UserCodeError, one_line
from ..masks import is_subset, path_name, same_structure

PyTree = Any
NRemove = dict | int

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

    for i, (name, m) in enumerate(zip(names, masks)):
        if is_p[i] and np.shape(score_leaves[i]) != m.shape:
            raise LthbenchError(f"scores of {name!r} have shape {np.shape(score_leaves[i])}, the weights {m.shape}")

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


def check_scores(scores: PyTree, params: PyTree, mask: PyTree, prunable: PyTree) -> None:
    """LthbenchError unless scores mirror params (structure, exact shapes) and are finite on every
    alive prunable weight whose value is finite (a diverged round's NaN weights may score NaN)."""
    s_leaves = jax.tree_util.tree_leaves(scores)
    p_named = _leaves(params)
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

    On a single-layer FFNN (`ffnn`: log psi = sum_j relu(sum_i W_ij s_i), no bias) SynFlow *is*
    magnitude pruning: with |W| and the all-ones input every pre-activation is positive, so
    dR/dW_ij = 1 and the score is |W_ij|; every iteration removes the lowest |W| (ties alike), so the
    masks equal magnitude's (tests/test_pruning.py checks it). On the FFNN tasks the four baselines
    are therefore three; SynFlow differs from magnitude on the RBM (log cosh, biases), CNN and ResCNN.

    Hyperparameter: iterations (int >= 1, default 10), e.g. `--method 'synflow[iterations=20]'`.
    """

    name = "synflow"
    requires = ("log_psi",)

    def __init__(self, iterations: int = 10):
        if isinstance(iterations, bool) or int(iterations) != iterations or int(iterations) < 1:
            raise LthbenchError(f"synflow iterations must be an integer >= 1, got {iterations!r}")
        self.iterations = int(iterations)

    def scores(self, params, mask, key, context):
        if context.log_psi is None or context.n_spins is None:
            raise LthbenchError("SynFlow needs context.log_psi and context.n_spins")
        ones = jnp.ones((1, int(context.n_spins)))

        def flow(theta):
            return jnp.sum(context.log_psi(theta, ones.astype(jax.tree_util.tree_leaves(theta)[0].dtype)))

        lin = jax.tree_util.tree_map(
            lambda w, m: jnp.abs(jnp.asarray(w)) * jnp.asarray(m, jnp.asarray(w).dtype), params, mask
        )
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
# Registry, method specs 'name[k=v,...]' and user methods

METHODS: dict[str, Callable] = {
    "magnitude": Magnitude(),
    "random": RandomPruning(),
    "snip": SNIP(),
    "synflow": SynFlow(),
}

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_VALUE = re.compile(r"[A-Za-z0-9_.:+-]+")
_INT = re.compile(r"[+-]?\d+")


def register_method(name: str, method: Callable) -> None:
    """Make `method` available by `name` (e.g. from a plugin's import-time code)."""
    if not callable(method):
        raise LthbenchError(f"pruning method {name!r} is not callable")
    METHODS[name] = method


def parse_method_spec(spec: str) -> tuple[str, dict]:
    """'synflow[iterations=20]' -> ('synflow', {'iterations': 20}); 'pkg.mod:Name' -> ('pkg.mod:Name', {}).

    Values are read as true/false (bool), integers, floats, or else plain words (letters, digits and
    `_.:+-`). LthbenchError (one line) for a malformed spec.
    """
    text = str(spec).strip()
    m = re.fullmatch(r"([^\[\]]+?)\s*(?:\[([^\[\]]*)\])?", text)
    if not m or not m.group(1).strip():
        raise LthbenchError(f"bad pruning method {text!r}: use name, name[k=v,...] or package.module:Name[k=v,...]")
    name, body = m.group(1).strip(), m.group(2)
    kwargs: dict = {}
    for part in [] if body is None or not body.strip() else body.split(","):
        key, eq, value = (x.strip() for x in part.partition("="))
        if not eq or not _KEY.fullmatch(key) or not _VALUE.fullmatch(value):
            raise LthbenchError(f"bad hyperparameter {part.strip()!r} in method {text!r}: use key=value")
        if key in kwargs:
            raise LthbenchError(f"hyperparameter {key!r} given twice in method {text!r}")
        kwargs[key] = _parse_value(value)
    return name, kwargs


def _parse_value(text: str):
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _INT.fullmatch(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    return value if np.isfinite(value) else text


def format_value(value) -> str:
    """The canonical text of a hyperparameter value in a label: true/false, 20, 0.5, 1e-05, word."""
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def hyperparameters(target: Callable) -> dict[str, inspect.Parameter]:
    """The hyperparameters a method declares: the keyword arguments of a class's constructor (a
    dataclass's fields), or a function's parameters after the five of the method signature.

    {name: inspect.Parameter}; empty when the signature cannot be read.
    """
    try:
        sig = inspect.signature(target)
    except (TypeError, ValueError):
        return {}
    params = [p for p in sig.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not isinstance(target, type):
        params = params[5:]
    return {p.name: p for p in params}


def _coerce(spec: str, param: inspect.Parameter, value):
    """value converted to the type of the parameter's default (int -> float allowed), else an error."""
    default = param.default
    if default is inspect.Parameter.empty or default is None:
        return value
    want = type(default)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif isinstance(default, str):
        ok, value = True, format_value(value)
    else:
        ok = True
    if not ok:
        raise LthbenchError(
            f"hyperparameter {param.name}={format_value(value)} of method {spec!r} must be "
            f"{want.__name__} (default {format_value(default)})"
        )
    return want(value) if want in (int, float) else value


def check_kwargs(target: Callable, kwargs: dict, spec: str) -> dict:
    """kwargs validated against the method's declared hyperparameters and coerced to their types."""
    if not kwargs:
        return {}
    declared = hyperparameters(target)
    unknown = sorted(set(kwargs) - set(declared))
    if unknown:
        valid = ", ".join(declared) or "none"
        raise LthbenchError(f"method {spec!r} has no hyperparameter {', '.join(unknown)}; valid: {valid}")
    return {k: _coerce(spec, declared[k], v) for k, v in sorted(kwargs.items())}


def non_default(target: Callable, kwargs: dict) -> dict:
    """The kwargs whose value differs from the declared default (those go into the label), sorted."""
    declared = hyperparameters(target)
    out = {}
    for k in sorted(kwargs):
        p = declared.get(k)
        if p is None or p.default is inspect.Parameter.empty or not _same_value(kwargs[k], p.default):
            out[k] = kwargs[k]
    return out


def _same_value(a, b) -> bool:
    try:
        return (
            type(a) is type(b)
            and bool(a == b)
            or (
                isinstance(a, (int, float))
                and isinstance(b, (int, float))
                and not isinstance(a, bool)
                and not isinstance(b, bool)
                and float(a) == float(b)
            )
        )
    except Exception:  # noqa: BLE001 - incomparable values are different
        return False


def resolve_method(spec: str | Callable) -> Callable:
    """A pruning method from a spec string, a class or a callable.

    Spec: a registry name or an import path 'package.module:Name', optionally with hyperparameters,
    'synflow[iterations=20]', 'pkg.mod:Name[k=v,...]'. A class is instantiated with the
    hyperparameters (none: its defaults); a registry entry with hyperparameters is rebuilt from its
    class; a function with hyperparameters gets them bound (functools.partial). Hyperparameters are
    validated against what the method declares (`hyperparameters`).
    """
    if callable(spec) and not isinstance(spec, type):
        return spec
    if isinstance(spec, type):
        return _instantiate(spec, {}, repr(spec))
    text = str(spec)
    name, kwargs = parse_method_spec(text)
    obj = _lookup(name)
    if isinstance(obj, type):
        return _instantiate(obj, kwargs, text)
    if not callable(obj):
        raise LthbenchError(f"pruning method {text!r} is not callable")
    if not kwargs:
        return obj
    if not inspect.isroutine(obj):  # an instance (a registry entry): rebuilt from its class
        return _instantiate(type(obj), kwargs, text)
    bound = functools.partial(obj, **check_kwargs(obj, kwargs, text))
    functools.update_wrapper(bound, obj)
    return bound


def _lookup(name: str):
    """The object a method name refers to: a registry entry, or the attribute of an import path."""
    if name in METHODS:
        return METHODS[name]
    if ":" not in name:
        raise LthbenchError(
            f"unknown pruning method {name!r}; choose one of {', '.join(METHODS)} or give 'package.module:Name'"
        )
    module_name, _, attr = name.partition(":")
    if not module_name or not attr:
        raise LthbenchError(f"bad pruning method {name!r}: give it as package.module:Name")
    obj = _import(module_name)
    for part in attr.split("."):
        if not part or not hasattr(obj, part):
            raise LthbenchError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def _import(module_name: str):
    """Import a method's module; like `python -m`, also look in the current directory (kept on sys.path,
    so the module's own later imports work). Any error while importing it is one line."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        cwd = os.getcwd()
        if cwd in sys.path or "" in sys.path or not (exc.name and module_name.startswith(exc.name)):
            raise LthbenchError(f"cannot import pruning method module {module_name!r}: {exc}") from None
        sys.path.append(cwd)
        try:
            return importlib.import_module(module_name)
        except Exception as exc2:  # noqa: BLE001 - the user's module: any failure is their error
            raise _import_error(module_name, exc2) from exc2
    except Exception as exc:  # noqa: BLE001 - SyntaxError, errors raised by the module's own code
        raise _import_error(module_name, exc) from exc


def _import_error(module_name: str, exc: BaseException) -> LthbenchError:
    where = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
    return UserCodeError(f"cannot import pruning method module {module_name!r}{where}: {one_line(exc)}")


def _instantiate(cls: type, kwargs: dict, spec: str):
    kwargs = check_kwargs(cls, kwargs, spec)
    try:
        obj = cls(**kwargs)
    except LthbenchError:
        raise
    except TypeError as exc:
        raise LthbenchError(
            f"pruning method class {spec} must be constructible from its keyword arguments: {one_line(exc)}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - the user's constructor
        raise UserCodeError(f"pruning method {spec} could not be built: {one_line(exc)}") from exc
    if not callable(obj):
        raise LthbenchError(f"instances of {spec} are not callable (define __call__)")
    return obj


def method_target(method: Callable):
    """The class (for instances) or function whose code a method runs (a partial's function)."""
    if isinstance(method, functools.partial):
        return method_target(method.func)
    if isinstance(method, type) or inspect.isfunction(method) or inspect.ismethod(method) or inspect.isbuiltin(method):
        return method
    return type(method)


def qualified_name(method: Callable) -> str:
    """'module:QualName' of the class or function a method runs."""
    target = method_target(method)
    return f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', type(target).__name__)}"


def method_kwargs(method: Callable) -> dict:
    """The hyperparameters of a method object that differ from their defaults, sorted by name.

    A partial's bound keywords; for instances, each constructor keyword read back from the attribute
    of the same name (so store hyperparameters under their own names, as dataclasses do).
    """
    if isinstance(method, functools.partial):
        return non_default(method.func, dict(method.keywords))
    if isinstance(method, type) or inspect.isroutine(method):
        return {}
    declared = hyperparameters(type(method))
    values = {k: getattr(method, k) for k in declared if hasattr(method, k)}
    return non_default(type(method), values)


def _own_name(method: Callable) -> str | None:
    """The `name` a method gives itself: on the instance or function, or on its own class (an inherited
    name does not count: a nameless subclass of Magnitude is not magnitude)."""
    target = method.func if isinstance(method, functools.partial) else method
    own = getattr(target, "__dict__", {}).get("name")
    if own is None and not (isinstance(target, type) or inspect.isroutine(target)):
        own = type(target).__dict__.get("name")
    return own if isinstance(own, str) and own else None


def method_name(method: str | Callable) -> str:
    """The method part of a label: 'name' or 'name[k=v,...]' (kwargs sorted, canonical values, the
    ones equal to their defaults left out, so 'synflow[iterations=10]' is 'synflow').

    A string spec keeps the name as given (a registry name or an import path); an object uses the
    `name` its own class (or the object) defines, else its qualified name 'module:QualName'.
    """
    if isinstance(method, str):
        name, kwargs = parse_method_spec(method)
        if kwargs:
            obj = _lookup(name)
            target = obj if isinstance(obj, type) or inspect.isroutine(obj) else type(obj)
            kwargs = non_default(target, check_kwargs(target, kwargs, method))
    else:
        name = _own_name(method) or qualified_name(method)
        kwargs = method_kwargs(method)
    if not kwargs:
        return name
    return f"{name}[{','.join(f'{k}={format_value(v)}' for k, v in kwargs.items())}]"


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
            f"pruning method {method_name(method)!r} must take (params, mask, n_remove, key, "
            f"context); its signature is {sig}"
        ) from None


def requirements(method: Callable) -> tuple:
    """What the method asks the protocol to put in its context ('grad', 'log_psi')."""
    return tuple(getattr(method, "requires", ()) or ())


# --------------------------------------------------------------------------------------------------
# Running a method, with its output checked


def check_new_mask(
    new_mask: PyTree, old_mask: PyTree, n_remove: NRemove, prunable: PyTree, who: str = "method"
) -> PyTree:
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
    for (name, new), old, is_p in zip(
        _leaves(new_mask), jax.tree_util.tree_leaves(old_mask), jax.tree_util.tree_leaves(prunable)
    ):
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
    who = f"method {method_name(method)!r}"
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
