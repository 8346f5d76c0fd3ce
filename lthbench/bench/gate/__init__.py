"""The accuracy regression gate (`python -m lthbench.regression`; CI runs it after the tests).

cells:     the gate tasks (TaskSpecs of their own, ids 'gate-...') and the values they track;
verdict:   the comparisons (fixed keys at 1e-10 relative both ways; across seeds, t-test + Holm);
reference: the reference file (package data: lthbench/bench/gate_reference.json), its history, and the
           NUMERICS_VERSION rule of re-recording;
coverage:  the knob -> cells table and the exemptions;
mutations: the mutations that prove the table (code changes injected by `patches`); mutate: the
           mutation test that runs them;
workers:   the pinned single-CPU worker processes that run gate tasks;
main:      the command (gate, --update, --mutate, --list-knobs).
"""

from .cells import GATE_TASKS, GateTask, cell_name, run_gate_task, value_name
from .coverage import EXEMPT, KNOBS
from .main import main
from .mutations import MUTATIONS
from .reference import REFERENCE_PATH, load_reference
from .verdict import ALPHA, RTOL, compare_values

__all__ = [
    "ALPHA",
    "EXEMPT",
    "GATE_TASKS",
    "GateTask",
    "KNOBS",
    "MUTATIONS",
    "REFERENCE_PATH",
    "RTOL",
    "cell_name",
    "compare_values",
    "load_reference",
    "main",
    "run_gate_task",
    "value_name",
]
