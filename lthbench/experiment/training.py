"""The experiment's edge to the trainer (`lthbench.vmc`): every training, gradient and fidelity a
cell needs goes through these functions (tests patch them to count or forbid training)."""

from __future__ import annotations

from .. import vmc


def train(task, system, ansatz, params, mask, n_steps: int, key):
    """`vmc.train` of params under mask for n_steps with the task's config."""
    return vmc.train(system, ansatz, params, mask, task.train_config(n_steps), key)


def precompile(task, system, ansatz, params, masks, key) -> int:
    """Compile the step programs `train` will run for each of `masks` (`lthbench.vmc.precompile_steps`)."""
    return vmc.precompile_steps(system, ansatz, params, masks, task.train_config(0), key)


def params_after(task, system, ansatz, params_init, mask, step: int, key):
    """The dense run's params after `step` steps: the same run (same key) stopped early. The trainer
    draws step t's randomness from the key and t alone, so its first K steps do not depend on n_steps."""
    if step == 0:
        return params_init
    return train(task, system, ansatz, params_init, mask, step, key).params


def energy_grad(task, system, ansatz, params, mask, key):
    """dE/dtheta at params * mask, for methods that require 'grad' (SNIP): exact in exact mode, else
    from one batch of task.n_samples Monte Carlo samples."""
    _, grad = vmc.energy_gradient(system, ansatz, params, mask, task.train_config(0), key)
    return grad


def fidelity(task, system, ansatz, params_a, params_b, key) -> float:
    """|<psi_a|psi_b>|^2 / (<psi_a|psi_a><psi_b|psi_b>) (exact, or estimated with the task's sampler)."""
    return float(vmc.fidelity(system, ansatz, params_a, params_b, task.train_config(0), key))


def ground_space_weight(system, ansatz, params, vectors) -> float:
    """The weight of the net's state in the span of `vectors` (the ED ground space)."""
    return float(vmc.ground_space_weight(system, ansatz, params, vectors))
