"""The ansätze: shapes, dtypes, the paper's initialisations, prunable leaves, registry errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lthbench.errors import LthbenchError
from lthbench.masks import alive_count, full_mask, prunable_leaves
from lthbench.nets import make_ansatz
from lthbench.systems import tfim, toric


@pytest.fixture(scope="module")
def square():
    return tfim((4, 4), 3.04438)


@pytest.mark.parametrize(
    "name,dtype", [("ffnn", jnp.float64), ("rbm", jnp.float64), ("cnn", jnp.float32), ("rescnn", jnp.float32)]
)
def test_shapes_and_dtypes(square, name, dtype):
    hyper = {"nf": 4, "nb": 1} if name == "rescnn" else {}
    a = make_ansatz(name, square, **hyper)
    params = a.init(jax.random.key(0))
    spins = jnp.asarray(np.random.default_rng(0).choice([-1.0, 1.0], size=(5, 16)))
    out = a.log_psi(params, spins)
    assert out.shape == (5,) and out.dtype == dtype
    assert all(x.dtype == dtype for x in jax.tree_util.tree_leaves(params))
    assert np.all(np.isfinite(np.asarray(out)))


def test_ffnn_paper_init(square):
    a = make_ansatz("ffnn", square, alpha=5)
    w = a.init(jax.random.key(1))["ffnn"]["w"]
    assert w.shape == (16, 80)
    assert abs(float(jnp.std(w)) - 0.01) < 0.001  # Normal(0, std 0.01), as the authors' Flax default
    spins = jnp.ones((3, 16))
    expected = jnp.sum(jax.nn.relu(spins @ w), axis=-1)
    np.testing.assert_allclose(a.log_psi({"ffnn": {"w": w}}, spins), expected, rtol=1e-14)


def test_rbm_formula(square):
    a = make_ansatz("rbm", square, alpha=2)
    p = a.init(jax.random.key(2))
    p = jax.tree_util.tree_map(lambda x: 10 * x, p)
    s = jnp.asarray(np.random.default_rng(1).choice([-1.0, 1.0], size=(4, 16)))
    w, b, v = p["rbm"]["w"], p["rbm"]["b"], p["~"]["visible_bias"]
    expected = jnp.sum(jnp.log(jnp.cosh(s @ w + b)), axis=-1) + s @ v
    np.testing.assert_allclose(a.log_psi(p, s), expected, rtol=1e-12)


def test_prunable_leaves(square):
    rbm = make_ansatz("rbm", square)
    pr = prunable_leaves(rbm.init(jax.random.key(0)), rbm.is_prunable)
    assert pr == {"rbm": {"w": True, "b": False}, "~": {"visible_bias": False}}
    res = make_ansatz("rescnn", square)  # paper: nf 16, nb 4
    params = res.init(jax.random.key(0))
    pr = prunable_leaves(params, res.is_prunable)
    assert pr["embed"]["w"] is False and pr["final_norm"]["scale"] is False
    assert pr["block0_conv1"]["w"] is True
    assert alive_count(full_mask(params), pr) == 4 * 2 * 9 * 16 * 16
    cnn = make_ansatz("cnn", square)
    params = cnn.init(jax.random.key(0))
    assert alive_count(full_mask(params), prunable_leaves(params, cnn.is_prunable)) == 36


def test_cnn_is_translation_covariant_in_bulk(square):
    """Zero padding: the sum over a 'SAME' conv is not invariant, but the all-up state is symmetric under reflection."""
    a = make_ansatz("cnn", square)
    p = a.init(jax.random.key(3))
    s = jnp.asarray(np.random.default_rng(2).choice([-1.0, 1.0], size=(1, 4, 4)))
    flipped = s[:, ::-1, ::-1]
    kernel_flipped = {"conv": {"w": p["conv"]["w"][::-1, ::-1]}}
    np.testing.assert_allclose(
        a.log_psi(p, s.reshape(1, 16)), a.log_psi(kernel_flipped, flipped.reshape(1, 16)), rtol=1e-5
    )


def test_registry_errors(square):
    with pytest.raises(LthbenchError):
        make_ansatz("transformer", square)
    with pytest.raises(LthbenchError):
        make_ansatz("ffnn", square, beta=2)
    with pytest.raises(LthbenchError):
        make_ansatz("cnn", toric(3))
    assert isinstance(LthbenchError("x"), ValueError)


def test_toric_ffnn_and_equality():
    system = toric(3)
    a = make_ansatz("ffnn", system, alpha=8)
    b = make_ansatz("ffnn", system, alpha=8.0)
    assert a == b and hash(a) == hash(b)
    assert a != make_ansatz("ffnn", system, alpha=4)
    assert a.init(jax.random.key(0))["ffnn"]["w"].shape == (18, 144)
