"""Benchmarks of lthbench itself: throughput and the accuracy gate.

kernels:  the timed pieces of a VMC step (`Case`, `kernel(case, name)`, `train_step_kernel`, `sr_direction`, ...);
suite:    what `lthbench bench` runs and records (the named suites, `measure`, `to_dataset`, `device_label`);
gate/:    the accuracy regression gate (`python -m lthbench.regression`), its reference shipped as package
          data next to this file (gate_reference.json).

The names of `kernels` and `suite` are re-exported here (`from lthbench import bench; bench.kernel(...)`).
"""

from .kernels import (
    ED_MAX_SPINS,
    EXACT_STEP_MAX_PARAMS,
    EXACT_STEP_MAX_SPINS,
    KERNELS,
    PRUNED_DENSITY,
    SR_SHIFT,
    Case,
    Kernel,
    blocking,
    build,
    ed_kernel,
    kernel,
    local_energy_kernel,
    parse_net_tag,
    random_mask,
    samples,
    sr_direction,
    sr_kernel,
    sweep_kernel,
    train_step_kernel,
)
from .suite import device_label, measure, median_seconds, suite, tfim_case, to_dataset

__all__ = [
    "ED_MAX_SPINS",
    "EXACT_STEP_MAX_PARAMS",
    "EXACT_STEP_MAX_SPINS",
    "KERNELS",
    "PRUNED_DENSITY",
    "SR_SHIFT",
    "Case",
    "Kernel",
    "blocking",
    "build",
    "device_label",
    "ed_kernel",
    "kernel",
    "local_energy_kernel",
    "measure",
    "median_seconds",
    "parse_net_tag",
    "random_mask",
    "samples",
    "sr_direction",
    "sr_kernel",
    "suite",
    "sweep_kernel",
    "tfim_case",
    "to_dataset",
    "train_step_kernel",
]
