"""`lthbench.vmc.sr` as a plain optax transformation, built by hand: never imports the trainer."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lthbench  # noqa: F401  (x64)
from lthbench.vmc.qgt import DenseJacobian
from lthbench.vmc.sr import keep_pruned, sr

SHIFT = 1e-2
LR = 0.05


def _problem(n_samples, n_params, seed=0, pruned=()):
    """A params pytree (two leaves, P entries), X (B, P) centred and scaled with zero columns at
    `pruned`, y (B,), F = X^T y as a pytree."""
    rng = np.random.default_rng(seed)
    jac = rng.normal(size=(n_samples, n_params))
    jac[:, list(pruned)] = 0.0
    x = (jac - jac.mean(axis=0)) / np.sqrt(n_samples)
    y = rng.normal(size=n_samples) / np.sqrt(n_samples)
    split = n_params // 3
    params = {"a": jnp.asarray(rng.normal(size=split)), "b": jnp.asarray(rng.normal(size=(n_params - split,)))}
    f = x.T @ y
    grads = {"a": jnp.asarray(f[:split]), "b": jnp.asarray(f[split:])}
    return params, grads, jnp.asarray(x), jnp.asarray(y)


def _flat(tree):
    return np.concatenate([np.asarray(tree["a"]), np.asarray(tree["b"])])


def _direct(x, f):
    """(S + shift) d = F solved by numpy."""
    x = np.asarray(x)
    return np.linalg.solve(x.T @ x + SHIFT * np.eye(x.shape[1]), f)


@pytest.mark.parametrize("n_samples,n_params", [(40, 12), (12, 40)], ids=["parameter-space", "sample-space"])
@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_chain_sr_sgd_update_is_minus_lr_times_the_sr_solve(n_samples, n_params, solver):
    params, grads, x, y = _problem(n_samples, n_params)
    opt = optax.chain(sr(SHIFT, solver=solver, tol=1e-12, maxiter=1000), optax.sgd(LR))
    updates, _ = opt.update(grads, opt.init(params), params, jacobian=x, residual=y)
    expected = -LR * _direct(x, _flat(grads))
    np.testing.assert_allclose(_flat(updates), expected, rtol=1e-8, atol=1e-12 * np.abs(expected).max())
    # the same through an operator instead of the raw matrix
    updates_op, _ = opt.update(grads, opt.init(params), params, jacobian=DenseJacobian(x, y))
    np.testing.assert_allclose(_flat(updates_op), expected, rtol=1e-8, atol=1e-12 * np.abs(expected).max())


def test_cg_tolerance_is_relative_to_the_gradient():
    params, grads, x, y = _problem(30, 60, seed=1)
    exact = _direct(x, _flat(grads))
    for tol in (1e-3, 1e-6):
        opt = sr(SHIFT, solver="cg", tol=tol)
        d, _ = opt.update(grads, opt.init(params), params, jacobian=x)
        d = _flat(d)
        a = np.asarray(x).T @ np.asarray(x) + SHIFT * np.eye(60)
        assert np.linalg.norm(a @ d - _flat(grads)) <= tol * np.linalg.norm(_flat(grads)) * (1 + 1e-9)
        assert np.linalg.norm(d - exact) <= np.linalg.norm(exact) * tol * np.linalg.cond(a)


def test_cg_warm_start_keeps_the_last_solution_and_converges_faster():
    params, grads, x, _ = _problem(30, 60, seed=2)
    opt = sr(SHIFT, solver="cg", tol=1e-10, warm_start=True)
    state = opt.init(params)
    assert np.all(np.asarray(state.last) == 0)
    d1, state = opt.update(grads, state, params, jacobian=x)
    np.testing.assert_array_equal(np.asarray(state.last), _flat(d1))
    capped = sr(SHIFT, solver="cg", tol=1e-10, maxiter=1, warm_start=True)
    d2, _ = capped.update(grads, state, params, jacobian=x)  # one iteration from the answer: still the answer
    np.testing.assert_allclose(_flat(d2), _flat(d1), rtol=1e-8)
    cold, _ = sr(SHIFT, solver="cg", maxiter=1).update(grads, opt.init(params), params, jacobian=x)
    assert np.abs(_flat(cold) - _flat(d1)).max() > 1e-3 * np.abs(_flat(d1)).max()


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_pruned_entries_stay_exactly_zero(solver):
    pruned = (0, 3, 17, 25, 39)
    params, grads, x, y = _problem(12, 40, seed=3, pruned=pruned)
    mask_flat = np.ones(40)
    mask_flat[list(pruned)] = 0.0
    mask = {"a": jnp.asarray(mask_flat[:13]), "b": jnp.asarray(mask_flat[13:])}
    params = jax.tree_util.tree_map(lambda p, m: p * m, params, mask)
    opt = optax.chain(sr(SHIFT, solver=solver, warm_start=True), optax.adam(LR), keep_pruned())
    state = opt.init(params)
    for _ in range(3):
        updates, state = opt.update(grads, state, params, jacobian=x, residual=y, mask=mask)
        params = optax.apply_updates(params, updates)
    flat = _flat(params)
    assert np.all(flat[list(pruned)] == 0.0)
    assert np.all(flat[mask_flat == 1] != 0.0)


def test_keep_pruned_zeroes_what_the_solve_left_on_pruned_entries():
    params, grads, x, y = _problem(20, 10, seed=5)  # no zero columns: SR moves every entry
    mask = {"a": jnp.asarray([1.0, 0.0, 1.0]), "b": jnp.asarray([0.0, 1, 1, 1, 1, 1, 0])}
    plain = optax.chain(sr(SHIFT), optax.sgd(LR))
    free, _ = plain.update(grads, plain.init(params), params, jacobian=x)
    opt = optax.chain(sr(SHIFT), optax.sgd(LR), keep_pruned())
    kept, _ = opt.update(grads, opt.init(params), params, jacobian=x, mask=mask)
    pruned = _flat(mask) == 0
    assert np.all(_flat(free)[pruned] != 0) and np.all(_flat(kept)[pruned] == 0)
    np.testing.assert_array_equal(_flat(kept)[~pruned], _flat(free)[~pruned])


def test_keep_pruned_without_mask_is_identity_and_sr_ignores_foreign_extra_args():
    params, grads, x, y = _problem(20, 10, seed=4)
    opt = optax.chain(sr(SHIFT), optax.sgd(LR), keep_pruned())
    a, _ = opt.update(grads, opt.init(params), params, jacobian=x, residual=y, unrelated=1)
    plain = optax.chain(sr(SHIFT), optax.sgd(LR))
    b, _ = plain.update(grads, plain.init(params), params, jacobian=x, residual=y)
    np.testing.assert_array_equal(_flat(a), _flat(b))


def test_importing_sr_does_not_load_the_trainer():
    code = (
        "import sys, lthbench.vmc.sr; bad = [m for m in sys.modules if m.startswith('lthbench.vmc.') and "
        "m.split('.')[-1] in ('trainer', 'step', 'programs', 'estimators', 'batched')]; print(bad); "
        "sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
