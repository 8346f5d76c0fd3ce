"""The centred, weighted log-derivative matrix X of a batch (rows = samples), as an operator.

X[s, k] = sqrt(w_s) (O_k(s) - <O_k>_w), O_k = d log psi / d theta_k of the masked net, w_s = 1/B for
Monte Carlo or |psi(s)|^2 / <psi|psi> in exact mode; the QGT is S = X^T X (P, P). SR (`lthbench.vmc.sr`)
takes one of these as its `jacobian`:

  * `DenseJacobian`: X formed (B, P), with the residual y (g = X^T y), optional distinct-sample
    groups and optional alive-parameter columns (`alive_indices`);
  * `SingleLayerGram`: a dense single-layer net's structured X X^T (B, B) and v -> X^T v (Cholesky in
    sample space without forming X);
  * `KhatriRaoJacobian`: a single-layer net's X never formed, for iterative solvers. Row s of O is
    (s (x) g(s)) [W], g(s) [b], s [a] with g = act'(theta(s)), times the mask, so X v and X^T u cost
    O(B N H) instead of the O(B P) = O(B N H) storage and O(B P^2) Gram of the dense path;
  * `FormedQGT`: S itself (W, W) (exact mode accumulates it in chunks), optionally over alive columns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from ..masks import apply_mask
from .estimate import log_psi64

_CAP_BUCKETS = tuple(sorted({m << e for e in range(5, 20) for m in (2, 3)}))  # 64, 96, 128, 192, 256, ...


def alive_cap(n_alive: int, n_params: int) -> int:
    """Static number of columns of the alive-parameter SR solve, or 0 to solve over all P parameters.

    A pruned net's SR only involves its alive parameters (pruned columns of the log-derivative matrix
    are zero). Keeping only C columns (C = alive, rounded up to a bucket so that a pruning run compiles
    a handful of programs, not one per round) costs B C^2 + C^3 / 3 in parameter space (C <= B
    samples) or B^2 C + B^3 / 3 in sample space, against B P^2 or B^2 P over all columns; in exact
    mode the QGT costs 2^N C^2 instead of 2^N P^2. Used whenever the bucket is below P.
    """
    cap = next((c for c in _CAP_BUCKETS if c >= n_alive), 0)
    return cap if 0 < cap < n_params else 0


def alive_indices(mask, cap: int):
    """Flat indices of the alive parameters, padded to `cap`: (idx (cap,) int, valid (cap,) bool)."""
    flat_mask, _ = ravel_pytree(mask)
    idx = jnp.nonzero(flat_mask != 0, size=cap, fill_value=0)[0]
    valid = jnp.arange(cap) < jnp.sum(flat_mask != 0)
    return idx, valid


def scatter(compact, idx, valid, n_params: int):
    """(cap,) values on the alive indices -> (n_params,) flat vector, zero elsewhere."""
    return jnp.zeros((n_params,), compact.dtype).at[idx].add(jnp.where(valid, compact, 0))


def flat_jacobian(ansatz, params, mask, spins):
    """d log psi / d params of the masked net, per sample, flattened: (B, P) float64."""

    def f(p, s):
        return log_psi64(ansatz, apply_mask(p, mask), s[None])[0]

    grads = jax.vmap(jax.grad(f), in_axes=(None, 0))(params, spins)
    leaves = jax.tree_util.tree_leaves(grads)
    return jnp.concatenate([x.reshape(spins.shape[0], -1).astype(jnp.float64) for x in leaves], axis=1)


def _activation_slope(ansatz, theta):
    """act'(theta) (B, H) of a single-layer net."""
    return jax.grad(lambda t: jnp.sum(ansatz.single_layer.activation_sum(t)))(theta)


def single_layer_gram(ansatz, params, spins):
    """X X^T of the centred, 1/sqrt(B)-scaled log-derivatives of a dense single-layer net, in O(B^2 (N + H)).

    O_W[i, j] = s_i g_j(s), O_b[j] = g_j(s), O_a[i] = s_i with g = act'(theta), so the uncentred Gram is
    (s s^T) * (g g^T) [+ g g^T] [+ s s^T] (elementwise); centring is then K - r 1^T - 1 r^T + mu.
    Valid only for an all-ones mask (the caller checks).
    """
    w, b, a = ansatz.single_layer.parts(params)
    theta = spins @ w + (0.0 if b is None else b)
    g = _activation_slope(ansatz, theta)
    ss = spins @ spins.T
    gg = g @ g.T
    k = ss * gg
    if b is not None:
        k = k + gg
    if a is not None:
        k = k + ss
    r = jnp.mean(k, axis=1)
    k = k - r[:, None] - r[None, :] + jnp.mean(r)
    return k / spins.shape[0]


def single_layer_xt(ansatz, params, spins):
    """v -> X^T v as a params pytree, X the centred 1/sqrt(B)-scaled log-derivatives of a dense
    single-layer net (O_W = s g^T, O_b = g, O_a = s), in O(B N H) without forming X."""
    parts = ansatz.single_layer.parts
    (w, b, a), vjp_parts = jax.vjp(parts, params)
    theta = spins @ w + (0.0 if b is None else b)
    g = _activation_slope(ansatz, theta)
    n_b = spins.shape[0]
    s_sum, g_sum = jnp.sum(spins, axis=0), jnp.sum(g, axis=0)
    sw = spins.T @ g

    def xt(v):
        v_sum = jnp.sum(v)
        dw = (spins.T @ (g * v[:, None]) - sw * v_sum / n_b) / jnp.sqrt(n_b)
        db = None if b is None else (g.T @ v - g_sum * v_sum / n_b) / jnp.sqrt(n_b)
        da = None if a is None else (spins.T @ v - s_sum * v_sum / n_b) / jnp.sqrt(n_b)
        (tree,) = vjp_parts((dw.astype(w.dtype), db, da))
        return tree

    return xt


class DenseJacobian(NamedTuple):
    """X formed: x (B, P) float64; residual y (B,) or None; groups: `unique_samples` of the rows or
    None; alive: `alive_indices(mask, cap)` or None (solve over those columns only)."""

    x: jax.Array
    residual: jax.Array | None = None
    groups: Any = None
    alive: tuple | None = None

    def matvec(self, v):
        """S v = X^T (X v): (P,) -> (P,)."""
        return self.x.T @ (self.x @ v)


class SingleLayerGram(NamedTuple):
    """A dense single-layer net's gram = X X^T (B, B), xt: u (B,) -> X^T u (params pytree), residual y,
    groups (or None). For the sample-space Cholesky solve."""

    gram: jax.Array
    xt: Callable
    residual: jax.Array
    groups: Any = None


class FormedQGT(NamedTuple):
    """S formed: s (W, W) float64 (W = P, or the alive cap with `alive` = (idx, valid))."""

    s: jax.Array
    alive: tuple | None = None

    def matvec(self, v):
        return self.s @ v


class KhatriRaoJacobian(NamedTuple):
    """A single-layer net's X as an operator (never formed), masked and weighted (see the module doc).

    spins (B, N), slope g (B, H), weights w (B,) summing to 1, mask_parts: the (W, b, a) parts of the
    mask, parts/vjp_parts/unravel: map flat (P,) vectors to and from those parts.
    """

    spins: jax.Array
    slope: jax.Array
    weights: jax.Array
    mask_parts: tuple
    parts: Callable
    vjp_parts: Callable
    unravel: Callable

    def x(self, v):
        """X v: (P,) -> (B,)."""
        vw, vb, va = self.parts(self.unravel(v))
        mw, mb, ma = self.mask_parts
        ov = jnp.sum(self.slope * (self.spins @ (vw * mw)), axis=1)
        if vb is not None:
            ov = ov + self.slope @ (vb * mb)
        if va is not None:
            ov = ov + self.spins @ (va * ma)
        return jnp.sqrt(self.weights) * (ov - self.weights @ ov)

    def xt(self, u):
        """X^T u: (B,) -> (P,) flat, exactly zero on pruned entries."""
        z = jnp.sqrt(self.weights) * u
        zc = z - self.weights * jnp.sum(z)
        mw, mb, ma = self.mask_parts
        dw = (self.spins.T @ (self.slope * zc[:, None])) * mw
        db = None if mb is None else (self.slope.T @ zc) * mb
        da = None if ma is None else (self.spins.T @ zc) * ma
        (tree,) = self.vjp_parts((dw, db, da))
        return ravel_pytree(tree)[0]

    def matvec(self, v):
        """S v = X^T (X v): (P,) -> (P,)."""
        return self.xt(self.x(v))


def khatri_rao_jacobian(ansatz, params, mask, spins, weights) -> KhatriRaoJacobian:
    """The `KhatriRaoJacobian` of a single-layer net (params unmasked, mask like params, spins (B, N),
    weights (B,) summing to 1: 1/B for Monte Carlo, |psi|^2 / <psi|psi> in exact mode)."""
    parts = ansatz.single_layer.parts
    w, b, _ = parts(apply_mask(params, mask))
    theta = spins @ w + (0.0 if b is None else b)
    _, vjp_parts = jax.vjp(parts, params)
    _, unravel = ravel_pytree(params)
    return KhatriRaoJacobian(spins, _activation_slope(ansatz, theta), weights, parts(mask), parts, vjp_parts, unravel)
