"""Fault injection: what a careful user can do wrong, or what can go wrong around a run, each ends in
the identical result or in one line on stderr with exit 2 (issue 16).

Everything runs the test-only task tiny-tfim-3x3 in this process (`lthbench.cli.main`), mostly with
`--controls none --rounds 1` (two cells), so each case is seconds of training after the first.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lthbench.cli import main
from lthbench.errors import LthbenchError
from lthbench.experiment import chain, get_task, run_protocol, training
from lthbench.pruning.methods import Magnitude, SynFlow
from lthbench.pruning.registry import method_name
from lthbench.pruning.select import ScoreMethod
from lthbench.results import CellKey, RunStore, load_dataset

TINY = "tiny-tfim-3x3"
MAG = "magnitude/imp-wr/rewind=trained"
VOLATILE = ("wall_time", "samples_per_s")
SHORT = ["--controls", "none", "--rounds", "1", "--no-progress"]


def one_line_error(code, err, *words):
    assert code == 2, err
    assert err.strip().count("\n") == 0 and "Traceback" not in err and "error" in err, err
    for w in words:
        assert w in err, (w, err)


def records(out) -> dict:
    return {
        CellKey.from_record(r): {k: v for k, v in r.items() if k not in VOLATILE}
        for r in RunStore(out, create=False).records()
    }


def same(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        for f in a[k]:
            x, y = a[k][f], b[k].get(f)
            if not (x == y or isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y)):
                return False
    return True


def write_module(tmp_path, monkeypatch, name: str, source: str) -> str:
    """A user module outside the package, importable as `name` (fresh: any cached import is dropped)."""
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop(name, None)
    importlib.invalidate_caches()
    return name


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted two-cell run every fault below is compared against."""
    out = tmp_path_factory.mktemp("ref") / "ref.nc"
    assert main(["run", TINY, "--out", str(out), *SHORT]) == 0
    return out, records(out)


# -- cell identity ---------------------------------------------------------------------------------

METHOD_V1 = """
from lthbench.pruning import ScoreMethod
import numpy as np, jax

class Mine(ScoreMethod):
    name = "mine"
    def scores(self, params, mask, key, context):
        return jax.tree_util.tree_map(lambda w: np.abs(np.asarray(w)), params)
"""


def test_edited_user_method_is_not_reused_silently(tmp_path, monkeypatch, cli):
    mod = write_module(tmp_path, monkeypatch, "fault_edit_v", METHOD_V1)
    out = tmp_path / "r.nc"
    assert cli("run", TINY, "--method", f"{mod}:Mine", "--out", out, *SHORT)[0] == 0
    before = records(out)
    write_module(tmp_path, monkeypatch, mod, METHOD_V1.replace("np.abs(np.asarray(w))", "-np.abs(np.asarray(w))"))
    code, _, err = cli(
        "run",
        TINY,
        "--method",
        f"{mod}:Mine",
        "--out",
        out,
        "--controls",
        "none",
        "--rounds",
        "2",
        "--no-progress",
    )
    one_line_error(code, err, "source code changed", "--fresh")
    assert records(out) == before  # nothing mixed in
    code, msg, err = cli("run", TINY, "--method", f"{mod}:Mine", "--out", out, "--fresh", *SHORT)
    assert code == 0, err
    after = records(out)
    key = CellKey(TINY, f"{mod}:Mine/imp-wr/rewind=trained", "imp", 1, 0)
    assert after[key]["energy"] != before[key]["energy"]  # the new code's numbers, not the old ones
    assert after[key]["fingerprint"] != before[key]["fingerprint"]


def test_task_spec_with_an_existing_id_and_other_settings_is_refused(tmp_path):
    store = RunStore(tmp_path / "r.nc")
    task = dataclasses.replace(get_task(TINY), control_every=0)
    run_protocol(task, store=store, controls=(), n_rounds=1, progress=False)
    other = dataclasses.replace(task, learning_rate=task.learning_rate * 2)
    with pytest.raises(LthbenchError, match="task.learning_rate") as info:
        run_protocol(other, store=store, controls=(), n_rounds=1, progress=False)
    assert "\n" not in str(info.value)
    # a second method on the same task spec shares its dense round and is accepted
    run_protocol(task, store=store, method="random", controls=(), n_rounds=1, progress=False)


class Nameless(ScoreMethod):
    def scores(self, params, mask, key, context):
        return params


class AlsoNameless(ScoreMethod):
    def scores(self, params, mask, key, context):
        return params


class MagnitudeTweak(Magnitude):  # inherits magnitude's name, but is not magnitude
    pass


def test_nameless_classes_and_instances_with_other_kwargs_get_their_own_labels():
    names = {method_name(Nameless()), method_name(AlsoNameless()), method_name(MagnitudeTweak())}
    assert names == {f"{__name__}:Nameless", f"{__name__}:AlsoNameless", f"{__name__}:MagnitudeTweak"}
    assert method_name(SynFlow(iterations=5)) == "synflow[iterations=5]"
    assert method_name(SynFlow(iterations=20)) == "synflow[iterations=20]"
    assert method_name(SynFlow()) == method_name(SynFlow(iterations=10)) == "synflow"  # defaults: today's label


def test_fingerprint_does_not_depend_on_process_cwd_or_order(tmp_path):
    """Today's baselines on today's tasks: the same fingerprint in another process, another working
    directory, another hash seed and another order."""
    pairs = [(t, m) for t in (TINY, "tiny-toric-2", "toric-3-ffnn-a8-quick") for m in ("magnitude", "snip", "synflow")]
    code = (
        "import json,sys; from lthbench.experiment import get_task; from lthbench.experiment import chain_fingerprint;"
        "pairs=json.loads(sys.argv[1]);"
        "print(json.dumps({t+' '+m: chain_fingerprint(get_task(t), m, 'imp-wr', 'trained')[3] for t, m in pairs}))"
    )
    here = {f"{t} {m}": chain.chain_fingerprint(get_task(t), m, "imp-wr", "trained")[3] for t, m in pairs}
    env = {**os.environ, "PYTHONHASHSEED": "12345", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(pairs[::-1])],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == here
    assert len(set(here.values())) == len(here)
    assert all(len(fp) == 64 for fp in here.values())


# -- validation before spending --------------------------------------------------------------------


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(training, "train", refuse)


def test_huge_rounds_are_refused_before_anything_is_built(tmp_path, cli, no_training):
    out = tmp_path / "r.nc"
    for extra in (["--controls", "none"], []):
        code, _, err = cli("run", TINY, "--rounds", "1000000000", "--out", out, "--no-progress", *extra)
        one_line_error(code, err, "at most 11")
    spec = tmp_path / "s.toml"
    spec.write_text(f'tasks = ["{TINY}"]\nrounds = 1000000000\n')
    code, _, err = cli("sweep", spec, "--out", out, "--dry-run")
    one_line_error(code, err, "at most 11")
    assert not Path(f"{out}.cells").exists()


def test_unreachable_final_density_is_an_error(tmp_path, cli, no_training):
    code, _, err = cli("run", TINY, "--final-density", "0.001", "--out", tmp_path / "r.nc", "--no-progress")
    one_line_error(code, err, "unreachable")


def test_foreign_output_file_is_refused_before_training(tmp_path, cli, no_training):
    import xarray as xr

    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(foreign, engine="h5netcdf")
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"not netcdf at all")
    for path in (foreign, junk):
        before = path.read_bytes()
        code, _, err = cli("run", TINY, "--out", path, *SHORT)
        one_line_error(code, err, "not an lthbench results file")
        assert path.read_bytes() == before and not Path(f"{path}.cells").exists()
        for cmd in (["report", path, "--out", tmp_path / "rep"], ["compare", path]):
            one_line_error(*cli(*cmd)[::2])


def test_missing_scheduler_file_errors_at_once(tmp_path, cli):
    spec = tmp_path / "s.toml"
    spec.write_text(f'tasks = ["{TINY}"]\n')
    code, _, err = cli("sweep", spec, "--out", tmp_path / "o.nc", "--scheduler-file", tmp_path / "none.json")
    one_line_error(code, err, "scheduler file")


def test_dry_run_never_computes(tmp_path, cli, no_training):
    spec = tmp_path / "s.toml"
    spec.write_text(
        f'tasks = ["{TINY}"]\nmethods = ["magnitude", {{name = "synflow", kwargs = {{iterations = 20}}}}]\n'
    )
    code, out, err = cli("sweep", spec, "--out", tmp_path / "o.nc", "--dry-run")
    assert code == 0, err
    assert "2 chains, 20 cells: 0 finished, 20 to run" in out
    assert not (tmp_path / "o.nc.cells").exists()


@pytest.mark.parametrize(
    "text, words",
    [
        ("tasks = ['tiny-tfim-3x3']\ncontrols = 3\n", ["controls"]),
        ("tasks = ['tiny-tfim-3x3']\nseeds = 1.5\n", ["seeds"]),
        ("tasks = ['tiny-tfim-3x3']\nmethods = [{name = 'synflow', kwargs = {iters = 2}}]\n", ["valid: iterations"]),
        ("tasks = [{id = 'tiny-tfim-3x3', dense_steps = 0}]\n", ["dense_steps"]),
        ("tasks = ['tiny-tfim-3x3', {id = 'tiny-tfim-3x3', round_steps = 2}]\n", ["twice"]),
    ],
)
def test_bad_spec_values_are_one_line_errors(tmp_path, cli, text, words):
    spec = tmp_path / "s.toml"
    spec.write_text(text)
    one_line_error(*cli("sweep", spec, "--out", tmp_path / "o.nc", "--dry-run")[::2], *words)


def test_non_utf8_spec(tmp_path, cli):
    spec = tmp_path / "s.toml"
    spec.write_bytes(b"tasks = ['\xff\xfe']\n")
    one_line_error(*cli("sweep", spec, "--dry-run")[::2], "UTF-8")


# -- user methods: one line, method and round named, --debug shows their traceback -----------------

BAD_METHODS = """
import jax, numpy as np
from lthbench.pruning import ScoreMethod, METHODS

def raises(params, mask, n_remove, key, context):
    raise RuntimeError("my method broke")

def two_args(params, mask):
    return mask

class LongScores(ScoreMethod):
    name = "long-scores"
    def scores(self, params, mask, key, context):
        return jax.tree_util.tree_map(lambda w: np.ones(np.size(w) + 1), params)

class NanScores(ScoreMethod):
    name = "nan-scores"
    def scores(self, params, mask, key, context):
        return jax.tree_util.tree_map(lambda w: np.full(np.shape(w), np.nan), params)

def writes_in_place(params, mask, n_remove, key, context):
    for leaf in jax.tree_util.tree_leaves(params):
        leaf[...] = 0.0
    return METHODS["magnitude"](params, mask, n_remove, key, context)
"""


@pytest.mark.parametrize(
    "name, words",
    [
        ("raises", ["'fault_bad:raises'", "round 1", "my method broke"]),
        ("two_args", ["must take (params, mask, n_remove, key, context)"]),
        ("LongScores", ["long-scores", "shape"]),
        ("NanScores", ["nan-scores", "NaN"]),
        ("writes_in_place", ["round 1", "read-only"]),
    ],
)
def test_misbehaving_user_methods_are_one_line_errors(tmp_path, monkeypatch, cli, name, words):
    write_module(tmp_path, monkeypatch, "fault_bad", BAD_METHODS)
    code, _, err = cli("run", TINY, "--method", f"fault_bad:{name}", "--out", tmp_path / "r.nc", *SHORT)
    one_line_error(code, err, *words)
    assert not (tmp_path / "r.nc").exists()


def test_debug_shows_the_user_traceback(tmp_path, monkeypatch, cli):
    write_module(tmp_path, monkeypatch, "fault_dbg", BAD_METHODS)
    code, _, err = cli("run", TINY, "--method", "fault_dbg:raises", "--out", tmp_path / "r.nc", *SHORT, "--debug")
    assert code == 2 and "Traceback" in err and "fault_dbg.py" in err and 'raise RuntimeError("my method broke")' in err


@pytest.mark.parametrize(
    "source, words",
    [
        ("def f(:\n", ["cannot import", "line 1", "SyntaxError"]),
        ("raise ImportError('needs torch')\n", ["cannot import", "needs torch"]),
        ("x = 1 / 0\n", ["cannot import", "ZeroDivisionError"]),
    ],
)
def test_broken_user_modules_are_one_line_errors(tmp_path, monkeypatch, cli, source, words):
    write_module(tmp_path, monkeypatch, "fault_broken", source)
    one_line_error(*cli("run", TINY, "--method", "fault_broken:f", "--out", tmp_path / "r.nc", *SHORT)[::2], *words)


@pytest.mark.parametrize(
    "spec", [":Name", "synflow[iterations=0]", "synflow[depth=3]", "synflow[iterations=2.5]", "magnitude[", "pkg.:"]
)
def test_bad_method_specs(tmp_path, cli, spec):
    one_line_error(*cli("run", TINY, "--method", spec, "--out", tmp_path / "r.nc", *SHORT)[::2])


def test_a_method_mutating_its_params_cannot_corrupt_the_rewind_target(tmp_path, monkeypatch):
    """Replacing leaves in the params dict it was given changes only the method's copy: round 1 still
    starts from the dense-trained weights under the new mask."""
    starts = []
    real = training.train

    def spy(task, system, ansatz, params, mask, n_steps, key):
        starts.append((params, mask))
        return real(task, system, ansatz, params, mask, n_steps, key)

    monkeypatch.setattr(training, "train", spy)

    def clobber(params, mask, n_remove, key, context):
        from lthbench.pruning import METHODS

        new = METHODS["magnitude"](params, mask, n_remove, key, context)
        for module in params:
            params[module] = {k: np.zeros_like(v) for k, v in params[module].items()}
        return new

    store = RunStore(tmp_path / "r.nc")
    run_protocol(TINY, store=store, method=clobber, controls=(), n_rounds=2, progress=False)
    label = method_name(clobber) + "/imp-wr/rewind=trained"
    dense = store.read_artifacts(CellKey(TINY, label, "imp", 0, 0))["params"]
    for start, mask in starts[1:]:
        for module in dense:
            np.testing.assert_array_equal(start[module]["w"], dense[module]["w"] * mask[module]["w"])
        assert any(np.any(start[m]["w"] != 0) for m in start)


# -- files -----------------------------------------------------------------------------------------


def test_a_second_run_on_a_locked_output_says_who_holds_it(tmp_path, cli, no_training):
    out = tmp_path / "r.nc"
    with RunStore(out).lock():
        code, _, err = cli("run", TINY, "--out", out, *SHORT)
        one_line_error(code, err, f"pid {os.getpid()}", "another --out")
    assert not out.exists()


def test_bench_refuses_to_overwrite_a_results_file(reference, tmp_path, cli):
    out, _ = reference
    before = out.read_bytes()
    one_line_error(*cli("bench", "--suite", "tiny", "--kernels", "sweep", "--out", out)[::2], "results file")
    assert out.read_bytes() == before


def test_damaged_and_misplaced_cells_are_one_line_errors(reference, tmp_path, cli):
    src, _ = reference
    for damage in ("truncate", "swap"):
        out = tmp_path / damage / "r.nc"
        out.parent.mkdir()
        cells = Path(f"{out}.cells")
        cells.mkdir()
        files = sorted(Path(f"{src}.cells").glob("[!.]*.json"))
        for f in Path(f"{src}.cells").glob("[!.]*"):
            (cells / f.name).write_bytes(f.read_bytes())
        if damage == "truncate":
            (cells / files[0].name).write_bytes(files[0].read_bytes()[:50])
        else:  # a record moved under another cell's file name
            (cells / files[0].name).write_bytes(files[1].read_bytes())
        code, _, err = cli("run", TINY, "--out", out, *SHORT)
        one_line_error(code, err, "damaged cell file", files[0].name)


def test_files_follow_the_umask_temp_files_are_cleaned_and_counts_are_honest(reference, tmp_path, cli):
    src, _ = reference
    out = tmp_path / "r.nc"
    cells = Path(f"{out}.cells")
    cells.mkdir()
    stale = [cells / ".x.json.abc123.tmp", tmp_path / f".{out.name}.def456.tmp"]
    for p in stale:
        p.write_bytes(b"left by a killed run")
    old = os.umask(0o022)
    try:
        code, msg, err = cli("run", TINY, "--out", out, *SHORT)
    finally:
        os.umask(old)
    assert code == 0, err
    assert "2 computed now, 0 reused" in msg
    assert not any(p.exists() for p in stale)
    for path in [out, *cells.glob("[!.]*")]:
        assert (path.stat().st_mode & 0o777) == 0o644, path
    code, msg, err = cli("run", TINY, "--out", out, *SHORT)
    assert code == 0 and "0 computed now, 2 reused" in msg


@pytest.mark.parametrize("crash_at", [1, 2, 3, 4, 5])
def test_crash_at_each_write_point_then_rerun_gives_the_identical_result(
    reference, tmp_path, monkeypatch, cli, crash_at
):
    """The run dies (as if killed) at the n-th file move: cell npz, cell json, ..., the results file."""
    _, want = reference
    out = tmp_path / "r.nc"
    import lthbench.atomic as atomic

    calls = []
    real = os.replace

    def replace(a, b):
        calls.append(b)
        if len(calls) == crash_at:
            raise KeyboardInterrupt  # stands in for SIGKILL between writing the temp file and moving it
        return real(a, b)

    monkeypatch.setattr(atomic.os, "replace", replace)
    assert cli("run", TINY, "--out", out, *SHORT)[0] == 130
    monkeypatch.setattr(atomic.os, "replace", real)
    code, _, err = cli("run", TINY, "--out", out, *SHORT)
    assert code == 0, err
    assert same(records(out), want)
    assert load_dataset(out)["energy"].count() == 2


# -- results files ---------------------------------------------------------------------------------


def test_schema_versions_old_read_new_refused(reference, tmp_path, cli):
    import h5netcdf

    src, _ = reference
    ds = load_dataset(src)
    assert int(ds.attrs["schema_version"]) == 2 and "fingerprint" in ds
    assert {str(x) for x in ds["fingerprint"].values.ravel()} == {
        records(src)[CellKey(TINY, MAG, "imp", 0, 0)]["fingerprint"]
    }
    old = tmp_path / "v1.nc"
    v1 = ds.drop_vars("fingerprint")
    v1.attrs = {k: v for k, v in ds.attrs.items() if k != "schema_version"}
    v1.attrs["lthbench_schema"] = "1"
    v1.to_netcdf(old, engine="h5netcdf")
    assert float(load_dataset(old)["energy"].sum()) == float(ds["energy"].sum())  # read as it is
    code, _, err = cli("run", TINY, "--out", old, *SHORT)  # resumed into: its cells stay
    assert code == 0, err
    future = tmp_path / "v99.nc"
    future.write_bytes(src.read_bytes())
    with h5netcdf.File(future, "a") as fh:
        fh.attrs["schema_version"] = 99
    with pytest.raises(LthbenchError, match="schema version 99"):
        load_dataset(future)
    one_line_error(*cli("run", TINY, "--out", future, *SHORT)[::2], "schema version 99")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes everywhere")
def test_read_only_output_directory(tmp_path, cli):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        one_line_error(*cli("run", TINY, "--out", ro / "r.nc", *SHORT)[::2], "not writable")
    finally:
        ro.chmod(0o755)


def test_a_task_field_added_at_its_default_keeps_fingerprints():
    """A knob another layer adds to TaskSpec (say an SR solver) leaves fingerprints alone at its default
    and changes them when set, so landing it does not invalidate long resumable runs."""
    from lthbench.experiment import TaskSpec
    from lthbench.experiment.identity import task_identity

    Extended = dataclasses.make_dataclass(
        "Extended", [("sr_solver", str, dataclasses.field(default="cholesky"))], bases=(TaskSpec,), frozen=True
    )
    base = get_task(TINY)
    same_task = Extended(**dataclasses.asdict(base))
    assert task_identity(same_task) == task_identity(base)
    assert task_identity(dataclasses.replace(same_task, sr_solver="cg"))["sr_solver"] == "cg"
    assert task_identity(dataclasses.replace(base, n_rounds=9, control_every=1)) == task_identity(base)
