"""Many trainings of one architecture and budget as one compiled program ("batched tickets").

The controls of a pruning round, or the seeds of a task, train nets of the same shape for the same
number of steps: `train_batched` runs B of them together, mapping the compiled step loop
(`lthbench.vmc.programs(...)["run_steps"]`, one `lax.scan` of `STEPS_PER_CALL` steps) over a leading batch axis of
params, masks, optimiser states, chains and keys:

  * mode 'vmap': `jax.vmap` — one program whose every op carries the batch axis (bigger matmuls; a
    `lax.cond` on a batched predicate runs both branches);
  * mode 'map':  `jax.lax.map` — one program that loops over the members (no Python between them,
    one dispatch per call instead of B);
  * mode 'auto': 'map', chosen by measurement on CPU (see AUTO_MODE and docs/performance.md,
    "Batched tickets").

Member i uses exactly the keys `train(..., keys[i])` uses (the same `split(key, 4)`, the same
`fold_in(k_train, call)` per call, the same evaluation keys), so its numbers match a separate `train`
call to floating-point tolerance (batched matmuls may round differently in the last bits).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import LthbenchError
from ..masks import apply_mask, full_mask
from . import exact_sum
from .blas_threads import blas1
from .config import Evaluation, TrainConfig, TrainResult, static_of
from .driver import drive
from .observables import exact_evaluation, mc_evaluation
from .programs import programs
from .trainer import basis_arrays, check_inputs, train_result, with_alive_cap

MODES = ("vmap", "map")
# Chosen by measurement on the project VM (docs/performance.md, "Batched tickets"): lax.map was faster
# than B separate `train` calls in every case measured, and bit-identical to them; vmap was faster still
# on the tiny exact task but never finished on the Monte Carlo TFIM 4x4 alpha=5 task with B = 8 (the
# XLA CPU runtime hung, all its threads idle, waiting for the vmapped program's result).
AUTO_MODE = "map"


def _batch(fn, in_axes: tuple, mode: str):
    """jit(fn mapped over axis 0 of the args whose in_axes entry is 0; args with None are shared)."""
    if mode == "vmap":
        return jax.jit(jax.vmap(fn, in_axes=in_axes))

    def mapped(*args):
        batched = tuple(a for a, ax in zip(args, in_axes) if ax is not None)

        def one(xs):
            it = iter(xs)
            return fn(*(next(it) if ax is not None else a for a, ax in zip(args, in_axes)))

        return jax.lax.map(one, batched)

    return jax.jit(mapped)


@lru_cache(maxsize=32)
def _batched_programs(system, ansatz, st, mode: str, n_burn_in: int):
    progs = programs(system, ansatz, st)
    burn = progs["burn_in"]
    return {
        # (params, opt_state, mask, chain, key, active (B, S)) batched; basis arrays shared
        "run_steps": _batch(progs["run_steps"], (0, 0, 0, 0, 0, 0, None), mode),
        "init_chains": _batch(progs["init_chains"], (0, 0), mode),
        "burn_in": _batch(lambda p, c, k: burn(p, c, k, n_burn_in), (0, 0, 0), mode),
        "mc_eval_step": _batch(progs["mc_eval_step"], (0, 0, 0), mode),
        "exact_eval": _batch(progs["exact_eval"], (0, None), mode),
        "opt_init": _batch(progs["opt"].init, (0,), mode),
        "split4": jax.jit(jax.vmap(lambda k: jax.random.split(k, 4))),
        "fold_in": jax.jit(jax.vmap(jax.random.fold_in, in_axes=(0, None))),
        "split3": jax.jit(jax.vmap(lambda k: jax.random.split(k, 3))),
    }


def stack_trees(trees: Sequence) -> object:
    """[pytree] * B -> one pytree whose leaves have a leading axis of size B (numpy arrays)."""
    return jax.tree_util.tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *trees)


def unstack_tree(tree, n: int) -> list:
    """Inverse of stack_trees: a pytree with leading axis B -> [pytree] * B (numpy arrays)."""
    return [jax.tree_util.tree_map(lambda x, i=i: np.asarray(x[i]), tree) for i in range(n)]


def _checked(system, ansatz, params, masks, keys, mode):
    n = len(params)
    if n < 1 or len(keys) != n or (masks is not None and len(masks) != n):
        raise LthbenchError(
            f"train_batched needs B >= 1 params, masks and keys of equal length "
            f"(got {n}, {None if masks is None else len(masks)}, {len(keys)})"
        )
    mode = AUTO_MODE if mode == "auto" else mode
    if mode not in MODES:
        raise LthbenchError(f"batched mode must be auto, vmap or map, got {mode!r}")
    masks = [full_mask(p) if masks is None or masks[i] is None else masks[i] for i, p in enumerate(params)]
    for p, m in zip(params, masks):
        check_inputs(system, ansatz, p, m)
    return masks, mode


@blas1
def train_batched(
    system, ansatz, params: Sequence, masks: Sequence | None, config: TrainConfig, keys: Sequence, *, mode: str = "auto"
) -> list[TrainResult]:
    """Train B nets of one architecture with one config, as one compiled program; B TrainResults.

    params, masks: sequences of B pytrees of equal structure and shapes (masks None = dense). keys: B
    PRNG keys (typed or raw uint32[2]), member i trained as `train(system, ansatz, params[i], masks[i],
    config, keys[i])` would train it. A member that diverges stops (its later steps are not applied)
    while the others go on. wall_time and seconds_per_step of each member are the batch's wall time
    divided by B (amortised); samples_per_s is the batch's total divided by B.
    """
    masks, mode = _checked(system, ansatz, params, masks, keys, mode)
    n = len(params)
    if config.exact:
        exact_sum.check_size(system)
    # SR over the alive parameters when every member's mask allows it, as `train` does
    st = with_alive_cap(static_of(system, config), config, masks)
    bp = _batched_programs(system, ansatz, st, mode, int(config.n_burn_in))
    masks = [
        jax.tree_util.tree_map(lambda m, p: np.asarray(m, dtype=np.asarray(p).dtype), m, p)
        for m, p in zip(masks, params)
    ]
    mask = jax.tree_util.tree_map(jnp.asarray, stack_trees(masks))
    params_b = apply_mask(jax.tree_util.tree_map(jnp.asarray, stack_trees(params)), mask)
    key_batch = jnp.stack(
        [k if jnp.issubdtype(jnp.asarray(k).dtype, jax.dtypes.prng_key) else jax.random.wrap_key_data(k) for k in keys]
    )
    basis = basis_arrays(system, config.exact)
    sub = bp["split4"](key_batch)
    k_chain, k_burn, k_train, k_eval = sub[:, 0], sub[:, 1], sub[:, 2], sub[:, 3]
    state = {"params": params_b, "opt": bp["opt_init"](params_b), "chain": bp["init_chains"](params_b, k_chain)}
    if not config.exact and config.n_burn_in > 0:
        state["chain"] = bp["burn_in"](params_b, state["chain"], k_burn)

    def run_call(call, active):
        out = bp["run_steps"](
            state["params"],
            state["opt"],
            mask,
            state["chain"],
            bp["fold_in"](k_train, call),
            jnp.asarray(active),
            basis,
        )
        state["params"], state["opt"], state["chain"], ok, e, v, done = out
        return np.asarray(ok), np.asarray(e), np.asarray(v), np.asarray(done)

    driven = drive(run_call, config.n_steps, n, finish=lambda: jax.block_until_ready(state["params"]))
    evals = _evaluate_batched(system, config, bp, state["params"], state["chain"], k_eval, n)
    out = []
    for i, (p, ev) in enumerate(zip(unstack_tree(state["params"], n), evals)):
        ev = ev if driven.alive[i] else Evaluation(*(float("nan"),) * 6)
        out.append(train_result(p, ev, driven, i, config, system, n_members=n))
    return out


def _evaluate_batched(system, config, bp, params_b, chain, k_eval, n: int) -> list[Evaluation]:
    """The frozen evaluation of every member (the keys `train`'s uses: split(k_eval, 3)[2] folded with the step)."""
    n_spins = system.n_spins
    if config.exact:
        values = bp["exact_eval"](params_b, exact_sum.device_basis(system))[:4]
        energy, variance, mz, mx = (np.asarray(x) for x in values)
        return [exact_evaluation(n_spins, energy[i], variance[i], mz[i], mx[i]) for i in range(n)]
    k_steps = bp["split3"](k_eval)[:, 2]
    elocs, mzs, mxs, rates = [], [], [], []
    for step in range(max(1, config.n_eval_steps)):
        chain, eloc, mz, mx, rate = bp["mc_eval_step"](params_b, chain, bp["fold_in"](k_steps, step))
        elocs.append(np.asarray(eloc))  # (B, n_per_chain, C)
        mzs.append(np.asarray(mz))
        mxs.append(np.asarray(mx))
        rates.append(np.asarray(rate))
    return [
        mc_evaluation(n_spins, [e[i] for e in elocs], [m[i] for m in mzs], [m[i] for m in mxs], [r[i] for r in rates])
        for i in range(n)
    ]
