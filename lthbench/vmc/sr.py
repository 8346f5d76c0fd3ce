"""Stochastic reconfiguration (SR) as an optax gradient transformation, with pluggable solvers.

SR replaces the energy gradient F (the `updates` it is given) by the solution d of (S + shift I) d = F,
S = X^T X the quantum geometric tensor of the batch. It takes the log-derivative matrix X through
`update`'s extra argument `jacobian`: a (B, P) array (with `residual` y = the centred, scaled local
energies, F = X^T y, and optionally `gram` and `groups`), or one of the operators of `lthbench.vmc.qgt`.

Solvers:
  * 'cholesky': exact, in parameter or sample space, over the distinct samples when given
    (`lthbench.vmc.cholesky`);
  * 'cg': conjugate gradients (`jax.scipy.sparse.linalg.cg`, NetKet's semantics: stop when
    ||(S + shift) d - F|| <= tol ||F||, at most `maxiter` iterations), using only S v products (for a
    single-layer net, `KhatriRaoJacobian` never forms X); with `warm_start` the state keeps the last
    solution and the next solve starts there (NetKet's `solver_restart=False`).

Pruned weights have zero columns of X and zero F, so both solvers leave them exactly 0.

Use: `optax.chain(sr(1e-3), optax.sgd(lr), keep_pruned())`, calling
`update(grads, state, params, jacobian=X, residual=y, mask=mask)`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree

from ..masks import apply_mask
from .cholesky import (  # noqa: F401  (re-exported: the Cholesky numerics' historical home)
    SampleGroups,
    dedup_buckets,
    sample_space_residual,
    solve,
    symmetric_gram,
    unique_samples,
)
from .qgt import DenseJacobian, FormedQGT, KhatriRaoJacobian, SingleLayerGram, scatter

SOLVERS = ("cholesky", "cg")


class SRState(NamedTuple):
    """last: the previous solution (P,) float64 (CG with warm start), else None."""

    last: Any = None


def _compact(alive, vec):
    idx, valid = alive
    return vec[idx] * valid


def cholesky_direction(jacobian, grad_flat, shift: float, space: str = "auto"):
    """(S + shift I)^{-1} F by Cholesky: (P,) float64, for any `jacobian` operator but Khatri-Rao."""
    if isinstance(jacobian, SingleLayerGram):
        a = sample_space_residual(jacobian.gram, jacobian.residual, shift, jacobian.groups)
        return ravel_pytree(jacobian.xt(a))[0]
    if isinstance(jacobian, FormedQGT):
        s_mat = jacobian.s + shift * jnp.eye(jacobian.s.shape[0])
        factor = jax.scipy.linalg.cho_factor(s_mat, lower=True)
        if jacobian.alive is None:
            return jax.scipy.linalg.cho_solve(factor, grad_flat)
        idx, valid = jacobian.alive
        return scatter(jax.scipy.linalg.cho_solve(factor, grad_flat[idx] * valid), idx, valid, grad_flat.shape[0])
    if isinstance(jacobian, DenseJacobian):
        if jacobian.alive is None:
            return solve(jacobian.x, jacobian.residual, grad_flat, shift, space, groups=jacobian.groups)
        idx, valid = jacobian.alive
        xc = jacobian.x[:, idx] * valid
        dc = solve(xc, jacobian.residual, grad_flat[idx] * valid, shift, space, groups=jacobian.groups)
        return scatter(dc, idx, valid, grad_flat.shape[0])
    raise TypeError(f"the Cholesky SR solver cannot use a {type(jacobian).__name__}")


def cg_direction(jacobian, grad_flat, shift: float, x0=None, tol: float = 1e-5, maxiter: int | None = None):
    """(S + shift I)^{-1} F by conjugate gradients from x0 (None: zero), with S v from `jacobian`
    (any operator with `matvec`), over its alive columns when it has them. (P,) float64."""
    alive = getattr(jacobian, "alive", None)
    matvec, n_params = jacobian.matvec, grad_flat.shape[0]
    if alive is not None:
        if isinstance(jacobian, DenseJacobian):
            matvec = DenseJacobian(jacobian.x[:, alive[0]] * alive[1]).matvec
        grad_flat, x0 = _compact(alive, grad_flat), None if x0 is None else _compact(alive, x0)
    d, _ = jax.scipy.sparse.linalg.cg(
        lambda v: matvec(v) + shift * v, grad_flat, x0=x0, tol=tol, atol=0.0, maxiter=maxiter
    )
    return d if alive is None else scatter(d, alive[0], alive[1], n_params)


_OPERATORS = (DenseJacobian, SingleLayerGram, FormedQGT, KhatriRaoJacobian)


def _direction(solver, jacobian, g, shift, space, last, tol, maxiter, residual, gram, groups):
    """The SR direction (P,) float64 for one `update` call (see `sr`)."""
    if not isinstance(jacobian, _OPERATORS):  # a raw X (B, P) with its residual, gram, groups
        x = jnp.asarray(jacobian, jnp.float64)
        if solver == "cg":
            return cg_direction(DenseJacobian(x), g, shift, last, tol, maxiter)
        y = None if residual is None else jnp.asarray(residual, jnp.float64)
        return solve(x, y, g, shift, space, None if gram is None else jnp.asarray(gram, jnp.float64), groups)
    if solver == "cg":
        return cg_direction(jacobian, g, shift, last, tol, maxiter)
    return cholesky_direction(jacobian, g, shift, space)


def sr(
    shift: float,
    space: str = "auto",
    solver: str = "cholesky",
    tol: float = 1e-5,
    maxiter: int | None = None,
    warm_start: bool = False,
) -> optax.GradientTransformationExtraArgs:
    """SR preconditioner with diagonal shift `shift` (> 0) and `solver` ('cholesky' | 'cg').

    Extra args of update: jacobian (an operator of `lthbench.vmc.qgt`, or X (B, P) with residual y (B,),
    optionally gram = X X^T (B, B) and groups = `unique_samples(spins)` of the rows of X). Other extra
    args are ignored. space: 'auto' | 'parameter' | 'sample' (Cholesky with a dense X). tol, maxiter,
    warm_start: CG only.
    """
    if solver not in SOLVERS:
        raise ValueError(f"SR solver must be one of {SOLVERS}, got {solver!r}")
    keep = solver == "cg" and warm_start

    def init_fn(params):
        if not keep:
            return SRState()
        return SRState(jnp.zeros(ravel_pytree(params)[0].shape, jnp.float64))

    def update_fn(updates, state, params=None, *, jacobian, residual=None, gram=None, groups=None, **extra):
        del extra
        flat, _ = ravel_pytree(updates)
        g = flat.astype(jnp.float64)
        # the direction in the params' dtype (the gradient may come in float64 for a float32 net)
        like, unravel = ravel_pytree(updates if params is None else params)
        d = _direction(
            solver, jacobian, g, shift, space, state.last if keep else None, tol, maxiter, residual, gram, groups
        )
        return unravel(d.astype(like.dtype)), SRState(d) if keep else state

    # update_fn requires the keyword-only extra argument `jacobian`, which optax's TransformUpdateFn
    # protocol cannot express (optax passes extra args through **kwargs); the call is correct.
    return optax.GradientTransformationExtraArgs(init_fn, update_fn)  # pyright: ignore[reportArgumentType]


def keep_pruned() -> optax.GradientTransformationExtraArgs:
    """Multiply the updates by the extra argument `mask` (a pytree like the updates; None: no-op),
    so pruned weights get exactly zero updates whatever the optimiser before it did (Adam's moments)."""

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None, *, mask=None, **extra):
        del params, extra
        return (updates if mask is None else apply_mask(updates, mask)), state

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)
