"""Monte Carlo against exact mode, masked training, divergence, compile reuse."""

from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lthbench.masks import full_mask
from lthbench.nets import make_ansatz
from lthbench.systems import tfim, toric
from lthbench.vmc import TrainConfig, evaluate, fidelity, train
from lthbench.vmc.config import static_of
from lthbench.vmc.programs import make_programs, programs
from lthbench.vmc.qgt import alive_cap
from lthbench.vmc.trainer import precompile_steps, with_alive_cap


def _scaled(ansatz, seed, scale):
    return jax.tree_util.tree_map(lambda x: x * scale, ansatz.init(jax.random.key(seed)))


def test_precompiled_steps_serve_train_and_change_nothing():
    """precompile_steps fills the cache train reads (no new compilation of the masked program after it,
    also when it ran in another thread) and the trained numbers are bit-identical to a cold run."""
    system = tfim((3, 3), 1.0)
    ansatz = make_ansatz("ffnn", system, alpha=2)
    params = ansatz.init(jax.random.key(1))
    cfg = TrainConfig(n_steps=30, n_samples=64, n_eval_steps=2)
    mask = full_mask(params)
    mask["ffnn"]["w"] = mask["ffnn"]["w"] * (jax.random.uniform(jax.random.key(2), mask["ffnn"]["w"].shape) < 0.3)
    cold = train(system, ansatz, params, mask, cfg, jax.random.key(3))
    jax.clear_caches()
    make_programs.cache_clear()
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(precompile_steps, system, ansatz, params, [mask, mask], cfg, jax.random.key(9)).result() == 1
    st = with_alive_cap(static_of(system, cfg), cfg, [mask])
    run_steps = programs(system, ansatz, st)["run_steps"]
    assert st.alive_cap > 0 and run_steps._cache_size() == 1
    warm = train(system, ansatz, params, mask, cfg, jax.random.key(3))
    assert run_steps._cache_size() == 1
    assert warm.energy == cold.energy and np.array_equal(warm.energy_history, cold.energy_history)
    for a, b in zip(jax.tree_util.tree_leaves(warm.params), jax.tree_util.tree_leaves(cold.params)):
        assert np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize(
    "system,star",
    [(tfim((3, 3), 3.04438), 0.0), (toric(2, hx=0.2), 0.3)],
    ids=["tfim3x3", "toric2-hx0.2-star"],
)
def test_mc_energy_agrees_with_exact(system, star):
    ansatz = make_ansatz("ffnn", system, alpha=2)
    params = _scaled(ansatz, 5, 30.0)
    exact = evaluate(system, ansatz, params, TrainConfig(n_steps=0, exact=True), jax.random.key(0))
    mc_cfg = TrainConfig(n_steps=0, n_eval_steps=20, star_flip_prob=star)
    mc = evaluate(system, ansatz, params, mc_cfg, jax.random.key(1))
    assert mc.energy_sigma > 0
    assert abs(mc.energy - exact.energy) < 4 * mc.energy_sigma
    assert abs(mc.m_z - exact.m_z) < 0.05 and abs(mc.m_x - exact.m_x) < 0.05
    fid = fidelity(system, ansatz, params, _scaled(ansatz, 6, 30.0), mc_cfg, jax.random.key(2))
    fid_exact = fidelity(system, ansatz, params, _scaled(ansatz, 6, 30.0), TrainConfig(n_steps=0, exact=True), None)
    assert fid == pytest.approx(fid_exact, abs=0.05)


@pytest.mark.parametrize("n_samples", [64, 512], ids=["sample-space", "parameter-space"])
def test_masked_weights_stay_zero_after_100_sr_steps(n_samples):
    system = tfim((3, 3), 3.04438)
    ansatz = make_ansatz("ffnn", system, alpha=2)  # 162 weights
    params = ansatz.init(jax.random.key(0))
    mask = full_mask(params)
    rng = np.random.default_rng(0)
    pruned = rng.random(mask["ffnn"]["w"].shape) < 0.3
    mask["ffnn"]["w"] = jnp.asarray(~pruned, dtype=jnp.float64)
    cfg = TrainConfig(n_steps=100, n_samples=n_samples, n_chains=16, n_eval_steps=1)
    res = train(system, ansatz, params, mask, cfg, jax.random.key(1))
    w = np.asarray(res.params["ffnn"]["w"])
    assert not res.diverged and res.n_steps_done == 100
    assert np.all(w[pruned] == 0.0)
    assert np.all(w[~pruned] != 0.0)
    assert res.energy_history.shape == (100,)
    assert res.energy < res.energy_history[0]
    assert res.seconds_per_step > 0 and res.samples_per_s > 0


def test_exact_training_reaches_ground_state_and_keeps_mask():
    system = toric(2)
    ansatz = make_ansatz("ffnn", system, alpha=2)
    params = ansatz.init(jax.random.key(0))
    mask = full_mask(params)
    mask["ffnn"]["w"] = mask["ffnn"]["w"].at[:, :3].set(0.0)
    cfg = TrainConfig(n_steps=150, exact=True, learning_rate=0.05)
    res = train(system, ansatz, params, mask, cfg, jax.random.key(1))
    assert np.all(np.asarray(res.params["ffnn"]["w"])[:, :3] == 0.0)
    assert res.energy_sigma == 0.0
    assert res.energy < -7.5  # E0 = -8, the uniform state has -4
    assert res.energy == pytest.approx(res.energy_history[-1], abs=0.05)


def test_divergence_is_reported():
    system = tfim((3, 3), 3.04438)
    ansatz = make_ansatz("ffnn", system, alpha=1)
    params = ansatz.init(jax.random.key(0))
    cfg = TrainConfig(n_steps=60, n_samples=64, learning_rate=1e200, sr_shift=None, n_eval_steps=1)
    res = train(system, ansatz, params, None, cfg, jax.random.key(1))
    assert res.diverged
    assert res.n_steps_done < 60
    assert len(res.energy_history) == res.n_steps_done
    assert np.all(np.isfinite(res.energy_history))
    assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree_util.tree_leaves(res.params))


def test_one_compilation_for_many_masks():
    system = tfim((3, 3), 1.0)
    ansatz = make_ansatz("ffnn", system, alpha=1)
    params = ansatz.init(jax.random.key(0))
    cfg = TrainConfig(n_steps=3, n_samples=64, n_eval_steps=1)
    train(system, ansatz, params, None, cfg, jax.random.key(0))
    progs = programs(system, make_ansatz("ffnn", system, alpha=1), static_of(system, cfg))
    before = progs["run_steps"]._cache_size()
    for k in range(3):
        mask = full_mask(params)
        mask["ffnn"]["w"] = mask["ffnn"]["w"].at[k].set(0.0)
        train(system, make_ansatz("ffnn", system, alpha=1), params, mask, cfg, jax.random.key(k))
    assert progs["run_steps"]._cache_size() == before == 1


@pytest.mark.parametrize(
    "net,hyper,optimizer,shift",
    [("rbm", {"alpha": 1}, "sgd", 1e-3), ("cnn", {}, "adam", 1e-3), ("rescnn", {"nf": 2, "nb": 1}, "sgd", None)],
)
def test_every_ansatz_trains_in_monte_carlo_mode(net, hyper, optimizer, shift):
    system = tfim((3, 3), 3.04438)
    ansatz = make_ansatz(net, system, **hyper)
    params = ansatz.init(jax.random.key(0))
    cfg = TrainConfig(
        n_steps=30, n_samples=128, learning_rate=0.01, optimizer=optimizer, sr_shift=shift, n_eval_steps=2
    )
    res = train(system, ansatz, params, None, cfg, jax.random.key(1))
    assert not res.diverged and res.n_steps_done == 30
    assert np.isfinite(res.energy)
    assert res.energy_history[-5:].mean() < res.energy_history[:5].mean()
    assert jax.tree_util.tree_structure(res.params) == jax.tree_util.tree_structure(params)


def test_a_short_run_is_a_prefix_of_a_long_one():
    """Step keys depend only on (key, step index): K steps reproduce the first K of a longer run."""
    system = tfim((3, 3), 1.0)
    ansatz = make_ansatz("ffnn", system, alpha=1)
    params = ansatz.init(jax.random.key(0))
    long = train(system, ansatz, params, None, TrainConfig(n_steps=30, n_samples=64, n_eval_steps=1), jax.random.key(4))
    short = train(system, ansatz, params, None, TrainConfig(n_steps=7, n_samples=64, n_eval_steps=1), jax.random.key(4))
    np.testing.assert_array_equal(short.energy_history, long.energy_history[:7])


@pytest.mark.parametrize(
    "exact,n_samples", [(False, 256), (False, 64), (True, 256)], ids=["mc-parameter-space", "mc-sample-space", "exact"]
)
def test_sr_over_alive_parameters_equals_sr_over_all(exact, n_samples):
    """A sparse mask solves SR over the alive parameters only (`alive_cap`): the same trajectory as
    the full solve (sample space for MC, the full exact QGT in exact mode), to rounding."""
    system = tfim((3, 3), 3.04438)
    ansatz = make_ansatz("ffnn", system, alpha=4)  # 324 weights
    params = _scaled(ansatz, 0, 20.0)
    mask = full_mask(params)
    alive = np.random.default_rng(3).random(mask["ffnn"]["w"].shape) < 0.25
    mask["ffnn"]["w"] = jnp.asarray(alive, dtype=jnp.float64)
    n_alive = int(alive.sum())
    assert alive_cap(n_alive, 324) in (96, 128)
    runs = []
    for alive_only in (True, False):
        cfg = TrainConfig(n_steps=10, n_samples=n_samples, exact=exact, n_eval_steps=1, sr_alive_only=alive_only)
        runs.append(train(system, ansatz, params, mask, cfg, jax.random.key(4)))
    fast, full = runs
    np.testing.assert_allclose(fast.energy_history, full.energy_history, rtol=1e-9)
    np.testing.assert_allclose(fast.params["ffnn"]["w"], full.params["ffnn"]["w"], rtol=1e-7, atol=1e-10)
    assert np.all(np.asarray(fast.params["ffnn"]["w"])[~alive] == 0.0)
    assert fast.energy_history[-1] < fast.energy_history[0]


def test_alive_cap_buckets():
    cap = alive_cap
    assert cap(100, 2592) == 128 and cap(129, 2592) == 192 and cap(1814, 2592) == 2048
    assert cap(2100, 2592) == 0  # the bucket (3072) is not below the parameter count
    assert cap(600, 640) == 0 and cap(2592, 2592) == 0
    assert cap(5000, 2**20) == 6144


@pytest.mark.parametrize("exact", [False, True], ids=["mc", "exact"])
def test_cg_training_follows_cholesky_training_and_keeps_the_mask(exact):
    """Same keys, CG at tol 1e-12 against Cholesky: the same samples, so after 5 steps the params agree
    to 1e-6 relative; pruned weights exactly 0 under both."""
    system = tfim((3, 3), 3.04438)
    ansatz = make_ansatz("ffnn", system, alpha=2)
    params = ansatz.init(jax.random.key(0))
    mask = full_mask(params)
    mask["ffnn"]["w"] = mask["ffnn"]["w"].at[::2, ::3].set(0.0)
    base = dict(n_steps=5, n_samples=64, n_eval_steps=1, exact=exact, n_burn_in=10)
    ref = train(system, ansatz, params, mask, TrainConfig(**base), jax.random.key(1))
    cg = train(system, ansatz, params, mask, TrainConfig(sr_solver="cg", cg_tol=1e-12, **base), jax.random.key(1))
    w_ref, w_cg = np.asarray(ref.params["ffnn"]["w"]), np.asarray(cg.params["ffnn"]["w"])
    np.testing.assert_allclose(w_cg, w_ref, rtol=0, atol=1e-6 * np.abs(w_ref).max())
    assert np.all(w_cg[::2, ::3] == 0) and np.all(w_ref[::2, ::3] == 0)
    np.testing.assert_allclose(cg.energy_history, ref.energy_history, rtol=1e-8)
