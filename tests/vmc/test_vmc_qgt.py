"""The log-derivative matrix as an operator (Khatri-Rao for single-layer nets) and the CG solver
against the dense Jacobian and the Cholesky solver, on real nets and samples."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

import lthbench  # noqa: F401  (x64)
from lthbench.bench import random_mask
from lthbench.masks import full_mask
from lthbench.nets import make_ansatz
from lthbench.systems import tfim
from lthbench.vmc import exact_sum
from lthbench.vmc.qgt import DenseJacobian, FormedQGT, flat_jacobian, khatri_rao_jacobian
from lthbench.vmc.sr import cg_direction, cholesky_direction

SYSTEM = tfim((3, 3), 3.04438)


def _net(name, hyper, density, seed=0):
    ansatz = make_ansatz(name, SYSTEM, **hyper)
    params = jax.tree_util.tree_map(lambda p: p * 30.0, ansatz.init(jax.random.key(seed)))  # non-trivial slopes
    mask = full_mask(params) if density >= 1 else random_mask(ansatz, params, density)
    mask = jax.tree_util.tree_map(lambda m, p: jnp.asarray(m, p.dtype), mask, params)
    return ansatz, jax.tree_util.tree_map(lambda p, m: p * m, params, mask), mask


def _spins(n, seed=1):
    return jax.random.rademacher(jax.random.key(seed), (n, SYSTEM.n_spins)).astype(jnp.float64)


def _dense_x(ansatz, params, mask, spins, weights):
    jac = flat_jacobian(ansatz, params, mask, spins)
    return jnp.sqrt(weights)[:, None] * (jac - weights @ jac)


@pytest.mark.parametrize("net,hyper", [("ffnn", {"alpha": 2}), ("rbm", {"alpha": 1})])
@pytest.mark.parametrize("density", [1.0, 0.3])
@pytest.mark.parametrize("weighting", ["uniform", "exact"])
def test_khatri_rao_matvecs_equal_the_dense_jacobian(net, hyper, density, weighting):
    ansatz, params, mask = _net(net, hyper, density)
    spins = _spins(48)
    w = (
        jnp.full((48,), 1 / 48)
        if weighting == "uniform"
        else jax.nn.softmax(jax.random.normal(jax.random.key(2), (48,)))
    )
    kr = khatri_rao_jacobian(ansatz, params, mask, spins, w)
    x = _dense_x(ansatz, params, mask, spins, w)
    n_params = x.shape[1]
    v = jax.random.normal(jax.random.key(3), (n_params,))
    u = jax.random.normal(jax.random.key(4), (48,))
    scale = float(jnp.abs(x).max())
    np.testing.assert_allclose(kr.x(v), x @ v, rtol=1e-10, atol=1e-12 * scale * n_params)
    np.testing.assert_allclose(kr.xt(u), x.T @ u, rtol=1e-10, atol=1e-12 * scale * 48)
    np.testing.assert_allclose(kr.matvec(v), x.T @ (x @ v), rtol=1e-9, atol=1e-12 * scale**2 * n_params)
    pruned = np.asarray(ravel_pytree(mask)[0]) == 0
    assert pruned.any() == (density < 1)
    assert np.all(np.asarray(kr.xt(u))[pruned] == 0.0)  # exactly, not approximately


@pytest.mark.parametrize("density", [1.0, 0.3])
@pytest.mark.parametrize("n_samples", [32, 256], ids=["sample-space", "parameter-space"])
def test_cg_direction_equals_cholesky_direction(density, n_samples):
    """CG at tol 1e-10 against the exact solve: relative difference <= 1e-6 (cond(S + 1e-3) <~ 1e4)."""
    ansatz, params, mask = _net("ffnn", {"alpha": 2}, density)
    spins = _spins(n_samples)
    w = jnp.full((n_samples,), 1 / n_samples)
    x = _dense_x(ansatz, params, mask, spins, w)
    y = jax.random.normal(jax.random.key(5), (n_samples,)) / np.sqrt(n_samples)
    g = x.T @ y
    ref = cholesky_direction(DenseJacobian(x, y), g, 1e-3)
    kr = khatri_rao_jacobian(ansatz, params, mask, spins, w)
    for op in (kr, DenseJacobian(x, y)):
        d = cg_direction(op, g, 1e-3, tol=1e-10)
        np.testing.assert_allclose(d, ref, rtol=0, atol=1e-6 * float(jnp.abs(ref).max()))
    pruned = np.asarray(ravel_pytree(mask)[0]) == 0
    assert np.all(np.asarray(cg_direction(kr, g, 1e-3, tol=1e-10))[pruned] == 0.0)


def test_exact_mode_cg_on_khatri_rao_equals_cholesky_on_the_formed_qgt():
    ansatz, params, mask = _net("ffnn", {"alpha": 1}, 0.5)
    spins, _, _ = exact_sum.device_basis(SYSTEM)
    prob = exact_sum.probabilities(exact_sum.all_log_psi(ansatz, params, spins))
    x = _dense_x(ansatz, params, mask, spins, prob)
    g = x.T @ jax.random.normal(jax.random.key(6), (spins.shape[0],))
    ref = cholesky_direction(FormedQGT(x.T @ x), g, 1e-3)
    d = cg_direction(khatri_rao_jacobian(ansatz, params, mask, spins, prob), g, 1e-3, tol=1e-10)
    np.testing.assert_allclose(d, ref, rtol=0, atol=1e-6 * float(jnp.abs(ref).max()))
