"""The pruning-method protocol: what a method author implements, and the types it sees.

No physics here. A method sees the current params, the current mask, how many weights to remove, a PRNG
key and a `PruneContext` (which leaves are prunable, and whatever else it asked for through its
`requires` attribute: the energy gradient, the ansatz's `log_psi`); it returns the new mask.

    method(params, mask, n_remove, key, context) -> new_mask

`n_remove` (`NRemove`) is a dict {'module/param': k} (layer-wise scope: remove exactly k from that leaf)
or an int (global scope: remove exactly k in total over the prunable leaves, wherever the scores are
lowest). The paper's counts are `lthbench.pruning.select.removal_counts`: k = rint(p * alive) per layer
(FFNN, CNN) or rint(p * alive_total) over the included leaves (ResCNN).

A user's method is any callable with that signature (a function, or a class whose instances are
callable and which can be built without arguments), given by import path 'package.module:Name'.
Optional attributes: `name` (str, used in labels) and `requires` (tuple of 'grad' and/or 'log_psi').
`lthbench.pruning.check.prune` checks the output of every method, the built-ins included: same structure
and shapes as the mask, 0/1 values, no pruned weight revived, non-prunable leaves untouched, exactly the
requested number removed. A violation raises `LthbenchError` with a one-line message.

Most methods are "remove the lowest scores" (a method is a score function): subclass
`lthbench.pruning.select.ScoreMethod` and implement `scores()`; ties are broken deterministically
(lower leaf position first, then lower flat index).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import jax

from ..masks import path_name

PyTree = Any
NRemove = dict | int

SCOPES = ("layer", "global")
REQUIREMENTS = ("grad", "log_psi")


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


def named_leaves(tree: PyTree) -> list[tuple[str, Any]]:
    """[('module/param', leaf)] in the pytree's flattening order."""
    return [(path_name(p), x) for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]]


def prunable_names(prunable: PyTree) -> list[str]:
    """The names of the leaves that are True in a `prunable` pytree, in flattening order."""
    return [name for name, is_p in named_leaves(prunable) if is_p]


def requirements(method: Callable) -> tuple:
    """What the method asks the protocol to put in its context ('grad', 'log_psi')."""
    return tuple(getattr(method, "requires", ()) or ())
