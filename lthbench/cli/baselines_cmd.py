"""`lthbench baselines`: the shipped baseline datasets (magnitude IMP-WR with its controls), and
`--regenerate TASK|all-cpu` to remake them with today's engine.

Regenerating runs the task's chains into a work directory of finished cells (default
`baselines-work/`), so an interrupted run resumes where it stopped when rerun with the same work
directory, also in a later session. Each finished seed is packed on its own (`<task>.seed<k>.nc`, in
`--packs DIR`, default the work directory): a seed with a pack is not rerun, so committed packs resume
a baseline on a new machine without the work directory. The baseline file is written (atomically)
from the packs when a task's seeds are all done; the work store is locked while it runs (as `lthbench run` locks its output). `all-cpu` goes through every CPU-scale task (`lthbench tasks --filter -cpu`) in turn.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import LthbenchError
from ..experiment import get_task, parse_seeds
from ..experiment.baselines import (
    BASELINE_DIR,
    BASELINES_VERSION,
    CPU_FAMILY,
    family_task_ids,
    list_baselines,
    regenerate,
)


def register(subparsers) -> None:
    p = subparsers.add_parser("baselines", help="list or regenerate the shipped baselines", description=__doc__)
    p.add_argument(
        "--regenerate",
        metavar="TASK",
        default=None,
        help="rerun the baseline of TASK (a task id) or of every CPU-scale task (all-cpu)",
    )
    p.add_argument("--seeds", default="0-2", help="seeds for --regenerate: '0-2' (default), '0,3' or '5'")
    p.add_argument(
        "--out-dir",
        default=None,
        metavar="DIR",
        help="where --regenerate writes <task>.nc (default: the package's data/baselines)",
    )
    p.add_argument(
        "--work",
        default="baselines-work",
        metavar="DIR",
        help="work directory of finished cells for --regenerate (default baselines-work; keep it to resume)",
    )
    p.add_argument(
        "--packs",
        default=None,
        metavar="DIR",
        help="directory of the per-seed packs for --regenerate (default: the work directory)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args) -> int:
    out_dir = Path(args.out_dir) if args.out_dir else BASELINE_DIR
    if args.regenerate is None:
        rows = list_baselines(out_dir)
        print(f"baselines version {BASELINES_VERSION} in {out_dir} (changelog: {BASELINE_DIR / 'CHANGELOG.md'})")
        if not rows:
            print("no baseline datasets ship yet; `lthbench baselines --regenerate all-cpu` makes them")
            return 0
        for r in rows:
            seeds = ",".join(map(str, r["seeds"]))
            print(
                f"{r['task']}  version {r['version']}  seeds {seeds}  {r['n_cells']} cells  {r['bytes'] / 1e6:.2f} MB"
            )
        return 0
    # Validate everything before any training.
    seeds = parse_seeds(args.seeds)
    ids = family_task_ids(args.regenerate) if args.regenerate == CPU_FAMILY else [get_task(args.regenerate).id]
    if not out_dir.is_dir():
        raise LthbenchError(f"baseline directory {str(out_dir)!r} does not exist")
    work = Path(args.work)
    if work.exists() and not work.is_dir():
        raise LthbenchError(f"work path {str(work)!r} is not a directory")
    packs = Path(args.packs) if args.packs else None
    if packs is not None and not packs.is_dir():
        raise LthbenchError(f"seed pack directory {str(packs)!r} does not exist")
    for i, task_id in enumerate(ids, 1):
        print(f"[{i}/{len(ids)}] {task_id}: seeds {','.join(map(str, seeds))}", flush=True)
        path = regenerate(
            task_id, seeds, out_dir=out_dir, work_dir=work, packs_dir=packs, progress=not args.no_progress
        )
        print(f"wrote {path}", flush=True)
    return 0
