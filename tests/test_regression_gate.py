"""The accuracy regression gate (`python -m lthbench.regression`, run by .ci/run after the tests):
its verdicts, the committed reference file, and a real gate run that fails when a worse value is
injected into the reference."""

from __future__ import annotations

import json
import math

import pytest

from lthbench import regression


def _entry(ref, rtol=0.05, atol=0.0):
    return {"reference": ref, "rtol": rtol, "atol": atol}


def test_compare_fails_only_beyond_tolerance_and_never_for_better_values():
    reference = {"values": {"t/imp@r0": _entry(1e-3), "t/ticket@r2": _entry(1e-2, atol=1e-4),
                            "t/reinit@r2": _entry(1e-2), "other/imp@r0": _entry(1.0)}}
    measured = {"t/imp@r0": 1.06e-3, "t/ticket@r2": 1.059e-2, "t/reinit@r2": 4e-3}
    verdicts = {v["name"]: v for v in regression.compare(measured, reference)}
    assert set(verdicts) == {"t/imp@r0", "t/ticket@r2", "t/reinit@r2"}  # 'other' was not run: not judged
    assert verdicts["t/imp@r0"]["status"] == "FAIL" and verdicts["t/imp@r0"]["allowed"] == pytest.approx(1.05e-3)
    assert verdicts["t/ticket@r2"]["status"] == "ok"  # 1.059e-2 <= 1e-2 * 1.05 + 1e-4
    assert verdicts["t/reinit@r2"]["status"] == "better"
    line = regression.format_verdict(verdicts["t/imp@r0"])
    assert line.startswith("FAIL t/imp@r0:") and "\n" not in line


@pytest.mark.parametrize("value", [math.nan, math.inf, None], ids=["nan", "inf", "missing"])
def test_compare_fails_on_nonfinite_or_missing_values(value):
    measured = {"t/imp@r1": 1e-3} if value is None else {"t/imp@r0": value}
    reference = {"values": {"t/imp@r0": _entry(1e-3)}}
    assert [v["status"] for v in regression.compare(measured, reference)] == ["FAIL"]


def test_committed_reference_covers_every_gate_value_with_noise_far_below_tolerance():
    ref = regression.load_reference()
    expected = {name for gt in regression.GATE_TASKS for name in gt.value_names()}
    assert set(ref["values"]) == expected
    for name, entry in ref["values"].items():
        assert 0 < entry["reference"] < 1 and entry["rtol"] > 0 and entry["atol"] >= 0
        spread = max(abs(r / entry["reference"] - 1.0) for r in entry["runs"])
        assert len(entry["runs"]) >= 2 and spread < entry["rtol"] / 100, name
    assert ref["command"] == regression.UPDATE_COMMAND
    assert set(ref["wall_time_s"]) == {gt.name for gt in regression.GATE_TASKS}


def test_gate_passes_on_the_reference_and_fails_on_an_injected_worse_value(tmp_path, capsys):
    """A real run of one gate task: passes against the committed values; with one reference value made
    better (so the measurement is worse than allowed) it exits 1 with one FAIL line naming the cell."""
    task = "toric2-exact-imp"
    ref = regression.load_reference()
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(ref))
    assert regression.main(["--only", task, "--reference", str(path)]) == 0
    out = capsys.readouterr()
    assert f"ok {task}/imp@r0" in out.out and "accuracy gate: passed" in out.out

    worse = json.loads(json.dumps(ref))
    entry = worse["values"][f"{task}/imp@r0"]
    entry["reference"] = entry["reference"] / (1.0 + 2.0 * entry["rtol"])  # measured now ~10% above allowed
    path.write_text(json.dumps(worse))
    assert regression.main(["--only", task, "--reference", str(path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    fails = [line for line in err if line.startswith("FAIL")]
    assert len(fails) == 1 and fails[0].startswith(f"FAIL {task}/imp@r0: rel_error")
    assert err[-1] == "accuracy gate: 1 value(s) regressed"


def test_gate_bad_input_is_a_one_line_error(tmp_path, capsys):
    assert regression.main(["--only", "no-such-task"]) == 2
    assert regression.main(["--reference", str(tmp_path / "missing.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("lthbench regression gate: error:") for line in err)
