"""`lthbench bench`: time the throughput suite (Metropolis sweep, local energies, SR, training step,
exact-mode step, ED; see `lthbench.bench.kernels` and `lthbench.bench.suite`) on the device JAX sees,
and write the figures as an xarray dataset (netCDF, written atomically; dims case x kernel, provenance
in the `provenance_json` attribute, backend and device in `backend` / `device`)."""

from __future__ import annotations

from pathlib import Path

from .. import provenance
from ..bench.kernels import KERNELS
from ..bench.suite import measure, suite, to_dataset
from ..errors import LthbenchError
from ..results import check_output_path, is_results_file, save_dataset


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="time the throughput suite, write a netCDF of figures", description=__doc__)
    p.add_argument(
        "--suite",
        default="small",
        help="paper (10x10 FFNN a5, ResCNN f16 b4), paper-ffnn (its FFNN), small (4x4 FFNN a5, "
        "CNN, ResCNN; default) or tiny (3x3, for tests)",
    )
    p.add_argument("--kernels", default=",".join(KERNELS), help=f"comma-separated subset of {','.join(KERNELS)}")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per kernel after a warm-up (median; default 3)")
    p.add_argument("--out", default="bench.nc", help="output file (netCDF; default bench.nc)")
    p.set_defaults(func=run)


def parse_kernels(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    bad = [k for k in names if k not in KERNELS]
    if bad or not names:
        raise LthbenchError(f"unknown kernel(s) {', '.join(bad) or '(none given)'}: choose from {', '.join(KERNELS)}")
    return names


def run(args) -> int:
    cases = suite(args.suite)
    names = parse_kernels(args.kernels)
    if args.repeats < 1:
        raise LthbenchError(f"--repeats must be >= 1, got {args.repeats}")
    check_output_path(args.out)
    if is_results_file(args.out) or Path(f"{args.out}.cells").exists():
        raise LthbenchError(
            f"{args.out!r} is an lthbench results file; bench will not overwrite it (give another --out)"
        )
    figures = {}
    for case in cases:
        figures[case.id] = measure(case, names, repeats=args.repeats)
        for name, f in figures[case.id].items():
            print(f"{case.id:45s} {name:22s} {f['seconds']:10.4g} s  {f['samples_per_s']:12.4g} samples/s", flush=True)
    cli_args = {k: v for k, v in vars(args).items() if k != "func"}
    prov = provenance.collect(args=cli_args, extra={"suite": args.suite, "cases": [c.id for c in cases]})
    save_dataset(to_dataset(figures, prov), args.out)
    print(f"wrote {args.out} ({prov['backend']}: {prov['device_kind'] or prov['device']})")
    return 0
