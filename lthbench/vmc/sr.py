"""Stochastic reconfiguration (SR) as an optax gradient transformation.

With real parameters and the weighted, centred log-derivative matrix X (rows = samples,
X[s, k] = sqrt(w_s) (O_k(s) - <O_k>), w_s = 1/N_s for Monte Carlo or |psi(s)|^2 / <psi|psi> in exact
mode), the quantum geometric tensor is S = X^T X and the energy gradient is g = X^T y with
y[s] = 2 sqrt(w_s) (E_loc(s) - E). SR replaces g by (S + shift I)^{-1} g, solved by Cholesky in the
smaller space:

  * parameter space (P <= N_s):  (X^T X + shift I) d = g;
  * sample space    (P >  N_s):  d = X^T (X X^T + shift I)^{-1} y   (the same d, by the push-through
    identity), which needs the residual y as well as g.

Pruned weights have all-zero columns of X (the net sees params * mask) and zero gradient, so their
component of d is exactly 0 in either space; the trainer masks the update as well.

Use: `optax.chain(sr(1e-3), optax.sgd(lr))`, calling `update(grads, state, params, jacobian=X,
residual=y)`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree


class SRState(NamedTuple):
    pass


def symmetric_gram(w, n_blocks: int = 8):
    """w^T w computing only the upper block triangle (n_blocks (n_blocks + 1) / 2 of n_blocks^2 products)."""
    n = w.shape[1]
    if n < 256:
        return w.T @ w
    edges = np.linspace(0, n, n_blocks + 1).astype(int)
    cols = [w[:, a:b] for a, b in zip(edges[:-1], edges[1:])]
    upper = {(i, j): cols[i].T @ cols[j] for i in range(n_blocks) for j in range(i, n_blocks)}
    return jnp.block([[upper[(i, j)] if j >= i else upper[(j, i)].T for j in range(n_blocks)] for i in range(n_blocks)])


def solve(jacobian, residual, grad_flat, shift: float, space: str = "auto", gram=None):
    """The SR direction (X^T X + shift)^{-1} g as a flat vector. space: 'auto' | 'parameter' | 'sample'.

    gram: optional precomputed X X^T (N_s, N_s), used by the sample-space solve (single-layer nets
    have a cheap structured Gram matrix, see `lthbench.vmc.train`).
    """
    n_samples, n_params = jacobian.shape
    if space == "auto":
        space = "parameter" if n_params <= n_samples else "sample"
    if space == "parameter":
        s = symmetric_gram(jacobian) + shift * jnp.eye(n_params, dtype=jacobian.dtype)
        factor = jax.scipy.linalg.cho_factor(s, lower=True)
        return jax.scipy.linalg.cho_solve(factor, grad_flat)
    if residual is None:
        raise ValueError("sample-space SR needs the residual y (g = X^T y)")
    k = (symmetric_gram(jacobian.T) if gram is None else gram) + shift * jnp.eye(n_samples, dtype=jacobian.dtype)
    factor = jax.scipy.linalg.cho_factor(k, lower=True)
    return jacobian.T @ jax.scipy.linalg.cho_solve(factor, residual)


def sr(shift: float, space: str = "auto") -> optax.GradientTransformationExtraArgs:
    """SR preconditioner with diagonal shift `shift`.

    Extra args: jacobian X (N_s, P), residual y (N_s,), optionally gram = X X^T (N_s, N_s).
    """

    def init_fn(params):
        del params
        return SRState()

    def update_fn(updates, state, params=None, *, jacobian, residual=None, gram=None, **extra):
        del params, extra
        flat, unravel = ravel_pytree(updates)
        f64 = jnp.float64
        d = solve(jacobian.astype(f64), None if residual is None else residual.astype(f64),
                  flat.astype(f64), shift, space, None if gram is None else gram.astype(f64))
        return unravel(d.astype(flat.dtype)), state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
