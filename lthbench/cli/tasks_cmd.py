"""`lthbench tasks`: the standard tasks with N, dense weights, training steps and estimated cost."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("tasks", help="list the standard tasks", description=__doc__)
    p.add_argument("--all", action="store_true", help="also list the tiny test-only tasks")
    p.add_argument("--filter", default="", metavar="TEXT", help="only ids containing TEXT")
    p.set_defaults(func=run)


def table_rows(tasks) -> list[list[str]]:
    from ..tasks import dense_weight_count, estimated_cost, format_seconds, n_spins, system_kind, total_steps

    rows = []
    for t in tasks:
        try:
            weights = str(dense_weight_count(t))
            cost = format_seconds(estimated_cost(t)["seconds"])
        except ImportError:  # the nets layer is not installed yet
            weights, cost = "?", "?"
        steps = f"{t.dense_steps}+{t.n_rounds}x{t.round_steps} ({total_steps(t)})"
        mode = "exact" if t.exact else f"{t.n_samples} smp"
        rows.append([t.id, system_kind(t), t.net, str(n_spins(t)), weights, steps, mode, cost])
    return rows


def run(args) -> int:
    from ..tasks import list_tasks

    tasks = [t for t in list_tasks(include_test=args.all) if args.filter in t.id]
    header = ["id", "system", "net", "N", "dense weights", "steps (dense+rounds x round)", "mode", "est. cost"]
    rows = table_rows(tasks)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print("\nest. cost: one seed with its controls, rough flop model at ~2e10 flop/s (2 CPU cores).")
    if not args.all:
        print("`lthbench tasks --all` also lists the tiny test-only tasks.")
    return 0
