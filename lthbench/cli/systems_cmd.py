"""`lthbench systems`: the standard systems (those of the shipped reference table) with N, the best
reference ground energy (the row a task on that system is scored against), its method and its stated
uncertainty (absolute, and relative to |E_ref|: relative errors below it are below reference precision)."""

from __future__ import annotations

import json
import math

from ..exact import references_for, table_references


def register(subparsers) -> None:
    p = subparsers.add_parser("systems", help="list the standard systems", description=__doc__)
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.add_argument("--all-rows", action="store_true", help="every table row (several methods per system)")
    p.set_defaults(func=run)


def rows_to_show(all_rows: bool):
    """Best reference per system (table order), or every row with all_rows."""
    rows = table_references()
    if all_rows:
        return rows
    seen = dict.fromkeys(r.system_id for r in rows)
    return [references_for(system_id)[0] for system_id in seen]


def _fmt(value: float) -> str:
    return f"{value:.2g}" if math.isfinite(value) else "unknown"


def run(args) -> int:
    rows = rows_to_show(args.all_rows)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "id": r.system_id,
                        "row_id": r.row_id,
                        "n_spins": r.n_spins,
                        "energy": r.energy,
                        "method": r.method,
                        "uncertainty": r.uncertainty if math.isfinite(r.uncertainty) else None,
                    }
                    for r in rows
                ]
            )
        )
        return 0
    header = [
        "row id" if args.all_rows else "id",
        "N",
        "E_ref",
        "E_ref / N",
        "method",
        "uncertainty",
        "rel. unc.",
        "degeneracy",
    ]
    table = [
        [
            r.row_id if args.all_rows else r.system_id,
            str(r.n_spins),
            f"{r.energy:.10f}",
            f"{r.energy_per_spin:.10f}",
            r.method,
            _fmt(r.uncertainty),
            _fmt(r.uncertainty / abs(r.energy) if r.energy else float("nan")),
            str(r.degeneracy) if r.degeneracy >= 0 else "?",
        ]
        for r in rows
    ]
    widths = [max(len(h), *(len(row[i]) for row in table)) for i, h in enumerate(header)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("  ".join("-" * w for w in widths))
    for row in table:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))
    if not args.all_rows:
        print(
            "\nbest reference per system (analytic > ed-lanczos > published-ed > dmrg-tenpy > published-dmrg > published-nqs): "
            "the row tasks are scored against; `--all-rows` shows every row; ids work with `lthbench exact <id>`."
        )
    return 0
