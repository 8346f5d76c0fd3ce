"""The host side of training: calls of the compiled step loop until the budget is spent or every
member diverged, shared by `train` (one member) and `train_batched` (B members)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .step import STEPS_PER_CALL


class Driven(NamedTuple):
    """histories, variance_histories: B arrays of the energies / variances of the good steps;
    n_done (B,) int; alive (B,) bool (False: diverged); wall: seconds of the whole loop."""

    histories: list
    variance_histories: list
    n_done: np.ndarray
    alive: np.ndarray
    wall: float


def drive(
    run_call: Callable, n_steps: int, n_members: int, on_call: Callable | None = None, finish: Callable | None = None
) -> Driven:
    """Run ceil(n_steps / STEPS_PER_CALL) calls of `run_call(call, active)`.

    run_call(call index, active (B, S) bool) -> (ok (B,), energies (B, S), variances (B, S), done (B, S)),
    host arrays; active[i, k]: member i runs step k of this call (within the budget, not diverged).
    on_call(todo, energies of member 0's good steps): progress hook. finish(): blocks until the
    device is done (timed as part of the loop).
    """
    histories = [[] for _ in range(n_members)]
    var_histories = [[] for _ in range(n_members)]
    alive = np.ones(n_members, dtype=bool)
    n_done = np.zeros(n_members, dtype=int)
    t0 = time.perf_counter()
    for call in range(math.ceil(n_steps / STEPS_PER_CALL)):
        todo = min(STEPS_PER_CALL, n_steps - call * STEPS_PER_CALL)
        active = (np.arange(STEPS_PER_CALL) < todo)[None, :] & alive[:, None]
        ok, e, v, done = run_call(call, active)
        done = np.asarray(done)[:, :todo]
        for i in np.flatnonzero(alive):
            good = int(done[i].sum())
            histories[i].append(np.asarray(e)[i, :good])
            var_histories[i].append(np.asarray(v)[i, :good])
            n_done[i] += good
        if on_call is not None:
            on_call(todo, histories[0][-1])
        alive &= np.asarray(ok)
        if not alive.any():
            break
    if finish is not None:
        finish()
    wall = time.perf_counter() - t0
    return Driven([_cat(h) for h in histories], [_cat(h) for h in var_histories], n_done, alive, wall)


def _cat(parts: list) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros((0,))
