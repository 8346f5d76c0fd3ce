"""Property-based fuzz of the command line (hypothesis): any arguments to `lthbench run` and any sweep
spec file end with exit 0 or 2, no Python traceback, no hang, and a user error is one stderr line.

Bounded to seconds: tiny tasks only, training replaced by a stub that stops the run with a user
error the moment it would start (so every path up to training is exercised, none trains), and sweeps
with --dry-run.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lthbench.cli import main
from lthbench.errors import LthbenchError
from lthbench.experiment import training

FUZZ = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TASKS = ["tiny-tfim-3x3", "tiny-toric-2", "tiny-*", "no-such-task", ""]
WORDS = [
    "",
    "nan",
    "inf",
    "-1",
    "0",
    "1",
    "3",
    "1e9",
    "1000000000",
    "0.5",
    "1.5",
    ":Name",
    "a:b",
    "x[",
    "none",
    "magnitude",
    "random",
    "snip",
    "synflow",
    "synflow[iterations=20]",
    "synflow[iterations=0]",
    "synflow[x=1]",
    "lthbench.pruning.methods:SynFlow[iterations=3]",
    "no_such_mod:F",
    "0-2",
    "2-1",
    "ticket,bogus",
    "ticket",
    "trained",
    "init",
    "step:5",
    "step:100000",
    "imp-wr",
    "imp-ct",
    "irp-wr",
    "imp-xx",
]
VALUES = st.one_of(
    st.sampled_from(WORDS),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=8),
)
RUN_OPTIONS = [
    "--method",
    "--protocol",
    "--rewind",
    "--controls",
    "--seeds",
    "--rounds",
    "--final-density",
    "--dense-steps",
    "--round-steps",
    "--n-samples",
]


class Alarm(Exception):
    pass


def _alarm(signum, frame):
    raise Alarm("lthbench hung")


def run_cli(argv: list[str], seconds: int = 60) -> tuple[int, str]:
    """(exit code, stderr) of main(argv) in this process, failing the test if it takes > seconds."""
    err = io.StringIO()
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse usage errors
                code = exc.code if isinstance(exc.code, int) else 2
                return code, "usage"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    return code, err.getvalue()


def check(code: int, err: str) -> None:
    assert code in (0, 2), err
    assert "Traceback" not in err, err
    if code == 2 and err != "usage":
        assert len(err.strip().splitlines()) == 1, err


@pytest.fixture
def stub_training(monkeypatch):
    def stop(*args, **kwargs):
        raise LthbenchError("fuzz stub: training would start here")

    monkeypatch.setattr(training, "train", stop)


@FUZZ
@given(
    task=st.sampled_from(TASKS),
    options=st.lists(st.tuples(st.sampled_from(RUN_OPTIONS), VALUES), max_size=4),
    flags=st.lists(st.sampled_from(["--quick", "--fresh"]), max_size=2, unique=True),
)
@example(task="tiny-tfim-3x3", options=[("--method", ":Name")], flags=[])  # once a traceback (issue 16)
@example(
    task="tiny-tfim-3x3", options=[("--final-density", "1e-9")], flags=[]
)  # unreachable: a one-line error (once exit 0)
def test_run_arguments(tmp_path, stub_training, task, options, flags):
    argv = [
        "run",
        task,
        *[x for pair in options for x in pair],
        *flags,
        "--out",
        str(tmp_path / "r.nc"),
        "--no-progress",
    ]
    check(*run_cli(argv))


SPEC_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(10**10), 10**10), st.floats(allow_nan=False), st.sampled_from(WORDS)
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["id", "name", "kwargs", "iterations", "dense_steps", "rounds", "n_samples", "x"]),
            inner,
            max_size=3,
        ),
    ),
    max_leaves=6,
)
SPEC_KEYS = [
    "tasks",
    "methods",
    "protocols",
    "rewind",
    "controls",
    "seeds",
    "rounds",
    "quick",
    "batch_controls",
    "dense_steps",
    "round_steps",
    "n_samples",
    "plugins",
    "colour",
]


@FUZZ
@given(
    spec=st.dictionaries(st.sampled_from(SPEC_KEYS), SPEC_VALUES, max_size=5),
    tasks=st.lists(
        st.one_of(
            st.sampled_from(TASKS),
            st.fixed_dictionaries(
                {"id": st.sampled_from(TASKS)},
                optional={"dense_steps": st.integers(-2, 50), "rounds": st.integers(-2, 20)},
            ),
        ),
        max_size=2,
    ),
)
@example(spec={"controls": 3}, tasks=["tiny-tfim-3x3"])  # once a traceback (issue 16)
@example(spec={"rounds": 10**9}, tasks=["tiny-tfim-3x3"])  # once a 1e9-cell plan under --dry-run
def test_sweep_spec_files(tmp_path, stub_training, spec, tasks):
    if tasks:
        spec = {**spec, "tasks": tasks}
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    check(*run_cli(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "o.nc")]))


@FUZZ
@given(data=st.binary(max_size=64))
@example(data=b"tasks = ['\xff']\n")  # not UTF-8: once a traceback
def test_sweep_spec_bytes(tmp_path, data):
    path = tmp_path / "spec.toml"
    path.write_bytes(data)
    check(*run_cli(["sweep", str(path), "--dry-run", "--out", str(tmp_path / "o.nc")]))
