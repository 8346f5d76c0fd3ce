"""Standard tasks: registry, stable ids, specs that match the paper, sizes and costs without training."""

from __future__ import annotations

import dataclasses

import pytest

from lthbench.errors import LthbenchError
from lthbench.systems import system_from_id
from lthbench.tasks import TaskSpec, estimated_cost, get_task, list_tasks, quick_variant, total_steps


def test_ids_unique_and_systems_parse():
    tasks = list_tasks()
    ids = [t.id for t in tasks]
    assert len(ids) == len(set(ids))
    for t in tasks:
        assert system_from_id(t.system_id).id == t.system_id
        assert isinstance(t.net_hyper, tuple)
        hash(t)  # frozen and hashable
        with pytest.raises(dataclasses.FrozenInstanceError):
            t.dense_steps = 1  # type: ignore[misc]


def test_paper_tasks_present_with_paper_budgets():
    for kappa in ("0.1", "1", "2", "3.04438", "4", "5", "6"):
        for alpha in ("1", "2.5", "5"):
            t = get_task(f"tfim2d-10x10-k{kappa}-ffnn-a{alpha}")
            assert (t.dense_steps, t.round_steps, t.n_samples, t.n_chains) == (10_000, 1_000, 1024, 16)
            assert (t.learning_rate, t.sr_shift, t.prune_fraction) == (0.008, 1e-3, 0.12)
            assert t.system_id == f"tfim2d-10x10-obc-k{kappa}"
    for L in range(4, 11):
        assert get_task(f"tfim2d-{L}x{L}-k3.04438-ffnn-a8").hyper == {"alpha": 8.0}
    cnn = get_task("tfim2d-10x10-k3.04438-cnn")
    assert (cnn.learning_rate, cnn.prune_fraction) == (0.001, 0.05)
    res = get_task("tfim2d-10x10-k3.04438-rescnn-f16-b4")
    assert res.scope == "global" and res.hyper == {"nf": 16, "nb": 4}
    for alpha in ("4", "8", "16", "32"):
        t = get_task(f"toric-3-ffnn-a{alpha}")
        assert (t.dense_steps, t.round_steps, t.system_id) == (2000, 200, "toric-3")
    for L in (4, 5):
        for net in ("ffnn-a1", "ffnn-a2.5", "ffnn-a5", "ffnn-a8", "cnn", "rescnn-f16-b4"):
            get_task(f"tfim2d-{L}x{L}-k3.04438-{net}")


def test_quick_and_test_tasks():
    q = get_task("toric-3-ffnn-a8-quick")
    assert not q.exact and q.system_id == "toric-3" and q.hyper == {"alpha": 8.0}
    assert quick_variant("toric-3-ffnn-a8") == q
    assert quick_variant("toric-3-ffnn-a8-quick") == q
    with pytest.raises(LthbenchError):
        quick_variant("toric-3-ffnn-a32")
    tiny = get_task("tiny-tfim-3x3")
    assert tiny.is_test and tiny not in list_tasks(include_test=False)


def test_unknown_task_is_one_line_error():
    with pytest.raises(LthbenchError) as err:
        get_task("tfim2d-11x11-nope")
    assert "\n" not in str(err.value)


def test_control_rounds_and_steps():
    t = TaskSpec(id="x", system_id="toric-2", net="ffnn", net_hyper=(("alpha", 1.0),), dense_steps=10,
                 round_steps=2, n_rounds=7, control_every=3, n_eval_steps=0)
    assert t.control_rounds() == [3, 6, 7]
    assert t.control_rounds(2) == [2]
    assert total_steps(t) == 10 + 7 * 2 + 9 * 10
    assert total_steps(t, n_controls=0) == 10 + 7 * 2


def test_to_dict_is_json_able():
    import json

    d = get_task("tfim2d-10x10-k3.04438-rescnn-f16-b4").to_dict()
    assert json.loads(json.dumps(d))["net_hyper"] == {"nb": 4, "nf": 16}


def test_dense_weights_and_cost_from_shapes():
    pytest.importorskip("lthbench.nets")
    from lthbench.tasks import dense_weight_count

    assert dense_weight_count(get_task("toric-3-ffnn-a8")) == 18 * 144
    assert dense_weight_count(get_task("tfim2d-10x10-k3.04438-ffnn-a2.5")) == 100 * 250
    assert dense_weight_count(get_task("tfim2d-10x10-k3.04438-cnn")) == 36
    assert dense_weight_count(get_task("tfim2d-10x10-k3.04438-rescnn-f16-b4")) == 18_432
    quick = estimated_cost(get_task("toric-3-ffnn-a8-quick"))
    paper = estimated_cost(get_task("tfim2d-10x10-k3.04438-ffnn-a5"))
    assert 0 < quick["seconds"] < paper["seconds"]


def test_train_config():
    vmc = pytest.importorskip("lthbench.vmc")
    if not hasattr(vmc, "TrainConfig"):
        pytest.skip("lthbench.vmc.TrainConfig not available yet")
    cfg = get_task("toric-3-ffnn-a8-quick").train_config(123)
    assert cfg.n_steps == 123
