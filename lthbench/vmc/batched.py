"""Many trainings of one architecture and budget as one compiled program ("batched tickets").

The controls of a pruning round, or the seeds of a task, train nets of the same shape for the same
number of steps: `train_batched` runs B of them together, mapping `train.py`'s compiled step loop
(`_programs(...)["run_steps"]`, one `lax.scan` of `STEPS_PER_CALL` steps) over a leading batch axis of
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

import math
import time
from functools import lru_cache
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import LthbenchError
from ..masks import apply_mask, full_mask
from . import exact_sum
from .estimate import chain_statistics
from .train import (
    STEPS_PER_CALL,
    Evaluation,
    TrainConfig,
    TrainResult,
    _basis_arrays,
    _blas1,
    _check,
    _programs,
    _static,
    with_alive_cap,
    _v_score,
)

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
    progs = _programs(system, ansatz, st)
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
    return [jax.tree_util.tree_map(lambda x: np.asarray(x[i]), tree) for i in range(n)]


@_blas1
def train_batched(system, ansatz, params: Sequence, masks: Sequence | None, config: TrainConfig, keys: Sequence,
                  *, mode: str = "auto") -> list[TrainResult]:
    """Train B nets of one architecture with one config, as one compiled program; B TrainResults.

    params, masks: sequences of B pytrees of equal structure and shapes (masks None = dense). keys: B
    PRNG keys (typed or raw uint32[2]), member i trained as `train(system, ansatz, params[i], masks[i],
    config, keys[i])` would train it. A member that diverges stops (its later steps are not applied)
    while the others go on. wall_time and seconds_per_step of each member are the batch's wall time
    divided by B (amortised); samples_per_s is the batch's total divided by B.
    """
    n = len(params)
    if n < 1 or len(keys) != n or (masks is not None and len(masks) != n):
        raise LthbenchError(f"train_batched needs B >= 1 params, masks and keys of equal length "
                            f"(got {n}, {None if masks is None else len(masks)}, {len(keys)})")
    mode = AUTO_MODE if mode == "auto" else mode
    if mode not in MODES:
        raise LthbenchError(f"batched mode must be auto, vmap or map, got {mode!r}")
    masks = [full_mask(p) if masks is None or masks[i] is None else masks[i] for i, p in enumerate(params)]
    for p, m in zip(params, masks):
        _check(system, ansatz, p, m)
    if config.exact:
        exact_sum.check_size(system)
    # SR over the alive parameters when every member's mask allows it, as `train` does
    st = with_alive_cap(_static(system, config), config, masks)
    bp = _batched_programs(system, ansatz, st, mode, int(config.n_burn_in))
    masks = [jax.tree_util.tree_map(lambda m, p: np.asarray(m, dtype=np.asarray(p).dtype), m, p)
             for m, p in zip(masks, params)]
    mask = jax.tree_util.tree_map(jnp.asarray, stack_trees(masks))
    params_b = apply_mask(jax.tree_util.tree_map(jnp.asarray, stack_trees(params)), mask)
    keys = jnp.stack([k if jnp.issubdtype(jnp.asarray(k).dtype, jax.dtypes.prng_key) else jax.random.wrap_key_data(k)
                      for k in keys])
    opt_state = bp["opt_init"](params_b)
    basis_arrays = _basis_arrays(system, config.exact)
    sub = bp["split4"](keys)
    k_chain, k_burn, k_train, k_eval = sub[:, 0], sub[:, 1], sub[:, 2], sub[:, 3]
    chain = bp["init_chains"](params_b, k_chain)
    if not config.exact and config.n_burn_in > 0:
        chain = bp["burn_in"](params_b, chain, k_burn)

    histories = [[] for _ in range(n)]
    var_histories = [[] for _ in range(n)]
    alive = np.ones(n, dtype=bool)
    n_done = np.zeros(n, dtype=int)
    t0 = time.perf_counter()
    for call in range(math.ceil(config.n_steps / STEPS_PER_CALL)):
        todo = min(STEPS_PER_CALL, config.n_steps - call * STEPS_PER_CALL)
        active = (np.arange(STEPS_PER_CALL) < todo)[None, :] & alive[:, None]
        params_b, opt_state, chain, ok, e, v, done = bp["run_steps"](
            params_b, opt_state, mask, chain, bp["fold_in"](k_train, call), jnp.asarray(active), basis_arrays)
        done, e, v = np.asarray(done)[:, :todo], np.asarray(e), np.asarray(v)
        for i in np.flatnonzero(alive):
            good = int(done[i].sum())
            histories[i].append(e[i, :good])
            var_histories[i].append(v[i, :good])
            n_done[i] += good
        alive &= np.asarray(ok)
        if not alive.any():
            break
    jax.block_until_ready(params_b)
    wall = time.perf_counter() - t0
    evals = _evaluate_batched(system, config, bp, params_b, chain, k_eval, n)
    per_step = config.n_samples if not config.exact else 2**system.n_spins
    out = []
    for i, (p, ev) in enumerate(zip(unstack_tree(params_b, n), evals)):
        if not alive[i]:
            ev = Evaluation(*(float("nan"),) * 6)
        out.append(TrainResult(
            params=p, energy=ev.energy, energy_sigma=ev.energy_sigma, variance=ev.variance, v_score=ev.v_score,
            m_z=ev.m_z, m_x=ev.m_x, energy_history=_cat(histories[i]), diverged=not alive[i],
            n_steps_done=int(n_done[i]), wall_time=wall / n,
            seconds_per_step=wall / n / n_done[i] if n_done[i] else float("nan"),
            samples_per_s=n_done[i] * per_step / wall if wall > 0 else float("nan"),
            variance_history=_cat(var_histories[i]), evaluation=ev,
        ))
    return out


def _cat(parts: list) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros((0,))


def _evaluate_batched(system, config, bp, params_b, chain, k_eval, n: int) -> list[Evaluation]:
    """`train._evaluate` for every member (the same keys: split(k_eval, 3)[2] folded with the step)."""
    n_spins = system.n_spins
    if config.exact:
        energy, variance, mz, mx, _ = bp["exact_eval"](params_b, exact_sum.device_basis(system))
        energy, variance, mz, mx = (np.asarray(x) for x in (energy, variance, mz, mx))
        return [Evaluation(float(energy[i]), 0.0, float(variance[i]), _v_score(n_spins, float(energy[i]),
                           float(variance[i])), float(mz[i]), float(mx[i])) for i in range(n)]
    k_steps = bp["split3"](k_eval)[:, 2]
    elocs, mzs, mxs, rates = [], [], [], []
    for step in range(max(1, config.n_eval_steps)):
        chain, eloc, mz, mx, rate = bp["mc_eval_step"](params_b, chain, bp["fold_in"](k_steps, step))
        elocs.append(np.asarray(eloc))  # (B, n_per_chain, C)
        mzs.append(np.asarray(mz))
        mxs.append(np.asarray(mx))
        rates.append(np.asarray(rate))
    out = []
    for i in range(n):
        stats = chain_statistics(np.concatenate([e[i] for e in elocs], axis=0).T)
        out.append(Evaluation(
            stats["mean"], stats["sigma"], stats["variance"], _v_score(n_spins, stats["mean"], stats["variance"]),
            float(np.mean([m[i] for m in mzs])), float(np.mean([m[i] for m in mxs])),
            float(np.mean([r[i] for r in rates])), stats["tau"],
        ))
    return out
