"""`lthbench sweep`: the cell graph, in-process and on a 2-worker Dask LocalCluster, resume after a kill.

Uses the test-only task tiny-tfim-3x3 (exact mode, 3 rounds, 10 cells per chain): the quick TC/TFIM
tasks take minutes per chain on 2 cores, the tiny one seconds, and the graph and store logic are the same.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lthbench import sweep
from lthbench.cli import main
from lthbench.errors import LthbenchError
from lthbench.experiment import run_protocol
from lthbench.results import CellKey, RunStore

TINY = "tiny-tfim-3x3"
VOLATILE = ("wall_time", "samples_per_s")
REPO = Path(__file__).resolve().parents[2]
MAG = "magnitude/imp-wr/rewind=trained"


def records(store) -> dict:
    return {CellKey.from_record(r): {k: v for k, v in r.items() if k not in VOLATILE} for r in store.records()}


def assert_same(got: dict, want: dict, rtol: float = 0.0):
    """Same cells, same fields; floats equal (rtol=0) or within rtol (other processes: the exact
    reference energy comes from a Lanczos run whose last bits vary between processes)."""
    assert got.keys() == want.keys()
    for key in want:
        a, b = got[key], want[key]
        assert a.keys() == b.keys(), key
        for f in b:
            x, y = a[f], b[f]
            if isinstance(y, float) and math.isnan(y):
                assert isinstance(x, float) and math.isnan(x), (key, f)
            elif isinstance(y, float) and rtol:
                assert x == pytest.approx(y, rel=rtol, abs=1e-12), (key, f)
            else:
                assert x == y, (key, f)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """`run_protocol` (what `lthbench run` calls) for magnitude and random, seeds 0 and 1."""
    store = RunStore(tmp_path_factory.mktemp("ref") / "ref.nc")
    for method in ("magnitude", "random"):
        for seed in (0, 1):
            run_protocol(TINY, method=method, seed=seed, store=store, progress=False)
    return records(store)


def write_spec(path: Path, methods=("magnitude",)) -> Path:
    path.write_text(f'tasks = ["{TINY}"]\nmethods = {list(methods)!r}\nseeds = "0-1"\n'.replace("'", '"'))
    return path


# -- spec and plan (no training) -------------------------------------------------------------------


def test_spec_product_patterns_and_errors(tmp_path):
    spec = sweep.parse_spec(
        {
            "tasks": ["tfim2d-*x*-k3.04438-ffnn-a8"],
            "methods": ["magnitude", "random"],
            "protocols": ["imp-wr", "imp-ct"],
            "rewind": ["trained", "init"],
            "seeds": [0, 2],
        }
    )
    tasks = {c.task for c in spec.chains}
    assert tasks == {f"tfim2d-{L}x{L}-k3.04438-ffnn-a8" for L in range(4, 11)}
    # per task: 2 methods x (imp-wr x 2 rewinds + imp-ct once) x 2 seeds
    assert len(spec.chains) == len(tasks) * 2 * 3 * 2
    assert {c.seed for c in spec.chains} == {0, 2}
    assert {c.rewind for c in spec.chains if c.protocol == "imp-ct"} == {"trained"}
    quick = sweep.parse_spec({"tasks": "toric-3-ffnn-a8", "quick": True, "controls": "none"})
    assert [(c.task, c.controls) for c in quick.chains] == [("toric-3-ffnn-a8-quick", ())]
    for bad in (
        {"methods": ["magnitude"]},
        {"tasks": ["nope-*"]},
        {"tasks": [TINY], "colour": 1},
        {"tasks": [TINY], "rounds": 0},
        {"tasks": [TINY], "protocols": ["imp-xx"]},
        {"tasks": [TINY], "seeds": "2-1"},
        {"tasks": [TINY], "controls": ["ticket", "bogus"]},
    ):
        with pytest.raises(LthbenchError):
            sweep.parse_spec(bad)
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("tasks = [\n")
    with pytest.raises(LthbenchError, match="cannot parse"):
        sweep.load_spec(bad_toml)


def test_plan_is_topological_with_shared_dense_round():
    spec = sweep.parse_spec({"tasks": [TINY], "methods": ["magnitude", "random"], "seeds": "0-1"})
    cells = sweep.plan(spec.chains)
    # 3 rounds, controls at rounds 2 and 3: 4 IMP cells + 2 x 3 controls per chain, 4 chains
    assert len(cells) == 4 * 10 and len({c.key for c in cells}) == len(cells)
    position = {c.key: i for i, c in enumerate(cells)}
    for cell in cells:
        assert all(position[d] < position[cell.key] for d in cell.deps)
        k = cell.key
        if k.control != "imp":
            assert cell.deps == (CellKey(k.task, k.method, "imp", k.round, k.seed),)
        elif k.round > 0:
            assert cell.deps == (CellKey(k.task, k.method, "imp", k.round - 1, k.seed),)
        elif k.method.startswith("random"):  # random's dense round copies magnitude's of the same seed
            assert cell.deps == (CellKey(k.task, MAG, "imp", 0, k.seed),)
        else:
            assert cell.deps == ()


def test_missing_dask_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    spec = write_spec(tmp_path / "s.toml")
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` raises ImportError
    assert main(["sweep", str(spec), "--out", str(tmp_path / "o.nc"), "--scheduler", "local"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lthbench[dist]" in err
    assert not Path(f"{tmp_path / 'o.nc'}.cells").exists() or not list(Path(f"{tmp_path / 'o.nc'}.cells").iterdir())


# -- executing sweeps ------------------------------------------------------------------------------


def test_inprocess_sweep_cells_equal_run_protocol_cells(tmp_path, reference):
    spec = sweep.load_spec(write_spec(tmp_path / "s.toml", ("magnitude", "random")))
    out = tmp_path / "sweep.nc"
    report = sweep.run_sweep(spec, str(out), scheduler="inprocess", progress=False)
    assert len(report.computed) == 40 and not report.skipped
    store = RunStore(out, create=False)
    assert_same(records(store), reference)  # bit for bit: same process, same keys, same code
    # the merged dataset holds every cell
    from lthbench.results import dataset_to_records, load_dataset

    assert len(dataset_to_records(load_dataset(out))) == 40
    # rerun: nothing to do
    again = sweep.run_sweep(spec, str(out), scheduler="inprocess", progress=False, finalize=False)
    assert again.computed == [] and len(again.skipped) == 40


def test_batched_controls_give_the_unbatched_cells(tmp_path, reference):
    """batch_controls: each round's three controls train as one batched program, stored as three cells
    that match run_protocol's (separate trainings, same keys) to floating-point tolerance."""
    spec = sweep.parse_spec({"tasks": [TINY], "seeds": 0, "batch_controls": True})
    cells = sweep.plan(spec.chains)
    assert len(cells) == 4 + 2 and sum(len(c.keys) for c in cells) == 10  # 2 control nodes of 3 cells
    out = tmp_path / "batched.nc"
    report = sweep.run_sweep(spec, str(out), scheduler="inprocess", progress=False)
    assert sorted(report.computed) == sorted(report.planned) and len(report.planned) == 10
    want = {k: v for k, v in reference.items() if k.method == MAG and k.seed == 0}
    got = records(RunStore(out, create=False))
    assert_same(got, want, rtol=1e-9)
    assert any(
        got[k]["energy"] != got[CellKey(TINY, MAG, "imp", k.round, 0)]["energy"] for k in got if k.control != "imp"
    )  # controls are real trainings, not copies


def test_local_cluster_sweep_matches_inprocess_and_survives_a_killed_worker(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    spec = sweep.load_spec(write_spec(tmp_path / "s.toml"))
    out = tmp_path / "dask.nc"
    killed = []
    ran_in = {}  # dask key of each cell -> pid of the process that finished it
    with sweep.local_cluster(2, threads_per_worker=1) as cluster, distributed.Client(cluster) as client:

        def on_cell(info):
            ran_in[f"lthbench-cell-{CellKey.from_record(info['key']).stem}"] = info["pid"]
            if killed:
                return
            # kill (SIGKILL) a worker that is busy with a cell right now; its nanny starts a new one
            for addr, keys in client.processing().items():
                if keys:
                    pid = client.run(os.getpid, workers=[addr])[addr]
                    os.kill(pid, signal.SIGKILL)
                    killed.append((pid, list(keys)))
                    return

        report = sweep.run_sweep(spec, str(out), client=client, progress=False, on_cell=on_cell)
        after = set(client.run(os.getpid).values())
    assert killed, "no worker was busy after the first cell"
    assert killed[0][0] not in after  # the killed process is gone; the sweep still finished
    assert not report.failed and len(report.planned) == 20
    pid, in_flight = killed[0]
    assert in_flight and set(in_flight) <= set(ran_in)
    assert all(ran_in[k] != pid for k in in_flight)  # the killed worker's cells finished elsewhere
    want = {k: v for k, v in reference.items() if k.method == MAG}
    assert_same(records(RunStore(out, create=False)), want, rtol=1e-9)


def test_killed_sweep_rerun_computes_only_the_missing_cells(tmp_path, reference):
    spec_path = write_spec(tmp_path / "s.toml")
    out = tmp_path / "killed.nc"
    cells = Path(f"{out}.cells")
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lthbench",
            "sweep",
            str(spec_path),
            "--out",
            str(out),
            "--scheduler",
            "inprocess",
            "--no-progress",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if cells.is_dir() and len(list(cells.glob("[!.]*.json"))) >= 6:
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"sweep ended before it was killed: {proc.stderr.read().decode()[-500:]}"
    proc.kill()
    proc.wait()
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in cells.glob("[!.]*.json")}
    finished = {CellKey.from_record(r) for r in RunStore(out, create=False).records()}
    assert 6 <= len(finished) < 20
    report = sweep.run_sweep(sweep.load_spec(spec_path), str(out), scheduler="inprocess", progress=False)
    assert set(report.skipped) == finished
    assert set(report.computed) == set(report.planned) - finished  # only the missing cells
    for p in cells.glob("[!.]*.json"):  # the finished cells were not rewritten
        if p.name in before:
            assert (p.stat().st_mtime_ns, p.read_bytes()) == before[p.name]
    want = {k: v for k, v in reference.items() if k.method == MAG}
    assert_same(records(RunStore(out, create=False)), want, rtol=1e-9)


# -- hyperparameters, budgets, identity, plug-ins on workers -----------------------------------------


def test_spec_methods_with_kwargs_and_budget_overrides():
    from lthbench.experiment import chain_fingerprint, get_task

    spec = sweep.parse_spec(
        {
            "tasks": [TINY, {"id": "tiny-toric-2", "dense_steps": 7, "rounds": 2}],
            "methods": [
                "synflow[iterations=20]",
                {"name": "synflow", "kwargs": {"iterations": 20}},
                {"name": "synflow", "kwargs": {"iterations": 10}},
            ],
            "round_steps": 3,
            "controls": "none",
        }
    )
    labels = {sweep.chain_label(c) for c in spec.chains}
    assert labels == {"synflow[iterations=20]/imp-wr/rewind=trained", "synflow/imp-wr/rewind=trained"}
    by_task = {c.task: c for c in spec.chains}
    tiny, toric = sweep.chain_task(by_task[TINY]), sweep.chain_task(by_task["tiny-toric-2"])
    assert (tiny.dense_steps, tiny.round_steps) == (get_task(TINY).dense_steps, 3)
    assert (toric.dense_steps, toric.round_steps, by_task["tiny-toric-2"].n_rounds) == (7, 3, 2)
    assert (
        chain_fingerprint(tiny, "magnitude", "imp-wr", "trained")[3]
        != chain_fingerprint(get_task(TINY), "magnitude", "imp-wr", "trained")[3]
    )
    cells = sweep.plan([c for c in spec.chains if c.task == "tiny-toric-2"][:1])
    assert len(cells) == 3  # 2 rounds from the task table, no controls


def test_progress_counts_controls_and_evaluation():
    """The bars' unit is a training or evaluation step: a chain's planned cells sum to the cost
    model's steps (dense + rounds + controls at the dense budget + evaluations)."""
    from lthbench.experiment import get_task, total_steps

    spec = sweep.parse_spec({"tasks": [TINY], "rounds": 3})
    cells = sweep.plan(spec.chains)
    assert sum(sweep.cell_steps(c) for c in cells) == total_steps(get_task(TINY), 3, 3)
    controls = [c for c in cells if c.key.control != "imp"]
    assert sum(sweep.cell_steps(c) for c in controls) > sum(sweep.cell_steps(c) for c in cells if c not in controls)


def test_sweep_refuses_cells_of_another_budget(tmp_path):
    out = tmp_path / "o.nc"
    cells = Path(f"{out}.cells")
    cells.mkdir()
    store = RunStore(out, create=False)
    ref_store = RunStore(tmp_path / "r.nc")
    run_protocol(TINY, store=ref_store, controls=(), n_rounds=1, progress=False)
    for f in Path(f"{ref_store.out_path}.cells").glob("[!.]*"):
        (cells / f.name).write_bytes(f.read_bytes())
    spec = sweep.parse_spec({"tasks": [{"id": TINY, "dense_steps": 10}], "controls": "none", "rounds": 1})
    with pytest.raises(LthbenchError, match="task.dense_steps 20 -> 10") as info:
        sweep.run_sweep(spec, str(out), scheduler="inprocess", progress=False)
    assert "--fresh" in str(info.value)
    report = sweep.run_sweep(spec, str(out), scheduler="inprocess", progress=False, fresh=True)
    assert len(report.computed) == 2 and not report.skipped
    assert {r["identity"]["task"]["dense_steps"] for r in store.records()} == {10}


PLUGIN = '''
import jax, numpy as np
from lthbench.pruning import ScoreMethod

class Sharp(ScoreMethod):
    """|w|^power: orders like magnitude, but it is a user method in a module of its own."""
    name = "sharp"

    def __init__(self, power: float = 1.0):
        self.power = float(power)

    def scores(self, params, mask, key, context):
        return jax.tree_util.tree_map(lambda w: np.abs(np.asarray(w)) ** self.power, params)
'''


@pytest.mark.slow  # a second LocalCluster start (~45 s on 2 cores); the killed-worker test covers Dask by default
def test_user_plugin_runs_on_a_local_dask_cluster(tmp_path, monkeypatch):
    """A method from a module outside the package (tmp_path) is uploaded to the workers: without the
    upload the workers fail with `No module named 'sweep_plugin_mod'`."""
    distributed = pytest.importorskip("distributed")
    plugdir = tmp_path / "plug"
    plugdir.mkdir()
    (plugdir / "sweep_plugin_mod.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(plugdir))
    spec = sweep.parse_spec(
        {"tasks": [TINY], "methods": ["sweep_plugin_mod:Sharp[power=2]"], "controls": "none", "rounds": 1}
    )
    out = tmp_path / "plugin.nc"
    with sweep.local_cluster(2, threads_per_worker=1) as cluster, distributed.Client(cluster) as client:
        report = sweep.run_sweep(spec, str(out), client=client, progress=False)
        workers = set(client.run(os.getpid).values())
    assert not report.failed and len(report.computed) == 2
    label = "sweep_plugin_mod:Sharp[power=2.0]/imp-wr/rewind=trained"
    recs = RunStore(out, create=False).records()
    assert {r["method"] for r in recs} == {label}
    assert os.getpid() not in workers
    # the workers' fingerprint (their copy of the module) is the client's: an in-process rerun resumes
    again = sweep.run_sweep(spec, str(out), scheduler="inprocess", progress=False)
    assert again.computed == [] and len(again.skipped) == 2


def test_plugin_paths_cover_packages_and_files(tmp_path, monkeypatch):
    """--plugin puts a package's parent on sys.path; the sweep ships the package as a zip that holds
    it under its own name (what a worker then imports)."""
    import importlib
    import zipfile

    pytest.importorskip("distributed")
    pkg = tmp_path / "plugpkg_x"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text(PLUGIN)
    monkeypatch.setattr(sys, "path", list(sys.path))
    sweep.add_plugins_to_path([str(pkg)])
    importlib.import_module("plugpkg_x.mod")
    chains = [sweep.ChainSpec(TINY, "plugpkg_x.mod:Sharp"), sweep.ChainSpec(TINY, "magnitude")]
    assert sweep.plugin_paths(chains) == [pkg.resolve()]
    with pytest.raises(LthbenchError, match="does not exist"):
        sweep.plugin_paths(chains, [str(tmp_path / "nope.py")])

    class Capture:
        def __init__(self):
            self.files = []

        def register_plugin(self, plugin, name=None):
            self.files.append((plugin.filename, plugin.data))

    client = Capture()
    sweep.upload_plugins(client, [pkg.resolve()])
    ((name, data),) = client.files
    import io

    assert name == "plugpkg_x.zip"
    assert sorted(zipfile.ZipFile(io.BytesIO(data)).namelist()) == ["plugpkg_x/__init__.py", "plugpkg_x/mod.py"]
