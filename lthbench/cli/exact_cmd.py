"""`lthbench exact <system-id> [--json]`: a system's reference ground energy (from the shipped table when
it has one, else computed now by exact diagonalisation); `lthbench exact --regenerate [--out PATH]`
rebuilds the table."""

from __future__ import annotations

import json
import math


def register(subparsers) -> None:
    p = subparsers.add_parser("exact", help="reference ground energy of a system", description=__doc__)
    p.add_argument("system_id", nargs="?", help="system id (e.g. tfim2d-4x4-obc-k3.04438) or table row id "
                   "(e.g. tfim2d-10x10-obc-k3.04438/dmrg)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--regenerate", action="store_true", help="recompute every computed row of the table")
    p.add_argument("--out", default=None, metavar="PATH",
                   help="with --regenerate: write the table here (default reference_data/references.nc, "
                        "which also rewrites reference_data/README.md)")
    p.add_argument("--no-progress", action="store_true", help="with --regenerate: no progress bar")
    p.set_defaults(func=run)


def lookup(system_id: str):
    """(Reference, origin) with origin 'table' or 'computed'; LthbenchError for bad or infeasible ids."""
    from ..exact import DEFAULT_TABLE_PATH, compute_reference, references_for
    from ..systems import system_from_id

    rows = references_for(system_id) if DEFAULT_TABLE_PATH.exists() else []
    if rows:
        return rows[0], "table"
    if "/" in system_id:
        from ..errors import LthbenchError

        raise LthbenchError(f"no row {system_id!r} in the reference table (`lthbench systems` lists them)")
    system_from_id(system_id)  # validates the id (size, fields) before any work
    return compute_reference(system_id, "ed-lanczos", source="lthbench exact (computed now)"), "computed"


def _regenerate(args) -> int:
    from ..exact import regenerate_reference_table

    ds = regenerate_reference_table(args.out, progress=not args.no_progress)
    print(f"wrote {ds.sizes['row']} rows to {args.out or 'reference_data/references.nc'}")
    return 0


def run(args) -> int:
    from ..errors import LthbenchError

    if args.regenerate:
        if args.system_id:
            raise LthbenchError("--regenerate takes no system id")
        return _regenerate(args)
    if not args.system_id:
        raise LthbenchError("give a system id (`lthbench systems` lists them) or --regenerate")
    if args.out:
        raise LthbenchError("--out only goes with --regenerate")
    ref, origin = lookup(args.system_id)
    if args.json:
        out = ref.as_dict()
        out["origin"] = origin
        # JSON has no NaN: unknown values become null.
        out = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}
        print(json.dumps(out))
        return 0
    where = ("from the shipped table (reference_data/references.nc)" if origin == "table"
             else "computed now by exact diagonalisation (not in the table)")
    tol = f" +- {ref.tolerance:.2g}" if math.isfinite(ref.tolerance) else " (accuracy unknown)"
    print(f"{ref.system_id}: E0 = {ref.energy:.12f}{tol}  (E0/N = {ref.energy_per_spin:.12f}, N = {ref.n_spins})")
    deg = str(ref.degeneracy) if ref.degeneracy >= 0 else "unknown"
    print(f"method: {ref.method}, degeneracy: {deg}, {where}" + (f", row {ref.row_id}" if ref.row_id else ""))
    print(f"source: {ref.source}")
    return 0
