"""The mutation test of the accuracy gate (slow): every knob of the coverage table, perturbed one at a
time (x 1.5, a toggle, a swap, an injected code change), must make the gate fail with a moved value in
that knob's cells. Each mutation runs in a fresh process (no cache carries over), as the documented
command does: `python -m lthbench.regression --mutate all --report docs/mutation-report.md`. Also the
update command end to end: a pure addition under --same-numerics on a copy of the reference."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from lthbench.bench.gate import cells, mutate, mutations, reference

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("m", mutations.MUTATIONS, ids=[m.name for m in mutations.MUTATIONS])
def test_gate_catches_mutation(m):
    result = mutate.run_mutation(m, str(reference.REFERENCE_PATH))
    assert result["rc"] == 1, result
    assert result["caught"], result


def test_update_same_numerics_pure_addition_appends_history(tmp_path):
    """Drop one gate task from a copy of the reference, re-add it with --same-numerics: the values come back
    bit for bit (fixed keys), history gains one entry listing them as added, and nothing is 'changed'."""
    task = "toric2-exact"
    path = tmp_path / "ref.json"
    shutil.copy(reference.REFERENCE_PATH, path)
    ref = json.loads(path.read_text())
    full = dict(ref["values"])
    ref["values"] = {n: v for n, v in full.items() if cells.task_of(n) != task}
    path.write_text(json.dumps(ref))
    cmd = [
        sys.executable,
        "-m",
        "lthbench.regression",
        "--update",
        "--same-numerics",
        "--only",
        task,
        "--reference",
        str(path),
        "--why",
        "test: pure addition",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    new = json.loads(path.read_text())
    assert new["values"] == full
    entry = new["history"][-1]
    assert entry["why"] == "test: pure addition" and entry["changed"] == [] and entry["removed"] == []
    assert {n for n, _ in entry["added"]} == {n for n in full if cells.task_of(n) == task}
    assert len(new["history"]) == len(ref["history"]) + 1
