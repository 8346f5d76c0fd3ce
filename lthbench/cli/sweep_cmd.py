"""`lthbench sweep <spec>`: many chains (tasks x methods x protocols x rewind x seeds) as one task graph.

The spec is a TOML (or JSON) file, see docs/sweeps.md. Cells are kept in `<out>.cells/` exactly as
`lthbench run` keeps them (the same cells, keys and files), so rerunning a sweep computes only the
missing cells, and a sweep can resume a `run` and vice versa. Schedulers: `inprocess` (one process,
no Dask), `local` (a Dask LocalCluster, one worker process per core; the default when Dask is
installed), or an existing Dask cluster (`tcp://host:port` or `--scheduler-file`). User methods'
modules are shipped to the Dask workers (`--plugin` adds files or package directories).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from ..errors import LthbenchError
from ..results import RunStore, check_results_output
from ..sweep import add_plugins_to_path, load_spec, pending, plan, run_sweep, validate_chains


def register(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="run a sweep of chains on Dask (or in-process)", description=__doc__)
    p.add_argument("spec", help="sweep spec file (.toml or .json; see docs/sweeps.md)")
    p.add_argument("--out", default=None, help="results file (default: the spec's `out`, else sweep.nc)")
    p.add_argument(
        "--scheduler",
        default="auto",
        metavar="WHERE",
        help="auto (local if Dask is installed, else inprocess), inprocess, local, or tcp://host:port",
    )
    p.add_argument(
        "--scheduler-file", default=None, metavar="FILE", help="connect to the cluster in this scheduler file"
    )
    p.add_argument("--workers", type=int, default=None, help="worker processes for --scheduler local (default: cores)")
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="PATH",
        help="a .py file or package directory with pruning methods, importable here and uploaded to "
        "the Dask workers (repeatable)",
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="discard the results file and its cells and start over (instead of resuming)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the planned, finished and missing cells; run nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def resolve_scheduler(name: str, scheduler_file: str | None) -> str:
    """'auto' -> 'local' when Dask is importable, else 'inprocess'; a scheduler file forces Dask."""
    if scheduler_file:
        if not Path(scheduler_file).is_file():
            raise LthbenchError(
                f"no scheduler file {scheduler_file!r} (start the scheduler with "
                "`dask scheduler --scheduler-file FILE` first)"
            )
        return "file"
    if name == "auto":
        return "local" if importlib.util.find_spec("distributed") else "inprocess"
    if name in ("inprocess", "local") or "://" in name:
        return name
    raise LthbenchError(f"bad --scheduler {name!r}: use auto, inprocess, local or tcp://host:port")


def run(args) -> int:
    add_plugins_to_path(args.plugin)
    spec = load_spec(args.spec)
    out = args.out or spec.out
    check_results_output(out)
    if args.workers is not None and args.workers < 1:
        raise LthbenchError(f"--workers must be >= 1, got {args.workers}")
    scheduler = resolve_scheduler(args.scheduler, args.scheduler_file)
    if args.dry_run:
        validate_chains(spec.chains, compute_reference=False)  # methods imported and checked; nothing computed
        cells = plan(spec.chains)
        todo, done = pending(cells, RunStore(out, create=False))
        print(
            f"{len(spec.chains)} chains, {sum(len(c.keys) for c in cells)} cells: {len(done)} finished, {len(todo)} to run -> {out}"
        )
        return 0
    report = run_sweep(
        spec,
        out,
        scheduler=scheduler,
        scheduler_file=args.scheduler_file,
        n_workers=args.workers,
        progress=not args.no_progress,
        plugins=args.plugin,
        fresh=args.fresh,
    )
    print(
        f"wrote {out}: {len(report.planned)} cells planned, {len(report.skipped)} reused (already finished), "
        f"{len(report.computed)} computed now ({scheduler})"
    )
    return 0
