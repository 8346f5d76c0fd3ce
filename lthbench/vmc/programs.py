"""The compiled functions of one (system, ansatz, static config), cached.

Params, mask, optimiser state, chains and keys are arguments, so a pruning protocol calling `train`
many times with the same shapes compiles once.
"""

from __future__ import annotations

import threading
from functools import lru_cache

import jax
import jax.numpy as jnp

from ..errors import LthbenchError
from . import exact_sum
from .config import Static
from .estimate import local_energies, single_flip_log_ratios
from .estimators import FullSum, MonteCarlo
from .sampler import init_chains, sample, star_patterns
from .step import make_gradient, make_step, optimizer, scan_steps


def estimator_of(system, ansatz, st: Static):
    """The `MonteCarlo` or `FullSum` estimator of a static config."""
    if st.exact:
        return FullSum(system, ansatz, st)
    stars = star_patterns(system) if st.star_flip_prob > 0 else None
    if st.star_flip_prob > 0 and (stars is None or len(stars) == 0):
        raise LthbenchError(f"star_flip_prob > 0 but {system.id} has no multi-site X strings")
    return MonteCarlo(system, ansatz, st, stars)


def _mc_evaluation(system, ansatz, mc: MonteCarlo):
    n = system.n_spins

    def mc_eval_step(params, chain, key):
        chain, samples, rate = mc.sample_chains(params, chain, key, 0)
        spins = samples.reshape(-1, n)
        eloc = local_energies(system, ansatz, params, spins).reshape(samples.shape[:2])
        mx = jnp.mean(jnp.exp(single_flip_log_ratios(ansatz, params, spins)))
        mz = jnp.mean(spins)
        return chain, eloc, mz, mx, rate

    def sample_step(params, chain, key):
        chain, samples, _ = mc.sample_chains(params, chain, key, 0)
        return chain, samples.reshape(-1, n)

    def burn_in(params, chain, key, n_sweeps):
        chain, _, _ = sample(
            ansatz,
            params,
            chain,
            key,
            1,
            sweep_size=mc.st.sweep_size,
            stars=mc.stars,
            star_prob=mc.st.star_flip_prob,
            n_discard=n_sweeps,
        )
        return chain

    return mc_eval_step, sample_step, burn_in


def _exact_evaluation(system, ansatz):
    def exact_eval(params, basis):
        spins_all, diag, partners = basis
        lp = exact_sum.all_log_psi(ansatz, params, spins_all)
        prob = exact_sum.probabilities(lp)
        eloc = exact_sum.local_energies(system, lp, diag, partners)
        energy = prob @ eloc
        variance = prob @ (eloc - energy) ** 2
        mz = prob @ jnp.mean(spins_all, axis=1)
        ratios = jnp.exp(exact_sum.single_flip_partner_log_psi(lp, system.n_spins) - lp[:, None])
        mx = prob @ jnp.mean(ratios, axis=1)
        return energy, variance, mz, mx, lp

    return exact_eval


_PROGRAMS_LOCK = threading.Lock()


def programs(system, ansatz, st: Static) -> dict:
    """The programs of (system, ansatz, st), made once (a lock: a compile-ahead thread and the training
    thread must get the same jitted functions, so that one's compilation serves the other)."""
    with _PROGRAMS_LOCK:
        return make_programs(system, ansatz, st)


@lru_cache(maxsize=64)
def make_programs(system, ansatz, st: Static) -> dict:
    """{'opt', 'step', 'gradient', 'run_steps', 'mc_eval_step', 'sample_step', 'burn_in', 'exact_eval',
    'init_chains'}: the optimiser and jitted functions (the step itself unjitted, for composition)."""
    est = estimator_of(system, ansatz, st)
    opt = optimizer(st)
    step = make_step(est, opt)
    # exact mode evaluates by full sums; its Monte Carlo programs (unused there) sample with single flips
    mc = est if isinstance(est, MonteCarlo) else MonteCarlo(system, ansatz, st)
    mc_eval_step, sample_step, burn_in = _mc_evaluation(system, ansatz, mc)
    return {
        "opt": opt,
        "step": step,
        "gradient": jax.jit(make_gradient(est)),
        "run_steps": jax.jit(scan_steps(step)),
        "mc_eval_step": jax.jit(mc_eval_step),
        "sample_step": jax.jit(sample_step),
        "burn_in": jax.jit(burn_in, static_argnums=3),
        "exact_eval": jax.jit(_exact_evaluation(system, ansatz)),
        "init_chains": jax.jit(lambda p, k: init_chains(ansatz, p, st.n_chains, system.n_spins, k)),
    }
