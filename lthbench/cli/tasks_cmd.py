"""`lthbench tasks`: the standard tasks with N, dense weights, training steps and estimated cost.

`--filter TEXT` keeps the ids containing TEXT; a TEXT starting with '-' works both as
`--filter -cpu` and as `--filter=-cpu`.
"""

from __future__ import annotations

import json

from ..experiment import estimated_cost, format_seconds, list_tasks, n_spins, spec_hash, system_kind

TEXT_OPTIONS = ("--filter",)  # options whose value may start with '-'


def glue_option_values(argv: list[str]) -> list[str]:
    """['tasks', '--filter', '-cpu'] -> ['tasks', '--filter=-cpu']: argparse reads a value starting
    with '-' as an option, so a TEXT_OPTIONS option followed by '-word' (not '--word') is glued to it."""
    out: list[str] = []
    for arg in argv:
        if out and out[-1] in TEXT_OPTIONS and arg.startswith("-") and not arg.startswith("--"):
            out[-1] = f"{out[-1]}={arg}"
        else:
            out.append(arg)
    return out


def register(subparsers) -> None:
    p = subparsers.add_parser("tasks", help="list the standard tasks", description=__doc__)
    p.add_argument("--all", action="store_true", help="also list the tiny test-only tasks")
    p.add_argument(
        "--filter", default="", metavar="TEXT", help="only ids containing TEXT (e.g. --filter -cpu or --filter=-cpu)"
    )
    p.add_argument(
        "--spec-hashes",
        action="store_true",
        help="print {id: sha256 of the canonical spec} as JSON (the table tests pin ids to)",
    )
    p.set_defaults(func=run)


def table_rows(tasks) -> list[list[str]]:
    rows = []
    for t in tasks:
        try:
            cost = estimated_cost(t)
            weights = str(cost["dense_weights"])
            schedule = f"{t.n_rounds} -> r{cost['last_round']} (n={cost['final_alive']})"
            cpu, gpu = format_seconds(cost["seconds"]), format_seconds(cost["gpu_seconds"])
            steps = f"{t.dense_steps}+{cost['last_round']}x{t.round_steps}+{cost['n_controls']}c ({cost['steps']})"
        except ImportError:  # the nets layer is not installed yet
            weights = schedule = cpu = gpu = steps = "?"
        mode = "exact" if t.exact else f"{t.n_samples} smp"
        rows.append([t.id, system_kind(t), t.net, str(n_spins(t)), weights, schedule, steps, mode, cpu, gpu])
    return rows


def run(args) -> int:
    tasks = [t for t in list_tasks(include_test=args.all or args.spec_hashes) if args.filter in t.id]
    if args.spec_hashes:
        print(json.dumps({t.id: spec_hash(t) for t in tasks}, indent=1, sort_keys=True))
        return 0
    header = [
        "id",
        "system",
        "net",
        "N",
        "weights",
        "rounds -> last (n)",
        "steps (dense+rounds+controls)",
        "mode",
        "est. cost (cpu, 1 seed)",
        "est. cost (gpu model)",
    ]
    rows = table_rows(tasks)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print(
        "\nrounds: the listed count -> the round the chain ends at (the next would remove no weight) and n there."
        "\nsteps: every training step of one seed: dense, the rounds, and each control (c = control trainings) "
        "at the full dense budget, plus the evaluation steps."
        "\ncpu: one seed on this 2-core machine by the cost model calibrated on measured step times "
        "(docs/tasks.md: how, and how far off it was); gpu: the same steps at an assumed, uncalibrated GPU rate."
    )
    if not args.all:
        print("`lthbench tasks --all` also lists the tiny test-only tasks.")
    return 0
