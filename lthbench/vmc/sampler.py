"""Metropolis sampling of |psi(s)|^2 with parallel chains.

Moves: a single-spin flip at a uniformly random site, or (toric code, with probability
`star_flip_prob`) a flip of all the spins of a random multi-site X string of the Hamiltonian (a star
of 4 edges). Both are symmetric proposals, so the acceptance is min(1, |psi(s')/psi(s)|^2).
One sample per sweep of `sweep_size` proposals (default N). The chain state (spins and their log
psi) is carried across training steps; burn-in is done once per training.

All random numbers of a sweep are drawn before the sweep, and the sweep is a `lax.scan`, so the
whole sampling pass is one compiled loop with no Python in it.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .estimate import log_psi64


class ChainState(NamedTuple):
    spins: jax.Array  # (C, N) float64 +-1
    log_psi: jax.Array  # (C,) float64


def star_patterns(system) -> np.ndarray:
    """(S, N) 0/1 patterns of the system's multi-site X strings (stars of the toric code)."""
    strings = np.asarray(system.x_strings)
    multi = strings.sum(axis=1) > 1
    return strings[multi]


def init_chains(ansatz, params, n_chains: int, n_spins: int, key) -> ChainState:
    spins = jax.random.rademacher(key, (n_chains, n_spins)).astype(jnp.float64)
    return ChainState(spins, log_psi64(ansatz, params, spins))


def _sweep(ansatz, params, state: ChainState, key, sweep_size: int, stars, star_prob: float):
    """`sweep_size` Metropolis proposals on every chain. Returns (state, n_accepted (C,))."""
    c, n = state.spins.shape
    k_site, k_acc, k_star, k_which = jax.random.split(key, 4)
    sites = jax.random.randint(k_site, (sweep_size, c), 0, n)
    log_u = jnp.log(jax.random.uniform(k_acc, (sweep_size, c), dtype=jnp.float64))
    eye = jnp.eye(n, dtype=jnp.float64)
    if stars is not None and star_prob > 0:
        use_star = jax.random.bernoulli(k_star, star_prob, (sweep_size, c))
        which = jax.random.randint(k_which, (sweep_size, c), 0, stars.shape[0])
    else:
        use_star = which = None

    def body(carry, xs):
        spins, lp, acc = carry
        if use_star is None:
            site, lu = xs
            pattern = eye[site]  # (C, N)
        else:
            site, lu, st, wh = xs
            assert stars is not None  # use_star is set only with stars
            pattern = jnp.where(st[:, None], stars[wh], eye[site])
        proposal = spins * (1.0 - 2.0 * pattern)
        lp_new = log_psi64(ansatz, params, proposal)
        accept = lu < 2.0 * (lp_new - lp)
        spins = jnp.where(accept[:, None], proposal, spins)
        lp = jnp.where(accept, lp_new, lp)
        return (spins, lp, acc + accept), None

    xs = (sites, log_u) if use_star is None else (sites, log_u, use_star, which)
    acc0 = jnp.zeros((c,), dtype=jnp.int32)
    (spins, lp, acc), _ = jax.lax.scan(body, (state.spins, state.log_psi, acc0), xs)
    return ChainState(spins, lp), acc


def sample(
    ansatz,
    params,
    state: ChainState,
    key,
    n_per_chain: int,
    *,
    sweep_size: int,
    stars=None,
    star_prob: float = 0.0,
    n_discard: int = 0,
):
    """Draw n_per_chain samples per chain (one per sweep) after `n_discard` discarded sweeps.

    Returns (state, samples (n_per_chain, C, N), acceptance rate). The log psi of the chain state is
    recomputed from the (new) params first, so the state may come from an earlier step.
    """
    state = ChainState(state.spins, log_psi64(ansatz, params, state.spins))
    stars = None if stars is None else jnp.asarray(stars, dtype=jnp.float64)
    k_burn, k_samp = jax.random.split(key)
    if n_discard > 0:

        def burn(st, k):
            st, _ = _sweep(ansatz, params, st, k, sweep_size, stars, star_prob)
            return st, None

        state, _ = jax.lax.scan(burn, state, jax.random.split(k_burn, n_discard))

    def one(st, k):
        st, acc = _sweep(ansatz, params, st, k, sweep_size, stars, star_prob)
        return st, (st.spins, acc)

    state, (samples, acc) = jax.lax.scan(one, state, jax.random.split(k_samp, n_per_chain))
    rate = jnp.mean(acc) / sweep_size
    return state, samples, rate
