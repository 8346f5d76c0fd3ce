"""The estimate half of a VMC step: samples (or every basis state), local energies, the energy, its
variance, the gradient F = dE/dparams and the log-derivative matrix X as an operator for SR.

An estimator has `measure(params, mask, chain, key, basis) -> Measured` (the part every SR path shares)
and `problem(kind, params, mask, measured) -> (F pytree, jacobian operator or None)`. `kinds(n_params)`
lists the problem kinds the configuration uses: one, or two chosen at run time by whether the mask is
all ones (a dense single-layer net takes the structured Gram, a pruned one the formed Jacobian), see
`by_kind`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..masks import apply_mask
from . import exact_sum
from .cholesky import symmetric_gram, unique_samples
from .config import Static
from .estimate import local_energies, log_psi64
from .qgt import (
    DenseJacobian,
    FormedQGT,
    SingleLayerGram,
    alive_indices,
    flat_jacobian,
    khatri_rao_jacobian,
    single_layer_gram,
    single_layer_xt,
)
from .sampler import sample


class Measured(NamedTuple):
    """chain: the new chain state; energy, variance: () float64; data: what `problem` needs."""

    chain: Any
    energy: jax.Array
    variance: jax.Array
    data: tuple


def _unravel64(params):
    """flat (P,) float64 -> a pytree like params with float64 leaves."""
    return ravel_pytree(jax.tree_util.tree_map(lambda p: jnp.asarray(p, jnp.float64), params))[1]


def all_alive(mask):
    """() bool: every entry of the mask is nonzero."""
    return jnp.all(jnp.array([jnp.all(m != 0) for m in jax.tree_util.tree_leaves(mask)]))


def by_kind(estimator, params, mask, fn):
    """fn(kind) for the estimator's problem kind; with two kinds, a `lax.cond` on `all_alive(mask)`."""
    kinds = estimator.kinds(ravel_pytree(params)[0].shape[0])
    if len(kinds) == 1:
        return fn(kinds[0])
    return jax.lax.cond(all_alive(mask), lambda: fn(kinds[0]), lambda: fn(kinds[1]))


@dataclasses.dataclass(frozen=True, eq=False)
class MonteCarlo:
    """Metropolis samples of |psi|^2 (weights 1/B). stars: (S, N) star patterns or None."""

    system: Any
    ansatz: Any
    st: Static
    stars: np.ndarray | None = None

    def sample_chains(self, pm, chain, key, n_discard: int, n_per_chain: int | None = None):
        st = self.st
        n_per = st.n_samples // st.n_chains if n_per_chain is None else n_per_chain
        return sample(
            self.ansatz,
            pm,
            chain,
            key,
            n_per,
            sweep_size=st.sweep_size,
            stars=self.stars,
            star_prob=st.star_flip_prob,
            n_discard=n_discard,
        )

    def measure(self, params, mask, chain, key, basis) -> Measured:
        del basis
        pm = apply_mask(params, mask)
        chain, samples, _ = self.sample_chains(pm, chain, key, self.st.n_discard_per_step)
        spins = samples.reshape(-1, self.system.n_spins)
        eloc = local_energies(self.system, self.ansatz, pm, spins)
        energy = jnp.mean(eloc)
        variance = jnp.mean((eloc - energy) ** 2)
        return Measured(chain, energy, variance, (spins, eloc))

    def kinds(self, n_params: int) -> tuple[str, ...]:
        st, single = self.st, self.ansatz.single_layer is not None
        if st.sr_shift is None:
            return ("plain",)
        if st.sr_solver == "cg":
            return ("khatri-rao",) if single else ("alive",) if st.alive_cap else ("dense",)
        if st.alive_cap:
            return ("alive",)
        if not single or n_params <= st.n_samples:
            return ("dense",)
        return ("structured", "dense")

    def problem(self, kind: str, params, mask, measured: Measured):
        spins, eloc = measured.data
        ns = spins.shape[0]
        if kind == "plain":
            _, vjp = jax.vjp(lambda p: log_psi64(self.ansatz, apply_mask(p, mask), spins), params)
            (grad,) = vjp(2.0 * (eloc - measured.energy) / ns)
            return grad, None
        y = 2.0 * (eloc - measured.energy) / jnp.sqrt(ns)
        flat, unravel = ravel_pytree(params)
        if kind == "khatri-rao":
            kr = khatri_rao_jacobian(self.ansatz, params, mask, spins, jnp.full((ns,), 1.0 / ns))
            return unravel(kr.xt(y).astype(flat.dtype)), kr
        groups = unique_samples(spins) if self.st.sr_dedup else None
        if kind == "structured":
            xt = single_layer_xt(self.ansatz, params, spins)
            gram = single_layer_gram(self.ansatz, apply_mask(params, mask), spins)
            return xt(y), SingleLayerGram(gram, xt, y, groups)
        jac = flat_jacobian(self.ansatz, params, mask, spins)
        x = (jac - jnp.mean(jac, axis=0)) / jnp.sqrt(ns)
        g = x.T @ y  # float64 whatever the net's dtype: SR returns the direction in the params' dtype
        alive = alive_indices(mask, self.st.alive_cap) if kind == "alive" else None
        return _unravel64(params)(g), DenseJacobian(x, y, groups, alive)


def exact_chunk(n_states: int, n_params: int) -> int:
    """Basis states per chunk of the exact-mode QGT accumulation (bounds the (chunk, P) Jacobian)."""
    chunk = 1 << max(10, int(np.log2(max(1, (1 << 23) // max(n_params, 1)))))
    return min(chunk, n_states)


@dataclasses.dataclass(frozen=True, eq=False)
class FullSum:
    """Every basis state, weighted by |psi|^2 / <psi|psi> (no sampling noise)."""

    system: Any
    ansatz: Any
    st: Static

    def measure(self, params, mask, chain, key, basis) -> Measured:
        del key
        spins_all, diag, partners = basis
        lp, vjp = jax.vjp(lambda p: exact_sum.all_log_psi(self.ansatz, apply_mask(p, mask), spins_all), params)
        prob = exact_sum.probabilities(lp)
        eloc = exact_sum.local_energies(self.system, lp, diag, partners)
        energy = prob @ eloc
        variance = prob @ (eloc - energy) ** 2
        (grad,) = vjp(2.0 * prob * (eloc - energy))
        return Measured(chain, energy, variance, (grad, prob, spins_all))

    def kinds(self, n_params: int) -> tuple[str, ...]:
        if self.st.sr_shift is None:
            return ("plain",)
        if self.st.sr_solver == "cg" and self.ansatz.single_layer is not None:
            return ("khatri-rao",)
        return ("formed",)

    def problem(self, kind: str, params, mask, measured: Measured):
        grad, prob, spins_all = measured.data
        if kind == "plain":
            return grad, None
        if kind == "khatri-rao":
            return grad, khatri_rao_jacobian(self.ansatz, params, mask, spins_all, prob)
        return grad, self._formed_qgt(params, mask, prob, spins_all)

    def _formed_qgt(self, params, mask, prob, spins_all) -> FormedQGT:
        """S = sum_s p_s O_s O_s^T - <O><O>^T, accumulated over chunks of basis states (over the alive
        parameters only when `alive_cap` is set)."""
        n_params = ravel_pytree(params)[0].shape[0]
        total = spins_all.shape[0]
        alive = alive_indices(mask, self.st.alive_cap) if self.st.alive_cap else None
        width = self.st.alive_cap or n_params
        chunk = exact_chunk(total, width)

        def acc(carry, idx):
            s_mat, mean = carry
            sl = jax.lax.dynamic_slice_in_dim(spins_all, idx * chunk, chunk)
            pc = jax.lax.dynamic_slice_in_dim(prob, idx * chunk, chunk)
            jac = flat_jacobian(self.ansatz, params, mask, sl)
            if alive is not None:
                jac = jac[:, alive[0]] * alive[1]
            wj = jac * jnp.sqrt(pc)[:, None]
            return (s_mat + symmetric_gram(wj), mean + pc @ jac), None

        zeros = (jnp.zeros((width, width)), jnp.zeros((width,)))
        (s_unc, mean), _ = jax.lax.scan(acc, zeros, jnp.arange(total // chunk))
        return FormedQGT(s_unc - jnp.outer(mean, mean), alive)
