"""Standard tasks: registry, stable ids, specs that match the paper, sizes and costs without training."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from lthbench.errors import LthbenchError
from lthbench.experiment import (
    TaskSpec,
    estimated_cost,
    get_task,
    list_tasks,
    quick_variant,
    schedule_counts,
    spec_hash,
    total_steps,
)
from lthbench.systems import system_from_id

HASHES = Path(__file__).with_name("task_spec_hashes.json")


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


def test_every_task_id_is_pinned_to_its_spec():
    """An id is never silently repurposed: each id's spec hash is committed in task_spec_hashes.json."""
    pinned = json.loads(HASHES.read_text())
    registered = {t.id: spec_hash(t) for t in list_tasks()}
    how = (
        "Task ids are stable (results files refer to them): register the changed spec under a NEW id "
        "(e.g. another suffix) and keep the old one. Only if the id never produced a result anyone kept, "
        "re-pin it with `lthbench tasks --spec-hashes > tests/experiment/task_spec_hashes.json` and say so in the commit."
    )
    changed = sorted(i for i, h in registered.items() if i in pinned and pinned[i] != h)
    assert not changed, f"spec of task id(s) {', '.join(changed)} changed. {how}"
    unpinned = sorted(set(registered) - set(pinned))
    assert not unpinned, (
        f"new task id(s) {', '.join(unpinned)} have no pinned spec hash: add them with "
        "`lthbench tasks --spec-hashes > tests/experiment/task_spec_hashes.json`"
    )
    removed = sorted(set(pinned) - set(registered))
    assert not removed, f"task id(s) {', '.join(removed)} were removed; ids are never removed. {how}"


def test_spec_hash_covers_numbers_not_prose():
    t = get_task("toric-3-ffnn-a8")
    assert spec_hash(dataclasses.replace(t, description="other words")) == spec_hash(t)
    for change in ({"round_steps": 201}, {"n_rounds": 52}, {"prune_fraction": 0.13}, {"reference_id": "x"}):
        assert spec_hash(dataclasses.replace(t, **change)) != spec_hash(t), change


def test_schedule_counts_follow_the_removal_rule():
    # CNN: 36 weights at p 0.05; rint rounds half to even (1.5 -> 2, 0.5 -> 0): ends at n = 10.
    cnn = schedule_counts((36,), 0.05, "layer", 100)
    assert cnn[:7] == [36, 34, 32, 30, 28, 27, 26]
    assert cnn[-1] == 10 and len(cnn) == 23
    assert schedule_counts((36,), 0.05, "layer", 3) == [36, 34, 32, 30]
    # Layer scope stops only when no layer loses a weight; global scope counts the total.
    assert schedule_counts((3, 3), 0.12, "layer", 10) == [6]
    assert schedule_counts((3, 3), 0.12, "global", 10) == [6, 5, 4]
    assert schedule_counts((10, 3), 0.12, "layer", 10) == [13, 12, 11, 10, 9, 8, 7]


def test_paper_schedules_and_where_they_stop():
    """Issue 12's rounds per paper task, controls every 3rd round, and each description's stop point."""
    listed = {
        f"tfim2d-10x10-k{k}-ffnn-a{a}": n
        for k in ("0.1", "1", "2", "3.04438", "4", "5", "6")
        for a, n in (("5", 65), ("2.5", 60), ("1", 54))
    }
    listed.update({f"tfim2d-{L}x{L}-k3.04438-ffnn-a8": n for L, n in zip(range(4, 11), (51, 58, 64, 69, 65, 74, 74))})
    listed.update({"tfim2d-10x10-k3.04438-cnn": 31, "tfim2d-10x10-k3.04438-rescnn-f16-b4": 43})
    listed.update({f"toric-3-ffnn-a{a}": n for a, n in (("4", 47), ("8", 53), ("16", 58), ("32", 64))})
    for tid, n in listed.items():
        t = get_task(tid)
        assert (t.n_rounds, t.control_every) == (n, 3), tid
        assert t.prune_fraction == (0.05 if "cnn" in tid and "rescnn" not in tid else 0.12)
        assert f"{n} rounds of p" in t.description


def test_descriptions_state_the_stop_round():
    pytest.importorskip("lthbench.nets")
    for t in list_tasks():
        m = re.search(r"(?:ends at|to) round (\d+) \(n = (\d+)", t.description)
        if not m:
            assert t.id.endswith("-quick") or t.is_test or "small:" in t.description, t.id
            continue
        schedule = t.alive_schedule()
        assert (t.last_round(), schedule[-1]) == (int(m.group(1)), int(m.group(2))), t.id
        stalls = len(t.alive_schedule(t.n_rounds + 1)) - 1 == t.last_round()
        assert ("would remove no weight" in t.description) == stalls, t.id


def test_chain_ends_at_the_first_round_that_would_remove_nothing(tmp_path):
    """run_protocol itself stops there: tiny 3 x 3 (81 weights, p 0.3) ends at round 11 with n = 1."""
    pytest.importorskip("lthbench.vmc")
    from lthbench.experiment import run_protocol
    from lthbench.results import RunStore

    t = dataclasses.replace(
        get_task("tiny-tfim-3x3"), id="tiny-stop", n_rounds=30, control_every=0, dense_steps=2, round_steps=1
    )
    assert t.last_round() == 11 and t.control_rounds() == []
    store = RunStore(tmp_path / "r.nc")
    keys = run_protocol(t, controls=(), store=store, progress=False)
    assert [k.round for k in keys] == list(range(12))
    assert [store.read_record(k)["n_alive"] for k in keys] == t.alive_schedule()


def test_control_rounds_and_steps():
    t = TaskSpec(
        id="x",
        system_id="toric-2",
        net="ffnn",
        net_hyper=(("alpha", 1.0),),
        dense_steps=10,
        round_steps=2,
        n_rounds=7,
        control_every=3,
        n_eval_steps=0,
    )
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
    from lthbench.experiment import dense_weight_count

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


CPU = "-cpu"


def test_cpu_family_covers_every_figure_entry():
    cpu = {t.id: t for t in list_tasks() if t.id.endswith(CPU)}
    kc = "3.04438"
    fig1 = [
        f"tfim2d-4x4-k{kc}-ffnn-a5-cpu",
        f"tfim2d-4x4-k{kc}-cnn-cpu",
        f"tfim2d-4x4-k{kc}-rescnn-f4-b2-cpu",
        f"tfim2d-5x5-k{kc}-ffnn-a5-cpu",
    ]
    fig2 = [f"tfim2d-4x4-k{k}-ffnn-a{a}-cpu" for k in ("0.1", "1", "2", kc, "4", "5", "6") for a in ("1", "2.5", "5")]
    fig3 = [f"tfim2d-{L}x{L}-k{kc}-ffnn-a8-cpu" for L in (4, 5, 6)]
    fig4 = [f"toric-3-ffnn-a{a}-cpu" for a in ("4", "8", "16", "32")]
    assert set(cpu) == set(fig1) | set(fig2) | set(fig3) | set(fig4)
    with_controls = set(fig1) | {"toric-3-ffnn-a8-cpu"}  # Fig 2's alpha 5 at kappa_c is Fig 1's task
    for tid, t in cpu.items():
        assert t.control_every == (6 if tid in with_controls else 0), tid
        assert (t.n_samples, t.n_chains, t.learning_rate, t.sr_shift) == (
            1024,
            16,
            0.001 if "-cnn" in tid else 0.008,
            1e-3,
        )
        assert t.prune_fraction == (0.05 if "-cnn" in tid else 0.12)
        assert (
            f"{t.dense_steps} dense + {t.round_steps} per round" in t.description
            and "cut vs the paper" in t.description
        )
    for tid in fig4:
        assert (cpu[tid].dense_steps, cpu[tid].round_steps) == (2000, 200)  # the paper's toric-code budget
    assert cpu[f"tfim2d-6x6-k{kc}-ffnn-a8-cpu"].reference == "tfim2d-6x6-obc-k3.04438"  # the refs' DMRG row
    assert "nf 16 nb 4 -> nf 4 nb 2" in cpu[fig1[2]].description


def test_cpu_family_budget_for_three_seeds():
    """Issue 12: the whole family, 3 seeds, about 30 hours of this 2-core machine (by the cost model)."""
    pytest.importorskip("lthbench.nets")
    hours = 3 * sum(estimated_cost(t)["seconds"] for t in list_tasks() if t.id.endswith(CPU)) / 3600
    assert 25 < hours < 35, hours


CALIBRATION = Path(__file__).resolve().parents[2] / "benchmarks" / "cost_model_calibration.json"
MODEL_FACTOR = 2.0  # docs/tasks.md: the model's stated accuracy against measured CPU seconds per step


def test_cost_model_matches_the_committed_measurements():
    """Each measured CPU time per step (benchmarks/cost_model.py on this machine) within MODEL_FACTOR of the model."""
    pytest.importorskip("lthbench.nets")
    from lthbench.experiment import dense_weight_count, step_seconds

    report = json.loads(CALIBRATION.read_text())
    assert len(report["cases"]) >= 8
    for case in report["cases"]:
        overrides = {k: eval(v) for k, v in case.get("overrides", {}).items()}  # noqa: S307 - our own repr()s
        t = dataclasses.replace(get_task(case["task"]), **overrides)
        for label, density in (("dense", 1.0), ("masked", report["masked_density"])):
            n_alive = None if density >= 1.0 else round(density * dense_weight_count(t))
            ratio = case[label]["cpu_seconds_per_step"] / step_seconds(t, n_alive)
            assert 1 / MODEL_FACTOR <= ratio <= MODEL_FACTOR, (case["task"], label, ratio)
    for chain in report.get("chains", []):
        t = dataclasses.replace(
            get_task(chain["task"]),
            dense_steps=chain["dense_steps"],
            round_steps=chain["round_steps"],
            n_rounds=chain["rounds"],
            control_every=6,
        )
        ratio = chain["cpu_seconds"] / estimated_cost(t)["seconds"]
        assert 1 / MODEL_FACTOR <= ratio <= MODEL_FACTOR, (chain["task"], ratio)


@pytest.mark.parametrize("argv", [["--filter", "-cpu"], ["--filter=-cpu"]])
def test_filter_takes_a_value_starting_with_a_dash(argv, capsys):
    """`lthbench tasks --filter -cpu` (docs/tasks.md) and `--filter=-cpu` list only the CPU tasks."""
    from lthbench.cli import main

    assert main(["tasks", *argv]) == 0
    rows = [line.split()[0] for line in capsys.readouterr().out.splitlines()[2:] if line.strip()]
    ids = [r for r in rows if r.startswith(("tfim", "toric"))]
    assert ids and all(r.endswith("-cpu") for r in ids)
