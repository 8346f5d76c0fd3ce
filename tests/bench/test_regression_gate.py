"""The accuracy regression gate (`python -m lthbench.regression`, lthbench.bench.gate; .ci/run runs it after the
tests): coverage of every task knob, the comparisons in both directions, the across-seed test's
false-alarm rate, the reference file and its update rule, and a real gate run that names the value and
both numbers when the training is changed on purpose. The mutation test is tests/bench/test_gate_mutation.py
(slow)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math

import numpy as np
import pytest

from lthbench import regression
from lthbench.bench.gate import cells, coverage, mutations, reference, verdict
from lthbench.bench.gate.main import fixed_key_verdicts
from lthbench.errors import LthbenchError
from lthbench.experiment import TaskSpec, list_tasks
from lthbench.numerics import NUMERICS_VERSION
from lthbench.provenance import cpu_features
from lthbench.vmc import TrainConfig


def test_every_task_and_train_config_field_is_covered_or_exempt():
    """A field added to TaskSpec or TrainConfig later fails here until it gets a gate cell (KNOBS, with a
    mutation) or an exemption with a reason (EXEMPT)."""
    fields = {f.name for f in dataclasses.fields(TaskSpec)} | {f.name for f in dataclasses.fields(TrainConfig)}
    uncovered = fields - set(coverage.KNOBS) - set(coverage.EXEMPT)
    assert not uncovered, f"fields without a gate cell or exemption: {sorted(uncovered)}"
    assert not set(coverage.KNOBS) & set(coverage.EXEMPT)
    assert all(len(why) > 10 for why in coverage.EXEMPT.values())
    for knob in coverage.KNOBS:
        assert knob in fields or knob.startswith(("run:", "code:")), knob
    assert set(coverage.EXEMPT) <= fields  # no stale exemption


def test_every_knob_has_a_mutation_and_cells_that_exist():
    ref = reference.load_reference()
    stored_cells = {cells.split_value_name(n)[0] for n in ref["values"]}
    names = [m.name for m in mutations.MUTATIONS]
    assert len(names) == len(set(names))
    mutated = {m.knob for m in mutations.MUTATIONS}
    assert mutated == set(coverage.KNOBS), set(coverage.KNOBS) ^ mutated
    for knob, k in coverage.KNOBS.items():
        for pattern in k.cells:
            assert any(coverage.matches(c, [pattern]) for c in stored_cells), (knob, pattern)
    for m in mutations.MUTATIONS:  # the mutated tasks are valid specs of the knob's tasks
        assert [gt.name for gt in mutations.mutated_tasks(m)] == list(m.tasks)


def test_gate_tasks_are_not_standard_tasks():
    standard = {t.id for t in list_tasks()}
    for gt in cells.GATE_TASKS:
        assert gt.spec.id == f"gate-{gt.name}" and gt.spec.id not in standard
    assert {gt.name for gt in cells.GATE_TASKS if gt.monte_carlo} >= {"tfim3x3-mc", "toric2-mc"}
    assert all(
        len(gt.seeds) >= 3 and len(gt.stat_seeds) >= 8 and not set(gt.seeds) & set(gt.stat_seeds)
        for gt in cells.GATE_TASKS
        if gt.stat_seeds
    )


def test_fixed_key_comparison_is_two_sided_at_1e_10():
    stored = {
        "t/imp@r0/s0:energy": -10.0,
        "t/imp@r0/s0:rel_error": 1e-3,
        "t/imp@r0/s0:n_alive": 0.0,
        "t/imp@r1/s0:energy": -9.0,
        "t/imp@r0/s0:variance": math.nan,
        "other/imp@r0/s0:energy": 1.0,
    }
    # rel_error (in [0, 1]) is compared absolutely: 1e-10 of it is 1e-10 relative of the energy
    measured = {
        "t/imp@r0/s0:energy": -10.0 * (1 + 5e-11),
        "t/imp@r0/s0:rel_error": 1e-3 - 2e-10,
        "t/imp@r0/s0:n_alive": 0.0,
        "t/imp@r0/s0:variance": math.nan,
        "t/imp@r2/s0:energy": -8.0,
    }
    v = {x["name"]: x for x in verdict.compare_values(measured, stored, tasks=["t"])}
    assert "other/imp@r0/s0:energy" not in v  # a task not run is not judged
    assert v["t/imp@r0/s0:energy"]["status"] == "ok"
    assert v["t/imp@r0/s0:rel_error"]["status"] == "MOVED"  # better is a change too
    assert v["t/imp@r0/s0:n_alive"]["status"] == "ok" and v["t/imp@r0/s0:variance"]["status"] == "ok"
    assert v["t/imp@r1/s0:energy"]["status"] == "MISSING" and v["t/imp@r2/s0:energy"]["status"] == "NEW"
    worse = verdict.compare_values({"t/imp@r0/s0:energy": -10.0 * (1 - 2e-10)}, stored, tasks=["t"])[0]
    assert worse["status"] == "MOVED"
    assert verdict.compare_values({"t/imp@r0/s0:n_alive": 1.0}, {"t/imp@r0/s0:n_alive": 0.0})[0]["status"] == "MOVED"
    assert verdict.compare_values({"a/x@r0/s0:e": math.nan}, {"a/x@r0/s0:e": 1.0})[0]["status"] == "MOVED"
    assert verdict.compare_values({"a/x@r0/s0:e": 1e-3 + 5e-11}, {"a/x@r0/s0:e": 1e-3})[0]["status"] == "ok"


def test_a_moved_value_line_names_the_value_and_both_numbers():
    m, s = -9.12345679012345, -9.123456789
    line = verdict.format_value_verdict(
        verdict.compare_values({"t/ticket@r2/s0:energy": m}, {"t/ticket@r2/s0:energy": s})[0]
    )
    assert line.startswith("MOVED t/ticket@r2/s0:energy: ") and "\n" not in line
    assert f"measured {m!r}" in line and f"stored {s!r}" in line and "change" in line


def test_holm_and_t_test():
    rejected = verdict.holm({"a": 0.001, "b": 0.004, "c": 0.03, "d": 0.5}, alpha=0.02)
    assert rejected == {"a": True, "b": True, "c": False, "d": False}  # 0.001<0.005, 0.004<0.00667, 0.03>0.01
    assert verdict.holm({"a": 0.003, "b": 0.002}, alpha=0.01) == {"a": True, "b": True}
    assert verdict.t_test_p([1.0, 1.0], [1.0, 1.0, 1.0]) == 1.0
    assert verdict.t_test_p([2.0, 2.0], [1.0, 1.0]) == 0.0
    assert verdict.t_test_p([0.0, 1.0, 2.0], [0.0, 1.0, 2.0, 1.0]) == pytest.approx(1.0)


def test_across_seed_test_false_alarm_rate_is_at_most_alpha():
    """Under the null (gate seeds and stored seeds from one normal distribution) the family-wise
    false-alarm rate of t-test + Holm over 4 cells, 3 vs 8 seeds (the gate's layout), is <= ALPHA = 1%
    (2000 trials: binomial standard error 0.2%); a 5-sigma shift of one cell is caught most of the time."""
    rng = np.random.default_rng(0)
    trials, alarms, hits = 2000, 0, 0
    for _ in range(trials):
        dists = {f"t/c{i}@r0": {"values": list(rng.normal(size=8))} for i in range(4)}
        samples = {f"t/c{i}@r0": list(rng.normal(size=3)) for i in range(4)}
        alarms += any(v["status"] != "ok" for v in verdict.compare_distributions(samples, dists))
        if _ < 200:
            shifted = dict(samples, **{"t/c0@r0": list(rng.normal(size=3) + 5.0)})
            hits += any(v["status"] != "ok" for v in verdict.compare_distributions(shifted, dists))
    assert alarms / trials <= verdict.ALPHA + 3 * math.sqrt(verdict.ALPHA / trials)
    assert hits / 200 > 0.5


def test_committed_reference_matches_the_code():
    ref = reference.load_reference()
    assert ref["format"] == reference.FORMAT and ref["numerics_version"] == NUMERICS_VERSION
    assert ref["platform"]["backend"] == "cpu" and ref["rtol"] == verdict.RTOL
    tasks = {cells.task_of(n) for n in ref["values"]}
    assert tasks == {gt.name for gt in cells.GATE_TASKS}
    for gt in cells.GATE_TASKS:
        seeds = {cells.split_value_name(n)[1] for n in ref["values"] if cells.task_of(n) == gt.name}
        assert seeds == set(gt.seeds), gt.name
        for cell in {cells.split_value_name(n)[0] for n in ref["values"] if cells.task_of(n) == gt.name}:
            if gt.stat_seeds:
                assert ref["distributions"][cell]["seeds"] == list(gt.stat_seeds)
    last = ref["history"][-1]
    assert last["why"] and last["numerics_version"] == NUMERICS_VERSION and last["git_commit"]


def test_update_rule():
    old = {"numerics_version": 3, "values": {}}
    with pytest.raises(LthbenchError, match="--why"):
        reference.check_update_allowed(old, 4, False, "  ", partial=False)
    with pytest.raises(LthbenchError, match="bumped above the reference's 3"):
        reference.check_update_allowed(old, 3, False, "refactor", partial=False)
    with pytest.raises(LthbenchError, match="drop --only"):
        reference.check_update_allowed(old, 4, False, "new engine", partial=True)
    with pytest.raises(LthbenchError, match="equal numerics versions"):
        reference.check_update_allowed(old, 4, True, "new cells", partial=True)
    reference.check_update_allowed(old, 4, False, "new engine", partial=False)
    reference.check_update_allowed(old, 3, True, "new cells", partial=True)
    reference.check_update_allowed({"values": {}}, 1, False, "first format-2 reference", partial=False)  # v0


def test_update_writes_the_diff_of_numbers_into_history():
    old = {
        "format": 2,
        "numerics_version": 1,
        "values": {
            "a/imp@r0/s0:energy": -1.0,
            "a/imp@r0/s0:n_alive": 9.0,
            "b/imp@r0/s0:energy": -2.0,
            "a/imp@r1/s0:energy": -3.0,
        },
        "history": [{"why": "first"}],
    }
    new, entry = reference.updated_reference(
        old,
        values={"a/imp@r0/s0:energy": -1.5, "a/imp@r0/s0:n_alive": 9.0, "a/ticket@r1/s0:energy": -4.0},
        distributions={},
        walls={"a": 1.0},
        tasks=["a"],
        numerics_version=2,
        why="lr changed",
        command="cmd",
        commit="abc",
        machine="m",
        platform_info={"backend": "cpu"},
    )
    assert entry["changed"] == [["a/imp@r0/s0:energy", -1.0, -1.5]]
    assert entry["added"] == [["a/ticket@r1/s0:energy", -4.0]] and entry["removed"] == [["a/imp@r1/s0:energy", -3.0]]
    assert new["values"]["b/imp@r0/s0:energy"] == -2.0  # a task not re-recorded is kept
    assert [h["why"] for h in new["history"]] == ["first", "lr changed"]
    assert entry["numerics_version"] == 2 and entry["previous_numerics_version"] == 1 and entry["git_commit"] == "abc"
    with pytest.raises(LthbenchError, match="moved or vanished"):
        reference.check_pure_addition(entry)
    reference.check_pure_addition({"changed": [], "removed": [], "added": [["x", 1.0]]})


def _copy_reference(tmp_path, **changes):
    ref = reference.load_reference()
    ref.update(changes)
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref))
    return ref, path


def test_gate_refuses_another_numerics_version_and_bad_input(tmp_path, capsys):
    _, path = _copy_reference(tmp_path, numerics_version=NUMERICS_VERSION + 1)
    assert regression.main(["--reference", str(path)]) == 2
    assert regression.main(["--only", "no-such-task"]) == 2
    assert regression.main(["--reference", str(tmp_path / "missing.json")]) == 2
    assert regression.main(["--update", "--reference", str(path), "--why", "x"]) == 2  # version not bumped
    assert regression.main(["--update", "--reference", str(path)]) == 2  # no --why
    assert regression.main(["--mutate", "no-such-mutation"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 6 and all(line.startswith("lthbench regression gate: error:") for line in err)
    assert "NUMERICS_VERSION" in err[0]


def test_an_intended_change_names_each_moved_value_with_both_numbers(capsys):
    """A real run of one gate task with its optimiser swapped (adam -> sgd, injected as the mutation test
    does, in the gate's worker process): exit 1, and each moved value's line carries the stored number
    exactly as the reference file has it and the new measured one. (That the unchanged code reproduces
    the reference is what CI's gate step checks, right after the tests.)"""
    task = "toric2-exact"
    ref = reference.load_reference()
    assert regression.main(["--only", task, "--apply-mutation", "optimizer swap"]) == 1
    out, err = capsys.readouterr()
    assert "mutation 'optimizer swap'" in out
    err = err.strip().splitlines()
    assert err[-1].startswith("accuracy gate:") and "change(s)" in err[-1]
    moved = [line for line in err[:-1] if line.startswith("MOVED")]
    assert moved and len(moved) == len(err) - 1
    name = f"{task}/imp@r0/s0:energy"
    line = next(ln for ln in moved if ln.startswith(f"MOVED {name}:"))
    stored = float(line.split("stored ")[1].split(" ")[0])
    measured = float(line.split("measured ")[1].split(",")[0])
    assert stored == ref["values"][name] and measured != stored and math.isfinite(measured)


def test_float32_values_are_exact_only_on_the_recording_cpu_kind(capsys):
    """A float32 net's moved value fails the gate when the reference was recorded on this CPU's vector
    instruction sets, and is reported (not failed) on another CPU kind; a float64 net's fails on both."""
    args = argparse.Namespace(statistical_only=False, verbose=False)
    here = cpu_features()
    for name, is_float32 in (("tfim3x3-rescnn", True), ("tfim3x3-mc", False)):
        gt = cells.gate_task(name, cells.GATE_TASKS)
        assert gt.float32 is is_float32
        key = f"{name}/imp@r0/s0:energy"
        measured, stored = {key: -9.0 * (1 + 1e-6)}, {key: -9.0}
        for features, fails in ((here, True), (here + " avx9000", not is_float32)):
            ref = {"values": stored, "platform": {"cpu_features": features}}
            bad = fixed_key_verdicts(args, [gt], measured, {}, ref)
            assert bool(bad) is fails, (name, features)
            if not fails:
                assert "not failed" in capsys.readouterr().out
