"""Code changes the mutation test injects (context managers): TrainConfig fields of every training
call, the ansatz's dtype, the reference row's energy, one control running another's code."""

from __future__ import annotations

import contextlib
import dataclasses

import jax
import jax.numpy as jnp

from ... import exact, nets
from ...experiment import TaskSpec
from ...experiment import cells as experiment_cells


@contextlib.contextmanager
def replaced(obj, name: str, value):
    """obj.name = value inside the block (restored after)."""
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def config_patch(changes: dict):
    """Every TaskSpec.train_config result with TrainConfig fields changed by `changes` (field -> f(old))."""
    original = TaskSpec.train_config

    def train_config(self, n_steps):
        cfg = original(self, n_steps)
        return dataclasses.replace(cfg, **{k: f(getattr(cfg, k)) for k, f in changes.items()})

    return replaced(TaskSpec, "train_config", train_config)


def dtype_swap_patch():
    """make_ansatz returns the same net with its parameters stored in the other float dtype (float64 <->
    float32): init casts them, log_psi casts them back to the net's own dtype (a conv needs one dtype), so
    the parameters, gradients and SR updates are rounded to the other precision."""
    original = nets.make_ansatz

    def make_ansatz(name, system, **hyper):
        a = original(name, system, **hyper)
        own = jnp.dtype(a.dtype)
        new = jnp.float32 if own == jnp.float64 else jnp.float64
        init, log_psi = a.init, a.log_psi

        def cast(params, dtype):
            return jax.tree_util.tree_map(lambda p: p.astype(dtype), params)

        return dataclasses.replace(
            a,
            dtype=new,
            init=lambda key: cast(init(key), new),
            log_psi=lambda params, spins: log_psi(cast(params, own), spins),
        )

    return replaced(nets, "make_ansatz", make_ansatz)


def reference_row_patch(rel: float = 1e-8):
    """reference_energy returns every row's energy scaled by (1 + rel)."""
    original = exact.reference_energy

    def reference_energy(system_id, *args, **kwargs):
        ref = original(system_id, *args, **kwargs)
        return dataclasses.replace(ref, energy=ref.energy * (1.0 + rel))

    return replaced(exact, "reference_energy", reference_energy)


def control_patch(target: str, source: str):
    """Control `target` runs control `source`'s function."""
    original = experiment_cells.make_controls

    def make_controls(ansatz, prunable):
        controls = dict(original(ansatz, prunable))
        controls[target] = controls[source]
        return controls

    return replaced(experiment_cells, "make_controls", make_controls)
