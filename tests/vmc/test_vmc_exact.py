"""Exact (full-sum) mode against a dense Hamiltonian built here from the operator's codes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lthbench.masks import apply_mask, full_mask
from lthbench.nets import make_ansatz
from lthbench.systems import tfim, toric
from lthbench.vmc import TrainConfig, energy_gradient, evaluate, exact_vector, fidelity, ground_space_weight, train
from lthbench.vmc.qgt import flat_jacobian as _flat_jacobian

EXACT = TrainConfig(n_steps=0, exact=True)


def dense_hamiltonian(system) -> np.ndarray:
    """H[k', k] in the operator's basis-code order: diagonal_of_codes plus flip_codes XOR partners."""
    codes = np.arange(2**system.n_spins)
    h = np.diag(system.diagonal_of_codes(codes))
    for flip, coeff in zip(system.flip_codes, system.x_coeffs):
        h[codes ^ flip, codes] += coeff
    return h


def scaled(ansatz, key, scale):
    return jax.tree_util.tree_map(lambda x: x * scale, ansatz.init(key))


CASES = [
    (tfim((3, 3), 3.04438), "ffnn", {"alpha": 2}, 30.0),
    (toric(2), "ffnn", {"alpha": 2}, 30.0),
    (toric(2, hx=0.3, hz=0.2), "rbm", {"alpha": 1}, 30.0),
    (tfim((3, 3), 1.0), "cnn", {}, 1.0),
]


@pytest.mark.parametrize("system,net,hyper,scale", CASES, ids=lambda c: getattr(c, "id", None))
def test_exact_energy_matches_dense_matrix(system, net, hyper, scale):
    ansatz = make_ansatz(net, system, **hyper)
    params = scaled(ansatz, jax.random.key(7), scale)
    h = dense_hamiltonian(system)
    psi = np.exp(
        np.asarray(ansatz.log_psi(params, system.spins_of_codes(np.arange(2**system.n_spins))), dtype=np.float64)
    )
    psi /= np.linalg.norm(psi)
    expected = psi @ h @ psi
    ev = evaluate(system, ansatz, params, EXACT, jax.random.key(0))
    tol = 1e-10 if ansatz.dtype == jnp.float64 else 1e-5
    assert abs(ev.energy - expected) <= tol * max(1.0, abs(expected))
    assert abs(ev.variance - (psi @ h @ h @ psi - expected**2)) <= 1e3 * tol * max(1.0, abs(expected))
    np.testing.assert_allclose(exact_vector(system, ansatz, params), psi, atol=1e-6 if tol > 1e-9 else 1e-12)
    z = system.spins_of_codes(np.arange(2**system.n_spins))
    assert abs(ev.m_z - psi**2 @ z.mean(axis=1)) < 1e-4
    # M_x = mean_i <X_i>
    mx = np.mean(
        [psi @ psi[np.arange(2**system.n_spins) ^ (1 << (system.n_spins - 1 - i))] for i in range(system.n_spins)]
    )
    assert abs(ev.m_x - mx) < 1e-4
    assert ev.v_score == pytest.approx(system.n_spins * ev.variance / ev.energy**2)


def test_exact_gradient_matches_finite_differences():
    system = tfim((3, 3), 2.0)
    ansatz = make_ansatz("ffnn", system, alpha=1)
    params = scaled(ansatz, jax.random.key(3), 40.0)
    mask = full_mask(params)
    mask["ffnn"]["w"] = mask["ffnn"]["w"].at[0, 0].set(0.0)
    energy, grad = energy_gradient(system, ansatz, params, mask, EXACT, jax.random.key(0))
    h = dense_hamiltonian(system)
    spins = system.spins_of_codes(np.arange(2**system.n_spins))

    def e_of(w):
        p = apply_mask({"ffnn": {"w": jnp.asarray(w)}}, mask)
        psi = np.exp(np.asarray(ansatz.log_psi(p, spins)))
        return psi @ h @ psi / (psi @ psi)

    w0 = np.asarray(params["ffnn"]["w"])
    assert energy == pytest.approx(e_of(w0), abs=1e-10)
    eps = 1e-5
    g = np.asarray(grad["ffnn"]["w"])
    rng = np.random.default_rng(0)
    picks = [(0, 0)] + [tuple(rng.integers(0, n) for n in w0.shape) for _ in range(6)]
    for i, j in picks:
        d = np.zeros_like(w0)
        d[i, j] = eps
        fd = (e_of(w0 + d) - e_of(w0 - d)) / (2 * eps)
        if (i, j) == (0, 0):
            assert g[i, j] == 0.0 and abs(fd) < 1e-12  # pruned: no gradient, no effect
        else:
            assert g[i, j] == pytest.approx(fd, rel=1e-6, abs=1e-8)


def test_exact_sr_step_is_the_natural_gradient():
    """One SGD+SR step in exact mode moves params by -lr (S + shift)^{-1} g, S the exact QGT."""
    system = tfim((3, 3), 2.0)
    ansatz = make_ansatz("ffnn", system, alpha=4)  # 324 weights: the blocked symmetric Gram path
    params = scaled(ansatz, jax.random.key(4), 20.0)
    mask = full_mask(params)
    cfg = TrainConfig(n_steps=1, exact=True, learning_rate=0.01, sr_shift=1e-2, n_eval_steps=1)
    res = train(system, ansatz, params, mask, cfg, jax.random.key(0))
    _, grad = energy_gradient(system, ansatz, params, mask, EXACT, jax.random.key(0))
    spins = jnp.asarray(system.spins_of_codes(np.arange(2**system.n_spins)))
    o = np.asarray(_flat_jacobian(ansatz, params, mask, spins))
    psi = np.exp(np.asarray(ansatz.log_psi(params, spins)))
    p = psi**2 / np.sum(psi**2)
    oc = o - p @ o
    s = (oc * p[:, None]).T @ oc
    d = np.linalg.solve(s + 1e-2 * np.eye(s.shape[0]), np.asarray(grad["ffnn"]["w"]).reshape(-1))
    expected = np.asarray(params["ffnn"]["w"]).reshape(-1) - 0.01 * d
    np.testing.assert_allclose(np.asarray(res.params["ffnn"]["w"]).reshape(-1), expected, rtol=1e-8, atol=1e-12)


def test_fidelity_and_ground_space_weight():
    system = toric(2)
    ansatz = make_ansatz("ffnn", system, alpha=1)
    pa = scaled(ansatz, jax.random.key(1), 20.0)
    pb = scaled(ansatz, jax.random.key(2), 20.0)
    va, vb = exact_vector(system, ansatz, pa), exact_vector(system, ansatz, pb)
    assert fidelity(system, ansatz, pa, pb, EXACT, jax.random.key(0)) == pytest.approx(np.dot(va, vb) ** 2, rel=1e-12)
    assert fidelity(system, ansatz, pa, pa, EXACT, jax.random.key(0)) == pytest.approx(1.0, abs=1e-12)
    energies, vectors = np.linalg.eigh(dense_hamiltonian(system))
    ground = vectors[:, np.abs(energies - energies[0]) < 1e-8]
    assert ground.shape[1] == 4  # four-fold degenerate on the torus
    weight = ground_space_weight(system, ansatz, pa, ground)
    assert weight == pytest.approx(np.sum((ground.T @ va) ** 2), rel=1e-10)
    assert 0.0 <= weight <= 1.0
