"""What `lthbench bench` runs and records: the named suites of cases, the timing of their kernels
(`lthbench.bench.kernels`), and the figures as an xarray dataset.

`suite(name)` lists the cases of a suite; `measure(case, names)` times the applicable kernels of a case
(a warm-up call compiles, then the median of `repeats` calls is the figure; ED: one cold call);
`to_dataset` turns {case id: figures} into the dataset `lthbench bench` writes (dims case x kernel,
provenance in the `provenance_json` attribute); `device_label()` says where JAX runs.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from collections.abc import Callable

import numpy as np
import xarray as xr

from ..errors import LthbenchError
from ..provenance import device_info
from ..systems.tfim import KAPPA_C_2D, tfim_id
from ..vmc.blas_threads import single_threaded_blas
from .kernels import KERNELS, Case, kernel


def tfim_case(L: int, net_tag: str, n_samples: int = 1024) -> Case:
    """A case on the L x L OBC TFIM at kappa_c (the paper's lattice)."""
    return Case(tfim_id((L, L), KAPPA_C_2D), net_tag, n_samples)


def suite(name: str) -> list[Case]:
    """The named list of cases: 'paper' (10 x 10: FFNN alpha 5 and ResCNN nf 16 nb 4, 1024 samples),
    'paper-ffnn' (its FFNN alone), 'small' (4 x 4: FFNN alpha 5, CNN, ResCNN), 'tiny' (3 x 3 FFNN
    alpha 1, 64 samples: tests)."""
    suites = {
        "paper": lambda: [tfim_case(10, "ffnn-a5"), tfim_case(10, "rescnn-f16-b4")],
        "paper-ffnn": lambda: [tfim_case(10, "ffnn-a5")],
        "small": lambda: [tfim_case(4, "ffnn-a5"), tfim_case(4, "cnn"), tfim_case(4, "rescnn-f16-b4")],
        "tiny": lambda: [tfim_case(3, "ffnn-a1", n_samples=64)],
    }
    if name not in suites:
        raise LthbenchError(f"unknown benchmark suite {name!r}; choose one of {', '.join(suites)}")
    return suites[name]()


# --------------------------------------------------------------------------------------------------
# Timing


def median_seconds(call: Callable[[], object], repeats: int = 3, warmup: int = 1, seconds_of=None) -> float:
    """Median seconds of `repeats` calls of call() after `warmup` untimed calls (compilation): each
    call's wall time, or seconds_of(result) when given."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        result = call()
        wall = time.perf_counter() - t0
        times.append(wall if seconds_of is None else float(seconds_of(result)))
    return statistics.median(times)


def device_label() -> str:
    """'<backend>:<device kind>' of JAX's first device, e.g. 'cpu:cpu' or 'gpu:NVIDIA H100 80GB HBM3'."""
    info = device_info()
    return f"{info['backend']}:{info['device_kind'] or info['device']}"


def measure(case: Case, names=KERNELS, repeats: int = 3, ed_repeats: int = 1) -> dict[str, dict]:
    """{kernel: {'seconds': median s per call, 'samples_per_s': configurations / s, 'configurations'}}
    for every applicable kernel of `names`; kernels that do not apply to the case are left out.
    ED runs `ed_repeats` times (it has no compilation to warm up; the first call is timed too)."""
    out = {}
    for name in names:
        k = kernel(case, name)
        if k is None:
            continue
        with single_threaded_blas():
            if name == "ed":
                seconds = median_seconds(k.call, repeats=ed_repeats, warmup=0)
            else:
                seconds = median_seconds(k.call, repeats=repeats, seconds_of=k.seconds_of)
        out[name] = {
            "seconds": seconds,
            "samples_per_s": k.configurations / seconds if seconds > 0 else math.nan,
            "configurations": k.configurations,
        }
    return out


def to_dataset(figures: dict[str, dict[str, dict]], provenance: dict) -> xr.Dataset:
    """{case id: measure(...)} -> xr.Dataset with dims (case, kernel): seconds, samples_per_s,
    configurations (NaN where a kernel does not apply); attrs backend, device, provenance_json."""
    cases = list(figures)
    shape = (len(cases), len(KERNELS))
    data = {v: np.full(shape, np.nan) for v in ("seconds", "samples_per_s", "configurations")}
    for i, case in enumerate(cases):
        for j, name in enumerate(KERNELS):
            for var in data:
                if name in figures[case]:
                    data[var][i, j] = figures[case][name][var]
    units = {
        "seconds": ("s", "median wall seconds per call"),
        "samples_per_s": ("1/s", "spin configurations processed per second"),
        "configurations": ("1", "spin configurations per call (n_samples, or 2^N for exact_step and ed)"),
    }
    ds = xr.Dataset(
        {v: (("case", "kernel"), data[v], {"units": units[v][0], "long_name": units[v][1]}) for v in data},
        coords={
            "case": ("case", np.asarray(cases, dtype=object)),
            "kernel": ("kernel", np.asarray(KERNELS, dtype=object)),
        },
    )
    ds.attrs.update(
        {
            "title": "lthbench throughput",
            "backend": provenance.get("backend", ""),
            "device": provenance.get("device_kind", "") or provenance.get("device", ""),
            "provenance_json": json.dumps(provenance, sort_keys=True, default=str),
        }
    )
    return ds
