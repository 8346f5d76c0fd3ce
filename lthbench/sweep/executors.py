"""Running a sweep's planned cells: in this process, or on Dask (one future per planned node).

The graph is `plan`: every chain's `Chain.plan()` joined by `lthbench.experiment.plan_chains` (the
dense round 0 of a (task, seed) is trained once and copied by its other method labels). Each node
runs `compute_cell`, which rebuilds the chain's state from the `RunStore` (`ChainState.compute`,
exactly what `run_protocol` does when it resumes), so a cell computed by the sweep, in any process
and in any order, is the cell `lthbench run` computes (same keys, same store, same code).

Executors:
  * `run_inprocess`: the graph in topological order in this process (no Dask needed);
  * `run_dask` (`lthbench[dist]`): one future per unfinished node, dependencies as futures. A lost
    worker's cells are rescheduled by the Dask scheduler (up to its `allowed-failures`); a cell
    found finished in the store is never written again, so a rerun after a crash computes only the
    missing cells.

With `batch_controls`, the controls of a round are one node instead of three: their trainings run as
one compiled program (`lthbench.vmc.batched`), each still stored as its own cell.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..errors import LthbenchError
from ..experiment.cells import ChainState, mask_params
from ..experiment.chain import Chain, PlannedCell, plan_chains
from ..experiment.schedule import cell_steps as steps_of
from ..results import CellKey, RunStore
from ..vmc.batched import train_batched
from .spec import ChainSpec


def plan(chains: Iterable[ChainSpec]) -> list[PlannedCell]:
    """Every cell of the chains, in a topological order (the order `run_protocol` runs them); see
    `Chain.plan` and `plan_chains`."""
    return plan_chains(c.chain() for c in chains)


@lru_cache(maxsize=32)
def chain_state(chain: Chain, out_path: str) -> ChainState:
    """The chain's state (system, ansatz, method, controls), built once per process."""
    return ChainState(chain, RunStore(out_path, create=False))


def compute_cell(out_path: str, chain: Chain, control: str, rnd: int, *after) -> dict:
    """Compute one cell into the store at out_path, unless it is finished there; return its key as a dict.

    The chain's earlier state comes from the store (round 0's artifacts, the previous IMP round's mask
    and params), exactly as `run_protocol` resumes (`ChainState.compute`). `after` (the dependencies'
    results) only orders the graph. Returns {'key': CellKey.as_dict(), 'computed': bool, 'wall_time': s,
    'pid': int}.
    """
    del after
    state = chain_state(chain, str(out_path))
    key = state.key(control, rnd)
    t0 = time.perf_counter()
    computed = state.compute(control, rnd)
    wall = time.perf_counter() - t0 if computed else 0.0
    return {"key": key.as_dict(), "computed": computed, "wall_time": wall, "pid": os.getpid()}


def compute_controls(out_path: str, chain: Chain, names: tuple, rnd: int, *after) -> dict:
    """The controls `names` of IMP round rnd trained together as one batched program
    (`lthbench.vmc.batched.train_batched`, mode chain.batch_controls), each stored as its own cell.

    Finished controls are skipped. Each control starts from the mask, params and train key that
    `run_protocol` gives it, so its cell matches the unbatched one to floating-point tolerance. The
    cells' wall_time is the batch's divided by the number of controls trained.
    Returns {'keys': [computed CellKey dicts], 'wall_time': s, 'pid': int}.
    """
    del after
    state = chain_state(chain, str(out_path))
    todo = [n for n in names if not state.store.has(state.key(n, rnd))]
    t0 = time.perf_counter()
    if todo:
        dense = state.dense()
        current = mask_params(state.store.read_artifacts(state.key("imp", rnd)))
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


def node(out_path: str, cell: PlannedCell) -> tuple:
    """(function, args) computing one planned node."""
    if cell.also:
        return compute_controls, (out_path, cell.chain, tuple(k.control for k in cell.keys), cell.key.round)
    return compute_cell, (out_path, cell.chain, cell.key.control, cell.key.round)


def computed_keys(out: dict) -> list:
    """The CellKeys a node's result says it computed."""
    if "keys" in out:
        return [CellKey.from_record(k) for k in out["keys"]]
    return [CellKey.from_record(out["key"])] if out["computed"] else []


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
    bar = progress_bar(progress, "sweep (in-process)", todo)
    for cell in todo:
        fn, args = node(str(store.out_path), cell)
        out = fn(*args)
        computed.extend(computed_keys(out))
        bar.update(cell_steps(cell))
        if on_cell:
            on_cell(out)
    bar.close()
    return SweepReport([k for c in cells for k in c.keys], done, computed)


def cell_steps(cell: PlannedCell) -> int:
    """Training + evaluation steps of a planned node (all its cells): the progress bars' unit, so the
    ETA counts the controls' dense-budget trainings and the evaluations."""
    return sum(steps_of(cell.chain.task, k.control, k.round) for k in cell.keys)


def require_dask():
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
    distributed = require_dask()
    root = str(Path(__file__).resolve().parents[2])
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
    distributed = require_dask()
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
    distributed = require_dask()
    todo, done = pending(cells, store)
    out_path = str(Path(store.out_path).resolve())
    futures = {}
    for cell in todo:
        deps = [futures[d] for d in cell.deps]
        fn, args = node(out_path, cell)
        futures[cell.key] = client.submit(fn, *args, *deps, key=f"lthbench-cell-{cell.key.stem}", pure=False)
    by_future = {f.key: k for k, f in futures.items()}
    computed, failed = [], []
    bar = progress_bar(progress, "sweep (dask)", todo)
    steps = {c.key: cell_steps(c) for c in todo}
    for fut in distributed.as_completed(list(futures.values())):
        key = by_future[fut.key]
        if fut.status == "finished":
            out = fut.result()
            computed.extend(computed_keys(out))
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


def progress_bar(enabled: bool, desc: str, todo: list):
    from tqdm.auto import tqdm

    total = sum(cell_steps(c) for c in todo) if enabled else 0
    return tqdm(total=total, desc=desc, unit="step", disable=not enabled)
