"""Controls of the lottery-ticket test: one function each, (mask, theta_init, theta_trained, key) ->
(mask', theta_start). The protocol trains theta_start under mask' for the dense budget, in isolation.

- 'ticket'      T(theta_init, m_IMP): the original initialisation under the round's IMP mask (the LTH test);
- 'reinit'      T(theta_rand, m_IMP): a fresh initialisation (`ansatz.init(key)`) under the same mask
                (structure vs initialisation);
- 'random-mask' T(theta_init, m_rand): the original initialisation under a random mask with the same
                alive count in every prunable leaf (per-layer density), non-prunable leaves untouched.

theta_start is always masked (pruned weights exactly zero). `make_controls(ansatz, prunable)` builds the
three; pure functions, no physics. The names are defined here once (`CONTROL_NAMES`, also the default
set `DEFAULT_CONTROLS`); a chain's fingerprint records them (`identity.chain_identity`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import jax
import numpy as np

from ..errors import LthbenchError
from ..masks import apply_mask, to_numpy

PyTree = Any
Control = Callable[[PyTree, PyTree, PyTree, Any], tuple]
TICKET, REINIT, RANDOM_MASK = "ticket", "reinit", "random-mask"
CONTROL_NAMES = (TICKET, REINIT, RANDOM_MASK)
DEFAULT_CONTROLS = CONTROL_NAMES


def random_mask_like(mask: PyTree, prunable: PyTree, key) -> PyTree:
    """A uniformly random mask with the same alive count per prunable leaf; other leaves copied."""
    leaves, treedef = jax.tree_util.tree_flatten(mask)
    is_p = jax.tree_util.tree_leaves(prunable)
    out = []
    for i, (m, p) in enumerate(zip(leaves, is_p)):
        m = np.asarray(m)
        if not p:
            out.append(m.copy())
            continue
        alive = int(np.count_nonzero(m))
        order = np.asarray(jax.random.permutation(jax.random.fold_in(key, i), m.size))
        new = np.zeros(m.size, dtype=m.dtype)
        new[order[:alive]] = 1
        out.append(new.reshape(m.shape))
    return jax.tree_util.tree_unflatten(treedef, out)


def ticket(mask, theta_init, theta_trained, key):
    """T(theta_init, m_IMP)."""
    return mask, to_numpy(apply_mask(theta_init, mask))


def make_reinit(ansatz) -> Control:
    """T(theta_rand, m_IMP) with theta_rand = ansatz.init(key)."""

    def reinit(mask, theta_init, theta_trained, key):
        return mask, to_numpy(apply_mask(ansatz.init(key), mask))

    return reinit


def make_random_mask(prunable: PyTree) -> Control:
    """T(theta_init, m_rand), m_rand with the same per-leaf alive counts as the IMP mask."""

    def random_mask(mask, theta_init, theta_trained, key):
        m = random_mask_like(mask, prunable, key)
        return m, to_numpy(apply_mask(theta_init, m))

    return random_mask


def make_controls(ansatz, prunable: PyTree) -> dict[str, Control]:
    """{'ticket', 'reinit', 'random-mask'} -> control function."""
    return {TICKET: ticket, REINIT: make_reinit(ansatz), RANDOM_MASK: make_random_mask(prunable)}


def check_controls(controls: str | Iterable[str]) -> tuple[str, ...]:
    """The control names as a tuple ('ticket,reinit' or an iterable of names), or LthbenchError for an
    unknown one."""
    if isinstance(controls, str):
        controls = tuple(c for c in controls.split(",") if c)
    controls = tuple(controls)
    for c in controls:
        if c not in CONTROL_NAMES:
            raise LthbenchError(f"unknown control {c!r}; choose from {', '.join(CONTROL_NAMES)}")
    return controls
