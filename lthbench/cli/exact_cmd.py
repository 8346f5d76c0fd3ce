"""`lthbench exact <system-id> [--json]`: a system's reference ground energy (from the shipped table when
it has one, else computed now by exact diagonalisation); `lthbench exact --regenerate [--out PATH]`
rebuilds the ED and closed-form rows of the table; `lthbench exact --regenerate --method dmrg|ed
SYSTEM...` computes those systems' rows and merges them into the table (DMRG resumes from its
checkpoint)."""

from __future__ import annotations

import json
import math
import sys

from ..errors import LthbenchError
from ..exact import (
    DEFAULT_TABLE_PATH,
    METHOD_ALIASES,
    check_id_size,
    check_table_out,
    checkout_readme_path,
    compute_reference,
    references_for,
    regenerate_reference_table,
    row_id_for,
)
from ..exact.dmrg import check_dmrg_supported
from ..systems import system_from_id


def register(subparsers) -> None:
    p = subparsers.add_parser("exact", help="reference ground energy of a system", description=__doc__)
    p.add_argument(
        "system_id",
        nargs="*",
        help="system id (e.g. tfim2d-4x4-obc-k3.04438) or table row id "
        "(e.g. tfim2d-10x10-obc-k3.04438/dmrg); with --regenerate, the systems to compute",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--regenerate",
        action="store_true",
        help="recompute the table's ED and closed-form rows (or, with system ids, those rows)",
    )
    p.add_argument(
        "--method",
        default=None,
        choices=("ed", "dmrg", "analytic"),
        help="with --regenerate and system ids: how to compute them (default ed)",
    )
    p.add_argument(
        "--chi",
        default=None,
        metavar="C1,C2,...",
        help="with --method dmrg: the bond-dimension schedule (default: by lattice size)",
    )
    p.add_argument(
        "--checkpoint",
        default=None,
        metavar="PATH",
        help="with --method dmrg: checkpoint file (default ~/.cache/lthbench/dmrg/<id>-chi<max>.pkl)",
    )
    p.add_argument(
        "--max-sweeps",
        type=int,
        default=None,
        metavar="N",
        help="with --method dmrg: at most N sweeps per converged stage (default 12)",
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="PATH",
        help="with --regenerate: write the table here (default: the package's lthbench/exact/data/references.nc, "
        "which in a source checkout also rewrites reference_data/README.md)",
    )
    p.add_argument("--no-progress", action="store_true", help="with --regenerate: no progress lines")
    p.set_defaults(func=run)


def lookup(system_id: str):
    """(Reference, origin) with origin 'table' or 'computed'; LthbenchError for bad or infeasible ids."""
    rows = references_for(system_id) if DEFAULT_TABLE_PATH.exists() else []
    if rows:
        return rows[0], "table"
    if "/" in system_id:
        raise LthbenchError(f"no row {system_id!r} in the reference table (`lthbench systems` lists them)")
    check_id_size(system_id)  # from the id alone: a 100,000-site chain is refused before it is built
    system_from_id(system_id)  # validates the id (size, fields) before any work
    return compute_reference(
        system_id, "ed-lanczos", source="lthbench exact (computed now)", progress=sys.stderr
    ), "computed"


def parse_schedule(text: str) -> tuple[int, ...]:
    """'32,64,128' -> (32, 64, 128); LthbenchError unless strictly ascending positive integers."""
    try:
        chis = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise LthbenchError(f"--chi {text!r}: give comma-separated integers, e.g. 32,64,128") from None
    if not chis or chis[0] < 1 or list(chis) != sorted(set(chis)):
        raise LthbenchError(f"--chi {text!r}: bond dimensions must be positive and strictly ascending")
    return chis


def _regenerate(args) -> int:
    if args.out is not None:
        check_table_out(args.out)  # before any computation
    if (args.chi or args.checkpoint or args.max_sweeps is not None) and args.method != "dmrg":
        raise LthbenchError("--chi, --checkpoint and --max-sweeps go with --method dmrg")
    if args.max_sweeps is not None and args.max_sweeps < 1:
        raise LthbenchError(f"--max-sweeps must be >= 1, got {args.max_sweeps}")
    if args.method and not args.system_id:
        raise LthbenchError("--method needs the system ids to compute (e.g. tfim2d-6x6-obc-k3.04438)")
    row_ids, options = None, {}
    if args.system_id:
        method = args.method or "ed"
        row_ids = [row_id_for(s, method) for s in args.system_id]
        for system_id in args.system_id:
            check_id_size(system_id, METHOD_ALIASES[method])  # from the id alone, before building it
            system = system_from_id(system_id)
            if method == "dmrg":
                check_dmrg_supported(system)
        if method == "dmrg":
            if args.checkpoint and len(args.system_id) > 1:
                raise LthbenchError("--checkpoint names one file: give one system id with it")
            options["schedule"] = parse_schedule(args.chi) if args.chi else None
            if args.checkpoint:
                options["checkpoint"] = args.checkpoint
            if args.max_sweeps is not None:
                options["max_sweeps"] = args.max_sweeps
    ds = regenerate_reference_table(
        args.out,
        progress=not args.no_progress,
        row_ids=row_ids,
        merge=row_ids is not None,
        dmrg_options=options or None,
    )
    what = f"{len(row_ids)} row(s) merged" if row_ids else "ED and closed-form rows recomputed"
    print(f"wrote {ds.sizes['row']} rows ({what}) to {args.out or DEFAULT_TABLE_PATH}")
    if args.out is None:
        readme = checkout_readme_path()
        if readme is not None:
            print(f"rewrote {readme}")
        else:
            print(
                "not running from a source checkout: reference_data/README.md (the rows' documentation) not rewritten"
            )
    return 0


def run(args) -> int:
    if args.regenerate:
        return _regenerate(args)
    if args.method or args.chi or args.checkpoint or args.max_sweeps is not None:
        raise LthbenchError("--method, --chi, --checkpoint and --max-sweeps only go with --regenerate")
    if len(args.system_id) != 1:
        raise LthbenchError("give one system id (`lthbench systems` lists them) or --regenerate")
    if args.out:
        raise LthbenchError("--out only goes with --regenerate")
    ref, origin = lookup(args.system_id[0])
    if args.json:
        out = ref.as_dict()
        out["origin"] = origin
        # JSON has no NaN: unknown values become null.
        out = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}
        print(json.dumps(out))
        return 0
    where = (
        "from the shipped table (lthbench/exact/data/references.nc)"
        if origin == "table"
        else "computed now by exact diagonalisation (not in the table)"
    )
    unc = f" +- {ref.uncertainty:.2g}" if math.isfinite(ref.uncertainty) else " (accuracy unknown)"
    print(f"{ref.system_id}: E0 = {ref.energy:.12f}{unc}  (E0/N = {ref.energy_per_spin:.12f}, N = {ref.n_spins})")
    deg = str(ref.degeneracy) if ref.degeneracy >= 0 else "unknown"
    print(f"method: {ref.method}, degeneracy: {deg}, {where}" + (f", row {ref.row_id}" if ref.row_id else ""))
    print(f"source: {ref.source}")
    return 0
