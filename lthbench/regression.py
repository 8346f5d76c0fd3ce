"""Accuracy regression gate: a few deterministic, fixed-budget, fixed-seed tasks whose final relative
errors are compared against committed reference values.

    python -m lthbench.regression                 # run the gate (CI runs this after the tests)
    python -m lthbench.regression --only NAME     # one gate task
    python -m lthbench.regression --update        # re-measure and rewrite the reference file

Each gate task is a small variant of a registered task (`lthbench.tasks`), run through the real
protocol (`lthbench.pruning.run_protocol`, magnitude IMP-WR with rewinding to the trained weights) with
its controls, so a tracked value is the relative error |E - E_ref| / |E_ref| (dimensionless) of one
results cell: the dense network, the IMP ticket at the final round, and the ticket / reinit /
random-mask controls at that round. Exact (full-sum) mode has no sampling noise, so those values
repeat to the last bits on one machine (they differ in the last bits with the number of CPU cores);
one Monte Carlo task checks the sampler and the local-energy fast path with a wider tolerance.

A value fails when it is worse than allowed:  measured > reference * (1 + rtol) + atol.
Being better never fails (a line suggests --update). Wall times are reported as ratios to the
reference run's and never fail: the CI machine is shared and noisy.

Exit status: 0 pass, 1 a tracked value regressed (one `FAIL <task>/<cell>: ...` line each on stderr),
2 bad input (unknown gate task, unreadable reference file).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import platform
import os
import sys
import tempfile
import time
from pathlib import Path

from .errors import LthbenchError

REFERENCE_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "regression_reference.json"
UPDATE_COMMAND = "python -m lthbench.regression --update"


@dataclasses.dataclass(frozen=True)
class GateTask:
    """A registered task (`base`) with fields replaced (`overrides`, (field, value) pairs), its number of
    pruning rounds and controls, and the default tolerance of its values (rtol, atol: see module doc)."""

    name: str
    base: str
    overrides: tuple
    n_rounds: int
    controls: tuple = ("ticket", "reinit", "random-mask")
    seed: int = 0
    rtol: float = 0.05
    atol: float = 1e-6

    def spec(self):
        """The TaskSpec run by the gate (id 'gate-<name>')."""
        from .tasks import get_task

        return dataclasses.replace(get_task(self.base), id=f"gate-{self.name}", **dict(self.overrides))

    def value_names(self) -> list[str]:
        """The tracked cells: the IMP chain at every round and the controls at their rounds, sorted."""
        names = [value_name(self.name, "imp", r) for r in range(self.n_rounds + 1)]
        control_rounds = self.spec().control_rounds(self.n_rounds) if self.controls else []
        names += [value_name(self.name, c, r) for r in control_rounds for c in self.controls]
        return sorted(names)


GATE_TASKS = (
    # TFIM 3 x 3 at kappa_c, FFNN alpha 1 (81 weights), exact mode: dense, then 2 rounds of p = 0.5
    # (81 -> 41 -> 21 alive weights, density 0.26) with the three controls at round 2.
    GateTask("tfim3x3-exact-imp", "tiny-tfim-3x3",
             (("dense_steps", 200), ("round_steps", 50), ("prune_fraction", 0.5), ("control_every", 2)), 2),
    # Toric code 2 x 2 (8 spins), FFNN alpha 2 (128 weights), exact mode: dense and one round of p = 0.3.
    GateTask("toric2-exact-imp", "tiny-toric-2",
             (("net_hyper", (("alpha", 2.0),)), ("dense_steps", 200), ("round_steps", 50)), 1, controls=()),
    # TFIM 3 x 3 Monte Carlo (128 samples, 16 chains; sampler, fast-path E_loc, structured SR Gram):
    # dense only and one round of p = 0.3; MC noise needs a wider tolerance.
    GateTask("tfim3x3-mc", "tiny-tfim-3x3",
             (("net_hyper", (("alpha", 2.0),)), ("exact", False), ("n_samples", 128), ("dense_steps", 150),
              ("round_steps", 50), ("n_eval_steps", 10)), 1, controls=(), rtol=0.5, atol=1e-4),
)


def gate_task(name: str) -> GateTask:
    for gt in GATE_TASKS:
        if gt.name == name:
            return gt
    raise LthbenchError(f"unknown gate task {name!r}; gate tasks: {', '.join(g.name for g in GATE_TASKS)}")


def value_name(task_name: str, control: str, rnd: int) -> str:
    """'tfim3x3-exact-imp/ticket@r2'; the dense network is 'imp@r0'."""
    return f"{task_name}/{control}@r{int(rnd)}"


def run_gate_task(gt: GateTask, workdir: str | os.PathLike) -> tuple[dict[str, float], float]:
    """Run one gate task in `workdir`: ({value name: rel_error}, wall seconds)."""
    from .pruning import run_protocol
    from .results import RunStore

    store = RunStore(Path(workdir) / f"{gt.name}.nc")
    t0 = time.perf_counter()
    run_protocol(gt.spec(), method="magnitude", protocol="imp-wr", rewind_to="trained", controls=gt.controls,
                 seed=gt.seed, store=store, n_rounds=gt.n_rounds, progress=False)
    wall = time.perf_counter() - t0
    values = {value_name(gt.name, r["control"], r["round"]): float(r["rel_error"]) for r in store.records()}
    return dict(sorted(values.items())), wall


def allowed(entry: dict) -> float:
    """The largest relative error that passes: reference * (1 + rtol) + atol."""
    return float(entry["reference"]) * (1.0 + float(entry["rtol"])) + float(entry["atol"])


def compare(measured: dict[str, float], reference: dict) -> list[dict]:
    """One verdict per value of `reference['values']` whose task was measured:
    {'name', 'measured', 'reference', 'allowed', 'status'} with status 'ok', 'better', 'FAIL' (worse than
    allowed, non-finite, or missing from the measurement)."""
    out = []
    tasks = {name.split("/")[0] for name in measured}
    for name, entry in sorted(reference["values"].items()):
        if name.split("/")[0] not in tasks:
            continue
        value = measured.get(name, math.nan)
        limit = allowed(entry)
        if not math.isfinite(value) or value > limit:
            status = "FAIL"
        elif value < float(entry["reference"]) * (1.0 - float(entry["rtol"])) - float(entry["atol"]):
            status = "better"
        else:
            status = "ok"
        out.append({"name": name, "measured": value, "reference": float(entry["reference"]), "allowed": limit,
                    "status": status})
    return out


def format_verdict(v: dict) -> str:
    """One line naming the task and cell, e.g. 'FAIL tfim3x3-exact-imp/imp@r0: rel_error 2.1e-02 >
    allowed 1.05e-02 (reference 1.00e-02)'."""
    rel = "<=" if v["status"] != "FAIL" else ">"
    line = (f"{v['status']} {v['name']}: rel_error {v['measured']:.6e} {rel} allowed {v['allowed']:.6e} "
            f"(reference {v['reference']:.6e})")
    if v["status"] == "better":
        line += f"; better than the reference by more than its tolerance: consider `{UPDATE_COMMAND}`"
    return line


def load_reference(path: str | os.PathLike = REFERENCE_PATH) -> dict:
    try:
        with open(path) as fh:
            ref = json.load(fh)
        ref["values"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise LthbenchError(f"cannot read the gate's reference file {str(path)!r}: {err}") from None
    return ref


def machine() -> str:
    """'Linux-..., 2 CPUs, cpu:cpu' (platform, os.cpu_count, JAX backend:device kind)."""
    from .bench import device_label

    return f"{platform.platform()}, {os.cpu_count()} CPUs, {device_label()}"


def updated_reference(old: dict, runs: dict[str, list[tuple[dict, float]]]) -> dict:
    """A new reference dict from `runs` ({gate task: [(values, wall), ...]}, at least one run each):
    reference = the first run's value, every run's value kept in 'runs', tolerances kept from `old`
    where present (else the gate task's defaults); wall time: the first run's (compilation included)."""
    from .provenance import git_commit

    values = dict(old.get("values", {}))
    walls = dict(old.get("wall_time_s", {}))
    for task_name, task_runs in runs.items():
        gt = gate_task(task_name)
        for name in task_runs[0][0]:
            prev = values.get(name, {})
            values[name] = {
                "reference": task_runs[0][0][name],
                "rtol": prev.get("rtol", gt.rtol),
                "atol": prev.get("atol", gt.atol),
                "runs": [r[0][name] for r in task_runs],
            }
        walls[task_name] = task_runs[0][1]  # a fresh process, compilation included, as the gate runs it
    return {
        "description": "lthbench accuracy regression gate: final relative errors |E - E_ref| / |E_ref| of fixed-"
                       "budget, fixed-seed tasks (lthbench/regression.py). A value fails when measured > "
                       "reference * (1 + rtol) + atol. wall_time_s: timing reference, reported as a ratio only.",
        "command": UPDATE_COMMAND,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": machine(),
        "notes": old.get("notes", ""),
        "values": dict(sorted(values.items())),
        "wall_time_s": dict(sorted(walls.items())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lthbench.regression", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", default=str(REFERENCE_PATH), help="reference file (JSON)")
    parser.add_argument("--only", action="append", default=None, metavar="NAME", help="run only this gate task")
    parser.add_argument("--update", action="store_true", help="measure and rewrite the reference file")
    parser.add_argument("--runs", type=int, default=2, help="with --update: runs per task (default 2)")
    args = parser.parse_args(argv)
    try:
        return _main(args)
    except LthbenchError as err:
        print(f"lthbench regression gate: error: {err}", file=sys.stderr)
        return 2


def _main(args) -> int:
    tasks = [gate_task(n) for n in args.only] if args.only else list(GATE_TASKS)
    reference = load_reference(args.reference) if (not args.update or Path(args.reference).exists()) else {}
    print(f"accuracy gate on {machine()}", flush=True)
    if args.update:
        runs = {}
        for gt in tasks:
            runs[gt.name] = []
            for i in range(max(1, args.runs)):
                with tempfile.TemporaryDirectory() as tmp:
                    runs[gt.name].append(run_gate_task(gt, tmp))
                print(f"{gt.name} run {i + 1}: {runs[gt.name][-1]}", flush=True)
        new = updated_reference(reference, runs)
        with open(args.reference, "w") as fh:
            json.dump(new, fh, indent=2, sort_keys=False)
            fh.write("\n")
        print(f"wrote {args.reference}")
        return 0
    failures = []
    for gt in tasks:
        with tempfile.TemporaryDirectory() as tmp:
            measured, wall = run_gate_task(gt, tmp)
        for v in compare(measured, reference):
            if v["status"] == "FAIL":
                failures.append(v)
            print(format_verdict(v), flush=True)
        ref_wall = reference.get("wall_time_s", {}).get(gt.name)
        ratio = f", {wall / ref_wall:.2f} x the reference run's {ref_wall:.1f} s" if ref_wall else ""
        print(f"timing {gt.name}: {wall:.1f} s{ratio} (informational, never fails)", flush=True)
    if failures:
        for v in failures:
            print(format_verdict(v), file=sys.stderr)
        print(f"accuracy gate: {len(failures)} value(s) regressed", file=sys.stderr)
        return 1
    print("accuracy gate: passed")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
