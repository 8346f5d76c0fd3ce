"""`python -m lthbench.regression`: the accuracy regression gate. The code lives in `lthbench.bench.gate`
(tasks and tracked values, comparisons, the reference file and its update rule, the coverage table and
the mutation test); this module is its command-line entry point, kept at the documented name.
"""

from __future__ import annotations

import sys

from .bench.gate import GATE_TASKS, REFERENCE_PATH, load_reference, main, run_gate_task

__all__ = ["GATE_TASKS", "REFERENCE_PATH", "load_reference", "main", "run_gate_task"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
