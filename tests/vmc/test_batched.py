"""Batched tickets (`lthbench.vmc.batched.train_batched`): 8 trainings as one compiled program give what
8 separate `train` calls with the same keys give (to tolerance), in vmap and lax.map mode."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from lthbench.errors import LthbenchError
from lthbench.experiment import get_task
from lthbench.masks import full_mask, prunable_leaves, to_numpy
from lthbench.nets import make_ansatz
from lthbench.pruning.controls import random_mask_like
from lthbench.systems import system_from_id
from lthbench.vmc import train
from lthbench.vmc.batched import stack_trees, train_batched, unstack_tree

B = 8


def tickets(task_id: str, density: float = 0.6):
    """8 members: different inits, masks (one dense, seven random at `density`) and keys."""
    task = get_task(task_id)
    system = system_from_id(task.system_id)
    ansatz = make_ansatz(task.net, system, **task.hyper)
    params = [to_numpy(ansatz.init(jax.random.key(i))) for i in range(B)]
    prunable = prunable_leaves(params[0], ansatz.is_prunable)
    dense = to_numpy(full_mask(params[0]))
    part = jax.tree_util.tree_map(
        lambda m, p: (np.arange(m.size).reshape(m.shape) < round(density * m.size)).astype(m.dtype) if p else m,
        dense,
        prunable,
    )
    masks = [dense] + [to_numpy(random_mask_like(part, prunable, jax.random.key(50 + i))) for i in range(1, B)]
    keys = [jax.random.key(100 + i) for i in range(B)]
    return task, system, ansatz, params, masks, keys


def assert_match(batched, separate, rtol):
    assert len(batched) == len(separate) == B
    energies = [r.energy for r in separate]
    assert len(set(np.round(energies, 10))) == B  # the members really differ
    for a, b in zip(batched, separate):
        assert a.n_steps_done == b.n_steps_done and a.diverged == b.diverged == False  # noqa: E712
        np.testing.assert_allclose(a.energy_history, b.energy_history, rtol=rtol)
        for name in ("energy", "variance", "energy_sigma", "m_z", "m_x"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, atol=1e-12, err_msg=name)
        for x, y in zip(jax.tree_util.tree_leaves(a.params), jax.tree_util.tree_leaves(b.params)):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-12)
            assert np.array_equal(x == 0, y == 0)  # the same weights pruned


@pytest.fixture(scope="module")
def exact_case():
    task, system, ansatz, params, masks, keys = tickets("tiny-tfim-3x3")
    config = task.train_config(30)
    separate = [train(system, ansatz, p, m, config, k) for p, m, k in zip(params, masks, keys)]
    return system, ansatz, params, masks, keys, config, separate


@pytest.mark.parametrize("mode", ["vmap", "map"])
def test_batched_exact_mode_matches_separate_trainings(exact_case, mode):
    system, ansatz, params, masks, keys, config, separate = exact_case
    batched = train_batched(system, ansatz, params, masks, config, keys, mode=mode)
    assert_match(batched, separate, rtol=1e-9)


@pytest.mark.slow
def test_batched_monte_carlo_matches_separate_trainings():
    task, system, ansatz, params, masks, keys = tickets("tiny-tfim-3x3")
    config = dataclasses.replace(
        task.train_config(30), exact=False, n_samples=64, n_chains=8, n_burn_in=10, n_eval_steps=2
    )
    separate = [train(system, ansatz, p, m, config, k) for p, m, k in zip(params, masks, keys)]
    batched = train_batched(system, ansatz, params, masks, config, keys, mode="vmap")
    assert_match(batched, separate, rtol=1e-8)


def test_stack_roundtrip_and_bad_input():
    task, system, ansatz, params, masks, keys = tickets("tiny-toric-2")
    back = unstack_tree(stack_trees(params), B)
    for a, b in zip(back, params):
        for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
            np.testing.assert_array_equal(x, y)
    config = task.train_config(1)
    with pytest.raises(LthbenchError):
        train_batched(system, ansatz, params, masks, config, keys[:3])
    with pytest.raises(LthbenchError):
        train_batched(system, ansatz, params, masks, config, keys, mode="pmap")
