"""Local energies (fast single-layer path vs running the net), SR solves, chain statistics."""

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import pytest

from lthbench.masks import full_mask
from lthbench.nets import make_ansatz
from lthbench.systems import tfim, toric
from lthbench.vmc.estimate import chain_statistics, local_energies, single_flip_log_ratios
from lthbench.vmc.qgt import flat_jacobian as _flat_jacobian
from lthbench.vmc.qgt import single_layer_gram as _single_layer_gram
from lthbench.vmc.qgt import single_layer_xt as _single_layer_xt
from lthbench.vmc.sr import dedup_buckets, sample_space_residual, solve, unique_samples

SYSTEMS = [tfim((4, 4), 3.04438), toric(3, hx=0.3), toric(2, hx=0.1, hz=0.2)]


def _spins(n, batch=64, seed=0):
    return jnp.asarray(np.random.default_rng(seed).choice([-1.0, 1.0], size=(batch, n)))


@pytest.mark.parametrize("net", ["ffnn", "rbm"])
@pytest.mark.parametrize("system", SYSTEMS, ids=lambda s: s.id)
def test_fast_path_equals_generic(system, net):
    ansatz = make_ansatz(net, system, alpha=2)
    params = jax.tree_util.tree_map(lambda x: 30 * x, ansatz.init(jax.random.key(1)))
    spins = _spins(system.n_spins)
    fast = local_energies(system, ansatz, params, spins, fast=True)
    slow = local_energies(system, ansatz, params, spins, fast=False)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        single_flip_log_ratios(ansatz, params, spins, fast=True),
        single_flip_log_ratios(ansatz, params, spins, fast=False),
        rtol=1e-12,
        atol=1e-12,
    )


@pytest.mark.parametrize("net", ["ffnn", "rbm"])
def test_structured_gram_equals_generic(net):
    system = tfim((4, 4), 3.04438)
    ansatz = make_ansatz(net, system, alpha=2)
    params = jax.tree_util.tree_map(lambda x: 30 * x, ansatz.init(jax.random.key(2)))
    spins = _spins(16, batch=40)
    jac = _flat_jacobian(ansatz, params, full_mask(params), spins)
    x = (jac - jac.mean(axis=0)) / np.sqrt(spins.shape[0])
    np.testing.assert_allclose(_single_layer_gram(ansatz, params, spins), x @ x.T, rtol=1e-11, atol=1e-12)
    v = jnp.asarray(np.random.default_rng(3).normal(size=spins.shape[0]))
    xt_v = jax.flatten_util.ravel_pytree(_single_layer_xt(ansatz, params, spins)(v))[0]
    np.testing.assert_allclose(xt_v, x.T @ v, rtol=1e-11, atol=1e-12)


def test_sr_parameter_and_sample_space_agree_and_respect_pruning():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 50))
    x[:, 7] = 0.0  # a pruned weight: zero column
    x = jnp.asarray(x - x.mean(axis=0))
    y = jnp.asarray(rng.normal(size=30))
    g = x.T @ y
    d_param = solve(x, y, g, 1e-3, "parameter")
    d_sample = solve(x, y, g, 1e-3, "sample")
    np.testing.assert_allclose(d_param, d_sample, rtol=1e-7, atol=1e-9)
    assert d_param[7] == 0.0 and d_sample[7] == 0.0
    np.testing.assert_allclose((x.T @ x + 1e-3 * jnp.eye(50)) @ d_param, g, atol=1e-9)


def _repeated_spins(n_spins, n_distinct, batch, seed):
    """A batch of `batch` +-1 configurations drawn with replacement from `n_distinct` distinct ones."""
    rng = np.random.default_rng(seed)
    if n_spins <= 30:
        codes = rng.choice(2**n_spins, size=n_distinct, replace=False)
        pool = 1.0 - 2.0 * ((codes[:, None] >> np.arange(n_spins)) & 1)
    else:
        pool = rng.choice([-1.0, 1.0], size=(n_distinct, n_spins))
    assert len(np.unique(pool, axis=0)) == n_distinct
    return jnp.asarray(pool[rng.integers(0, n_distinct, size=batch)])


@pytest.mark.parametrize("n_spins", [18, 100], ids=["one-word", "two-words"])
def test_unique_samples_groups_identical_rows(n_spins):
    spins = _repeated_spins(n_spins, 37, 256, seed=n_spins)
    groups = jax.jit(unique_samples)(spins)
    u = int(groups.n_unique)
    assert u == len(np.unique(np.asarray(spins), axis=0))
    count, first, inverse = np.asarray(groups.count), np.asarray(groups.first), np.asarray(groups.inverse)
    assert count[:u].sum() == 256 and np.all(count[:u] >= 1) and np.all(count[u:] == 0)
    # every sample's group representative is the same configuration as the sample
    np.testing.assert_array_equal(np.asarray(spins)[first[inverse]], np.asarray(spins))
    np.testing.assert_array_equal(np.bincount(inverse, minlength=256), count)
    assert dedup_buckets(1024) == (256, 384, 512, 640, 768, 896, 1024)


@pytest.mark.parametrize("n_distinct", [20, 150, 5000], ids=["few", "mid", "mostly-distinct-top-bucket"])
def test_sr_over_distinct_samples_equals_sr_over_all(n_distinct):
    """Repeated samples: the solve over the distinct ones (weighted by multiplicity, in a smaller
    bucketed system) gives the same residual a = (K + shift)^{-1} y and the same SR direction, in the
    sample space (structured Gram and Jacobian) and in the parameter space."""
    system = tfim((4, 4), 3.04438)
    ansatz = make_ansatz("ffnn", system, alpha=2)  # 512 weights
    params = jax.tree_util.tree_map(lambda x: 30 * x, ansatz.init(jax.random.key(5)))
    spins = _repeated_spins(16, n_distinct, 256, seed=n_distinct)
    groups = unique_samples(spins)
    assert (int(groups.n_unique) > 7 * 256 // 8) == (n_distinct == 5000)  # the top bucket: plain solve
    jac = _flat_jacobian(ansatz, params, full_mask(params), spins)
    x = (jac - jac.mean(axis=0)) / np.sqrt(256)
    eloc = local_energies(system, ansatz, params, spins)
    y = 2.0 * (eloc - eloc.mean()) / np.sqrt(256)  # equal within a group, as in training
    g = x.T @ y
    gram = _single_layer_gram(ansatz, params, spins)
    a_full = sample_space_residual(gram, y, 1e-3)
    a_dedup = jax.jit(lambda k, v, gr: sample_space_residual(k, v, 1e-3, gr))(gram, y, groups)
    np.testing.assert_allclose(a_dedup, a_full, rtol=1e-8, atol=1e-8 * float(jnp.max(jnp.abs(a_full))))
    d_ref = np.linalg.solve(np.asarray(x.T @ x) + 1e-3 * np.eye(512), np.asarray(g))
    d_sample = solve(x, y, g, 1e-3, "sample", groups=groups)
    d_param = solve(x, y, g, 1e-3, "parameter", groups=groups)
    for d in (d_sample, d_param):
        np.testing.assert_allclose(d, d_ref, rtol=1e-6, atol=1e-8 * np.abs(d_ref).max())


def test_chain_statistics():
    rng = np.random.default_rng(1)
    iid = rng.normal(size=(16, 4000))
    st = chain_statistics(iid)
    assert st["tau"] == pytest.approx(0.5, abs=0.1)
    assert st["sigma"] == pytest.approx(1 / np.sqrt(iid.size), rel=0.2)
    # AR(1) with rho = 0.9: tau_int = (1 + rho) / (2 (1 - rho)) = 9.5
    ar = np.zeros((16, 20000))
    noise = rng.normal(size=ar.shape)
    for t in range(1, ar.shape[1]):
        ar[:, t] = 0.9 * ar[:, t - 1] + noise[:, t]
    st = chain_statistics(ar)
    assert st["tau"] == pytest.approx(9.5, rel=0.2)
    assert st["sigma"] == pytest.approx(np.sqrt(2 * 9.5 * ar.var() / ar.size), rel=0.3)
