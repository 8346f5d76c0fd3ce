"""Calibrate `lthbench.experiment.tasks`' cost model: measured seconds per training step on this machine.

    nice -n 10 .venv/bin/python benchmarks/cost_model.py --out cost_model.json [--steps 20] [--only TEXT]

For each case (a task id, possibly of the CPU family) it times `lthbench.vmc.train` with the task's
training settings on the dense net and under a random mask of density 0.3: seconds per step
(`TrainResult.seconds_per_step`, burn-in and frozen evaluation excluded) and the wall time of a whole
call after warm-up (burn-in + steps + evaluation), and the process CPU time (less sensitive to other
load than wall time: on an otherwise idle 2-core machine wall ~ CPU / 2 at best), next to the cost model's prediction. Writes JSON
with the `uptime` load at the start and the end (other processes share the cores: say so with the
numbers).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import tempfile
import time

import jax

from lthbench.bench import random_mask
from lthbench.experiment import dense_weight_count, estimated_cost, get_task, run_protocol, step_seconds
from lthbench.nets import make_ansatz
from lthbench.pruning.controls import CONTROL_NAMES
from lthbench.results import RunStore
from lthbench.systems import system_from_id
from lthbench.vmc import train

CASES = (  # (task id, spec fields replaced): the CPU family's kinds of net, small to large
    ("tfim2d-4x4-k3.04438-ffnn-a5-cpu", {}),
    ("tfim2d-4x4-k3.04438-ffnn-a1-cpu", {}),
    ("tfim2d-5x5-k3.04438-ffnn-a5-cpu", {}),
    ("tfim2d-6x6-k3.04438-ffnn-a8-cpu", {}),
    ("tfim2d-4x4-k3.04438-cnn-cpu", {}),
    ("tfim2d-4x4-k3.04438-rescnn-f4-b2-cpu", {"net_hyper": (("nb", 2), ("nf", 8))}),  # nf 8 nb 2
    ("toric-3-ffnn-a8-cpu", {}),
    ("toric-3-ffnn-a32-cpu", {}),
)
DENSITY = 0.3


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def time_case(task_id: str, overrides: dict, n_steps: int) -> dict:
    task = dataclasses.replace(get_task(task_id), **overrides)
    system = system_from_id(task.system_id)
    ansatz = make_ansatz(task.net, system, **task.hyper)
    params = ansatz.init(jax.random.key(0))
    out = {
        "task": task_id,
        "overrides": {k: repr(v) for k, v in overrides.items()},
        "dense_weights": dense_weight_count(task),
        "n_spins": system.n_spins,
    }
    for label, density in (("dense", 1.0), ("masked", DENSITY)):
        mask = None if density >= 1.0 else random_mask(ansatz, params, density)
        cfg = task.train_config(n_steps)
        train(system, ansatz, params, mask, dataclasses.replace(cfg, n_steps=2), jax.random.key(1))  # compile
        t0, c0 = time.perf_counter(), time.process_time()
        result = train(system, ansatz, params, mask, cfg, jax.random.key(2))
        call, cpu = time.perf_counter() - t0, time.process_time() - c0
        steps_share = result.wall_time / call  # the steps' part of the call (the rest: burn-in, evaluation)
        out[label] = {
            "seconds_per_step": float(result.seconds_per_step),
            "cpu_seconds_per_step": cpu * steps_share / result.n_steps_done,
            "call_seconds": call,
            "call_cpu_seconds": cpu,
            "n_steps": n_steps,
            "model_seconds_per_step": step_seconds(
                task, None if density >= 1.0 else round(density * dense_weight_count(task))
            ),
        }
    return out


CHAINS = (  # (task id, dense steps, steps per round, rounds): whole short chains with their controls
    ("toric-3-ffnn-a8-cpu", 100, 20, 6),
    ("tfim2d-4x4-k3.04438-ffnn-a5-cpu", 100, 20, 6),
)


def time_chain(task_id: str, dense: int, per_round: int, rounds: int, workdir: str) -> dict:
    """Wall and CPU seconds of a whole `run_protocol` chain (controls every 6th round and the last) on
    the task with shortened budgets, next to `estimated_cost` of that spec."""
    task = dataclasses.replace(
        get_task(task_id),
        id=f"{task_id}-calib",
        dense_steps=dense,
        round_steps=per_round,
        n_rounds=rounds,
        control_every=6,
    )
    controls = CONTROL_NAMES
    store = RunStore(os.path.join(workdir, f"{task.id}.nc"))
    t0, c0 = time.perf_counter(), time.process_time()
    run_protocol(task, controls=controls, store=store, progress=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    cost = estimated_cost(task)
    return {
        "task": task_id,
        "dense_steps": dense,
        "round_steps": per_round,
        "rounds": rounds,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "model_seconds": cost["seconds"],
        "steps": cost["steps"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="cost_model.json")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", default="", help="only cases whose id contains TEXT")
    parser.add_argument("--chains", action="store_true", help="time whole short chains (CHAINS) instead")
    args = parser.parse_args()
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "uptime_start": uptime(),
        "cpus": os.cpu_count(),
        "masked_density": DENSITY,
        "cases": [],
    }
    if args.chains:
        with tempfile.TemporaryDirectory() as workdir:
            for chain in CHAINS:
                if args.only not in chain[0]:
                    continue
                case = time_chain(*chain, workdir)
                case["uptime"] = uptime()
                report["cases"].append(case)
                print(json.dumps(case), flush=True)
        report["uptime_end"] = uptime()
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)
        return
    for task_id, overrides in CASES:
        if args.only not in task_id:
            continue
        case = time_case(task_id, overrides, args.steps)
        case["uptime"] = uptime()
        report["cases"].append(case)
        print(json.dumps(case), flush=True)
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1)
    report["uptime_end"] = uptime()
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
