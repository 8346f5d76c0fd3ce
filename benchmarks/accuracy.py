"""asv accuracy history: the final relative errors |E - E_ref| / |E_ref| of the accuracy gate's cells
(`lthbench.bench.gate.GATE_TASKS`, first fixed-key seed), so accuracy has a history next to throughput. The
same runs are what CI's gate compares, value by value, with the gate reference
(`lthbench/bench/gate_reference.json`).
"""

from __future__ import annotations

from .common import DEVICE  # first: it puts this checkout's lthbench first on sys.path

# isort: split
from lthbench.bench.gate import GATE_TASKS, load_reference, run_gate_task


def _value_names() -> list[str]:
    try:
        names = load_reference()["values"]
    except Exception:  # an older reference format: no accuracy history for that commit
        return []
    return sorted(n for n in names if n.endswith(":rel_error") and "/s0:" in n)


class AccuracyGateTasks:
    params = ([DEVICE], _value_names())
    param_names = ["device", "value"]
    timeout = 1800

    def setup_cache(self):
        values = {}
        for gt in GATE_TASKS:
            values.update(run_gate_task(gt, seeds=gt.seeds[:1])[0])
        return values

    def track_rel_error(self, values, device, value):
        return values[value]

    track_rel_error.unit = "relative error"
