"""The gate's worker processes: gate tasks run at given seeds, one process per CPU, each pinned to one
CPU with single-threaded BLAS, so the numbers do not depend on the machine's core count (XLA sizes its
thread pool by the CPUs a process may run on; measured: a float32 ResCNN cell moved by 1e-4 between 1
and 2 cores). A worker is `python -m lthbench.regression --worker OUT --job TASK:SEEDS ...`."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import jaxlib

from ...errors import LthbenchError
from ...provenance import cpu_features
from . import mutations
from .cells import GATE_TASKS, gate_task, run_gate_task

WORKER_ENV = {"JAX_PLATFORMS": "cpu", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def machine() -> str:
    """'Linux-..., 2 CPUs, jax 0.10.2 cpu' (platform, os.cpu_count, JAX version; the gate runs on CPU)."""
    return f"{platform.platform()}, {os.cpu_count()} CPUs, jax {jax.__version__} cpu"


def platform_info() -> dict:
    """Where the fixed-key numbers are made: CPU, JAX versions, workers pinned to one CPU each."""
    return {
        "backend": "cpu",
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,  # pyright: ignore[reportPrivateImportUsage]  (jaxlib has no __all__)
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "worker_cpus": 1,
        "worker_env": WORKER_ENV,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "cpu_features": cpu_features(),
    }


def balance(jobs: list, n: int, cost) -> list[list]:
    """Greedy longest-first split of `jobs` into n buckets by cost(job)."""
    buckets = [[] for _ in range(n)]
    loads = [0.0] * n
    for job in sorted(jobs, key=cost, reverse=True):
        i = loads.index(min(loads))
        buckets[i].append(job)
        loads[i] += cost(job)
    return [b for b in buckets if b]


def start_worker(bucket: list, cpu: int, out: Path, mutation: str | None, env: dict) -> subprocess.Popen:
    """A worker process for `bucket`'s (task, seeds) jobs, pinned to `cpu` before anything is imported
    (so XLA's thread pool and BLAS see one CPU), writing its JSON to `out`."""
    argv = ["--worker", str(out)] + [
        a for name, seeds in bucket for a in ("--job", f"{name}:{','.join(map(str, seeds))}")
    ]
    argv += ["--apply-mutation", mutation] if mutation else []
    boot = (
        f"import os, sys; os.sched_setaffinity(0, {{{cpu}}}); sys.argv = {['lthbench'] + argv!r}; "
        "import runpy; runpy.run_module('lthbench.regression', run_name='__main__')"
    )
    return subprocess.Popen(
        [sys.executable, "-c", boot], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_jobs(jobs: list[tuple[str, tuple]], mutation: str | None = None) -> tuple[dict, dict]:
    """Run (gate task, seeds) jobs in worker processes, one per CPU this process may use (see the module
    doc). Returns ({value name: value}, {task: wall s of its fixed-key job, and (task, seeds): wall s of
    each job}). Raises LthbenchError with a worker's last stderr line if one fails."""
    cpus = sorted(os.sched_getaffinity(0))
    by_name = {gt.name: gt for gt in GATE_TASKS}

    def cost(job):
        name, seeds = job
        gt = by_name.get(name)
        return gt.cost * len(seeds) / len(gt.seeds) if gt else 10.0 * len(seeds)

    buckets = balance(jobs, max(1, min(len(cpus), len(jobs))), cost)
    env = {**os.environ, **WORKER_ENV}
    values, walls = {}, {}
    with tempfile.TemporaryDirectory(prefix="lthbench-gate-") as tmp:
        procs = []
        for i, bucket in enumerate(buckets):
            out = Path(tmp) / f"worker{i}.json"
            cpu = cpus[(i + os.getpid()) % len(cpus)]  # concurrent gates (the mutation test) spread over CPUs
            procs.append((start_worker(bucket, cpu, out, mutation, env), out))
        for proc, out in procs:
            _, err = proc.communicate()
            if proc.returncode != 0:
                last = (err.strip().splitlines() or ["(no output)"])[-1]
                raise LthbenchError(f"a gate worker failed (exit {proc.returncode}): {last}")
            data = json.loads(out.read_text())
            values.update(data["values"])
            for name, seeds, wall in data["walls"]:
                walls[(name, tuple(seeds))] = wall
                if name in by_name and tuple(seeds) == tuple(by_name[name].seeds):
                    walls[name] = wall
    return dict(sorted(values.items())), walls


def worker(args) -> int:
    """A worker of run_jobs: run its --job entries (with --apply-mutation, mutated) and write JSON
    {'values': {...}, 'walls': [[task, seeds, s], ...]} to --worker."""
    tasks = {gt.name: gt for gt in GATE_TASKS}
    context = contextlib.nullcontext()
    if args.apply_mutation:
        m = mutations.mutation(args.apply_mutation)
        tasks.update({gt.name: gt for gt in mutations.mutated_tasks(m)})
        context = mutations.mutation_context(m)
    values, walls = {}, []
    with context:
        for job in args.job:
            name, seeds = job.split(":")
            seeds = tuple(int(s) for s in seeds.split(","))
            v, wall = run_gate_task(gate_task(name, tuple(tasks.values())), seeds)
            values.update(v)
            walls.append([name, list(seeds), wall])
    Path(args.worker).write_text(json.dumps({"values": values, "walls": walls}))
    return 0
