"""pytest-benchmark micro benchmarks of the hot kernels (`lthbench.bench`).

The default test run passes `--benchmark-disable` (pyproject addopts), so each runs once as a plain
test and its assertions check that what it times is right. Timed runs, with saved baselines:

    python -m pytest --benchmark-enable -k bench --benchmark-autosave          # saves .benchmarks/...
    python -m pytest --benchmark-enable -k bench --benchmark-compare           # against the last save
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lthbench import bench


def _case(system_id: str, net: str, n_samples: int = 128) -> bench.Case:
    return bench.Case(system_id, net, n_samples=n_samples)


TFIM4 = "tfim2d-4x4-obc-k3.04438"


@pytest.mark.parametrize(
    "system_id,net", [(TFIM4, "ffnn-a2"), ("toric-3", "rbm-a1")], ids=["tfim4x4-ffnn", "toric3-rbm"]
)
def test_bench_local_energy_fast_path(benchmark, system_id, net):
    case = _case(system_id, net)
    fast = bench.local_energy_kernel(case, fast=True)
    generic = bench.local_energy_kernel(case, fast=False)
    fast.call()
    e_fast = np.asarray(benchmark(fast.call))
    e_generic = np.asarray(generic.call())
    assert e_fast.shape == (case.n_samples,)
    np.testing.assert_allclose(e_fast, e_generic, rtol=1e-11, atol=1e-11)


def test_bench_local_energy_generic_cnn(benchmark):
    case = _case(TFIM4, "cnn", n_samples=128)
    k = bench.local_energy_kernel(case, fast=False)
    assert bench.local_energy_kernel(case, fast=True) is None  # no single-layer fast path for a CNN
    k.call()
    e = np.asarray(benchmark(k.call))
    system, ansatz, params = bench.build(case)
    spins = bench.samples(case)
    # E_loc(s) = <s|H|psi> / <s|psi>, checked on one sample against the partners written out by hand
    s = np.asarray(spins[0])
    lp = lambda x: float(ansatz.log_psi(params, jnp.asarray(x[None]))[0])  # noqa: E731
    off = sum(
        c * np.exp(lp(s * (1.0 - 2.0 * np.asarray(t, dtype=float))) - lp(s))
        for t, c in zip(system.x_strings, system.x_coeffs)
    )
    assert e[0] == pytest.approx(float(system.diagonal(jnp.asarray(s[None]))[0]) + off, rel=1e-5)


def test_bench_metropolis_sweep(benchmark):
    case = _case(TFIM4, "ffnn-a2")
    k = bench.sweep_kernel(case)
    k.call()
    samples = np.asarray(benchmark(k.call))  # (n_per_chain, n_chains, N)
    assert samples.shape == (case.n_samples // case.n_chains, case.n_chains, 16)
    assert set(np.unique(samples)) <= {-1.0, 1.0}
    moved = np.mean(np.any(samples[1:] != samples[:-1], axis=-1))
    assert moved > 0.5  # near-uniform state: most sweeps of 16 proposals change the configuration


def test_bench_sr_direction_structured_equals_jacobian(benchmark):
    case = _case(TFIM4, "rbm-a1", n_samples=64)  # P = 288 > 64 samples: structured path (with biases)
    system, ansatz, params = bench.build(case)
    spins = bench.samples(case)
    from lthbench.vmc.estimate import local_energies

    eloc = local_energies(system, ansatz, params, spins)
    structured = jax.jit(lambda p, s, e: bench.sr_direction(ansatz, p, s, e, path="structured"))
    jacobian = jax.jit(lambda p, s, e: bench.sr_direction(ansatz, p, s, e, path="jacobian"))
    jax.block_until_ready(structured(params, spins, eloc))
    d_fast = benchmark(lambda: jax.block_until_ready(structured(params, spins, eloc)))
    d_ref = jacobian(params, spins, eloc)
    for a, b in zip(jax.tree_util.tree_leaves(d_fast), jax.tree_util.tree_leaves(d_ref)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-7, atol=1e-9 * float(np.max(np.abs(b))))
    assert max(float(np.max(np.abs(x))) for x in jax.tree_util.tree_leaves(d_fast)) > 0


@pytest.mark.parametrize("exact,density", [(False, 1.0), (False, 0.5), (True, 1.0)], ids=["mc", "mc-pruned", "exact"])
def test_bench_train_step(benchmark, exact, density):
    case = _case("tfim2d-3x3-obc-k3.04438", "ffnn-a1", n_samples=64)
    k = bench.train_step_kernel(case, exact=exact, density=density)
    k.call()
    result = benchmark(k.call)
    assert result.n_steps_done == 1 and not result.diverged
    w = np.asarray(result.params["ffnn"]["w"])
    pruned = np.asarray(bench.random_mask(*bench.build(case)[1:], density)["ffnn"]["w"]) == 0
    assert np.all(w[pruned] == 0) and np.all(w[~pruned] != 0) and (pruned.mean() > 0.3) == (density < 1)
    assert result.seconds_per_step > 0 and np.isfinite(result.energy)
    e0 = -26.0  # below any variational energy of this 3x3 TFIM would be a bug (E0 = -28.7)
    assert result.energy > e0 - 3.0 and result.energy_history[0] < 0


def test_bench_ed_3x3(benchmark):
    from lthbench.exact import sparse_hamiltonian

    case = _case("tfim2d-3x3-obc-k3.04438", "ffnn-a1")
    k = bench.ed_kernel(case)
    e0 = benchmark(k.call)
    system, _, _ = bench.build(case)
    dense = sparse_hamiltonian(system).toarray()
    assert e0 == pytest.approx(np.linalg.eigvalsh(dense)[0], abs=1e-9)
