"""How one cell of a chain is computed: `ChainState` holds what the cells of one chain share (system,
ansatz, resolved method, controls, reference, fingerprint) and computes a cell from its
dependencies' artifacts, taken from memory (`run_protocol`) or from the store (a sweep node).

Every cell's key derives from (task id, method label, control, round, seed) (see `keys.py`), and every
IMP round continues from host (numpy) copies of the previous round's stored artifacts, so a cell run
alone (resumed from the store) gives exactly the record it gives inside a full run.
"""

from __future__ import annotations

import time
from typing import Any

import jax

from .. import nets, systems
from ..errors import LthbenchError
from ..masks import apply_mask, full_mask, mask_with_alive_count, prunable_leaves, to_numpy
from ..pruning import PruneContext, method_name, prune, removal_counts, requirements
from ..pruning.controls import make_controls
from . import training
from .chain import Chain, chain_fingerprint
from .keys import DENSE, cell_key, purpose_key
from .metrics import cell_record, reference
from .spec import IMP_CT, parse_rewind

PyTree = Any
REWIND_ARTIFACT = {"trained": "params", "init": "params_init", "step": "params_step"}


def mask_params(arts: dict) -> dict:
    """{'mask', 'params'} of a cell's artifacts."""
    return {"mask": arts["mask"], "params": arts["params"]}


def remember(memo: dict, rnd: int, arts: dict) -> None:
    """Keep IMP round rnd's {'mask', 'params'} in memo, dropping the round before (no cell after
    round rnd's needs it: the plan runs round r - 1's controls before round r)."""
    memo.pop(("imp", rnd - 1), None)
    memo[("imp", rnd)] = arts


class ChainState:
    """State shared by the cells of one chain, and the computation of each of its cells."""

    def __init__(self, chain: Chain, store):
        task = chain.task
        self.chain, self.task, self.protocol, self.seed, self.store = chain, task, chain.protocol, chain.seed, store
        self.method, self.label, self.identity, self.fingerprint = chain_fingerprint(
            task, chain.method, chain.protocol, chain.rewind
        )
        self.rewind, self.rewind_step = parse_rewind(chain.rewind)
        self.system = systems.system_from_id(task.system_id)
        self.ansatz = nets.make_ansatz(task.net, self.system, **task.hyper)
        exclude = tuple(task.exclude)
        shapes = jax.eval_shape(self.ansatz.init, jax.random.key(0))
        self.prunable = prunable_leaves(
            shapes, lambda name, leaf: bool(self.ansatz.is_prunable(name, leaf)) and not any(e in name for e in exclude)
        )
        self.controls = make_controls(self.ansatz, self.prunable)
        self.reference, self.reference_source, self.reference_uncertainty, self.reference_method = reference(
            task.reference
        )

    def key(self, control: str, rnd: int):
        return self.chain.key(control, rnd)

    def record(self, mask, result, **kw) -> dict:
        return cell_record(self, mask, result, **kw)

    def train(self, params, mask, n_steps: int, key):
        return training.train(self.task, self.system, self.ansatz, params, mask, n_steps, key)

    def precompile(self, rounds) -> int:
        """Compile the step programs the cells of `rounds` will train with (one per alive-count bucket,
        from the task's alive schedule), without training anything; returns the calls made."""
        alive = self.task.alive_schedule(self.chain.n_rounds)
        params = self.ansatz.init(jax.random.key(0))
        masks = [mask_with_alive_count(params, self.prunable, alive[r]) for r in rounds if r < len(alive)]
        return training.precompile(self.task, self.system, self.ansatz, params, masks, jax.random.key(0))

    # -- one planned cell -------------------------------------------------------------------------

    def compute(self, control: str, rnd: int, memo: dict | None = None) -> bool:
        """Compute cell (control, rnd) into the store unless it is finished there (False then).

        Its dependencies' artifacts come from `memo` ({('imp', r): {'mask', 'params'}, 'dense': ...},
        filled as cells are computed) or else from the store."""
        if self.store.has(self.key(control, rnd)):
            if control == "imp" and memo is not None:  # a resumed chain goes on from the stored round
                self.round_artifacts(rnd, memo)
            return False
        memo = {} if memo is None else memo
        dense = self.dense_artifacts(memo)
        if control == "imp" and rnd > 0:
            remember(memo, rnd, self.prune_round(rnd, dense, self.round_artifacts(rnd - 1, memo)))
        elif control != "imp":
            self.control(control, rnd, dense, self.round_artifacts(rnd, memo))
        return True

    def dense_artifacts(self, memo: dict) -> dict:
        """Round 0's artifacts (`dense`), once per memo."""
        if "dense" not in memo:
            memo["dense"] = self.dense()
        return memo["dense"]

    def round_artifacts(self, rnd: int, memo: dict) -> dict:
        """{'mask', 'params'} of IMP round rnd (finished): from memo, else from the store."""
        if rnd == 0:
            return mask_params(self.dense_artifacts(memo))
        if ("imp", rnd) not in memo:
            remember(memo, rnd, mask_params(self.store.read_artifacts(self.key("imp", rnd))))
        return memo[("imp", rnd)]

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
            result = self.train(params_init, mask, self.task.dense_steps, train_key)
            params = to_numpy(result.params)
            arts = {"mask": mask, "params": params, "params_init": params_init}
            record = self.record(mask, result, params=params, wall_time=time.perf_counter() - t0)
        if self.rewind == "step":
            arts["params_step"] = to_numpy(
                training.params_after(
                    self.task,
                    self.system,
                    self.ansatz,
                    arts["params_init"],
                    arts["mask"],
                    int(self.rewind_step or 0),
                    train_key,
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
        if self.protocol == IMP_CT:
            return previous["params"]
        return dense[REWIND_ARTIFACT[self.rewind]]

    def prune_round(self, rnd: int, dense: dict, previous: dict) -> dict:
        """IMP round rnd (trained here, or loaded): {'mask', 'params'}."""
        key = self.key("imp", rnd)
        if self.store.has(key):
            return mask_params(self.store.read_artifacts(key))
        t0 = time.perf_counter()
        root = cell_key(self.task.id, self.label, "imp", rnd, self.seed)
        prev_mask, prev_params = previous["mask"], previous["params"]
        n_remove = removal_counts(prev_mask, self.prunable, self.task.prune_fraction, self.task.scope)
        context = self.context(rnd, prev_params, prev_mask, purpose_key(root, "grad"))
        mask = prune(self.method, prev_params, prev_mask, n_remove, purpose_key(root, "prune"), context)
        start = to_numpy(apply_mask(self.rewind_target(dense, previous), mask))
        result = self.train(start, mask, self.task.round_steps, purpose_key(root, "train"))
        params = to_numpy(result.params)
        fid = float("nan")
        if not bool(getattr(result, "diverged", False)):
            fid = training.fidelity(
                self.task,
                self.system,
                self.ansatz,
                apply_mask(prev_params, prev_mask),
                apply_mask(params, mask),
                purpose_key(root, "fidelity"),
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
            grad = to_numpy(training.energy_grad(self.task, self.system, self.ansatz, params, mask, key))
        return PruneContext(
            prunable=self.prunable, grad=grad, log_psi=self.ansatz.log_psi, n_spins=self.system.n_spins, round=rnd
        )

    # -- controls ---------------------------------------------------------------------------------

    def control(self, name: str, rnd: int, dense: dict, current: dict) -> None:
        if self.store.has(self.key(name, rnd)):
            return
        t0 = time.perf_counter()
        mask, start, train_key = self.control_start(name, rnd, dense, current)
        result = self.train(start, mask, self.task.dense_steps, train_key)
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
