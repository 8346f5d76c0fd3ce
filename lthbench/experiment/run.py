"""`run_protocol`: one IMP chain and its controls, executed in this process from `Chain.plan()`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..errors import LthbenchError
from ..pruning import SCOPES
from .cells import ChainState
from .chain import Chain, PlannedCell
from .identity import check_resume
from .schedule import cell_steps, check_rounds
from .spec import DEFAULT_CONTROLS, IMP_WR, TaskSpec, check_protocol, check_rewind_step, parse_controls, parse_rewind
from .tasks import get_task


def check_run(task, protocol: str, rewind_to: str, n_rounds, seed, store) -> int:
    """The checks `run_protocol` makes before anything runs (LthbenchError, one line); returns the
    round the chain ends at (`TaskSpec.last_round` of the rounds asked for)."""
    check_protocol(protocol)
    parse_rewind(rewind_to)
    check_rewind_step(task, protocol, rewind_to)
    n_rounds = task.n_rounds if n_rounds is None else n_rounds
    if isinstance(n_rounds, bool) or not isinstance(n_rounds, (int, np.integer)) or n_rounds < 1:
        raise LthbenchError(f"number of rounds must be an integer >= 1, got {n_rounds!r}")
    if not 0.0 < float(task.prune_fraction) < 1.0:
        raise LthbenchError(f"prune fraction must lie in (0, 1), got {task.prune_fraction}")
    if task.scope not in SCOPES:
        raise LthbenchError(f"unknown pruning scope {task.scope!r}; choose one of {', '.join(SCOPES)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise LthbenchError(f"seed must be an integer >= 0, got {seed!r}")
    if store is None:
        raise LthbenchError("run_protocol needs a results store (lthbench.results.RunStore)")
    n_rounds = task.last_round(int(n_rounds))  # the chain ends before a round that would remove no weight
    check_rounds(task, n_rounds)
    return n_rounds


def run_protocol(
    task,
    *,
    method: str | Callable = "magnitude",
    protocol: str = IMP_WR,
    rewind_to: str = "trained",
    controls: Iterable[str] = DEFAULT_CONTROLS,
    seed: int = 0,
    store,
    n_rounds: int | None = None,
    progress: bool = True,
) -> list:
    """Train one IMP chain (round 0 dense, rounds 1..n_rounds pruned) and its controls into `store`.

    task: a `TaskSpec` or a task id. method: a registry name ('magnitude', 'random', 'snip', 'synflow'),
    an import path 'package.module:Name', or a callable (see `lthbench.pruning.methods`). protocol:
    'imp-wr' | 'imp-ct' | 'irp-wr'. rewind_to: 'trained' | 'init' | 'step:K' (ignored by imp-ct).
    controls: subset of ('ticket', 'reinit', 'random-mask'), trained at `task.control_rounds(n_rounds)`.
    store: a `lthbench.results.RunStore`; finished cells are skipped, finished IMP rounds reloaded from
    their artifacts. Returns the `CellKey`s of every cell of the run (finished before or now), in order.
    Raises LthbenchError (one line) for bad input.
    """
    if isinstance(task, str):
        task = get_task(task)
    if not isinstance(task, TaskSpec):
        raise LthbenchError(f"task must be a TaskSpec or a task id, got {type(task).__name__}")
    n = check_run(task, protocol, rewind_to, n_rounds, seed, store)
    chain = Chain(task, method, protocol, rewind_to, parse_controls(controls), int(seed), n)
    state = ChainState(chain, store)
    check_resume(
        store.fingerprint_records(), [(task.id, state.label, state.identity, state.fingerprint)], str(store.out_path)
    )
    cells = chain.plan()
    bar = progress_bar(task, store, cells, progress, f"{task.id} {state.label} s{chain.seed}")
    memo: dict = {}
    with compiling_ahead(state, [c for c in cells if not store.has(c.key)]) as start_ahead:
        for cell in cells:
            control, rnd = cell.key.control, cell.key.round
            if state.compute(control, rnd, memo):
                start_ahead()
                if progress:
                    bar.update(cell_steps(task, control, rnd))
            if progress and control == "imp":
                rec = store.read_record(cell.key)
                bar.set_postfix(n=rec["n_alive"], rel_err=f"{rec['rel_error']:.2e}")
    if progress:
        bar.close()
    return [cell.key for cell in cells]


@contextlib.contextmanager
def compiling_ahead(state: ChainState, cells: list[PlannedCell]):
    """Yields `start()`: from its first call on, the step programs of `cells`' pruned rounds compile, in
    round order, in one background thread (`ChainState.precompile`). A chain is sequential and
    compiling a program is a large part of a short cell; on a multi-core machine it overlaps the
    following cells' training. The caller starts it after its first cell, whose programs that cell
    has just compiled itself (started earlier, the thread would compile the same program twice at
    once). The compiled programs are those `train` would compile, so no number changes. On exit the
    rounds not yet started are dropped and the one in progress is waited for."""
    rounds = sorted({c.key.round for c in cells} - {0})
    pool = ThreadPoolExecutor(1, thread_name_prefix="lthbench-precompile") if rounds else None

    def start() -> None:
        nonlocal rounds
        if pool is not None:
            for rnd in rounds:
                pool.submit(state.precompile, [rnd])
        rounds = []

    try:
        yield start
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def progress_bar(task, store, cells: list[PlannedCell], enabled: bool, desc: str):
    """A bar over the chain's training + evaluation steps (controls included, so the ETA counts them);
    cells already in the store start it (`initial`) and are not timed."""
    from tqdm.auto import tqdm

    total = sum(cell_steps(task, c.key.control, c.key.round) for c in cells)
    done = sum(cell_steps(task, c.key.control, c.key.round) for c in cells if store.has(c.key))
    return tqdm(total=total, initial=done, desc=desc, unit="step", disable=not enabled)
