"""The pruning schedule's counts: prunable sizes of a task's net, alive weights per round, where a
chain must end. Integer arithmetic only, exactly the counts `lthbench.pruning.removal_counts` takes
(rint(p * alive) per layer, or of the total for scope 'global'); nothing is trained or allocated
(the nets' shapes come from `jax.eval_shape`).
"""

from __future__ import annotations

from functools import cache

import jax
import numpy as np

from .. import nets, systems
from ..errors import LthbenchError
from ..masks import path_name


@cache
def system_of(system_id: str):
    """`system_from_id`, cached."""
    return systems.system_from_id(system_id)


@cache
def _prunable_sizes(system_id: str, net: str, net_hyper: tuple, exclude: tuple) -> tuple[int, ...]:
    ansatz = nets.make_ansatz(net, system_of(system_id), **dict(net_hyper))
    shapes = jax.eval_shape(ansatz.init, jax.random.PRNGKey(0))
    sizes = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(shapes)[0]:
        name = path_name(path)
        if ansatz.is_prunable(name, leaf) and not any(ex in name for ex in exclude):
            sizes.append(int(np.prod(leaf.shape)))
    return tuple(sizes)


def prunable_sizes(task) -> tuple[int, ...]:
    """Weights of each prunable leaf of the dense net (pytree flattening order), from the ansatz's
    init shapes (`jax.eval_shape`; no training)."""
    return _prunable_sizes(task.system_id, task.net, task.net_hyper, tuple(task.exclude))


def dense_weight_count(task) -> int:
    """Number of prunable weights of the dense net."""
    return sum(prunable_sizes(task))


def round_half_even(x: float) -> float:
    """numpy's rint (round half to even), which `removal_counts` uses."""
    return float(np.rint(x))


def schedule_counts(sizes: tuple[int, ...], fraction: float, scope: str, n_rounds: int) -> list[int]:
    """Alive weights (total) after rounds 0..R of the paper's rule: each round removes
    rint(fraction * alive) weights per layer (scope 'layer') or of the total ('global'), as
    `lthbench.pruning.removal_counts` does. R = n_rounds, or the last round before the first one
    that would remove nothing (the chain ends there). Pure; sizes: weights per prunable leaf."""
    alive = [int(n) for n in sizes]
    out = [sum(alive)]
    for _ in range(int(n_rounds)):
        if scope == "global":
            k = int(round_half_even(fraction * sum(alive)))
            removed = [k]
            alive = [sum(alive) - k]
        else:
            removed = [int(round_half_even(fraction * a)) for a in alive]
            alive = [a - k for a, k in zip(alive, removed)]
        if sum(removed) == 0:
            break
        out.append(sum(alive))
    return out


def alive_schedule(task, n_rounds: int) -> list[int]:
    """`schedule_counts` of a task: alive weights at rounds 0..task.last_round(n_rounds)."""
    return list(_schedule(prunable_sizes(task), float(task.prune_fraction), task.scope, int(n_rounds)))


@cache
def _schedule(sizes: tuple, fraction: float, scope: str, n_rounds: int) -> tuple[int, ...]:
    return tuple(schedule_counts(sizes, fraction, scope, n_rounds))


def max_rounds(alive: list[int], fraction: float, scope: str, limit: int = 100_000) -> tuple[int, str]:
    """(R, reason): rounds after R remove nothing, because no weight is left or because
    rint(p * alive) has reached 0 (the paper's counts stall), so R is a hard upper bound on rounds.

    alive: dense weights per prunable leaf. Integer arithmetic only (the counts `removal_counts` uses).
    """
    alive = [int(a) for a in alive]
    for rnd in range(limit):
        if scope == "global":
            total = sum(alive)
            k = int(np.rint(fraction * total))
            alive = [total - k]
            removed = k
        else:
            ks = [int(np.rint(fraction * a)) for a in alive]
            alive = [a - k for a, k in zip(alive, ks)]
            removed = sum(ks)
        if removed == 0:
            left = sum(alive)
            why = "no weight is left" if left == 0 else f"rint({fraction:g} x alive) = 0 with {left} weight(s) left"
            return rnd, f"after round {rnd} {why}"
    return limit, f"more than {limit} rounds"


def density_after(alive: list[int], fraction: float, scope: str, n_rounds: int) -> float:
    """The density n_alive / n_prunable after n_rounds rounds of the paper's counts."""
    total0 = sum(alive) or 1
    alive = [int(a) for a in alive]
    for _ in range(int(n_rounds)):
        if scope == "global":
            total = sum(alive)
            alive = [total - int(np.rint(fraction * total))]
        else:
            alive = [a - int(np.rint(fraction * a)) for a in alive]
    return sum(alive) / total0


def check_rounds(task, n_rounds: int) -> None:
    """LthbenchError when n_rounds goes beyond both the last round that can remove a weight
    (`max_rounds`: later rounds retrain an unchanged mask) and the task's own schedule (`n_rounds` of
    the registry's spec: the CNN tasks' 40 rounds run past their counts' stall at round 22)."""
    bound, why = max_rounds(list(prunable_sizes(task)), task.prune_fraction, task.scope)
    limit = max(bound, int(task.n_rounds))
    if n_rounds > limit:
        own = f"; the task's own schedule has {task.n_rounds}" if limit > bound else ""
        raise LthbenchError(
            f"{n_rounds} rounds is too many for {task.id}: at most {limit} ({why}, later rounds "
            f"would retrain an unchanged mask{own}; prune fraction {task.prune_fraction:g}, "
            f"scope {task.scope})"
        )


def rounds_for_final_density(task, final_density: float) -> int:
    """The fewest rounds after which the density n_alive / n_prunable is <= final_density (the paper's
    counts, exactly as the chain will prune); LthbenchError when the counts stall above it."""
    sizes = list(prunable_sizes(task))
    bound, why = max_rounds(sizes, task.prune_fraction, task.scope)
    for rnd in range(1, bound + 1):
        if density_after(sizes, task.prune_fraction, task.scope, rnd) <= final_density:
            return rnd
    lowest = density_after(sizes, task.prune_fraction, task.scope, bound)
    raise LthbenchError(
        f"final density {final_density:g} is unreachable for {task.id}: the lowest is "
        f"{lowest:.4g}, after {bound} rounds ({why})"
    )


def cell_steps(task, control: str, rnd: int) -> int:
    """Training plus evaluation steps of one cell (the progress bars' unit): round 0 and every control
    train for dense_steps, a pruned round for round_steps; each then evaluates n_eval_steps."""
    train = task.round_steps if control == "imp" and rnd > 0 else task.dense_steps
    return int(train) + int(task.n_eval_steps)
