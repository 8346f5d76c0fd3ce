"""Batched tickets: B trainings as one compiled program (vmap / lax.map) vs B separate `train` calls.

    .venv/bin/python benchmarks/batched_tickets.py --batch 8 --repeats 3 --json out.json

For each task: B nets (different inits and keys), each under its own random mask of density 0.5 (the
shape of a round's controls or a task's seeds), trained for --steps steps with the task's settings.
Untimed warm-up (compilation) first; then, per repeat, the B sequential `train` calls and one
`train_batched` call per mode, alternating, each timed to the end of its evaluation. Prints the median
seconds and the throughput ratio sequential_time / batched_time (> 1: batching is faster), and checks
that the batched energies match the sequential ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import lthbench  # noqa: E402,F401  (x64)
from lthbench.experiment import get_task  # noqa: E402
from lthbench.masks import full_mask, prunable_leaves, to_numpy  # noqa: E402
from lthbench.nets import make_ansatz  # noqa: E402
from lthbench.pruning.controls import random_mask_like  # noqa: E402
from lthbench.systems import system_from_id  # noqa: E402
from lthbench.vmc import train  # noqa: E402
from lthbench.vmc.batched import train_batched  # noqa: E402

# name -> (task id, steps, overrides of the task's TrainConfig)
CASES = {
    "tiny-exact": ("tiny-tfim-3x3", 50, {}),
    "tfim4x4-a2.5-exact": ("tfim2d-4x4-k3.04438-ffnn-a2.5-quick", 25, {}),
    "tfim4x4-a5-mc": ("tfim2d-4x4-k3.04438-ffnn-a5", 25, {"n_eval_steps": 2}),
}


def members(task_id: str, batch: int, density: float = 0.5):
    """(system, ansatz, params list, mask list, key list) for B members of one task."""
    task = get_task(task_id)
    system = system_from_id(task.system_id)
    ansatz = make_ansatz(task.net, system, **task.hyper)
    params = [to_numpy(ansatz.init(jax.random.key(i))) for i in range(batch)]
    prunable = prunable_leaves(params[0], ansatz.is_prunable)
    masks = []
    for i in range(batch):
        half = jax.tree_util.tree_map(
            lambda m, p: (np.arange(m.size).reshape(m.shape) < round(density * m.size)).astype(m.dtype) if p else m,
            to_numpy(full_mask(params[0])),
            prunable,
        )
        masks.append(to_numpy(random_mask_like(half, prunable, jax.random.key(1000 + i))))
    keys = [jax.random.key(2000 + i) for i in range(batch)]
    return task, system, ansatz, params, masks, keys


def run_case(name: str, batch: int, repeats: int, modes: list[str], steps: int | None = None) -> dict:
    task_id, default_steps, overrides = CASES[name]
    steps = steps or default_steps
    task, system, ansatz, params, masks, keys = members(task_id, batch)
    config = dataclasses.replace(task.train_config(steps), **overrides)

    def sequential():
        return [train(system, ansatz, p, m, config, k) for p, m, k in zip(params, masks, keys)]

    def batched(mode):
        return train_batched(system, ansatz, params, masks, config, keys, mode=mode)

    ref = sequential()  # warm-up (compiles)
    max_diff = {}
    for mode in modes:
        out = batched(mode)
        max_diff[mode] = max(abs(a.energy - b.energy) / abs(b.energy) for a, b in zip(out, ref))
    times = {"sequential": [], **{m: [] for m in modes}}
    for _ in range(repeats):
        t0 = time.perf_counter()
        sequential()
        times["sequential"].append(time.perf_counter() - t0)
        for mode in modes:
            t0 = time.perf_counter()
            batched(mode)
            times[mode].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "case": name,
        "task": task_id,
        "exact": config.exact,
        "steps": steps,
        "batch": batch,
        "median_s": med,
        "ratio": {m: med["sequential"] / med[m] for m in modes},
        "max_rel_energy_diff": max_diff,
        "times_s": times,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="vmap,map")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the case's)")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    results = []
    for name in [c for c in args.cases.split(",") if c]:
        res = run_case(name, args.batch, args.repeats, modes, args.steps)
        results.append(res)
        ratios = "  ".join(f"{m}: {res['median_s'][m]:.2f} s (x{res['ratio'][m]:.2f})" for m in modes)
        diffs = "  ".join(f"{m} {d:.1e}" for m, d in res["max_rel_energy_diff"].items())
        print(
            f"{name:20s} B={args.batch} steps={res['steps']}  sequential: {res['median_s']['sequential']:.2f} s  "
            f"{ratios}  | max rel energy diff {diffs}",
            flush=True,
        )
    meta = {
        "jax": jax.__version__,
        "devices": [str(d) for d in jax.devices()],
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "argv": sys.argv,
    }
    if args.json:
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
