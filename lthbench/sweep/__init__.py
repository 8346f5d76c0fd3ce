"""Sweeps: many IMP chains as one task graph of cells (docs/sweeps.md).

spec.py       the sweep spec (TOML/JSON) -> SweepSpec of ChainSpecs
executors.py  plan (every chain's Chain.plan() as one graph), in-process and Dask executors
plugins.py    user methods shipped to Dask workers
run.py        run_sweep: plan, check, run, merge
"""

from .executors import (
    SweepReport,
    cell_steps,
    compute_cell,
    compute_controls,
    connect,
    local_cluster,
    pending,
    plan,
    run_dask,
    run_inprocess,
)
from .plugins import add_plugins_to_path, plugin_paths, upload_plugins
from .run import run_sweep, validate, validate_chains
from .spec import (
    BUDGET_KEYS,
    ChainSpec,
    SweepSpec,
    apply_budget,
    chain_label,
    chain_task,
    expand_tasks,
    load_spec,
    method_spec,
    parse_spec,
)

__all__ = [
    "BUDGET_KEYS",
    "ChainSpec",
    "SweepReport",
    "SweepSpec",
    "add_plugins_to_path",
    "apply_budget",
    "cell_steps",
    "chain_label",
    "chain_task",
    "compute_cell",
    "compute_controls",
    "connect",
    "expand_tasks",
    "load_spec",
    "local_cluster",
    "method_spec",
    "parse_spec",
    "pending",
    "plan",
    "plugin_paths",
    "run_dask",
    "run_inprocess",
    "run_sweep",
    "upload_plugins",
    "validate",
    "validate_chains",
]
