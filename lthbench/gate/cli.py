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
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import jax

from ..errors import LthbenchError
from ..numerics import NUMERICS_VERSION
from ..provenance import git_commit
from . import coverage
from .cells import GATE_TASKS, STAT_QUANTITY, gate_task, run_gate_task
from .reference import (REFERENCE_PATH, check_numerics, check_pure_addition, check_update_allowed, load_reference,
                        updated_reference, write_reference)
from .verdict import (ALPHA, compare_distributions, compare_values, format_distribution_verdict,
                      format_value_verdict, seed_samples)

PROG = "python -m lthbench.regression"


def machine() -> str:
    """'Linux-..., 2 CPUs, jax 0.10.2 cpu' (platform, os.cpu_count, JAX version and backend)."""
    return f"{platform.platform()}, {os.cpu_count()} CPUs, jax {jax.__version__} {jax.default_backend()}"


def platform_info() -> dict:
    import jaxlib

    return {"backend": jax.default_backend(), "jax": jax.__version__, "jaxlib": jaxlib.__version__,
            "cpu_count": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)),
            "xla_flags": os.environ.get("XLA_FLAGS", "")}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="lthbench accuracy regression gate",
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--reference", default=str(REFERENCE_PATH), help="reference file (JSON)")
    p.add_argument("--only", action="append", default=None, metavar="TASK", help="run only this gate task")
    p.add_argument("--statistical-only", action="store_true",
                   help="judge Monte Carlo cells by the across-seed test only (after a change of random stream)")
    p.add_argument("--verbose", action="store_true", help="print every value, not only the moved ones")
    p.add_argument("--update", action="store_true", help="re-measure and rewrite the reference (see --why)")
    p.add_argument("--why", default="", help="with --update: the reason, written into the reference's history")
    p.add_argument("--same-numerics", action="store_true",
                   help="with --update: a pure addition of cells under the same NUMERICS_VERSION")
    p.add_argument("--mutate", metavar="NAMES", help="'all' or comma-separated mutation names: the mutation test")
    p.add_argument("--report", metavar="FILE", help="with --mutate: write the report table (markdown) here")
    p.add_argument("--list-knobs", action="store_true", help="print the coverage table and the mutations")
    p.add_argument("--apply-mutation", metavar="NAME", help=argparse.SUPPRESS)  # the child of --mutate
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        jax.config.update("jax_platforms", "cpu")
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
    context = None
    if args.apply_mutation:
        m = coverage.mutation(args.apply_mutation)
        tasks = coverage.mutated_tasks(m, tasks)
        context = coverage.mutation_context(m)
        print(f"mutation {m.name!r}: {m.how}; gate tasks {', '.join(m.tasks)}", flush=True)
    jax_ref = ref.get("platform", {}).get("jax")
    print(f"accuracy gate on {machine()}; reference {ref.get('git_commit', '?')[:12]}, numerics version "
          f"{NUMERICS_VERSION}", flush=True)
    if jax_ref and jax_ref != jax.__version__:
        print(f"note: the reference was recorded with jax {jax_ref}, this is jax {jax.__version__}", flush=True)
    bad, measured = [], {}
    with context if context is not None else contextlib.nullcontext():
        for gt in tasks:
            values, wall = run_gate_task(gt)
            measured.update(values)
            verdicts = compare_values(values, ref["values"], tasks=[gt.name])
            if args.statistical_only and gt.monte_carlo:
                verdicts = [v for v in verdicts if v["status"] in ("MISSING", "NEW")]
            moved = [v for v in verdicts if v["status"] != "ok"]
            bad += [format_value_verdict(v) for v in moved]
            for v in verdicts if args.verbose else moved:
                print(format_value_verdict(v), flush=True)
            ref_wall = ref.get("wall_time_s", {}).get(gt.name)
            ratio = f", {wall / ref_wall:.2f} x the recording run's {ref_wall:.1f} s" if ref_wall else ""
            print(f"{gt.name}: {len(verdicts) - len(moved)} of {len(verdicts)} values equal to 1e-10 "
                  f"(seeds {', '.join(map(str, gt.seeds))}); {wall:.1f} s{ratio} (timing never fails)", flush=True)
    samples = seed_samples({n: v for n, v in measured.items()}, STAT_QUANTITY)
    for v in compare_distributions(samples, ref.get("distributions", {})):
        line = format_distribution_verdict(v)
        print(line, flush=True)
        if v["status"] != "ok":
            bad.append(line)
    if bad:
        for line in bad:
            print(line, file=sys.stderr)
        print(f"accuracy gate: {len(bad)} change(s); if intended, bump NUMERICS_VERSION and run "
              f"`{PROG} --update --why \"...\"`", file=sys.stderr)
        return 1
    print("accuracy gate: passed")
    return 0


def update(args, argv: list[str]) -> int:
    path = Path(args.reference)
    old = load_reference(path, allow_old=True) if path.exists() else {}
    check_update_allowed(old, NUMERICS_VERSION, args.same_numerics, args.why, partial=bool(args.only))
    tasks = selected(args)
    print(f"recording the gate reference on {machine()} (numerics version {NUMERICS_VERSION})", flush=True)
    values, walls, distributions = {}, {}, {}
    for gt in tasks:
        v, walls[gt.name] = run_gate_task(gt)
        values.update(v)
        print(f"{gt.name}: {len(v)} values, {walls[gt.name]:.1f} s", flush=True)
        if gt.stat_seeds:
            stat, wall = run_gate_task(gt, gt.stat_seeds)
            for cell, sample in seed_samples(stat, STAT_QUANTITY).items():
                distributions[cell] = {"quantity": STAT_QUANTITY, "seeds": list(gt.stat_seeds), "values": sample}
            print(f"{gt.name}: distribution over seeds {gt.stat_seeds[0]}..{gt.stat_seeds[-1]}, {wall:.1f} s", flush=True)
    new, entry = updated_reference(
        old, values=values, distributions=distributions, walls=walls, tasks=[gt.name for gt in tasks],
        numerics_version=NUMERICS_VERSION, why=args.why, command=f"{PROG} " + " ".join(argv), commit=git_commit(),
        machine=machine(), platform_info=platform_info())
    if args.same_numerics:
        check_pure_addition(entry)
    for v in compare_distributions(seed_samples(values, STAT_QUANTITY), distributions):
        print(f"check of the recorded seeds: {format_distribution_verdict(v)}", flush=True)
    write_reference(new, path)
    for name, o, n in entry["changed"]:
        print(f"changed {name}: {o!r} -> {n!r}")
    print(f"wrote {path}: {len(entry['changed'])} value(s) changed, {len(entry['added'])} added, "
          f"{len(entry['removed'])} removed; history entry {len(new['history'])}: {args.why}")
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
    return {"name": m.name, "knob": m.knob, "how": m.how, "rc": proc.returncode, "moved": moved, "caught": ok,
            "seconds": time.perf_counter() - t0, "first": lines[0] if lines else (err[0] if err else "")}


def mutate(args) -> int:
    names = [m.name for m in coverage.MUTATIONS] if args.mutate == "all" else args.mutate.split(",")
    todo = [coverage.mutation(n) for n in names]
    load_reference(args.reference)
    results = []
    for m in todo:
        r = run_mutation(m, args.reference)
        results.append(r)
        print(f"{'caught' if r['caught'] else 'MISSED'} {m.name} ({m.knob}): exit {r['rc']}, {len(r['moved'])} values "
              f"moved, {r['seconds']:.0f} s; {r['first']}", flush=True)
    n_caught = sum(r["caught"] for r in results)
    print(f"mutation test: {n_caught} of {len(results)} mutations caught (kill rate {n_caught / len(results):.0%})")
    if args.report:
        Path(args.report).write_text(report_table(results))
        with open(Path(args.report).with_suffix(".json"), "w") as fh:
            json.dump(results, fh, indent=1)
    return 0 if n_caught == len(results) else 1


def report_table(results: list[dict]) -> str:
    """Markdown: one row per mutation (knob, mutation, cells of the knob, verdict, values moved, first line)."""
    rows = ["| knob | mutation | gate cells (knob table) | verdict | values moved | first moved value |",
            "|---|---|---|---|---|---|"]
    for r in results:
        first = r["first"].replace("|", "/")
        if len(first) > 160:
            first = first[:157] + "..."
        rows.append(f"| `{r['knob']}` | {r['how']} | {', '.join(coverage.KNOBS[r['knob']].cells)} | "
                    f"{'caught' if r['caught'] else '**missed**'} (exit {r['rc']}) | {len(r['moved'])} | {first} |")
    n = sum(r["caught"] for r in results)
    rows.append("")
    rows.append(f"Kill rate: {n} of {len(results)} ({n / len(results):.0%}).")
    return "\n".join(rows) + "\n"
