"""asv accuracy history: the final relative errors |E - E_ref| / |E_ref| of the accuracy gate's cells
(`lthbench.gate.GATE_TASKS`, first fixed-key seed), so accuracy has a history next to throughput. The
same runs are what CI's gate compares, value by value, with `benchmarks/regression_reference.json`.
"""

from __future__ import annotations

from .common import DEVICE


def _value_names() -> list[str]:
    from lthbench.gate import load_reference

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
        from lthbench.gate import GATE_TASKS, run_gate_task

        values = {}
        for gt in GATE_TASKS:
            values.update(run_gate_task(gt, seeds=gt.seeds[:1])[0])
        return values

    def track_rel_error(self, values, device, value):
        return values[value]

    track_rel_error.unit = "relative error"
