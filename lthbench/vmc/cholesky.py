"""Exact SR solves by Cholesky, over all samples or over the distinct ones.

With the weighted, centred log-derivative matrix X (B, P) (see `lthbench.vmc.qgt`), S = X^T X and
g = X^T y, the SR direction (S + shift I)^{-1} g is solved in the smaller space:

  * parameter space (P <= B):  (X^T X + shift I) d = g;
  * sample space    (P >  B):  d = X^T (X X^T + shift I)^{-1} y   (the same d, by the push-through
    identity), which needs the residual y as well as g.

Pruned weights have all-zero columns of X (the net sees params * mask) and zero gradient, so their
component of d is exactly 0 in either space.

Repeated samples (a Monte Carlo batch of a concentrated state holds many copies of the same
configuration: ~640 distinct among 1024 for the trained 3 x 3 toric code) give identical rows of X
and identical y. With `groups = unique_samples(spins)` the solve runs over the U distinct rows,
weighted by the square roots of their multiplicities, which is exact: the sample-space system
becomes U x U (Cholesky U^3 / 3 instead of B^3 / 3) and the parameter-space QGT sums U rows instead
of B. U is rounded up to one of `dedup_buckets(B)` (one `lax.switch` branch each) so that shapes
stay static.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


def symmetric_gram(w, n_blocks: int = 8):
    """w^T w computing only the upper block triangle (n_blocks (n_blocks + 1) / 2 of n_blocks^2 products)."""
    n = w.shape[1]
    if n < 256:
        return w.T @ w
    edges = np.linspace(0, n, n_blocks + 1).astype(int)
    cols = [w[:, a:b] for a, b in zip(edges[:-1], edges[1:])]
    upper = {(i, j): cols[i].T @ cols[j] for i in range(n_blocks) for j in range(i, n_blocks)}
    return jnp.block([[upper[(i, j)] if j >= i else upper[(j, i)].T for j in range(n_blocks)] for i in range(n_blocks)])


class SampleGroups(NamedTuple):
    """Distinct configurations of a batch of B samples (all arrays padded to length B).

    first: (B,) int, index of one sample of each distinct configuration (padding: any index);
    count: (B,) float64, its multiplicity (padding: 0);
    inverse: (B,) int, the group of every sample (< n_unique);
    n_unique: () int, the number U of distinct configurations.
    """

    first: jax.Array
    count: jax.Array
    inverse: jax.Array
    n_unique: jax.Array


def unique_samples(spins) -> SampleGroups:
    """Group identical rows of `spins` (B, N) of +-1 values. Jittable (static size B)."""
    n_samples, n_spins = spins.shape
    bits = (spins > 0).astype(jnp.int64)
    width = 62  # bits per int64 word
    n_words = -(-n_spins // width)
    pad = n_words * width - n_spins
    bits = jnp.pad(bits, ((0, 0), (0, pad))).reshape(n_samples, n_words, width)
    words = jnp.sum(bits << jnp.arange(width, dtype=jnp.int64), axis=-1)  # (B, W)
    if n_words == 1:
        _, first, inverse, count = jnp.unique(
            words[:, 0], size=n_samples, fill_value=0, return_index=True, return_inverse=True, return_counts=True
        )
    else:
        _, first, inverse, count = jnp.unique(
            words, axis=0, size=n_samples, fill_value=0, return_index=True, return_inverse=True, return_counts=True
        )
    return SampleGroups(first, count.astype(jnp.float64), inverse.reshape(-1), jnp.sum(count > 0))


def dedup_buckets(n_samples: int) -> tuple[int, ...]:
    """Static sizes of the deduplicated solve: B/4, 3B/8, ..., B (rounded up)."""
    return tuple(sorted({max(1, -(-n_samples * k // 8)) for k in range(2, 9)}))


def _bucketed(groups: SampleGroups, n_samples: int, branch):
    """Run `branch(m)` for the smallest bucket m >= U (via lax.switch over the buckets)."""
    buckets = dedup_buckets(n_samples)
    which = jnp.searchsorted(jnp.asarray(buckets), groups.n_unique, side="left")
    return jax.lax.switch(jnp.minimum(which, len(buckets) - 1), [lambda m=m: branch(m) for m in buckets])


def gram_or_formed(gram, jacobian):
    """K = X X^T (B, B): `gram` when given, else formed from the jacobian X (B, P)."""
    if gram is not None:
        return gram
    assert jacobian is not None, "sample_space_residual needs the gram or the jacobian"
    return symmetric_gram(jacobian.T)


def sample_space_residual(gram, residual, shift: float, groups: SampleGroups | None = None, *, jacobian=None):
    """a = (K + shift I)^{-1} y, K = X X^T (B, B), y (B,): the SR direction is then X^T a.

    K is `gram`, or formed from `jacobian` X (B, P) when gram is None. With `groups`, the system is
    solved over the distinct samples: K_u = sqrt(c) K[first][:, first] sqrt(c) (c: multiplicities),
    z = (sum of y over each group) / sqrt(c), a_u = (K_u + shift)^{-1} z, a = a_u[inverse] / sqrt(c).
    That is the same a, since rows of X and entries of y repeat within a group.
    """
    n = residual.shape[0]
    if groups is None:
        k = gram_or_formed(gram, jacobian)
        factor = jax.scipy.linalg.cho_factor(k + shift * jnp.eye(n, dtype=k.dtype), lower=True)
        return jax.scipy.linalg.cho_solve(factor, residual)
    root = jnp.sqrt(groups.count)

    def branch(m):
        if m == n:  # (nearly) all distinct: the plain solve, without the gathers
            return sample_space_residual(gram, residual, shift, None, jacobian=jacobian)
        idx, r = groups.first[:m], root[:m]
        if gram is None:
            assert jacobian is not None, "sample_space_residual needs the gram or the jacobian"
            k = symmetric_gram((jacobian[idx] * r[:, None]).T)
        else:
            k = gram[idx][:, idx] * r[:, None] * r[None, :]
        k = k + shift * jnp.eye(m, dtype=k.dtype)
        z = jax.ops.segment_sum(residual, groups.inverse, num_segments=m) / jnp.where(r > 0, r, 1.0)
        a_u = jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(k, lower=True), z)
        return a_u[groups.inverse] / root[groups.inverse]

    return _bucketed(groups, n, branch)


def _parameter_space_gram(jacobian, groups: SampleGroups | None):
    """X^T X (P, P), over the distinct rows weighted by their multiplicities when `groups` is given."""
    if groups is None:
        return symmetric_gram(jacobian)
    root = jnp.sqrt(groups.count)
    n = jacobian.shape[0]
    return _bucketed(
        groups, n, lambda m: symmetric_gram(jacobian if m == n else jacobian[groups.first[:m]] * root[:m, None])
    )


def solve(
    jacobian, residual, grad_flat, shift: float, space: str = "auto", gram=None, groups: SampleGroups | None = None
):
    """The SR direction (X^T X + shift)^{-1} g as a flat vector. space: 'auto' | 'parameter' | 'sample'.

    gram: optional precomputed X X^T (N_s, N_s), used by the sample-space solve (single-layer nets
    have a cheap structured Gram matrix, see `lthbench.vmc.qgt`).
    groups: optional `unique_samples(spins)` of the rows of X: solve over the distinct samples.
    """
    n_samples, n_params = jacobian.shape
    if space == "auto":
        space = "parameter" if n_params <= n_samples else "sample"
    if space == "parameter":
        s = _parameter_space_gram(jacobian, groups) + shift * jnp.eye(n_params, dtype=jacobian.dtype)
        factor = jax.scipy.linalg.cho_factor(s, lower=True)
        return jax.scipy.linalg.cho_solve(factor, grad_flat)
    if residual is None:
        raise ValueError("sample-space SR needs the residual y (g = X^T y)")
    return jacobian.T @ sample_space_residual(gram, residual, shift, groups, jacobian=jacobian)
