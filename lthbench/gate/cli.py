"""`python -m lthbench.regression`: the accuracy regression gate (CI runs it after the tests).

    python -m lthbench.regression                          # run the gate (exit 1 names every moved value)
    python -m lthbench.regression --only tfim3x3-exact     # one gate task
    python -m lthbench.regression --statistical-only       # Monte Carlo cells by the across-seed test only
    python -m lthbench.regression --update --why "..."     # re-record (needs a bumped NUMERICS_VERSION)
    python -m lthbench.regression --update --same-numerics --only NEW --why "..."   # a pure addition
    python -m lthbench.regression --mutate all [--report FILE]   # the gate's own mutation test
    python -m lthbench.regression --list-knobs             # the coverage table

The gate runs on CPU (the reference is CPU numbers). Exit status: 0 pass; 1 a value moved, appeared,
vanished, or a Monte Carlo cell's distribution shifted (one line each on stderr, with both numbers);
2 bad input, an unreadable reference, or a reference recorded under another NUMERICS_VERSION.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jax

from ..errors import LthbenchError
from ..numerics import NUMERICS_VERSION
from ..provenance import git_commit
from . import coverage
from .cells import GATE_TASKS, STAT_QUANTITY, gate_task, run_gate_task, split_value_name, task_of
from .reference import (
    REFERENCE_PATH,
    check_numerics,
    check_pure_addition,
    check_update_allowed,
    load_reference,
    updated_reference,
    write_reference,
)
from .verdict import (
    compare_distributions,
    compare_values,
    format_distribution_verdict,
    format_value_verdict,
    seed_samples,
)

PROG = "python -m lthbench.regression"


def machine() -> str:
    """'Linux-..., 2 CPUs, jax 0.10.2 cpu' (platform, os.cpu_count, JAX version; the gate runs on CPU)."""
    return f"{platform.platform()}, {os.cpu_count()} CPUs, jax {jax.__version__} cpu"


def platform_info() -> dict:
    """Where the fixed-key numbers are made: CPU, JAX versions, workers pinned to one CPU each."""
    import jaxlib

    return {
        "backend": "cpu",
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "worker_cpus": 1,
        "worker_env": WORKER_ENV,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="lthbench accuracy regression gate",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    p.add_argument("--reference", default=str(REFERENCE_PATH), help="reference file (JSON)")
    p.add_argument("--only", action="append", default=None, metavar="TASK", help="run only this gate task")
    p.add_argument(
        "--statistical-only",
        action="store_true",
        help="judge Monte Carlo cells by the across-seed test only (after a change of random stream)",
    )
    p.add_argument("--verbose", action="store_true", help="print every value, not only the moved ones")
    p.add_argument("--update", action="store_true", help="re-measure and rewrite the reference (see --why)")
    p.add_argument("--why", default="", help="with --update: the reason, written into the reference's history")
    p.add_argument(
        "--same-numerics",
        action="store_true",
        help="with --update: a pure addition of cells under the same NUMERICS_VERSION",
    )
    p.add_argument("--mutate", metavar="NAMES", help="'all' or comma-separated mutation names: the mutation test")
    p.add_argument("--report", metavar="FILE", help="with --mutate: write the report table (markdown) here")
    p.add_argument("--jobs", type=int, default=1, help="with --mutate: mutations run at once (default 1)")
    p.add_argument("--list-knobs", action="store_true", help="print the coverage table and the mutations")
    p.add_argument("--apply-mutation", metavar="NAME", help=argparse.SUPPRESS)  # the child of --mutate
    p.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)  # a worker process (see run_jobs)
    p.add_argument("--job", action="append", default=[], metavar="TASK:SEEDS", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        jax.config.update("jax_platforms", "cpu")
        if args.worker:
            return worker(args)
        if args.list_knobs:
            return list_knobs()
        if args.mutate:
            return mutate(args)
        if args.update:
            return update(args, argv if argv is not None else sys.argv[1:])
        return gate(args)
    except LthbenchError as err:
        print(f"lthbench regression gate: error: {err}", file=sys.stderr)
        return 2


def selected(args, tasks=GATE_TASKS) -> list:
    return [gate_task(n, tasks) for n in args.only] if args.only else list(tasks)


def gate(args) -> int:
    ref = load_reference(args.reference)
    check_numerics(ref, NUMERICS_VERSION)
    tasks = selected(args)
    if args.apply_mutation:
        m = coverage.mutation(args.apply_mutation)
        tasks = coverage.mutated_tasks(m, tasks)
        print(f"mutation {m.name!r}: {m.how}; gate tasks {', '.join(gt.name for gt in tasks)}", flush=True)
    jax_ref = ref.get("platform", {}).get("jax")
    print(
        f"accuracy gate on {machine()}; reference {ref.get('git_commit', '?')[:12]}, numerics version "
        f"{NUMERICS_VERSION}",
        flush=True,
    )
    if jax_ref and jax_ref != jax.__version__:
        print(f"note: the reference was recorded with jax {jax_ref}, this is jax {jax.__version__}", flush=True)
    bad = []
    measured, walls = run_jobs([(gt.name, gt.seeds) for gt in tasks], args.apply_mutation)
    for gt in tasks:
        values = {n: v for n, v in measured.items() if task_of(n) == gt.name}
        verdicts = compare_values(values, ref["values"], tasks=[gt.name])
        if args.statistical_only and gt.monte_carlo:
            verdicts = [v for v in verdicts if v["status"] in ("MISSING", "NEW")]
        moved = [v for v in verdicts if v["status"] != "ok"]
        bad += [format_value_verdict(v) for v in moved]
        for v in verdicts if args.verbose else moved:
            print(format_value_verdict(v), flush=True)
        wall, ref_wall = walls.get(gt.name, 0.0), ref.get("wall_time_s", {}).get(gt.name)
        ratio = f", {wall / ref_wall:.2f} x the recording run's {ref_wall:.1f} s" if ref_wall else ""
        print(
            f"{gt.name}: {len(verdicts) - len(moved)} of {len(verdicts)} values equal to 1e-10 "
            f"(seeds {', '.join(map(str, gt.seeds))}); {wall:.1f} s{ratio} (timing never fails)",
            flush=True,
        )
    samples = seed_samples({n: v for n, v in measured.items()}, STAT_QUANTITY)
    for v in compare_distributions(samples, ref.get("distributions", {})):
        line = format_distribution_verdict(v)
        print(line, flush=True)
        if v["status"] != "ok":
            bad.append(line)
    if bad:
        for line in bad:
            print(line, file=sys.stderr)
        print(
            f"accuracy gate: {len(bad)} change(s); if intended, bump NUMERICS_VERSION and run "
            f'`{PROG} --update --why "..."`',
            file=sys.stderr,
        )
        return 1
    print("accuracy gate: passed")
    return 0


def update(args, argv: list[str]) -> int:
    path = Path(args.reference)
    old = load_reference(path, allow_old=True) if path.exists() else {}
    check_update_allowed(old, NUMERICS_VERSION, args.same_numerics, args.why, partial=bool(args.only))
    tasks = selected(args)
    print(f"recording the gate reference on {machine()} (numerics version {NUMERICS_VERSION})", flush=True)
    jobs = [(gt.name, gt.seeds) for gt in tasks]
    for gt in tasks:  # the distribution seeds, in two halves so that two workers share them
        half = len(gt.stat_seeds) // 2
        jobs += [(gt.name, seeds) for seeds in (gt.stat_seeds[:half], gt.stat_seeds[half:]) if seeds]
    measured, walls = run_jobs(jobs)
    stat_names = {gt.name: set(gt.stat_seeds) for gt in tasks}
    values = {n: v for n, v in measured.items() if split_value_name(n)[1] not in stat_names[task_of(n)]}
    distributions = {}
    for gt in [g for g in tasks if g.stat_seeds]:
        stat = {
            n: v for n, v in measured.items() if task_of(n) == gt.name and split_value_name(n)[1] in stat_names[gt.name]
        }
        for cell, sample in seed_samples(stat, STAT_QUANTITY).items():
            distributions[cell] = {"quantity": STAT_QUANTITY, "seeds": list(gt.stat_seeds), "values": sample}
    walls = {gt.name: walls.get(gt.name, 0.0) for gt in tasks}
    for gt in tasks:
        print(f"{gt.name}: {sum(task_of(n) == gt.name for n in values)} values, {walls[gt.name]:.1f} s", flush=True)
    new, entry = updated_reference(
        old,
        values=values,
        distributions=distributions,
        walls=walls,
        tasks=[gt.name for gt in tasks],
        numerics_version=NUMERICS_VERSION,
        why=args.why,
        command=f"{PROG} " + shlex.join(argv),
        commit=git_commit(),
        machine=machine(),
        platform_info=platform_info(),
    )
    if args.same_numerics:
        check_pure_addition(entry)
    for v in compare_distributions(seed_samples(values, STAT_QUANTITY), distributions):
        print(f"check of the recorded seeds: {format_distribution_verdict(v)}", flush=True)
    write_reference(new, path)
    for name, o, n in entry["changed"]:
        print(f"changed {name}: {o!r} -> {n!r}")
    print(
        f"wrote {path}: {len(entry['changed'])} value(s) changed, {len(entry['added'])} added, "
        f"{len(entry['removed'])} removed; history entry {len(new['history'])}: {args.why}"
    )
    return 0


WORKER_ENV = {"JAX_PLATFORMS": "cpu", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def balance(jobs: list, n: int, cost) -> list[list]:
    """Greedy longest-first split of `jobs` into n buckets by cost(job)."""
    buckets = [[] for _ in range(n)]
    loads = [0.0] * n
    for job in sorted(jobs, key=cost, reverse=True):
        i = loads.index(min(loads))
        buckets[i].append(job)
        loads[i] += cost(job)
    return [b for b in buckets if b]


def run_jobs(jobs: list[tuple[str, tuple]], mutation: str | None = None) -> tuple[dict, dict]:
    """Run (gate task, seeds) jobs in worker processes, one per CPU this process may use, each pinned to
    one CPU with single-threaded BLAS, so the numbers do not depend on the machine's core count (XLA
    sizes its thread pool by the CPUs a process may run on; measured: a float32 ResCNN cell moved by 1e-4
    between 1 and 2 cores). Returns ({value name: value}, {task: wall s of its fixed-key job, and
    (task, seeds): wall s of each job}). Raises LthbenchError with a worker's last stderr line if one fails."""
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
            argv = ["--worker", str(out)] + [
                a for name, seeds in bucket for a in ("--job", f"{name}:{','.join(map(str, seeds))}")
            ]
            argv += ["--apply-mutation", mutation] if mutation else []
            # pinned before anything is imported (so XLA's thread pool and BLAS see one CPU)
            cpu = cpus[(i + os.getpid()) % len(cpus)]  # concurrent gates (the mutation test) spread over CPUs
            boot = (
                f"import os, sys; os.sched_setaffinity(0, {{{cpu}}}); sys.argv = {['lthbench'] + argv!r}; "
                "import runpy; runpy.run_module('lthbench.regression', run_name='__main__')"
            )
            procs.append(
                (
                    subprocess.Popen(
                        [sys.executable, "-c", boot], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
                    ),
                    out,
                )
            )
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
        m = coverage.mutation(args.apply_mutation)
        tasks.update({gt.name: gt for gt in coverage.mutated_tasks(m)})
        context = coverage.mutation_context(m)
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


def list_knobs() -> int:
    for knob, k in coverage.KNOBS.items():
        print(f"{knob:24s} {', '.join(k.cells):60s} {k.what}")
    for field, why in coverage.EXEMPT.items():
        print(f"{field:24s} exempt: {why}")
    for m in coverage.MUTATIONS:
        print(f"mutation {m.name!r} ({m.knob}): {m.how}")
    return 0


def run_mutation(m: coverage.Mutation, reference: str) -> dict:
    """Run one mutation in a fresh process: {'name', 'knob', 'how', 'rc', 'moved' (value or cell names),
    'caught', 'seconds', 'first' (the first moved line)}."""
    cmd = [sys.executable, "-m", "lthbench.regression", "--apply-mutation", m.name, "--reference", reference]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.split(" ", 1)[0] in ("MOVED", "MISSING", "NEW", "SHIFTED")]
    moved = [ln.split(" ", 2)[1].rstrip(":") for ln in lines]
    ok = proc.returncode == 1 and coverage.caught(m, moved)
    err = proc.stderr.strip().splitlines()[-1:] if proc.returncode not in (0, 1) else []
    return {
        "name": m.name,
        "knob": m.knob,
        "how": m.how,
        "rc": proc.returncode,
        "moved": moved,
        "caught": ok,
        "seconds": time.perf_counter() - t0,
        "first": lines[0] if lines else (err[0] if err else ""),
    }


def mutate(args) -> int:
    names = [m.name for m in coverage.MUTATIONS] if args.mutate == "all" else args.mutate.split(",")
    todo = [coverage.mutation(n) for n in names]
    load_reference(args.reference)
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(run_mutation, m, args.reference): m for m in todo}
        for fut in concurrent.futures.as_completed(futures):
            r, m = fut.result(), futures[fut]
            results.append(r)
            print(
                f"{'caught' if r['caught'] else 'MISSED'} {m.name} ({m.knob}): exit {r['rc']}, {len(r['moved'])} "
                f"values moved, {r['seconds']:.0f} s; {r['first']}",
                flush=True,
            )
    order = {m.name: i for i, m in enumerate(todo)}
    results.sort(key=lambda r: order[r["name"]])
    n_caught = sum(r["caught"] for r in results)
    print(f"mutation test: {n_caught} of {len(results)} mutations caught (kill rate {n_caught / len(results):.0%})")
    if args.report:
        Path(args.report).write_text(report_table(results))
        with open(Path(args.report).with_suffix(".json"), "w") as fh:
            json.dump(results, fh, indent=1)
    return 0 if n_caught == len(results) else 1


def report_table(results: list[dict]) -> str:
    """Markdown: one row per mutation (knob, mutation, cells of the knob, verdict, values moved, first line)."""
    rows = [
        "| knob | mutation | gate cells (knob table) | verdict | values moved | first moved value |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        first = r["first"].replace("|", "/")
        if len(first) > 160:
            first = first[:157] + "..."
        rows.append(
            f"| `{r['knob']}` | {r['how']} | {', '.join(coverage.KNOBS[r['knob']].cells)} | "
            f"{'caught' if r['caught'] else '**missed**'} (exit {r['rc']}) | {len(r['moved'])} | {first} |"
        )
    n = sum(r["caught"] for r in results)
    rows.append("")
    rows.append(f"Kill rate: {n} of {len(results)} ({n / len(results):.0%}).")
    return "\n".join(rows) + "\n"
