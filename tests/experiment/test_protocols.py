"""Protocols on the tiny exact-mode tasks: rewinding, IMP-CT, controls, resume, key independence, checks."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import shutil
from pathlib import Path

import jax
import numpy as np
import pytest

from lthbench.errors import LthbenchError
from lthbench.experiment import get_task, method_label, metrics, run_protocol, training
from lthbench.masks import apply_mask
from lthbench.results import CellKey, RunStore

TINY = "tiny-tfim-3x3"
VOLATILE = ("wall_time", "samples_per_s")
REPO = Path(__file__).resolve().parents[2]
HAVE_EXACT = importlib.util.find_spec("lthbench.exact") is not None


def leaves(tree):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(tree)]


def assert_tree_equal(a, b):
    assert jax.tree_util.tree_structure(a) == jax.tree_util.tree_structure(b)
    for x, y in zip(leaves(a), leaves(b)):
        np.testing.assert_array_equal(x, y)


def stable(record):
    return {k: v for k, v in record.items() if k not in VOLATILE}


def same_records(a: dict, b: dict):
    assert a.keys() == b.keys()
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y), k
        else:
            assert x == y, k


def records_by_key(store):
    return {CellKey.from_record(r): stable(r) for r in store.records()}


@pytest.fixture
def spy(monkeypatch):
    """Record the (params, mask, n_steps) of every training call the protocol makes."""
    calls = []
    real = training.train

    def train(task, system, ansatz, params, mask, n_steps, key):
        result = real(task, system, ansatz, params, mask, n_steps, key)
        calls.append({"params": params, "mask": mask, "n_steps": n_steps, "out": result.params})
        return result

    monkeypatch.setattr(training, "train", train)
    return calls


@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """The default chain of the tiny task with all controls (3 rounds, controls at rounds 2 and 3)."""
    out = tmp_path_factory.mktemp("full") / "results.nc"
    store = RunStore(out)
    keys = run_protocol(TINY, store=store, progress=False)
    return store, keys


def test_full_run_cells_counts_and_zero_pruned_weights(full_run):
    store, keys = full_run
    task = get_task(TINY)
    label = "magnitude/imp-wr/rewind=trained"
    expected = [CellKey(TINY, label, "imp", r, 0) for r in range(4)]
    assert set(expected) <= set(keys) and len(keys) == 4 + 3 * len(task.control_rounds())
    assert sorted(keys) == store.keys()
    recs = {CellKey.from_record(r): r for r in store.records()}
    # exactly k = rint(p * alive) removed per layer, every round (one prunable leaf here)
    alive = recs[expected[0]]["n_alive"]
    for key in expected[1:]:
        alive -= int(np.rint(task.prune_fraction * alive))
        assert recs[key]["n_alive"] == alive
    for key, rec in recs.items():
        arts = store.read_artifacts(key)
        # pruned weights are exactly zero in the trained params of every cell
        for p, m in zip(leaves(arts["params"]), leaves(arts["mask"])):
            assert np.all(p[m == 0] == 0)
        assert rec["n_alive"] == sum(int(np.count_nonzero(m)) for m in leaves(arts["mask"]))
        assert rec["rho"] == rec["n_alive"] / rec["n_spins"] and rec["diverged"] == 0
        assert math.isfinite(rec["energy"]) and math.isfinite(rec["variance"])
        if not math.isnan(rec["reference_energy"]):
            e, ref = rec["energy"], rec["reference_energy"]
            assert rec["rel_error"] == pytest.approx(abs(e - ref) / abs(ref))
            assert rec["abs_error_per_spin"] == pytest.approx(abs(e - ref) / rec["n_spins"])
        if HAVE_EXACT:  # N = 9: the weight in the exact ground space is always computed
            assert 0.0 < rec["fidelity_exact"] <= 1.0 + 1e-9
        if key.control == "imp" and key.round > 0:
            assert 0.0 < rec["fidelity_prev"] <= 1.0 + 1e-9
        else:
            assert math.isnan(rec["fidelity_prev"])
    # control masks: IMP's mask for ticket/reinit; same per-layer counts for random-mask
    for r in task.control_rounds():
        imp_mask = store.read_artifacts(CellKey(TINY, label, "imp", r, 0))["mask"]
        assert_tree_equal(store.read_artifacts(CellKey(TINY, label, "ticket", r, 0))["mask"], imp_mask)
        assert_tree_equal(store.read_artifacts(CellKey(TINY, label, "reinit", r, 0))["mask"], imp_mask)
        rand = store.read_artifacts(CellKey(TINY, label, "random-mask", r, 0))["mask"]
        assert [int(m.sum()) for m in leaves(rand)] == [int(m.sum()) for m in leaves(imp_mask)]
        assert any(not np.array_equal(x, y) for x, y in zip(leaves(rand), leaves(imp_mask)))
    dense = store.read_artifacts(expected[0])
    assert set(dense) == {"mask", "params", "params_init"}


def test_rerun_skips_and_cells_rerun_alone_are_identical(full_run, tmp_path, spy):
    store, _ = full_run
    expected = records_by_key(store)
    label = "magnitude/imp-wr/rewind=trained"
    # 1. same command again: nothing retrained
    run_protocol(TINY, store=store, progress=False)
    assert spy == []
    # 2. delete single cells (an IMP round in the middle, controls), rerun: identical records
    copy = tmp_path / "copy.nc"
    shutil.copytree(f"{store.out_path}.cells", f"{copy}.cells")
    other = RunStore(copy)
    for key in (
        CellKey(TINY, label, "imp", 2, 0),
        CellKey(TINY, label, "reinit", 3, 0),
        CellKey(TINY, label, "random-mask", 2, 0),
    ):
        for suffix in (".json", ".npz"):
            Path(other.cells_dir, key.stem + suffix).unlink()
    run_protocol(TINY, store=other, progress=False)
    assert len(spy) == 3  # the three deleted cells, nothing else
    got = records_by_key(other)
    assert got.keys() == expected.keys()
    for key in expected:
        same_records(got[key], expected[key])
    # 3. other execution orders: chain first without controls, then only some controls, fewer rounds
    third = RunStore(tmp_path / "third.nc")
    run_protocol(TINY, store=third, controls=(), progress=False, n_rounds=2)
    run_protocol(TINY, store=third, controls=("random-mask",), progress=False)
    run_protocol(TINY, store=third, controls=("reinit", "ticket"), progress=False)
    got = records_by_key(third)
    assert got.keys() == expected.keys()
    for key in expected:
        same_records(got[key], expected[key])


@pytest.mark.parametrize("rewind", ["trained", "init", "step:7"])
def test_rewinding_restores_the_chosen_weights_under_the_new_mask(tmp_path, spy, rewind):
    task = dataclasses.replace(get_task(TINY), id="tiny-tfim-3x3", n_rounds=2, control_every=0)
    store = RunStore(tmp_path / "r.nc")
    run_protocol(task, store=store, rewind_to=rewind, controls=(), progress=False)
    label = method_label("magnitude", "imp-wr", rewind)
    dense = store.read_artifacts(CellKey(TINY, label, "imp", 0, 0))
    target = {"trained": "params", "init": "params_init", "step:7": "params_step"}[rewind]
    if rewind == "step:7":
        # the params after 7 dense steps: neither the init nor the trained weights
        assert set(dense) == {"mask", "params", "params_init", "params_step"}
        for a, b, c in zip(leaves(dense["params_step"]), leaves(dense["params_init"]), leaves(dense["params"])):
            assert not np.array_equal(a, b) and not np.array_equal(a, c)
    round_calls = [c for c in spy if c["n_steps"] == task.round_steps]
    assert len(round_calls) == 2
    for rnd, call in zip((1, 2), round_calls):
        mask = store.read_artifacts(CellKey(TINY, label, "imp", rnd, 0))["mask"]
        assert_tree_equal(call["mask"], mask)
        assert_tree_equal(call["params"], apply_mask(dense[target], mask))


def test_controls_start_from_their_own_init_and_mask(tmp_path, spy):
    task = dataclasses.replace(get_task(TINY), n_rounds=1)
    store = RunStore(tmp_path / "c.nc")
    run_protocol(task, store=store, progress=False)
    label = "magnitude/imp-wr/rewind=trained"
    init = store.read_artifacts(CellKey(TINY, label, "imp", 0, 0))["params_init"]
    imp_mask = store.read_artifacts(CellKey(TINY, label, "imp", 1, 0))["mask"]
    calls = {c: spy[2 + i] for i, c in enumerate(("ticket", "reinit", "random-mask"))}
    assert all(c["n_steps"] == task.dense_steps for c in calls.values())
    assert_tree_equal(calls["ticket"]["params"], apply_mask(init, imp_mask))
    assert_tree_equal(calls["ticket"]["mask"], imp_mask)
    assert_tree_equal(calls["reinit"]["mask"], imp_mask)
    for a, b in zip(leaves(calls["reinit"]["params"]), leaves(apply_mask(init, imp_mask))):
        assert not np.array_equal(a, b)  # a fresh init
        assert np.array_equal(a == 0, b == 0)  # under the same mask
    rand = store.read_artifacts(CellKey(TINY, label, "random-mask", 1, 0))["mask"]
    assert_tree_equal(calls["random-mask"]["mask"], rand)
    assert_tree_equal(calls["random-mask"]["params"], apply_mask(init, rand))


def test_step_k_params_are_a_prefix_of_the_dense_run():
    """step:K rewinding trains K steps with the dense run's key: valid only while the trainer's first K
    steps do not depend on the total number of steps (Monte Carlo: the sampler's keys matter)."""
    from lthbench.masks import full_mask
    from lthbench.nets import make_ansatz
    from lthbench.systems import system_from_id

    task = dataclasses.replace(get_task(TINY), exact=False, n_samples=64, n_chains=4)
    system = system_from_id(task.system_id)
    ansatz = make_ansatz(task.net, system, **task.hyper)
    params = ansatz.init(jax.random.key(0))
    mask = full_mask(params)
    short = training.train(task, system, ansatz, params, mask, 7, jax.random.key(1))
    full = training.train(task, system, ansatz, params, mask, 30, jax.random.key(1))
    np.testing.assert_array_equal(short.energy_history, full.energy_history[:7])


def test_imp_ct_continues_training_without_rewind(tmp_path, spy):
    task = dataclasses.replace(get_task(TINY), n_rounds=2, control_every=0)
    store = RunStore(tmp_path / "ct.nc")
    run_protocol(task, store=store, protocol="imp-ct", controls=(), progress=False)
    label = "magnitude/imp-ct"
    for rnd in (1, 2):
        prev = store.read_artifacts(CellKey(TINY, label, "imp", rnd - 1, 0))["params"]
        mask = store.read_artifacts(CellKey(TINY, label, "imp", rnd, 0))["mask"]
        call = [c for c in spy if c["n_steps"] == task.round_steps][rnd - 1]
        assert_tree_equal(call["params"], apply_mask(prev, mask))


def test_second_method_reuses_the_dense_round(full_run, tmp_path, spy):
    store, _ = full_run
    copy = tmp_path / "m.nc"
    shutil.copytree(f"{store.out_path}.cells", f"{copy}.cells")
    other = RunStore(copy)
    run_protocol(TINY, store=other, protocol="irp-wr", controls=(), progress=False, n_rounds=1)
    assert [c["n_steps"] for c in spy] == [get_task(TINY).round_steps]  # no dense training
    a = stable(other.read_record(CellKey(TINY, "random/irp-wr/rewind=trained", "imp", 0, 0)))
    b = stable(store.read_record(CellKey(TINY, "magnitude/imp-wr/rewind=trained", "imp", 0, 0)))
    assert a.pop("method") != b.pop("method")
    assert a.pop("fingerprint") != b.pop("fingerprint")  # the identity names the label, whose cell this is
    ia, ib = a.pop("identity"), b.pop("identity")
    assert ia["task"] == ib["task"] and ia["label"] != ib["label"]
    same_records(a, b)


@pytest.mark.parametrize("method", ["snip", "synflow", "random"])
def test_baseline_methods_run_through_the_protocol(tmp_path, method):
    store = RunStore(tmp_path / f"{method}.nc")
    run_protocol("tiny-toric-2", store=store, method=method, controls=(), n_rounds=1, progress=False)
    rec = store.read_record(CellKey("tiny-toric-2", f"{method}/imp-wr/rewind=trained", "imp", 1, 0))
    dense = store.read_record(CellKey("tiny-toric-2", f"{method}/imp-wr/rewind=trained", "imp", 0, 0))
    assert rec["n_alive"] == dense["n_alive"] - int(np.rint(0.3 * dense["n_alive"]))


def test_energy_gradient_matches_finite_differences():
    from lthbench import vmc
    from lthbench.masks import full_mask
    from lthbench.nets import make_ansatz
    from lthbench.systems import system_from_id

    task = get_task("tiny-toric-2")
    system = system_from_id(task.system_id)
    ansatz = make_ansatz(task.net, system, **task.hyper)
    params = jax.tree_util.tree_map(lambda x: np.asarray(x) * 30.0, ansatz.init(jax.random.key(1)))
    mask = jax.tree_util.tree_map(np.asarray, full_mask(params))
    grad = training.energy_grad(task, system, ansatz, params, mask, jax.random.key(0))
    cfg = task.train_config(0)
    ((mod, leaf),) = [(m, k) for m in params for k in params[m]]
    for idx in [(0, 0), (3, 2)]:
        plus, minus = (jax.tree_util.tree_map(np.array, params) for _ in range(2))
        plus[mod][leaf][idx] += 1e-5
        minus[mod][leaf][idx] -= 1e-5
        fd = (
            vmc.evaluate(system, ansatz, plus, cfg, jax.random.key(0)).energy
            - vmc.evaluate(system, ansatz, minus, cfg, jax.random.key(0)).energy
        ) / 2e-5
        assert float(np.asarray(grad[mod][leaf])[idx]) == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_custom_method_by_import_path(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))
    store = RunStore(tmp_path / "custom.nc")
    for spec in ("examples.custom_method:LayerBalancedMagnitude", "examples.custom_method:taylor"):
        keys = run_protocol(TINY, store=store, method=spec, controls=("ticket",), n_rounds=1, progress=False)
        assert keys == [
            CellKey(TINY, f"{spec}/imp-wr/rewind=trained", c, r, 0) for c, r in (("imp", 0), ("imp", 1), ("ticket", 1))
        ]
        rec = store.read_record(keys[1])
        assert rec["n_alive"] == 81 - int(np.rint(0.3 * 81)) and rec["diverged"] == 0


def resurrect(params, mask, n_remove, key, context):
    """Revives everything and then prunes the right number elsewhere."""
    from lthbench.pruning import METHODS

    full = jax.tree_util.tree_map(np.ones_like, mask)
    new = METHODS["magnitude"](params, full, n_remove, key, context)
    return new


def wrong_shape(params, mask, n_remove, key, context):
    return jax.tree_util.tree_map(lambda m: np.ones(np.shape(m)[:-1] + (np.shape(m)[-1] + 1,)), mask)


def wrong_count(params, mask, n_remove, key, context):
    return mask


def test_bad_custom_methods_raise_one_line_errors(tmp_path):
    task = dataclasses.replace(get_task(TINY), n_rounds=2, control_every=0)
    for method, msg in ((resurrect, "revived"), (wrong_shape, "shapes"), (wrong_count, "expected exactly")):
        store = RunStore(tmp_path / f"{method.__name__}.nc")
        with pytest.raises(LthbenchError, match=msg) as info:
            run_protocol(task, store=store, method=method, controls=(), progress=False)
        assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        (dict(method="nope"), "unknown pruning method"),
        (dict(method="no_such_pkg.mod:Name"), "cannot import"),
        (dict(protocol="imp-xx"), "unknown protocol"),
        (dict(rewind_to="halfway"), "bad rewind"),
        (dict(rewind_to="step:100000"), "outside the dense training"),
        (dict(controls=("ticket", "golden")), "unknown control"),
        (dict(n_rounds=0), "rounds"),
        (dict(seed=-1), "seed"),
        (dict(protocol="irp-wr", method="snip"), "irp-wr"),
        (dict(task=dataclasses.replace(get_task(TINY), prune_fraction=1.2)), "prune fraction"),
        (dict(task=dataclasses.replace(get_task(TINY), prune_fraction=0.0)), "prune fraction"),
        (dict(task=dataclasses.replace(get_task(TINY), scope="row")), "scope"),
        (dict(task="no-such-task"), "unknown task"),
    ],
)
def test_bad_input_is_a_one_line_error_and_writes_nothing(tmp_path, kwargs, msg):
    store = RunStore(tmp_path / "bad.nc")
    kwargs = {"task": TINY, **kwargs}
    task = kwargs.pop("task")
    with pytest.raises(LthbenchError, match=msg) as info:
        run_protocol(task, store=store, progress=False, **kwargs)
    assert "\n" not in str(info.value)
    assert store.records() == []


def test_fidelity_exact_is_the_weight_of_the_masked_state_in_the_ground_space(tmp_path, monkeypatch):
    from lthbench import vmc
    from lthbench.nets import make_ansatz
    from lthbench.systems import system_from_id

    task = get_task("tiny-toric-2")
    system = system_from_id(task.system_id)
    plus = np.full((2**system.n_spins, 1), 2.0 ** (-system.n_spins / 2))  # stands in for the ED ground space
    monkeypatch.setattr(metrics, "ground_space_of", lambda system_id: (np.zeros(1), plus))
    store = RunStore(tmp_path / "f.nc")
    keys = run_protocol(task, store=store, controls=(), n_rounds=1, progress=False)
    ansatz = make_ansatz(task.net, system, **task.hyper)
    for key in keys:
        arts = store.read_artifacts(key)
        psi = vmc.exact_vector(system, ansatz, apply_mask(arts["params"], arts["mask"]))
        assert store.read_record(key)["fidelity_exact"] == pytest.approx(float(psi @ plus[:, 0]) ** 2, rel=1e-9)
