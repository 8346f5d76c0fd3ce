"""One VMC step, composed, and the loop that runs it.

    estimate (samples or full sum, local energies, F, X as an operator: `lthbench.vmc.estimators`)
      -> optax.chain(sr(solver), sgd | adam, keep_pruned()) with extra args jacobian=X, mask=mask
      -> params + updates, masked
      -> finite guard (a step whose energy or new params are not finite is not applied)

`run_steps` is a `lax.scan` of that step over STEPS_PER_CALL steps; `train`, `train_batched`
(mapped over members), `train_sharded` (the same program on sharded inputs) and the benchmarks all
call it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from ..masks import apply_mask
from .config import Static
from .estimators import by_kind
from .sr import keep_pruned, sr

STEPS_PER_CALL = 25


def base_optimizer(st: Static):
    return optax.sgd(st.learning_rate) if st.optimizer == "sgd" else optax.adam(st.learning_rate)


def optimizer(st: Static):
    """optax.chain([sr,] sgd | adam, keep_pruned): SR with the config's solver unless sr_shift is None."""
    base = base_optimizer(st)
    if st.sr_shift is None:
        return optax.chain(base, keep_pruned())
    solver = sr(st.sr_shift, solver=st.sr_solver, tol=st.cg_tol, maxiter=st.cg_maxiter, warm_start=st.cg_warm_start)
    return optax.chain(solver, base, keep_pruned())


def guarded(params, opt_state, new_params, new_opt, energy):
    """(params, opt_state, finite): the new ones when the energy and every new param are finite, else the old."""
    finite = jnp.isfinite(energy)
    leaves = jax.tree_util.tree_leaves(new_params)
    finite = finite & jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in leaves]))
    params = jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new_params, params)
    opt_state = jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new_opt, opt_state)
    return params, opt_state, finite


def make_step(estimator, opt):
    """step(params, opt_state, mask, chain, key, basis) -> (params, opt_state, chain, energy, variance, finite)."""

    def step(params, opt_state, mask, chain, key, basis):
        measured = estimator.measure(params, mask, chain, key, basis)

        def update(kind):
            grad, jacobian = estimator.problem(kind, params, mask, measured)
            extra = {} if jacobian is None else {"jacobian": jacobian}
            updates, new_opt = opt.update(grad, opt_state, params, mask=mask, **extra)
            return apply_mask(optax.apply_updates(params, updates), mask), new_opt

        new_params, new_opt = by_kind(estimator, params, mask, update)
        new_params, new_opt, fine = guarded(params, opt_state, new_params, new_opt, measured.energy)
        return new_params, new_opt, measured.chain, measured.energy, measured.variance, fine

    return step


def make_gradient(estimator):
    """gradient(params, mask, chain, key, basis) -> (energy, F pytree) as the step computes them."""

    def gradient(params, mask, chain, key, basis):
        measured = estimator.measure(params, mask, chain, key, basis)
        grad = by_kind(estimator, params, mask, lambda kind: estimator.problem(kind, params, mask, measured)[0])
        return measured.energy, jax.tree_util.tree_map(lambda g, p: g.astype(p.dtype), grad, params)

    return gradient


def scan_steps(step):
    """run_steps(params, opt_state, mask, chain, key, active (S,) bool, basis) -> (params, opt_state,
    chain, alive, energies (S,), variances (S,), done (S,)): step k runs only when active[k] and no
    earlier step diverged; step k's key is split(key, S)[k]."""

    def run_steps(params, opt_state, mask, chain, key, active, basis):
        def one(carry, xs):
            params, opt_state, chain, alive = carry
            act, k = xs
            run = act & alive

            def do(args):
                params, opt_state, chain = args
                params, opt_state, chain, energy, variance, fine = step(params, opt_state, mask, chain, k, basis)
                return (params, opt_state, chain), energy, variance, fine

            def skip(args):
                nan = jnp.array(jnp.nan, dtype=jnp.float64)
                return args, nan, nan, jnp.array(True)

            (params, opt_state, chain), energy, variance, fine = jax.lax.cond(run, do, skip, (params, opt_state, chain))
            alive = alive & fine
            return (params, opt_state, chain, alive), (energy, variance, run & fine)

        keys = jax.random.split(key, active.shape[0])
        (params, opt_state, chain, alive), (energies, variances, done) = jax.lax.scan(
            one, (params, opt_state, chain, jnp.array(True)), (active, keys)
        )
        return params, opt_state, chain, alive, energies, variances, done

    return run_steps
