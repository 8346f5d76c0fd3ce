"""The training loop: Monte Carlo or full-sum VMC with SR, masked forward pass and masked updates.

One training step (`lthbench.vmc.step`: estimate, optax.chain(sr, sgd | adam, keep_pruned), finite
guard) is jitted; `STEPS_PER_CALL` steps run in one `lax.scan` per call. The compiled functions are
cached on (system, ansatz, the config's static part) (`lthbench.vmc.programs`).

Divergence: a step whose energy or new params are not finite is not applied; the loop stops and the
result says `diverged=True` with `n_steps_done` the number of good steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import LthbenchError
from ..masks import apply_mask, full_mask, same_structure
from . import exact_sum
from .blas_threads import blas1
from .config import Evaluation, Static, TrainConfig, TrainResult, static_of  # noqa: F401  (re-exported)
from .driver import drive
from .observables import (  # noqa: F401  (re-exported: their historical home)
    check_system,
    evaluate,
    evaluate_with,
    exact_vector,
    fidelity,
    fresh_chains,
    ground_space_weight,
)
from .programs import programs
from .qgt import alive_cap
from .step import STEPS_PER_CALL


def basis_arrays(system, exact: bool):
    """The full-sum basis (spins, diagonal, partners) on the device, or empty placeholders (Monte Carlo)."""
    if not exact:
        z = jnp.zeros((0,))
        return (z, z, z)
    return exact_sum.device_basis(system)


def check_inputs(system, ansatz, params, mask):
    check_system(system, ansatz)
    if mask is not None and not same_structure(params, mask):
        raise LthbenchError("mask does not mirror params (tree structure or leaf shapes differ)")


def with_alive_cap(st: Static, config: TrainConfig, masks) -> Static:
    """`st` with the alive-parameter SR size (`alive_cap`) for the largest alive count among `masks`
    (a sequence of mask pytrees), or unchanged without SR or with `config.sr_alive_only` off."""
    if st.sr_shift is None or not config.sr_alive_only:
        return st
    counts = [sum(int(np.count_nonzero(np.asarray(m))) for m in jax.tree_util.tree_leaves(mask)) for mask in masks]
    n_params = sum(int(np.size(m)) for m in jax.tree_util.tree_leaves(masks[0]))
    return st._replace(alive_cap=alive_cap(max(counts), n_params))


def like_params(mask, params):
    """The mask with each leaf cast to its param's dtype (device arrays)."""
    return jax.tree_util.tree_map(lambda m, p: jnp.asarray(m, dtype=jnp.asarray(p).dtype), mask, params)


def _progress_bar(enabled: bool, total: int, name: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"train {name}", leave=False)


def _result(params, ev: Evaluation, driven, i: int, wall: float, per_step: int) -> TrainResult:
    n_done = int(driven.n_done[i])
    return TrainResult(
        params=params,
        energy=ev.energy,
        energy_sigma=ev.energy_sigma,
        variance=ev.variance,
        v_score=ev.v_score,
        m_z=ev.m_z,
        m_x=ev.m_x,
        energy_history=driven.histories[i],
        diverged=not driven.alive[i],
        n_steps_done=n_done,
        wall_time=wall,
        seconds_per_step=wall / n_done if n_done else float("nan"),
        samples_per_s=n_done * per_step / wall if wall > 0 else float("nan"),
        variance_history=driven.variance_histories[i],
        evaluation=ev,
    )


def train_result(params, ev, driven, i: int, config: TrainConfig, system, n_members: int = 1) -> TrainResult:
    """Member i's TrainResult; wall time and seconds per step amortised over `n_members`."""
    per_step = config.n_samples if not config.exact else 2**system.n_spins
    result = _result(params, ev, driven, i, driven.wall / n_members, per_step)
    if n_members > 1 and driven.wall > 0:  # samples/s: the batch's total divided by B
        result.samples_per_s = int(driven.n_done[i]) * per_step / driven.wall
    return result


def loop_inputs(system, ansatz, params, mask, config: TrainConfig, key, placement=None, burn_in: bool = True):
    """What `train`'s step loop starts from: {'progs', 'run_steps', 'mask', 'basis', 'state' ({'params',
    'opt', 'chain'}), 'k_train', 'k_eval'}; the run_steps program is the one for `mask`'s alive count."""
    check_inputs(system, ansatz, params, mask)
    mask = like_params(full_mask(params) if mask is None else mask, params)
    if config.exact:
        exact_sum.check_size(system)
    st = static_of(system, config)
    progs = programs(system, ansatz, st)
    params = apply_mask(jax.tree_util.tree_map(jnp.asarray, params), mask)
    opt_state = progs["opt"].init(params)
    run_steps = programs(system, ansatz, with_alive_cap(st, config, [mask]))["run_steps"]
    basis = basis_arrays(system, config.exact)
    k_chain, k_burn, k_train, k_eval = jax.random.split(key, 4)
    chain = progs["init_chains"](params, k_chain)
    if placement is not None:
        params, mask, opt_state = placement.replicate((params, mask, opt_state))
        chain, basis = placement.chain(chain), placement.basis(basis)
    if burn_in and not config.exact and config.n_burn_in > 0:
        chain = progs["burn_in"](params, chain, k_burn, int(config.n_burn_in))
    state = {"params": params, "opt": opt_state, "chain": chain}
    return {
        "progs": progs,
        "run_steps": run_steps,
        "mask": mask,
        "basis": basis,
        "state": state,
        "k_train": k_train,
        "k_eval": k_eval,
    }


def precompile_steps(system, ansatz, params, masks, config: TrainConfig, key) -> int:
    """Compile, ahead of time, the step programs `train(system, ansatz, params, m, config, key)` runs,
    one per alive-count bucket among `masks` (an iterable of mask pytrees); returns how many calls it
    made. Each program is called once with every step inactive (no step runs, nothing changes), which
    fills the same compilation cache `train` reads; a thread can do this while another cell trains."""
    seen = set()
    for mask in masks:
        inputs = loop_inputs(system, ansatz, params, mask, config, key, burn_in=False)
        if id(inputs["run_steps"]) in seen:
            continue
        seen.add(id(inputs["run_steps"]))
        state = inputs["state"]
        out = inputs["run_steps"](
            state["params"],
            state["opt"],
            inputs["mask"],
            state["chain"],
            jax.random.fold_in(inputs["k_train"], 0),
            jnp.asarray(np.zeros(STEPS_PER_CALL, dtype=bool)),
            inputs["basis"],
        )
        jax.block_until_ready(out)
    return len(seen)


@blas1
def train(
    system, ansatz, params, mask, config: TrainConfig, key, *, progress: bool = False, placement=None
) -> TrainResult:
    """Train `params` (masked by `mask`, None = dense) for config.n_steps steps, then evaluate frozen.

    Returns a TrainResult whose params are masked (pruned weights exactly 0). The reported energy is
    the mean of `config.n_eval_steps` frozen-parameter evaluation steps (exact value in exact mode).
    placement: optional device layout with methods replicate(tree), chain(ChainState), basis(arrays)
    (see `lthbench.vmc.sharding`); None keeps JAX's default single-device placement.
    """
    inputs = loop_inputs(system, ansatz, params, mask, config, key, placement)
    progs, run_steps, mask, basis, state = (inputs[k] for k in ("progs", "run_steps", "mask", "basis", "state"))
    k_train, k_eval = inputs["k_train"], inputs["k_eval"]

    def run_call(call, active):
        out = run_steps(
            state["params"],
            state["opt"],
            mask,
            state["chain"],
            jax.random.fold_in(k_train, call),
            jnp.asarray(active[0]),
            basis,
        )
        state["params"], state["opt"], state["chain"], alive, e, v, done = out
        return (np.asarray(x)[None] for x in (alive, e, v, done))

    bar = _progress_bar(progress, config.n_steps, ansatz.name)

    def on_call(todo, energies):
        if bar is not None:
            bar.update(todo)
            if len(energies):
                bar.set_postfix(E=float(energies[-1]))

    driven = drive(run_call, config.n_steps, 1, on_call, lambda: jax.block_until_ready(state["params"]))
    if bar is not None:
        bar.close()
    if not driven.alive[0]:
        ev = Evaluation(*(float("nan"),) * 6)
    else:
        ev = evaluate_with(system, ansatz, state["params"], config, k_eval, progs=progs, chain=state["chain"])
    return train_result(state["params"], ev, driven, 0, config, system)


@blas1
def energy_gradient(system, ansatz, params, mask, config: TrainConfig, key):
    """(energy, dE/dparams) of the masked net: exact in exact mode, else from one Monte Carlo step
    (fresh chains, `n_burn_in` sweeps, `n_samples` samples). The gradient is 2 Cov(O, E_loc) as a
    params-shaped pytree (zero on pruned weights). For pruning methods that want gradients (SNIP).
    """
    check_inputs(system, ansatz, params, mask)
    mask = like_params(full_mask(params) if mask is None else mask, params)
    progs = programs(system, ansatz, static_of(system, config))
    k_chain, k_burn, k_grad = jax.random.split(key, 3)
    pm = apply_mask(params, mask)
    chain = progs["init_chains"](pm, k_chain)
    if not config.exact and config.n_burn_in > 0:
        chain = progs["burn_in"](pm, chain, k_burn, int(config.n_burn_in))
    energy, grad = progs["gradient"](params, mask, chain, k_grad, basis_arrays(system, config.exact))
    return float(energy), grad
