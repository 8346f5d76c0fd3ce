"""asv accuracy history: the final relative errors of the accuracy gate's fixed-budget, fixed-seed
tasks (`lthbench.regression.GATE_TASKS`: dense, IMP ticket at density 0.26 and its ticket / reinit /
random-mask controls, ...), so accuracy has a history next to throughput. The same numbers are
what CI's gate compares with `benchmarks/regression_reference.json`.
"""

from __future__ import annotations

import tempfile

from .common import DEVICE


def _value_names() -> list[str]:
    from lthbench.regression import GATE_TASKS

    return [name for gt in GATE_TASKS for name in gt.value_names()]


class AccuracyGateTasks:
    params = ([DEVICE], _value_names())
    param_names = ["device", "value"]
    timeout = 1800

    def setup_cache(self):
        from lthbench.regression import GATE_TASKS, run_gate_task

        values = {}
        for gt in GATE_TASKS:
            with tempfile.TemporaryDirectory() as tmp:
                values.update(run_gate_task(gt, tmp)[0])
        return values

    def track_rel_error(self, values, device, value):
        return values[value]

    track_rel_error.unit = "relative error"
