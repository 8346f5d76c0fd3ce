"""Shared set-up of the asv suites.

With `environment_type: existing` asv does not install the project, so the benchmark processes would
import whichever lthbench the interpreter finds (e.g. an editable install of another checkout). The
repository that holds this `benchmarks/` directory goes first on sys.path instead, and importing
this module fails if lthbench still comes from elsewhere.

DEVICE ('<backend>:<device kind>', e.g. 'cpu:cpu') is the first parameter of every benchmark, so each
result in asv's history records the JAX backend and device it ran on (a GPU run is its own series).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import lthbench  # noqa: E402
from lthbench import bench  # noqa: E402

if Path(lthbench.__file__).resolve().parent.parent != ROOT:
    raise ImportError(f"benchmarks would time lthbench from {lthbench.__file__}, not from {ROOT}")

DEVICE = bench.device_label()
LTHBENCH_FILE = lthbench.__file__


# On CPU a 10 x 10 ResCNN step takes minutes (sweep alone ~40 s on 2 cores): asv skips it there;
# `lthbench bench --suite paper` times it on demand.
CPU_SKIP = {(10, "rescnn-f16-b4")}


def warmed_kernel(L: int, net: str, name: str):
    """The named `lthbench.bench` kernel of the L x L TFIM case, called once (compiled). Raises
    NotImplementedError (asv then skips the benchmark) where the kernel does not apply, and for
    CPU_SKIP cases on a CPU backend."""
    if (L, net) in CPU_SKIP and DEVICE.startswith("cpu:"):
        raise NotImplementedError(f"{net} on {L}x{L} is skipped on CPU (lthbench bench --suite paper times it)")
    k = bench.kernel(bench.tfim_case(L, net), name)
    if k is None:
        raise NotImplementedError(f"{name} does not apply to {net} on {L}x{L}")
    k.call()
    return k
