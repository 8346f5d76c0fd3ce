"""`lthbench run <task>`: a pruning chain with its controls for each seed, into a results file.

Finished cells are kept next to the output (in `<out>.cells/`), so rerunning the same command after
an interruption skips them and resumes. The results file itself is written (atomically) only at the
end, merged with what it already held; bad input leaves it untouched. A resume whose settings differ
from the stored cells' (method code, hyperparameters, budgets, ...: their fingerprint) is refused;
`--fresh` discards the output and starts over. Only one run at a time writes an output (a lock).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from .. import provenance
from ..errors import LthbenchError
from ..experiment import (
    PROTOCOLS,
    chain_fingerprint,
    chain_rewind,
    check_rounds,
    get_task,
    parse_controls,
    parse_seeds,
    quick_variant,
    rounds_for_final_density,
    run_protocol,
)
from ..experiment.identity import check_resume
from ..experiment.spec import check_rewind, check_rewind_step
from ..pruning.controls import CONTROL_NAMES
from ..results import RunStore, check_results_output
from ..sweep import apply_budget


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="run a pruning chain and its controls", description=__doc__)
    p.add_argument("task", help="task id (`lthbench tasks` lists them)")
    p.add_argument(
        "--method",
        default="magnitude",
        help="pruning method: magnitude, random, snip, synflow, ... or package.module:Name, with "
        "optional hyperparameters: 'synflow[iterations=20]', 'pkg.mod:Name[k=v,...]'",
    )
    p.add_argument("--protocol", default=PROTOCOLS[0], help=f"{', '.join(PROTOCOLS)} (default {PROTOCOLS[0]})")
    p.add_argument(
        "--rewind",
        default="trained",
        metavar="TARGET",
        help="rewind target for imp-wr: trained (the authors' code; default), init, or step:K",
    )
    p.add_argument(
        "--controls",
        default=",".join(CONTROL_NAMES),
        help=f"comma-separated subset of {','.join(CONTROL_NAMES)}, or none",
    )
    p.add_argument("--seeds", default="0", help="seeds: '0-2', '0,3' or '5' (default 0)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--rounds", type=int, default=None, help="number of pruning rounds (default: the task's)")
    group.add_argument(
        "--final-density", type=float, default=None, metavar="D", help="prune until the density is at most D, in (0, 1]"
    )
    p.add_argument("--dense-steps", type=int, default=None, metavar="N", help="override the task's dense budget")
    p.add_argument("--round-steps", type=int, default=None, metavar="N", help="override the steps per round")
    p.add_argument("--n-samples", type=int, default=None, metavar="N", help="override the Monte Carlo samples")
    p.add_argument("--out", default="results.nc", help="results file (netCDF; default results.nc)")
    p.add_argument(
        "--fresh",
        action="store_true",
        help="discard the results file and its cells and start over (instead of resuming)",
    )
    p.add_argument("--quick", action="store_true", help="run the task's quick variant (<task>-quick)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def rounds_for_density(final_density: float, prune_fraction: float) -> int:
    """Rounds of removing a fraction p of the alive weights until the density is <= final_density."""
    if not (0.0 < final_density <= 1.0) or math.isnan(final_density):
        raise LthbenchError(f"--final-density must be in (0, 1], got {final_density}")
    if final_density == 1.0:
        return 0
    return max(1, math.ceil(math.log(final_density) / math.log1p(-prune_fraction) - 1e-9))


def resolve_task(task_id: str, quick: bool):
    return quick_variant(task_id) if quick else get_task(task_id)


def budget_overrides(args) -> dict:
    """{TaskSpec field: value} of the --dense-steps / --round-steps / --n-samples given."""
    return {
        name: getattr(args, name)
        for name in ("dense_steps", "round_steps", "n_samples")
        if getattr(args, name, None) is not None
    }


def run(args) -> int:
    # Validate everything before touching any file or computing anything.
    task = apply_budget(resolve_task(args.task, args.quick), budget_overrides(args))
    rewind = check_rewind(args.rewind)
    controls = parse_controls(args.controls)
    seeds = parse_seeds(args.seeds)
    if args.rounds is not None and args.rounds < 1:
        raise LthbenchError(f"--rounds must be >= 1, got {args.rounds}")
    if args.final_density is not None:
        if rounds_for_density(args.final_density, task.prune_fraction) == 0:
            raise LthbenchError("--final-density 1 asks for no pruning round; give a density below 1")
        n_rounds = rounds_for_final_density(task, args.final_density)
    else:
        n_rounds = args.rounds if args.rounds is not None else task.n_rounds
    check_rounds(task, n_rounds)
    task = dataclasses.replace(task, n_rounds=n_rounds)  # the identity ignores n_rounds (see experiment.identity)
    check_results_output(args.out)
    rewind = chain_rewind(args.protocol, rewind)
    check_rewind_step(task, args.protocol, rewind)
    _, label, identity, fingerprint = chain_fingerprint(task, args.method, args.protocol, rewind)

    store = RunStore(args.out)
    cli_args = {k: v for k, v in vars(args).items() if k != "func"}
    with store.lock():
        if args.fresh:
            store.discard()
        check_resume(store.fingerprint_records(), [(task.id, label, identity, fingerprint)], str(args.out))
        before = _finished(store)
        keys = []
        for seed in seeds:
            keys += run_protocol(
                task,
                method=args.method,
                protocol=args.protocol,
                rewind_to=rewind,
                controls=controls,
                seed=seed,
                store=store,
                n_rounds=n_rounds,
                progress=not args.no_progress,
            )
        computed = len(_finished(store) - before)
        prov = provenance.collect(
            task=task,
            args=cli_args,
            extra={"method_label": label, "n_rounds": n_rounds, "seeds": seeds, "fingerprint": fingerprint},
        )
        ds = store.finalize(prov)
    n_cells = int((~ds["energy"].isnull()).sum())
    print(
        f"wrote {args.out}: {len(keys)} cells of this run ({computed} computed now, {len(keys) - computed} reused); "
        f"{n_cells} cells in the file ({task.id}, {label}, seeds {','.join(map(str, seeds))})"
    )
    return 0


def _finished(store) -> set:
    """Names of the finished cells' record files."""
    return {p.name for p in Path(store.cells_dir).glob("[!.]*.json")}
