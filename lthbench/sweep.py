"""Sweeps: many IMP chains (tasks x methods x protocols x rewind targets x seeds) as one task graph.

A sweep is planned as a graph of *cells* (the unit of `lthbench.results`): in each chain, IMP round r
depends on round r - 1, and every control trained at round r depends on IMP round r; the dense round 0
of a (task, seed) is trained once and copied by its other method labels (the protocol's shared dense
round). Each node runs `compute_cell`, which rebuilds the chain's state from the `RunStore` (exactly
what `run_protocol` does when it resumes), so a cell computed by the sweep, in any process and in any
order, is the cell `lthbench run` computes (same keys from `pruning.keys`, same store, same code).

Executors:
  * `inprocess`: the graph in topological order in this process (no Dask needed);
  * Dask distributed (`lthbench[dist]`): one future per unfinished cell, dependencies as futures. A
    lost worker's cells are rescheduled by the Dask scheduler (up to its `allowed-failures`); a cell
    found finished in the store is never written again, so a rerun after a crash computes only the
    missing cells.

With `batch_controls`, the controls of a round are one node instead of three: their trainings run as
one compiled program (`lthbench.vmc.batched`), each still stored as its own cell.

Spec files (TOML, or JSON with the same keys) are documented in docs/sweeps.md.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .errors import LthbenchError

BUDGET_KEYS = ("dense_steps", "round_steps", "n_samples")  # TaskSpec fields a spec may override
SPEC_KEYS = (
    "out",
    "tasks",
    "methods",
    "protocols",
    "rewind",
    "controls",
    "seeds",
    "rounds",
    "quick",
    "batch_controls",
    "plugins",
) + BUDGET_KEYS
TASK_KEYS = ("id", "rounds") + BUDGET_KEYS
BATCH_CHOICES = (False, True, "vmap", "map")
DEFAULT_CONTROLS = ("ticket", "reinit", "random-mask")


# --------------------------------------------------------------------------------------------------
# Spec


@dataclass(frozen=True)
class ChainSpec:
    """One IMP chain of a sweep: the arguments of one `run_protocol` call (all hashable)."""

    task: str
    method: str = "magnitude"
    protocol: str = "imp-wr"
    rewind: str = "trained"
    controls: tuple = DEFAULT_CONTROLS
    seed: int = 0
    n_rounds: int | None = None
    batch_controls: bool | str = False  # True/'vmap'/'map': a round's controls as one batched training
    budget: tuple = ()  # sorted (TaskSpec field, value) overrides: dense_steps, round_steps, n_samples


def chain_task(chain: ChainSpec):
    """The chain's TaskSpec: the registry's, with the chain's budget overrides (`dataclasses.replace`,
    so they are part of the cell identity)."""
    from .tasks import get_task

    return apply_budget(get_task(chain.task), dict(chain.budget))


def apply_budget(task, budget: dict):
    """`dataclasses.replace(task, **budget)` after checking each value is an integer >= 1, and that the
    result is a trainable config (n_samples a multiple of n_chains, ...). LthbenchError otherwise."""
    for name, value in budget.items():
        if name not in BUDGET_KEYS:
            raise LthbenchError(f"unknown budget override {name!r}; choose from {', '.join(BUDGET_KEYS)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise LthbenchError(f"{name} must be an integer >= 1, got {value!r}")
    if not budget:
        return task
    task = dataclasses.replace(task, **budget)
    task.train_config(1)  # the trainer's own checks (LthbenchError), before anything runs
    return task


@dataclass(frozen=True)
class SweepSpec:
    """A parsed sweep file: the chains (in run order) and the default output path."""

    chains: tuple
    out: str = "sweep.nc"
    source: dict = field(default_factory=dict, compare=False)
    plugins: tuple = ()  # files or directories shipped to Dask workers (see docs/sweeps.md)


def _as_list(value, name: str) -> list:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise LthbenchError(f"sweep spec: {name!r} must be a string or a list, got {type(value).__name__}")


def expand_tasks(patterns: Iterable[str], quick: bool = False) -> list[str]:
    """Task ids or fnmatch patterns ('tfim2d-*x*-k3.04438-ffnn-a8') -> task ids, in the given order.

    Patterns match the registry's ids (test-only 'tiny-*' tasks only when named explicitly);
    quick=True replaces each task by its '-quick' variant. LthbenchError when a pattern matches nothing.
    """
    from .tasks import get_task, list_tasks, quick_variant

    ids: list[str] = []
    for pattern in patterns:
        if any(ch in str(pattern) for ch in "*?["):
            matched = [
                t.id
                for t in list_tasks(include_test=str(pattern).startswith("tiny-"))
                if fnmatch.fnmatchcase(t.id, str(pattern))
            ]
            if not matched:
                raise LthbenchError(
                    f"sweep spec: task pattern {pattern!r} matches no task; `lthbench tasks` lists them"
                )
        else:
            matched = [get_task(str(pattern)).id]
        for tid in matched:
            tid = quick_variant(tid).id if quick else tid
            if tid not in ids:
                ids.append(tid)
    return ids


def method_spec(entry) -> str:
    """A spec's method entry -> a method spec string: 'synflow[iterations=20]' as is, or a table
    {name = 'synflow', kwargs = {iterations = 20}} -> 'synflow[iterations=20]'."""
    from .pruning.hparams import format_value, parse_method_spec

    if isinstance(entry, str):
        parse_method_spec(entry)
        return entry
    if not isinstance(entry, dict):
        raise LthbenchError(
            f"sweep spec: a method is a string or a table {{name = ..., kwargs = {{...}}}}, got {entry!r}"
        )
    unknown = sorted(set(entry) - {"name", "kwargs"})
    if unknown or not isinstance(entry.get("name"), str):
        raise LthbenchError(f"sweep spec: a method table has a string 'name' and optional 'kwargs', got {entry!r}")
    kwargs = entry.get("kwargs", {})
    if not isinstance(kwargs, dict):
        raise LthbenchError(f"sweep spec: kwargs of method {entry['name']!r} must be a table, got {kwargs!r}")
    for k, v in kwargs.items():
        if not isinstance(v, (bool, int, float, str)):
            raise LthbenchError(
                f"sweep spec: hyperparameter {k} of method {entry['name']!r} must be a number, "
                f"a boolean or a word, got {v!r}"
            )
    if parse_method_spec(entry["name"])[1]:
        raise LthbenchError(f"sweep spec: give the hyperparameters of {entry['name']!r} in kwargs, not in the name")
    text = entry["name"] + (
        f"[{','.join(f'{k}={format_value(v)}' for k, v in sorted(kwargs.items()))}]" if kwargs else ""
    )
    parse_method_spec(text)  # values the label grammar cannot hold (spaces, commas) are refused here
    return text


def _rounds_value(value, where: str):
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise LthbenchError(f"sweep spec: {where} must be an integer >= 1, got {value!r}")
    return value


def _task_entries(data: dict, quick: bool) -> list[tuple[str, int | None, tuple]]:
    """(task id, rounds, budget) for each task of the spec: strings, or tables {id = ..., rounds,
    dense_steps, round_steps, n_samples} (per-task values override the spec's top-level ones)."""
    top = {k: data[k] for k in BUDGET_KEYS if k in data}
    rounds = _rounds_value(data.get("rounds"), "rounds")
    entries: dict[str, tuple] = {}
    for item in _as_list(data["tasks"], "tasks"):
        if isinstance(item, dict):
            unknown = sorted(set(item) - set(TASK_KEYS))
            if unknown or not isinstance(item.get("id"), str):
                raise LthbenchError(
                    f"sweep spec: a task table has a string 'id' and optional {', '.join(TASK_KEYS[1:])}; got {item!r}"
                )
            pattern = item["id"]
            n = _rounds_value(item.get("rounds", rounds), f"rounds of {pattern!r}")
            budget = {**top, **{k: item[k] for k in BUDGET_KEYS if k in item}}
        elif isinstance(item, str):
            pattern, n, budget = item, rounds, dict(top)
        else:
            raise LthbenchError(f"sweep spec: a task is an id, a pattern or a table {{id = ...}}, got {item!r}")
        for tid in expand_tasks([pattern], quick):
            entry = (tid, n, tuple(sorted(budget.items())))
            if entries.setdefault(tid, entry) != entry:
                raise LthbenchError(
                    f"sweep spec: task {tid} is listed twice with different rounds or budgets "
                    "(their cells would collide; use two sweeps with two outputs)"
                )
    return list(entries.values())


def parse_spec(data: dict) -> SweepSpec:
    """A sweep spec dict (see docs/sweeps.md) -> SweepSpec. LthbenchError (one line) for bad input.

    Keys: tasks (ids, patterns, or tables {id, rounds, dense_steps, round_steps, n_samples}; required),
    methods ['magnitude'] (strings 'synflow[iterations=20]' or tables {name, kwargs}),
    protocols ['imp-wr'], rewind ['trained'], controls [ticket, reinit, random-mask] (or 'none' / []),
    seeds ('0-2', [0, 1] or 3; default 0), rounds (int; default each task's n_rounds),
    dense_steps / round_steps / n_samples (budget overrides for every task), quick (bool),
    out ('sweep.nc'), batch_controls (false | true | 'vmap' | 'map': train a round's controls as one
    batched program), plugins (files or directories to ship to Dask workers).
    The chains are the product tasks x methods x protocols x rewind x seeds, in that nesting order.
    Rounds beyond what pruning can remove are refused here (nothing is planned or trained).
    """
    from .cli.run_cmd import parse_controls, parse_seeds
    from .pruning.protocols import _check_protocol, check_rounds, parse_rewind

    if not isinstance(data, dict):
        raise LthbenchError("sweep spec must be a table (TOML) or an object (JSON)")
    unknown = sorted(set(data) - set(SPEC_KEYS))
    if unknown:
        raise LthbenchError(f"sweep spec: unknown key(s) {', '.join(unknown)}; known: {', '.join(SPEC_KEYS)}")
    if "tasks" not in data:
        raise LthbenchError("sweep spec: 'tasks' is required (task ids or patterns)")
    quick = data.get("quick", False)
    if not isinstance(quick, bool):
        raise LthbenchError(f"sweep spec: quick must be true or false, got {quick!r}")
    tasks = _task_entries(data, quick)
    methods = [method_spec(m) for m in _as_list(data.get("methods", ["magnitude"]), "methods")]
    protocols = [
        _check_protocol(_word(p, "protocols")) for p in _as_list(data.get("protocols", ["imp-wr"]), "protocols")
    ]
    rewinds = [_word(r, "rewind") for r in _as_list(data.get("rewind", ["trained"]), "rewind")]
    for r in rewinds:
        parse_rewind(r)
    controls = data.get("controls", list(DEFAULT_CONTROLS))
    controls = parse_controls(
        controls
        if isinstance(controls, str)
        else ",".join(_word(c, "controls") for c in _as_list(controls, "controls"))
    )
    seeds = data.get("seeds", 0)
    if (
        isinstance(seeds, (dict, float))
        or isinstance(seeds, list)
        and not all(isinstance(x, int) and not isinstance(x, bool) for x in seeds)
    ):
        raise LthbenchError(f"sweep spec: seeds must be '0-2', '0,3', an integer or a list of integers, got {seeds!r}")
    seeds = parse_seeds(",".join(map(str, seeds)) if isinstance(seeds, list) else str(seeds))
    batch = data.get("batch_controls", False)
    if not isinstance(batch, (bool, str)) or batch not in BATCH_CHOICES:
        raise LthbenchError(f"sweep spec: batch_controls must be true, false, 'vmap' or 'map', got {batch!r}")
    plugins = tuple(_word(p, "plugins") for p in _as_list(data.get("plugins", []), "plugins"))
    out = data.get("out", "sweep.nc")
    if not isinstance(out, str) or not out:
        raise LthbenchError(f"sweep spec: out must be a file name, got {out!r}")
    if not tasks or not methods or not protocols or not rewinds:
        raise LthbenchError("sweep spec: tasks, methods, protocols and rewind must not be empty")
    chains = []
    for task_id, rounds, budget in tasks:
        task = chain_task(ChainSpec(task_id, budget=budget))
        check_rounds(task, task.n_rounds if rounds is None else rounds)
        for method in methods:
            for protocol in protocols:
                # imp-ct never rewinds: one chain whatever the rewind list says
                for rewind in ["trained"] if protocol == "imp-ct" else rewinds:
                    for seed in seeds:
                        chain = ChainSpec(
                            task_id, method, protocol, rewind, tuple(controls), int(seed), rounds, batch, budget
                        )
                        if chain not in chains:
                            chains.append(chain)
    return SweepSpec(tuple(chains), out, dict(data), plugins)


def _word(value, name: str) -> str:
    if not isinstance(value, str):
        raise LthbenchError(f"sweep spec: entries of {name!r} must be strings, got {value!r}")
    return value


def load_spec(path: str | os.PathLike) -> SweepSpec:
    """Read a sweep spec file: TOML (.toml) or JSON (.json)."""
    path = Path(path)
    if not path.is_file():
        raise LthbenchError(f"no sweep spec file {str(path)!r}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise LthbenchError(f"sweep spec {str(path)!r} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise LthbenchError(f"cannot read sweep spec {str(path)!r}: {err.strerror}") from None
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            import tomllib

            data = tomllib.loads(text)
    except (ValueError, RecursionError) as err:  # TOMLDecodeError, JSONDecodeError are ValueErrors
        raise LthbenchError(f"cannot parse sweep spec {str(path)!r}: {(str(err).splitlines() or [''])[0]}") from None
    return parse_spec(data)


# --------------------------------------------------------------------------------------------------
# Plan: the graph of cells


@dataclass(frozen=True)
class PlannedCell:
    """One node of the sweep graph: the cell, the chain it belongs to, the cells it needs first."""

    key: object  # lthbench.results.CellKey
    chain: ChainSpec
    deps: tuple = ()
    also: tuple = ()  # further controls of the same round trained with `key` as one batched node

    @property
    def keys(self) -> tuple:
        return (self.key,) + self.also


def chain_label(chain: ChainSpec) -> str:
    from .pruning.protocols import method_label

    rewind = "trained" if chain.protocol == "imp-ct" else chain.rewind
    return method_label(chain.method, chain.protocol, rewind)


def plan(chains: Iterable[ChainSpec]) -> list[PlannedCell]:
    """Every cell of the chains, in a topological order (the order `run_protocol` runs them).

    IMP round r needs round r - 1; the controls of round r need IMP round r. Round 0 of a (task, seed)
    is trained by its first chain; the other chains of that (task, seed) copy it, so their round 0
    needs the first one.
    """
    from .results import CellKey

    cells: list[PlannedCell] = []
    first_dense: dict[tuple, object] = {}
    for chain in chains:
        task = chain_task(chain)
        label = chain_label(chain)
        n_rounds = task.last_round(task.n_rounds if chain.n_rounds is None else int(chain.n_rounds))
        control_rounds = set(task.control_rounds(n_rounds)) if chain.controls else set()
        prev = None
        for rnd in range(n_rounds + 1):
            key = CellKey(task.id, label, "imp", rnd, chain.seed)
            if rnd == 0:
                shared = first_dense.setdefault((task.id, chain.seed), key)
                deps = () if shared == key else (shared,)
            else:
                deps = (prev,)
            cells.append(PlannedCell(key, chain, deps))
            prev = key
            if rnd in control_rounds:
                controls = [CellKey(task.id, label, name, rnd, chain.seed) for name in chain.controls]
                if chain.batch_controls:
                    cells.append(PlannedCell(controls[0], chain, (key,), tuple(controls[1:])))
                else:
                    cells.extend(PlannedCell(c, chain, (key,)) for c in controls)
    seen = set()
    unique = []
    for cell in cells:  # the same chain listed twice plans its cells once
        if cell.key not in seen:
            seen.add(cell.key)
            unique.append(cell)
    return unique


# --------------------------------------------------------------------------------------------------
# One cell (runs in any process)


@lru_cache(maxsize=32)
def _chain_state(chain: ChainSpec, out_path: str):
    """The protocol's per-chain state (system, ansatz, method, controls), built once per process."""
    from .pruning.protocols import _Chain
    from .results import RunStore

    rewind = "trained" if chain.protocol == "imp-ct" else chain.rewind
    return _Chain(chain_task(chain), chain.method, chain.protocol, rewind, chain.seed, RunStore(out_path, create=False))


def compute_cell(out_path: str, chain: ChainSpec, control: str, rnd: int, *after) -> dict:
    """Compute one cell into the store at out_path, unless it is finished there; return its key as a dict.

    The chain's earlier state comes from the store (round 0's artifacts, the previous IMP round's mask
    and params), exactly as `run_protocol` resumes. `after` (the dependencies' results) only orders
    the graph. Returns {'key': CellKey.as_dict(), 'computed': bool, 'wall_time': s, 'pid': int}.
    """
    del after
    state = _chain_state(chain, str(out_path))
    key = state.key(control, rnd)
    t0 = time.perf_counter()
    if state.store.has(key):
        return {"key": key.as_dict(), "computed": False, "wall_time": 0.0, "pid": os.getpid()}
    if control == "imp" and rnd == 0:
        state.dense()
    else:
        dense = state.dense()  # finished (a dependency): loaded, not trained
        if control == "imp":
            previous = _mask_params(state.store.read_artifacts(state.key("imp", rnd - 1)))
            state.prune_round(rnd, dense, previous)
        else:
            current = _mask_params(state.store.read_artifacts(state.key("imp", rnd)))
            state.control(control, rnd, dense, current)
    return {"key": key.as_dict(), "computed": True, "wall_time": time.perf_counter() - t0, "pid": os.getpid()}


def compute_controls(out_path: str, chain: ChainSpec, names: tuple, rnd: int, *after) -> dict:
    """The controls `names` of IMP round rnd trained together as one batched program
    (`lthbench.vmc.batched.train_batched`, mode chain.batch_controls), each stored as its own cell.

    Finished controls are skipped. Each control starts from the mask, params and train key that
    `run_protocol` gives it, so its cell matches the unbatched one to floating-point tolerance. The
    cells' wall_time is the batch's divided by the number of controls trained.
    Returns {'keys': [computed CellKey dicts], 'wall_time': s, 'pid': int}.
    """
    from .vmc.batched import train_batched

    del after
    state = _chain_state(chain, str(out_path))
    todo = [n for n in names if not state.store.has(state.key(n, rnd))]
    t0 = time.perf_counter()
    if todo:
        dense = state.dense()
        current = _mask_params(state.store.read_artifacts(state.key("imp", rnd)))
        starts = [state.control_start(n, rnd, dense, current) for n in todo]
        mode = chain.batch_controls if chain.batch_controls in ("vmap", "map") else "auto"
        results = train_batched(
            state.system,
            state.ansatz,
            [s[1] for s in starts],
            [s[0] for s in starts],
            state.task.train_config(state.task.dense_steps),
            [s[2] for s in starts],
            mode=mode,
        )
        wall = (time.perf_counter() - t0) / len(todo)
        for name, (mask, _, _), result in zip(todo, starts, results):
            state.control_finish(name, rnd, mask, result, wall)
    return {
        "keys": [state.key(n, rnd).as_dict() for n in todo],
        "wall_time": time.perf_counter() - t0,
        "pid": os.getpid(),
    }


def _node(out_path: str, cell: PlannedCell) -> tuple:
    """(function, args) computing one planned node."""
    if cell.also:
        return compute_controls, (out_path, cell.chain, tuple(k.control for k in cell.keys), cell.key.round)
    return compute_cell, (out_path, cell.chain, cell.key.control, cell.key.round)


def _computed(out: dict) -> list:
    """The CellKeys a node's result says it computed."""
    from .results import CellKey

    if "keys" in out:
        return [CellKey.from_record(k) for k in out["keys"]]
    return [CellKey.from_record(out["key"])] if out["computed"] else []


def _mask_params(arts: dict) -> dict:
    return {"mask": arts["mask"], "params": arts["params"]}


# --------------------------------------------------------------------------------------------------
# Executors


@dataclass
class SweepReport:
    """What a sweep did: planned cells, cells found finished, cells computed now (in completion order)."""

    planned: list
    skipped: list
    computed: list
    failed: list = field(default_factory=list)


def pending(cells: list[PlannedCell], store) -> tuple[list[PlannedCell], list]:
    """(unfinished cells with their dependencies on finished cells dropped, finished keys)."""
    done = [k for c in cells for k in c.keys if store.has(k)]
    finished = set(done)
    todo = [
        PlannedCell(c.key, c.chain, tuple(d for d in c.deps if d not in finished), c.also)
        for c in cells
        if not finished.issuperset(c.keys)
    ]
    return todo, done


def run_inprocess(
    cells: list[PlannedCell], store, *, progress: bool = True, on_cell: Callable[[dict], None] | None = None
) -> SweepReport:
    """Run the unfinished cells here, one after another, in the plan's (topological) order."""
    todo, done = pending(cells, store)
    computed = []
    bar = _bar(progress, "sweep (in-process)", todo)
    for cell in todo:
        fn, args = _node(str(store.out_path), cell)
        out = fn(*args)
        computed.extend(_computed(out))
        bar.update(cell_steps(cell))
        if on_cell:
            on_cell(out)
    bar.close()
    return SweepReport([k for c in cells for k in c.keys], done, computed)


def cell_steps(cell: PlannedCell) -> int:
    """Training + evaluation steps of a planned node (all its cells): the progress bars' unit, so the
    ETA counts the controls' dense-budget trainings and the evaluations."""
    from .pruning.protocols import cell_steps as steps

    task = chain_task(cell.chain)
    return sum(steps(task, k.control, k.round) for k in cell.keys)


def _require_dask():
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise LthbenchError(
            "Dask is not installed; install the extra: pip install 'lthbench[dist]' (or use --scheduler inprocess)"
        ) from None
    return distributed


def local_cluster(n_workers: int | None = None, *, threads_per_worker: int = 1, **kw):
    """A `distributed.LocalCluster` of worker processes (default: one per CPU core, 1 thread each).

    Workers import the same lthbench as this process (its directory is put first on their PYTHONPATH).
    """
    distributed = _require_dask()
    root = str(Path(__file__).resolve().parent.parent)
    path = os.environ.get("PYTHONPATH", "")
    env = {"PYTHONPATH": root + (os.pathsep + path if path else "")}
    n_workers = n_workers or max(1, os.cpu_count() or 1)
    return distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        dashboard_address=kw.pop("dashboard_address", None),
        env=env,
        **kw,
    )


def connect(scheduler: str | None = None, scheduler_file: str | None = None):
    """A `distributed.Client` for an existing cluster (address 'tcp://host:port' or a scheduler file)."""
    distributed = _require_dask()
    try:
        if scheduler_file:
            return distributed.Client(scheduler_file=scheduler_file, timeout="30s")
        return distributed.Client(scheduler, timeout="30s")
    except (OSError, TimeoutError, ValueError) as err:
        raise LthbenchError(f"cannot reach the Dask scheduler {scheduler or scheduler_file!r}: {err}") from None


def run_dask(
    cells: list[PlannedCell], store, client, *, progress: bool = True, on_cell: Callable[[dict], None] | None = None
) -> SweepReport:
    """Run the unfinished cells on a Dask cluster: one future per cell, its dependencies as futures.

    Every worker must see the store's directory (a shared file system on a real cluster). Cells that
    raise are reported in `failed` (with their dependants); lost workers are handled by the scheduler.
    """
    distributed = _require_dask()
    todo, done = pending(cells, store)
    out_path = str(Path(store.out_path).resolve())
    futures = {}
    for cell in todo:
        deps = [futures[d] for d in cell.deps]
        fn, args = _node(out_path, cell)
        futures[cell.key] = client.submit(fn, *args, *deps, key=f"lthbench-cell-{cell.key.stem}", pure=False)
    by_future = {f.key: k for k, f in futures.items()}
    computed, failed = [], []
    bar = _bar(progress, "sweep (dask)", todo)
    steps = {c.key: cell_steps(c) for c in todo}
    for fut in distributed.as_completed(list(futures.values())):
        key = by_future[fut.key]
        if fut.status == "finished":
            out = fut.result()
            computed.extend(_computed(out))
            if on_cell:
                on_cell(out)
        else:
            try:
                err = repr(fut.exception())
            except BaseException as exc:  # cancelled futures raise instead of returning their error
                err = repr(exc)
            failed.append((key, err[:300]))
        bar.update(steps[key])
    bar.close()
    return SweepReport([k for c in cells for k in c.keys], done, computed, failed)


def _bar(enabled: bool, desc: str, todo: list):
    from tqdm.auto import tqdm

    total = sum(cell_steps(c) for c in todo) if enabled else 0
    return tqdm(total=total, desc=desc, unit="step", disable=not enabled)


def plugin_paths(chains: Iterable[ChainSpec], extra: Iterable[str] = ()) -> list[Path]:
    """What Dask workers need to import the chains' user methods: for each 'pkg.mod:Name', the file
    (top-level module) or directory (package) it was imported from in this process, unless it is part
    of lthbench or installed (site-packages); plus the `extra` paths given (--plugin, spec 'plugins').
    Call after the methods were resolved (`_validate`)."""
    from .pruning.hparams import parse_method_spec

    root = Path(__file__).resolve().parent
    paths: list[Path] = []
    for method in dict.fromkeys(c.method for c in chains):
        name = parse_method_spec(method)[0]
        if ":" not in name:
            continue
        module = sys.modules.get(name.partition(":")[0].split(".")[0])
        file = getattr(module, "__file__", None)
        if not file:
            continue
        path = Path(file).resolve()
        path = path.parent if path.name == "__init__.py" else path
        if path == root or root in path.parents or {"site-packages", "dist-packages"} & set(path.parts):
            continue
        paths.append(path)
    for item in extra:
        path = Path(item).resolve()
        if not path.exists():
            raise LthbenchError(f"plugin {item!r} does not exist")
        if path.is_file() and path.suffix not in (".py", ".zip", ".egg"):
            raise LthbenchError(f"plugin {item!r} must be a .py file, a package directory, a .zip or an .egg")
        paths.append(path)
    return list(dict.fromkeys(paths))


def add_plugins_to_path(extra: Iterable[str]) -> None:
    """Make --plugin paths importable here (a file's or package's parent directory goes on sys.path)."""
    for item in extra:
        path = Path(item).resolve()
        parent = str(path if path.suffix in (".zip", ".egg") else path.parent)
        if path.exists() and parent not in sys.path:
            sys.path.insert(0, parent)


def upload_plugins(client, paths: Iterable[Path]) -> None:
    """Ship plugin modules to every worker of `client`, present and future (a `UploadFile` worker
    plugin, what `Client.upload_file` registers for workers): a .py/.zip/.egg as is, a package
    directory as a zip of it (importable under its own name).

    Only workers get it, not the scheduler: a LocalCluster's scheduler runs in this process, where
    reloading the module from the scheduler's temporary copy would point it at a file deleted when
    the cluster closes."""
    from distributed.diagnostics.plugin import UploadFile

    with tempfile.TemporaryDirectory(prefix="lthbench-plugins-") as tmp:
        for path in paths:
            if path.is_dir():
                archive = Path(tmp) / f"{path.name}.zip"
                with zipfile.ZipFile(archive, "w") as zf:
                    for file in sorted(path.rglob("*.py")):
                        zf.write(file, file.relative_to(path.parent).as_posix())
                path = archive
            client.register_plugin(UploadFile(str(path)), name=f"lthbench-plugin-{path.name}")


def run_sweep(
    spec: SweepSpec,
    out: str | None = None,
    *,
    scheduler: str = "inprocess",
    scheduler_file: str | None = None,
    n_workers: int | None = None,
    client=None,
    progress: bool = True,
    finalize: bool = True,
    on_cell=None,
    plugins: Iterable[str] = (),
    fresh: bool = False,
) -> SweepReport:
    """Plan the spec's cells, compute the unfinished ones, then merge every cell into the results file.

    scheduler: 'inprocess' (default; no Dask), 'local' (a LocalCluster of `n_workers` processes) or an
    address 'tcp://host:port'; or scheduler_file; or an existing `client`. User methods' modules (and
    `plugins`, files or package directories) are uploaded to Dask workers. The output is locked while
    the sweep runs; finished cells computed with other settings (another fingerprint) are refused,
    unless `fresh`, which discards the output and its cells first. Raises LthbenchError when a cell
    fails (after the others have finished and been stored).
    """
    from . import provenance
    from .pruning.identity import check_resume
    from .results import RunStore, check_results_output

    out = out or spec.out
    check_results_output(out)
    extra = tuple(spec.plugins) + tuple(plugins)
    add_plugins_to_path(extra)
    cells = plan(spec.chains)
    identities = validate_chains(spec.chains)  # before any training
    if client is None and (scheduler != "inprocess" or scheduler_file):
        _require_dask()  # before any file is touched
    uploads = (
        plugin_paths(spec.chains, extra) if client is not None or scheduler != "inprocess" or scheduler_file else []
    )
    store = RunStore(out)
    with store.lock():
        if fresh:
            store.discard()
        check_resume(store.fingerprint_records(), identities, str(out))
        if client is not None:
            upload_plugins(client, uploads)
            report = run_dask(cells, store, client, progress=progress, on_cell=on_cell)
        elif scheduler == "inprocess" and not scheduler_file:
            report = run_inprocess(cells, store, progress=progress, on_cell=on_cell)
        else:
            distributed = _require_dask()
            cluster = local_cluster(n_workers) if scheduler == "local" and not scheduler_file else None
            client = distributed.Client(cluster) if cluster is not None else connect(scheduler, scheduler_file)
            try:
                upload_plugins(client, uploads)
                report = run_dask(cells, store, client, progress=progress, on_cell=on_cell)
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
        if report.failed:
            key, err = report.failed[0]
            raise LthbenchError(f"{len(report.failed)} cell(s) failed, first {key.stem}: {err}")
        if finalize:
            store.finalize(
                provenance.collect(
                    extra={
                        "sweep": spec.source,
                        "n_cells_planned": len(report.planned),
                        "scheduler": scheduler_file or scheduler,
                    }
                )
            )
    return report


def validate_chains(chains: Iterable[ChainSpec], *, compute_reference: bool = True) -> list[tuple]:
    """`_validate` of every distinct chain: [(task id, label, identity, fingerprint)]. Imports user
    methods and checks them; trains nothing (and with compute_reference=False computes nothing)."""
    return [_validate(chain, compute_reference) for chain in dict.fromkeys(chains)]


def _validate(chain: ChainSpec, compute_reference: bool = True) -> tuple:
    """The checks `run_protocol` makes before training (LthbenchError for bad input); returns the
    chain's (task id, label, identity, fingerprint)."""
    from .pruning.protocols import chain_fingerprint

    task = chain_task(chain)
    rewind = "trained" if chain.protocol == "imp-ct" else chain.rewind
    _, label, identity, fp = chain_fingerprint(
        task, chain.method, chain.protocol, rewind, compute_reference=compute_reference
    )
    if rewind.startswith("step:") and not 0 <= int(rewind[5:]) <= task.dense_steps:
        raise LthbenchError(
            f"rewind {rewind} lies outside the dense training of {task.id} (0..{task.dense_steps} steps)"
        )
    return task.id, label, identity, fp
