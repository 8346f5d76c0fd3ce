"""Experiments: the task registry, one IMP chain and its schedule, what a cell records, the baselines.

spec.py      TaskSpec, protocol values, the parsers (rewind, controls, seeds, method labels)
tasks.py     the registry (families.py, cpu_family.py build it); schedule.py and cost.py: counts, cost
keys.py      PRNG keys of a cell; identity.py: its fingerprint
chain.py     Chain and Chain.plan(): the only IMP schedule; cells.py: how a cell is computed
metrics.py   what a cell records; training.py: the edge to the trainer (lthbench.vmc)
run.py       run_protocol: a plan executed in this process; baselines.py: the shipped baselines
"""

from .chain import Chain, PlannedCell, chain_fingerprint, plan_chains
from .cost import estimated_cost, format_seconds, n_spins, step_seconds, system_kind, total_steps
from .run import run_protocol
from .schedule import (
    check_rounds,
    dense_weight_count,
    prunable_sizes,
    rounds_for_final_density,
    schedule_counts,
)
from .spec import (
    DEFAULT_CONTROLS,
    IMP_CT,
    IMP_WR,
    IRP_WR,
    PROTOCOLS,
    TaskSpec,
    chain_rewind,
    method_label,
    parse_controls,
    parse_rewind,
    parse_seeds,
)
from .tasks import canonical_spec, get_task, list_tasks, quick_variant, register, spec_hash

__all__ = [
    "DEFAULT_CONTROLS",
    "IMP_CT",
    "IMP_WR",
    "IRP_WR",
    "PROTOCOLS",
    "Chain",
    "PlannedCell",
    "TaskSpec",
    "canonical_spec",
    "chain_fingerprint",
    "chain_rewind",
    "check_rounds",
    "dense_weight_count",
    "estimated_cost",
    "format_seconds",
    "get_task",
    "list_tasks",
    "method_label",
    "n_spins",
    "parse_controls",
    "parse_rewind",
    "parse_seeds",
    "plan_chains",
    "prunable_sizes",
    "quick_variant",
    "register",
    "rounds_for_final_density",
    "run_protocol",
    "schedule_counts",
    "spec_hash",
    "step_seconds",
    "system_kind",
    "total_steps",
]
