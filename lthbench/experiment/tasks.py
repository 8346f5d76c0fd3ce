"""The registry of standard tasks: frozen specs with stable string ids.

A task names a system (`lthbench.systems.system_from_id`), an ansatz (`lthbench.nets.make_ansatz`),
the training budgets and the pruning schedule; a results cell is one (task, method, control, round,
seed). Ids are stable: results files refer to them, so never rename or repurpose one (each id is
pinned to `spec_hash` of its spec in tests/experiment/task_spec_hashes.json). Families (docs/tasks.md):

- paper scale: the paper's tasks (TFIM 10 x 10 OBC FFNN alpha 1 / 2.5 / 5 at seven fields, size
  scaling L = 4..10 alpha 8, CNN, ResCNN nf 16 nb 4, TC 3 x 3 alpha 4 / 8 / 16 / 32) with its budgets
  and schedules (rounds, controls every 3rd round);
- cpu (`...-cpu`): every figure at a size and budget a 2-core machine affords for 3 seeds;
- small: the same nets on the TFIM 4 x 4 and 5 x 5, where exact diagonalisation gives the reference;
- quick: small budgets, the paper's Monte Carlo settings, a few minutes on 2 CPU cores (`...-quick`).
  (Full-sum SR would form the exact P x P QGT over all 2^N states every step: 2^18 x 2592^2 flop
  for the toric code, hours, not minutes.)

Tasks tagged 'test' (ids starting with 'tiny-') exist for the test suite; they run in seconds and
show no physics.

A chain ends at the first round that would remove no weight (`TaskSpec.last_round`). The cost model
(`estimated_cost`) prices every cell at its alive count, calibrated on measured step times.

The spec itself is `spec.TaskSpec`; the families' builders are in `families.py` and
`cpu_family.py`, the counts in `schedule.py`, the cost model in `cost.py`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

from ..errors import LthbenchError
from . import cpu_family, families
from .spec import PINNED_TASK_FIELDS, TaskSpec

# Fields every spec hash covers: TaskSpec's fields when the ids were first pinned (tests/
# task_spec_hashes.json), less the description (prose; it changes no number). A field added later
# joins a task's hash only where its value differs from the field's default, so adding a field whose
# default keeps today's numbers (docs/CONTRACTS.md, tasks) leaves every pinned id valid.
SPEC_HASH_FIELDS = tuple(name for name in PINNED_TASK_FIELDS if name != "description")


def canonical_spec(task: TaskSpec) -> str:
    """Canonical JSON of everything in a task's spec that determines its numbers (sorted keys, no spaces)."""

    full = task.to_dict()
    defaults = {f.name: f.default for f in dataclasses.fields(TaskSpec)}
    keep = {
        k: v
        for k, v in full.items()
        if k in SPEC_HASH_FIELDS or (k != "description" and v != defaults.get(k, dataclasses.MISSING))
    }
    return json.dumps(keep, sort_keys=True, separators=(",", ":"))


def spec_hash(task: TaskSpec) -> str:
    """sha256 (hex) of `canonical_spec(task)`: what pins a task id to its spec."""

    return hashlib.sha256(canonical_spec(task).encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# Registry

_REGISTRY: dict[str, TaskSpec] = {}


def register(task: TaskSpec) -> TaskSpec:
    """Add a task to the registry (ids must be unique). Returns the task."""
    if task.id in _REGISTRY and _REGISTRY[task.id] != task:
        raise ValueError(f"task id {task.id!r} registered twice with different specs")
    _REGISTRY[task.id] = task
    return task


def get_task(task_id: str) -> TaskSpec:
    """The task with this id. Raises LthbenchError (one line) for an unknown id."""
    try:
        return _REGISTRY[task_id]
    except KeyError:
        close = [t for t in _REGISTRY if task_id and task_id.split("-")[0] in t][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise LthbenchError(f"unknown task {task_id!r}{hint}; `lthbench tasks` lists them") from None


def list_tasks(*, include_test: bool = True) -> list[TaskSpec]:
    """All registered tasks, in registration order (test-only tiny tasks last)."""
    tasks = list(_REGISTRY.values())
    ordinary = [t for t in tasks if not t.is_test]
    return ordinary + ([t for t in tasks if t.is_test] if include_test else [])


def quick_variant(task_id: str) -> TaskSpec:
    """The `-quick` variant of a task (the task itself when it already is one)."""
    if task_id.endswith("-quick"):
        return get_task(task_id)
    get_task(task_id)
    quick = f"{task_id}-quick"
    if quick not in _REGISTRY:
        raise LthbenchError(f"task {task_id!r} has no quick variant; quick tasks: {', '.join(quick_ids())}")
    return _REGISTRY[quick]


def quick_ids() -> list[str]:
    return [t.id for t in list_tasks(include_test=False) if t.id.endswith("-quick")]


FAMILIES = (
    families.paper_family,
    families.small_family,
    cpu_family.cpu_family,
    families.quick_family,
    families.test_family,
)
for _family in FAMILIES:
    _family(register)
