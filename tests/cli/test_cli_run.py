"""`lthbench run`: a killed run resumes to the same records; bad input is a one-line error, exit 2,
and leaves existing result files intact. The tiny test-only task keeps this to seconds of training."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lthbench.cli import main

TINY = "tiny-tfim-3x3"
VOLATILE = {"wall_time", "samples_per_s"}
ENV = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONUNBUFFERED": "1"}


def _needs_protocol():
    pruning = pytest.importorskip("lthbench.pruning")
    if not hasattr(pruning, "run_protocol"):
        pytest.skip("lthbench.pruning.run_protocol not available yet")


def _cmd(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "lthbench", "run", TINY, "--seeds", "0", "--out", str(out), "--no-progress", *extra]


def _records(out: Path) -> dict:
    from lthbench.results import CellKey, RunStore

    recs = {}
    for r in RunStore(out, create=False).records():
        recs[CellKey.from_record(r)] = {k: v for k, v in r.items() if k not in VOLATILE}
    return recs


def _same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True


def test_killed_run_resumes_to_the_same_records(tmp_path):
    _needs_protocol()
    ref = tmp_path / "ref" / "results.nc"
    ref.parent.mkdir()
    subprocess.run(_cmd(ref), check=True, env=ENV, capture_output=True, timeout=600)
    expected = _records(ref)
    assert expected and ref.is_file()

    out = tmp_path / "killed" / "results.nc"
    out.parent.mkdir()
    cells = Path(f"{out}.cells")
    proc = subprocess.Popen(_cmd(out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            if cells.is_dir() and any(p.suffix == ".json" for p in cells.iterdir()):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "run finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    partial = _records(out)
    assert 0 < len(partial) < len(expected)
    assert not out.exists()  # the dataset is written only at the end

    done = subprocess.run(_cmd(out), env=ENV, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    got = _records(out)
    assert got.keys() == expected.keys()
    for key in expected:
        assert _same(got[key], expected[key]), (key, got[key], expected[key])
    for key in partial:  # finished cells were skipped, not recomputed
        assert _same(got[key], partial[key])

    import numpy as np

    from lthbench.results import load_dataset

    a, b = load_dataset(ref), load_dataset(out)
    for name in ("energy", "rel_error", "n_alive", "fidelity_prev", "m_z"):
        np.testing.assert_array_equal(a[name].values, b[name].values)


def _run_cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err


@pytest.fixture
def existing(tmp_path):
    out = tmp_path / "results.nc"
    out.write_bytes(b"previous results, must survive")
    return out


BAD_INPUTS = [
    ["run", "no-such-task"],
    ["run", TINY, "--final-density", "0"],
    ["run", TINY, "--final-density", "1.5"],
    ["run", TINY, "--final-density", "-0.1"],
    ["run", TINY, "--rounds", "0"],
    ["run", TINY, "--seeds", "2-1"],
    ["run", TINY, "--seeds", "a"],
    ["run", TINY, "--controls", "ticket,bogus"],
    ["run", TINY, "--rewind", "sometime"],
    ["run", TINY, "--rewind", "step:100000"],
    ["run", TINY, "--rounds", "1000000000"],
    ["run", TINY, "--final-density", "0.0001"],
    ["run", TINY, "--method", ":Name"],
    ["run", TINY, "--method", "synflow[iterations=0]"],
    ["run", TINY, "--dense-steps", "0"],
    ["run", "toric-3-ffnn-a8-quick", "--n-samples", "7"],
    ["run", "toric-3-ffnn-a32", "--quick"],
]


@pytest.mark.parametrize("argv", BAD_INPUTS, ids=lambda a: " ".join(a[1:]))
def test_bad_input_is_one_line_exit_2(argv, existing, capsys):
    code, err = _run_cli([*argv, "--out", str(existing), "--no-progress"], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0 and "error" in err and "Traceback" not in err
    assert existing.read_bytes() == b"previous results, must survive"
    assert not Path(f"{existing}.cells").exists()


def test_output_in_missing_directory(tmp_path, capsys):
    code, err = _run_cli(["run", TINY, "--out", str(tmp_path / "missing" / "r.nc"), "--no-progress"], capsys)
    assert code == 2 and err.strip().count("\n") == 0
    assert not (tmp_path / "missing").exists()


def test_unknown_method(existing, capsys):
    _needs_protocol()
    for method in ("no-such-method", "no_such_pkg.mod:Thing"):
        code, err = _run_cli(["run", TINY, "--method", method, "--out", str(existing), "--no-progress"], capsys)
        assert code == 2 and err.strip().count("\n") == 0 and "Traceback" not in err
        assert existing.read_bytes() == b"previous results, must survive"


BAD_METHOD_SRC = """
import jax

def wrong_shape(params, mask, n_remove, key, context=None):
    return jax.tree_util.tree_map(lambda m: m[..., :1], mask)

def resurrect(params, mask, n_remove, key, context=None):
    return jax.tree_util.tree_map(lambda m: m * 0 + 1, mask)
"""


@pytest.mark.parametrize("name", ["wrong_shape", "resurrect"])
def test_custom_method_returning_a_bad_mask(name, tmp_path, existing):
    _needs_protocol()
    (tmp_path / "badmethods.py").write_text(BAD_METHOD_SRC)
    env = {**ENV, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ENV.get('PYTHONPATH', '')}"}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lthbench",
            "run",
            TINY,
            "--method",
            f"badmethods:{name}",
            "--controls",
            "none",
            "--rounds",
            "2",
            "--out",
            str(existing),
            "--no-progress",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert existing.read_bytes() == b"previous results, must survive"


def test_seed_and_density_parsing():
    from lthbench.cli.run_cmd import rounds_for_density
    from lthbench.experiment import parse_controls, parse_seeds

    assert parse_seeds("0-2") == [0, 1, 2]
    assert parse_seeds("0,3") == [0, 3]
    assert parse_seeds("0-1,5,1") == [0, 1, 5]
    assert parse_controls("none") == ()
    assert parse_controls("reinit,ticket") == ("reinit", "ticket")
    assert rounds_for_density(1.0, 0.12) == 0
    assert rounds_for_density(0.88, 0.12) == 1
    assert 0.88 ** rounds_for_density(0.05, 0.12) <= 0.05 < 0.88 ** (rounds_for_density(0.05, 0.12) - 1)


def test_tasks_command_lists_the_tiny_task(capsys):
    assert main(["tasks", "--all"]) == 0
    out = capsys.readouterr().out
    assert TINY in out and "toric-3-ffnn-a8-quick" in out and "est. cost" in out
    assert main(["tasks"]) == 0
    assert TINY not in capsys.readouterr().out


def test_method_hyperparameters_and_budget_overrides_are_in_the_identity(tmp_path, capsys):
    _needs_protocol()
    import json

    from lthbench.results import load_dataset, provenance_of

    out = tmp_path / "syn.nc"
    code, err = _run_cli(
        [
            "run",
            TINY,
            "--method",
            "synflow[iterations=20]",
            "--dense-steps",
            "10",
            "--round-steps",
            "2",
            "--controls",
            "none",
            "--rounds",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ],
        capsys,
    )
    assert code == 0, err
    label = "synflow[iterations=20]/imp-wr/rewind=trained"
    recs = {r["round"]: r for r in _records(out).values()}
    assert {r["method"] for r in recs.values()} == {label}
    ident = recs[1]["identity"]
    assert ident["task"]["dense_steps"] == 10 and ident["task"]["round_steps"] == 2
    assert ident["method"] == {
        "name": "synflow[iterations=20]",
        "qualname": "lthbench.pruning:SynFlow",
        "kwargs": {"iterations": "20"},
        "source_sha256": "",
    }
    ds = load_dataset(out)
    prov = provenance_of(ds)
    assert prov["task"]["dense_steps"] == 10 and prov["method_label"] == label
    assert str(ds["fingerprint"].sel({"task": TINY, "method": label}).item()) == recs[1]["fingerprint"]
    assert json.loads(ds.attrs["fingerprints_json"]) == {TINY: {label: recs[1]["fingerprint"]}}
    # bad overrides: one line, before anything runs
    for bad in (["--dense-steps", "0"], ["--n-samples", "-3"]):
        code, err = _run_cli(["run", TINY, *bad, "--out", str(out), "--no-progress"], capsys)
        assert code == 2 and err.strip().count("\n") == 0
