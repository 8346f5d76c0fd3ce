"""The gate's own mutation test (`python -m lthbench.regression --mutate all [--report FILE]`): each
mutation of `lthbench.bench.gate.mutations` runs in a fresh gate process against the reference; it is
caught when that gate exits 1 with a moved value in the knob's cells of every task of the knob."""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import sys
import time
from pathlib import Path

from .coverage import KNOBS
from .mutations import MUTATIONS, Mutation, caught, mutation
from .reference import load_reference


def run_mutation(m: Mutation, reference: str) -> dict:
    """Run one mutation in a fresh process: {'name', 'knob', 'how', 'rc', 'moved' (value or cell names),
    'caught', 'seconds', 'first' (the first moved line)}."""
    cmd = [sys.executable, "-m", "lthbench.regression", "--apply-mutation", m.name, "--reference", reference]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.split(" ", 1)[0] in ("MOVED", "MISSING", "NEW", "SHIFTED")]
    moved = [ln.split(" ", 2)[1].rstrip(":") for ln in lines]
    ok = proc.returncode == 1 and caught(m, moved)
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
    names = [m.name for m in MUTATIONS] if args.mutate == "all" else args.mutate.split(",")
    todo = [mutation(n) for n in names]
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
            f"| `{r['knob']}` | {r['how']} | {', '.join(KNOBS[r['knob']].cells)} | "
            f"{'caught' if r['caught'] else '**missed**'} (exit {r['rc']}) | {len(r['moved'])} | {first} |"
        )
    n = sum(r["caught"] for r in results)
    rows.append("")
    rows.append(f"Kill rate: {n} of {len(results)} ({n / len(results):.0%}).")
    return "\n".join(rows) + "\n"
