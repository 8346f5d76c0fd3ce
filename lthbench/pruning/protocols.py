"""Protocols: the IMP loop and its controls, glued to the trainer and the results store.

    round 0        dense training from theta_init (control 'imp', method-independent key)
    round r >= 1   prune the previous round's trained params with the method, then
                     imp-wr / irp-wr: rewind the survivors to the rewind target and retrain
                     imp-ct:          continue from the previous round's trained params (no rewind)
                   for `round_steps` steps;
                   at every `control_every`-th round and the last: each control (ticket, reinit,
                   random-mask) trained in isolation for `dense_steps` from its own start.

Rewind targets (`rewind_to`, imp-wr and irp-wr only): 'trained' = the dense-trained weights (what the
authors' code does), 'init' = theta_init (classic LTH), 'step:K' = the params after K dense steps.
The method label (`method_label`) records the choice, e.g. 'magnitude/imp-wr/rewind=trained'.

Every cell's key derives from (task id, method label, control, round, seed) (see `keys.py`), and every
IMP round continues from host (numpy) copies of the previous round's stored artifacts, so a cell run
alone (resumed from the store) gives exactly the record it gives inside a full run.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

import jax
import numpy as np

from ..errors import LthbenchError
from ..masks import (
    alive_count,
    apply_mask,
    full_mask,
    prunable_count,
    prunable_leaves,
    to_numpy,
)
from .api import SCOPES, PruneContext, requirements
from .check import check_signature, prune
from .controls import check_controls, make_controls
from .hparams import parse_method_spec
from .identity import chain_identity, check_resume, fingerprint_of
from .keys import DENSE, cell_key, purpose_key
from .registry import method_name, resolve_method
from .select import removal_counts

PROTOCOLS = ("imp-wr", "imp-ct", "irp-wr")
DEFAULT_CONTROLS = ("ticket", "reinit", "random-mask")
EXACT_FIDELITY_MAX_SPINS = 20  # fidelity_exact (weight in the ED ground space) up to this N, else NaN

PyTree = Any


# --------------------------------------------------------------------------------------------------
# Labels and validation


def parse_rewind(rewind_to: str) -> tuple[str, int | None]:
    """'trained' | 'init' | 'step:K' -> (kind, K or None); LthbenchError otherwise."""
    text = str(rewind_to)
    if text in ("trained", "init"):
        return text, None
    m = re.fullmatch(r"step:(\d+)", text)
    if m:
        return "step", int(m.group(1))
    raise LthbenchError(f"bad rewind target {text!r}: use trained, init or step:K (K a step number)")


def _check_protocol(protocol: str) -> str:
    if protocol not in PROTOCOLS:
        raise LthbenchError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    return protocol


def _effective_method(method, protocol: str):
    """irp-wr prunes at random: it takes method 'random' (or the default 'magnitude', replaced)."""
    if protocol != "irp-wr":
        return method
    if isinstance(method, str) and parse_method_spec(method) in (("magnitude", {}), ("random", {})):
        return "random"
    if not isinstance(method, str) and method_name(method) in ("magnitude", "random"):
        return "random"
    raise LthbenchError(f"protocol 'irp-wr' prunes at random; it cannot use method {method_name(method)!r}")


def method_label(method: str | Callable, protocol: str = "imp-wr", rewind_to: str = "trained") -> str:
    """The results' `method` coordinate: '<method>[k=v,...]/<protocol>[/rewind=<target>]'.

    e.g. 'magnitude/imp-wr/rewind=trained', 'magnitude/imp-ct', 'random/irp-wr/rewind=init',
    'synflow[iterations=20]/imp-wr/rewind=trained',
    'examples.custom_method:LayerBalancedMagnitude/imp-wr/rewind=step:10'. Hyperparameters are sorted
    by name, in canonical text, and left out when equal to their defaults (`registry.method_name`), so a
    spec without them gives exactly the label it always gave.
    """
    _check_protocol(protocol)
    parse_rewind(rewind_to)
    name = method_name(_effective_method(method, protocol))
    if protocol == "imp-ct":
        return f"{name}/{protocol}"
    return f"{name}/{protocol}/rewind={rewind_to}"


# --------------------------------------------------------------------------------------------------
# Physics adapters (the only places that talk to the trainer and the exact solver)


@lru_cache(maxsize=8)
def _ground_space(system_id: str):
    from ..exact import ground_space
    from ..systems import system_from_id

    return ground_space(system_from_id(system_id))


@lru_cache(maxsize=64)
def _reference_of(reference_id: str, compute: bool):
    """The Reference row a task is scored against, or None when there is none. The one lookup behind
    `_reference` and `_reference_row`, so a row missing from the table is computed (ED) at most once."""
    try:
        from ..exact import reference_energy

        return reference_energy(reference_id, compute=compute)
    except (ImportError, LthbenchError):
        return None


def _reference(reference_id: str) -> tuple[float, str, float, str]:
    """(energy, source, uncertainty, method) of the reference row a task is scored against."""
    ref = _reference_of(reference_id, True)
    if ref is None:
        return float("nan"), "", float("nan"), ""
    source = getattr(ref, "source", "") or getattr(ref, "method", "")
    row = f"{ref.row_id}: " if getattr(ref, "row_id", "") else ""
    return float(ref.energy), row + str(source), float(getattr(ref, "uncertainty", float("nan"))), str(ref.method)


def _reference_row(reference_id: str, compute: bool = True) -> str:
    """The id of the reference row a task is scored against ('computed:<method>' for one computed
    now, '' when there is none, or none in the table and not `compute`): part of the cell identity."""
    ref = _reference_of(reference_id, bool(compute))
    if ref is None:
        return ""
    return str(getattr(ref, "row_id", "") or f"computed:{getattr(ref, 'method', '')}")


def _train(task, system, ansatz, params, mask, n_steps: int, key):
    from .. import vmc

    return vmc.train(system, ansatz, params, mask, task.train_config(n_steps), key)


def _params_after(task, system, ansatz, params_init, mask, step: int, key):
    """The dense run's params after `step` steps: the same run (same key) stopped early. The trainer
    draws step t's randomness from the key and t alone, so its first K steps do not depend on n_steps."""
    if step == 0:
        return params_init
    return _train(task, system, ansatz, params_init, mask, step, key).params


def _energy_grad(task, system, ansatz, params, mask, key):
    """dE/dtheta at params * mask, for methods that require 'grad' (SNIP): exact in exact mode, else
    from one batch of task.n_samples Monte Carlo samples."""
    from .. import vmc

    _, grad = vmc.energy_gradient(system, ansatz, params, mask, task.train_config(0), key)
    return grad


def _fidelity(task, system, ansatz, params_a, params_b, key) -> float:
    from .. import vmc

    return float(vmc.fidelity(system, ansatz, params_a, params_b, task.train_config(0), key))


def _fidelity_exact(system, ansatz, params) -> float:
    if system.n_spins > EXACT_FIDELITY_MAX_SPINS:
        return float("nan")
    from .. import vmc

    try:
        vectors = _ground_space(system.id)[1]
    except (ImportError, LthbenchError):
        return float("nan")
    return float(vmc.ground_space_weight(system, ansatz, params, vectors))


# --------------------------------------------------------------------------------------------------
# One chain


class _Chain:
    """State shared by the cells of one (task, method, protocol, rewind, seed) chain."""

    def __init__(self, task, method, protocol, rewind_to, seed, store):
        from ..nets import make_ansatz
        from ..systems import system_from_id

        self.task, self.protocol, self.seed, self.store = task, protocol, int(seed), store
        self.method, self.label, self.identity, self.fingerprint = chain_fingerprint(task, method, protocol, rewind_to)
        self.rewind, self.rewind_step = parse_rewind(rewind_to)
        self.system = system_from_id(task.system_id)
        self.ansatz = make_ansatz(task.net, self.system, **task.hyper)
        exclude = tuple(task.exclude)
        shapes = jax.eval_shape(self.ansatz.init, jax.random.key(0))
        self.prunable = prunable_leaves(
            shapes, lambda name, leaf: bool(self.ansatz.is_prunable(name, leaf)) and not any(e in name for e in exclude)
        )
        self.controls = make_controls(self.ansatz, self.prunable)
        self.reference, self.reference_source, self.reference_uncertainty, self.reference_method = _reference(
            task.reference
        )

    def key(self, control: str, rnd: int):
        from ..results import CellKey

        return CellKey(self.task.id, self.label, control, int(rnd), self.seed)

    def record(self, mask, result, *, fidelity_prev=float("nan"), params=None, wall_time=float("nan")) -> dict:
        n = self.system.n_spins
        e = float(result.energy)
        ref = self.reference
        n_alive = alive_count(mask, self.prunable)
        n_prunable = prunable_count(mask, self.prunable)
        diverged = bool(getattr(result, "diverged", False)) or not math.isfinite(e)
        return {
            "n_alive": n_alive,
            "n_prunable": n_prunable,
            "density": n_alive / n_prunable if n_prunable else 1.0,
            "rho": n_alive / n,
            "energy": e,
            "energy_sigma": _get(result, "energy_sigma"),
            "variance": _get(result, "variance"),
            "rel_error": abs(e - ref) / abs(ref) if ref else float("nan"),
            "abs_error_per_spin": abs(e - ref) / n,
            "v_score": _get(result, "v_score"),
            "fidelity_prev": float(fidelity_prev),
            "fidelity_exact": float("nan")
            if diverged or params is None
            else _fidelity_exact(self.system, self.ansatz, apply_mask(params, mask)),
            "m_z": _get(result, "m_z"),
            "m_x": _get(result, "m_x"),
            "wall_time": float(wall_time),
            "samples_per_s": _get(result, "samples_per_s"),
            "diverged": int(diverged),
            "reference_energy": ref,
            "reference_source": self.reference_source,
            "reference_uncertainty": self.reference_uncertainty,
            "reference_method": self.reference_method,
            "n_spins": n,
            "fingerprint": self.fingerprint,
            "identity": self.identity,
        }

    # -- round 0 ----------------------------------------------------------------------------------

    def dense(self) -> dict:
        """Round 0 artifacts (trained here, or loaded): {'mask', 'params', 'params_init'[, 'params_step']}."""
        key = self.key("imp", 0)
        if self.store.has(key):
            arts = self.store.read_artifacts(key)
            if self.rewind == "step" and "params_step" not in arts:
                raise LthbenchError(f"stored round 0 of {self.task.id} lacks params_step; use a fresh output file")
            return arts
        t0 = time.perf_counter()
        root = cell_key(self.task.id, DENSE, "imp", 0, self.seed)
        train_key = purpose_key(root, "train")
        shared = self.shared_dense()
        if shared is not None:
            record, arts = shared
            record.update(fingerprint=self.fingerprint, identity=self.identity)
        else:
            params_init = to_numpy(self.ansatz.init(purpose_key(root, "init")))
            mask = to_numpy(full_mask(params_init))
            result = _train(self.task, self.system, self.ansatz, params_init, mask, self.task.dense_steps, train_key)
            params = to_numpy(result.params)
            arts = {"mask": mask, "params": params, "params_init": params_init}
            record = self.record(mask, result, params=params, wall_time=time.perf_counter() - t0)
        if self.rewind == "step":
            arts["params_step"] = to_numpy(
                _params_after(
                    self.task, self.system, self.ansatz, arts["params_init"], arts["mask"], self.rewind_step, train_key
                )
            )
        self.store.write(key, record, arts)
        return arts

    def shared_dense(self) -> tuple[dict, dict] | None:
        """(record, artifacts) of round 0 stored under another method label of this (task, seed).

        Round 0's keys do not depend on the method (keys.DENSE), so its record and artifacts are the
        same for every label: copying them saves the dense training, the largest budget of a chain."""
        for other in self.store.keys():
            if (other.task, other.control, other.round, other.seed) == (self.task.id, "imp", 0, self.seed):
                record = self.store.read_record(other)
                record.pop("method", None)
                arts = self.store.read_artifacts(other)
                arts.pop("params_step", None)
                return record, arts
        return None

    # -- rounds >= 1 ------------------------------------------------------------------------------

    def rewind_target(self, dense: dict, previous: dict) -> PyTree:
        if self.protocol == "imp-ct":
            return previous["params"]
        return dense[{"trained": "params", "init": "params_init", "step": "params_step"}[self.rewind]]

    def prune_round(self, rnd: int, dense: dict, previous: dict) -> dict:
        """IMP round rnd (trained here, or loaded): {'mask', 'params'}."""
        key = self.key("imp", rnd)
        if self.store.has(key):
            arts = self.store.read_artifacts(key)
            return {"mask": arts["mask"], "params": arts["params"]}
        t0 = time.perf_counter()
        root = cell_key(self.task.id, self.label, "imp", rnd, self.seed)
        prev_mask, prev_params = previous["mask"], previous["params"]
        n_remove = removal_counts(prev_mask, self.prunable, self.task.prune_fraction, self.task.scope)
        context = self.context(rnd, prev_params, prev_mask, purpose_key(root, "grad"))
        mask = prune(self.method, prev_params, prev_mask, n_remove, purpose_key(root, "prune"), context)
        start = to_numpy(apply_mask(self.rewind_target(dense, previous), mask))
        result = _train(
            self.task, self.system, self.ansatz, start, mask, self.task.round_steps, purpose_key(root, "train")
        )
        params = to_numpy(result.params)
        diverged = bool(getattr(result, "diverged", False))
        fid = (
            float("nan")
            if diverged
            else _fidelity(
                self.task,
                self.system,
                self.ansatz,
                apply_mask(prev_params, prev_mask),
                apply_mask(params, mask),
                purpose_key(root, "fidelity"),
            )
        )
        rec = self.record(mask, result, fidelity_prev=fid, params=params, wall_time=time.perf_counter() - t0)
        self.store.write(key, rec, {"mask": mask, "params": params})
        return {"mask": mask, "params": params}

    def context(self, rnd: int, params, mask, key) -> PruneContext:
        needs = requirements(self.method)
        unknown = set(needs) - {"grad", "log_psi"}
        if unknown:
            raise LthbenchError(
                f"pruning method {method_name(self.method)!r} requires unknown context {sorted(unknown)}"
            )
        grad = None
        if "grad" in needs:
            grad = to_numpy(_energy_grad(self.task, self.system, self.ansatz, params, mask, key))
        return PruneContext(
            prunable=self.prunable, grad=grad, log_psi=self.ansatz.log_psi, n_spins=self.system.n_spins, round=rnd
        )

    # -- controls ---------------------------------------------------------------------------------

    def control(self, name: str, rnd: int, dense: dict, current: dict) -> None:
        if self.store.has(self.key(name, rnd)):
            return
        t0 = time.perf_counter()
        mask, start, train_key = self.control_start(name, rnd, dense, current)
        result = _train(self.task, self.system, self.ansatz, start, mask, self.task.dense_steps, train_key)
        self.control_finish(name, rnd, mask, result, time.perf_counter() - t0)

    def control_start(self, name: str, rnd: int, dense: dict, current: dict) -> tuple:
        """(mask, theta_start, train key) of control `name` at round rnd (host arrays)."""
        root = cell_key(self.task.id, self.label, name, rnd, self.seed)
        mask, start = self.controls[name](
            current["mask"], dense["params_init"], current["params"], purpose_key(root, "control")
        )
        return to_numpy(mask), to_numpy(start), purpose_key(root, "train")

    def control_finish(self, name: str, rnd: int, mask, result, wall_time: float) -> None:
        """Store control `name` of round rnd from its training result."""
        params = to_numpy(result.params)
        rec = self.record(mask, result, params=params, wall_time=wall_time)
        self.store.write(self.key(name, rnd), rec, {"mask": mask, "params": params})


def chain_fingerprint(task, method, protocol: str, rewind_to: str, *, compute_reference: bool = True) -> tuple:
    """(resolved method, label, identity, fingerprint) of a chain (see `lthbench.pruning.identity`).

    Resolving imports a user method's module and checks its signature: LthbenchError (one line).
    compute_reference=False never runs exact diagonalisation for a reference missing from the table
    (for checks that must not compute, e.g. `--dry-run`; the fingerprint is then not the run's).
    """
    effective = _effective_method(method, protocol)
    resolved = resolve_method(effective)
    check_signature(resolved)
    label = method_label(method, protocol, rewind_to)
    identity = chain_identity(
        task,
        resolved,
        method_name(effective),
        label,
        protocol,
        rewind_to,
        _reference_row(task.reference, compute_reference),
        EXACT_FIDELITY_MAX_SPINS,
    )
    return resolved, label, identity, fingerprint_of(identity)


def prunable_sizes(task) -> list[int]:
    """Weights per prunable leaf of the task's dense net, from the init's shapes (nothing is allocated
    or trained)."""
    from ..nets import make_ansatz
    from ..systems import system_from_id

    ansatz = make_ansatz(task.net, system_from_id(task.system_id), **task.hyper)
    shapes = jax.eval_shape(ansatz.init, jax.random.key(0))
    prunable = prunable_leaves(
        shapes, lambda name, leaf: bool(ansatz.is_prunable(name, leaf)) and not any(e in name for e in task.exclude)
    )
    return [
        int(np.prod(np.shape(x)))
        for x, p in zip(jax.tree_util.tree_leaves(shapes), jax.tree_util.tree_leaves(prunable))
        if p
    ]


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


def cell_steps(task, control: str, rnd: int) -> int:
    """Training plus evaluation steps of one cell (the progress bars' unit): round 0 and every control
    train for dense_steps, a pruned round for round_steps; each then evaluates n_eval_steps."""
    train = task.round_steps if control == "imp" and rnd > 0 else task.dense_steps
    return int(train) + int(task.n_eval_steps)


def _get(result, name: str) -> float:
    value = getattr(result, name, None)
    return float("nan") if value is None else float(value)


# --------------------------------------------------------------------------------------------------
# The entry point


def run_protocol(
    task,
    *,
    method: str | Callable = "magnitude",
    protocol: str = "imp-wr",
    rewind_to: str = "trained",
    controls: Iterable[str] = DEFAULT_CONTROLS,
    seed: int = 0,
    store,
    n_rounds: int | None = None,
    progress: bool = True,
) -> list:
    """Train one IMP chain (round 0 dense, rounds 1..n_rounds pruned) and its controls into `store`.

    task: a `TaskSpec` or a task id. method: a registry name ('magnitude', 'random', 'snip', 'synflow'),
    an import path 'package.module:Name', or a callable (see `lthbench.pruning.api`). protocol:
    'imp-wr' | 'imp-ct' | 'irp-wr'. rewind_to: 'trained' | 'init' | 'step:K' (ignored by imp-ct).
    controls: subset of ('ticket', 'reinit', 'random-mask'), trained at `task.control_rounds(n_rounds)`.
    store: a `lthbench.results.RunStore`; finished cells are skipped, finished IMP rounds reloaded from
    their artifacts. Returns the `CellKey`s of every cell of the run (finished before or now), in order.
    Raises LthbenchError (one line) for bad input.
    """
    from ..tasks import TaskSpec, get_task

    if isinstance(task, str):
        task = get_task(task)
    if not isinstance(task, TaskSpec):
        raise LthbenchError(f"task must be a TaskSpec or a task id, got {type(task).__name__}")
    _check_protocol(protocol)
    rewind, step = parse_rewind(rewind_to)
    if rewind == "step" and protocol != "imp-ct" and not 0 <= step <= task.dense_steps:
        raise LthbenchError(f"rewind step:{step} lies outside the dense training (0..{task.dense_steps} steps)")
    controls = check_controls(controls)
    n_rounds = task.n_rounds if n_rounds is None else n_rounds
    if isinstance(n_rounds, bool) or not isinstance(n_rounds, (int, np.integer)) or n_rounds < 1:
        raise LthbenchError(f"number of rounds must be an integer >= 1, got {n_rounds!r}")
    n_rounds = task.last_round(int(n_rounds))  # the chain ends before a round that would remove no weight
    if not 0.0 < float(task.prune_fraction) < 1.0:
        raise LthbenchError(f"prune fraction must lie in (0, 1), got {task.prune_fraction}")
    if task.scope not in SCOPES:
        raise LthbenchError(f"unknown pruning scope {task.scope!r}; choose one of {', '.join(SCOPES)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise LthbenchError(f"seed must be an integer >= 0, got {seed!r}")
    if store is None:
        raise LthbenchError("run_protocol needs a results store (lthbench.results.RunStore)")
    if protocol == "imp-ct":
        rewind_to = "trained"  # no rewinding: the label carries no rewind target

    check_rounds(task, int(n_rounds))
    chain = _Chain(task, method, protocol, rewind_to, seed, store)
    check_resume(
        store.fingerprint_records(), [(task.id, chain.label, chain.identity, chain.fingerprint)], str(store.out_path)
    )
    control_rounds = set(task.control_rounds(int(n_rounds))) if controls else set()
    plan = [
        [("imp", rnd)] + [(name, rnd) for name in controls if rnd in control_rounds] for rnd in range(int(n_rounds) + 1)
    ]
    bar = _progress(task, chain, plan, progress, f"{task.id} {chain.label} s{seed}")
    keys = []
    dense = current = None
    for rnd, cells in enumerate(plan):
        if rnd == 0:
            dense = chain.dense()
            current = {"mask": dense["mask"], "params": dense["params"]}
        else:
            current = chain.prune_round(rnd, dense, current)
        for name, _ in cells[1:]:
            chain.control(name, rnd, dense, current)
        keys.extend(chain.key(name, rnd) for name, _ in cells)
        if progress:
            bar.update(sum(cell_steps(task, name, rnd) for name, _ in cells if chain.key(name, rnd) not in bar.reused))
            rec = store.read_record(chain.key("imp", rnd))
            bar.set_postfix(n=rec["n_alive"], rel_err=f"{rec['rel_error']:.2e}")
    if progress:
        bar.close()
    return keys


def check_rounds(task, n_rounds: int) -> None:
    """LthbenchError when n_rounds goes beyond both the last round that can remove a weight
    (`max_rounds`: later rounds retrain an unchanged mask) and the task's own schedule (`n_rounds` of
    the registry's spec: the CNN tasks' 40 rounds run past their counts' stall at round 22)."""
    bound, why = max_rounds(prunable_sizes(task), task.prune_fraction, task.scope)
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
    sizes = prunable_sizes(task)
    bound, why = max_rounds(sizes, task.prune_fraction, task.scope)
    for rnd in range(1, bound + 1):
        if density_after(sizes, task.prune_fraction, task.scope, rnd) <= final_density:
            return rnd
    lowest = density_after(sizes, task.prune_fraction, task.scope, bound)
    raise LthbenchError(
        f"final density {final_density:g} is unreachable for {task.id}: the lowest is "
        f"{lowest:.4g}, after {bound} rounds ({why})"
    )


def _progress(task, chain, plan, enabled: bool, desc: str):
    """A bar over the chain's training + evaluation steps (controls included, so the ETA counts them);
    cells already in the store start it (`initial`) and are not timed."""
    from tqdm.auto import tqdm

    reused = {chain.key(name, rnd) for cells in plan for name, rnd in cells if chain.store.has(chain.key(name, rnd))}
    total = sum(cell_steps(task, name, rnd) for cells in plan for name, rnd in cells)
    done = sum(cell_steps(task, k.control, k.round) for k in reused)
    bar = tqdm(total=total, initial=done, desc=desc, unit="step", disable=not enabled)
    bar.reused = reused
    return bar
