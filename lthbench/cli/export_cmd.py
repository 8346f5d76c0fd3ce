"""`lthbench export --format varbench results.nc [--out DIR]`: the results' energies as rows of the
V-score benchmark's tables (github.com/varbench/varbench: one Markdown table per Hamiltonian, columns
Energy | Sigma | Energy Variance | DOF | Einf | Method | Reference), one row per finished cell of the
pruning chain (dense and every pruned round, every seed), the model size (alive weights) in Method.
Without --out the tables go to stdout, each under a comment naming the varbench file it belongs in."""

from __future__ import annotations

import json
import math
from pathlib import Path

from .. import __version__
from ..errors import LthbenchError
from ..experiment import get_task
from ..results import load_dataset
from ..systems import format_number, system_from_id


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write results in another benchmark's format", description=__doc__)
    p.add_argument("results", help="an lthbench results file (.nc)")
    p.add_argument("--format", required=True, choices=("varbench",), help="target format")
    p.add_argument("--out", default=None, metavar="DIR", help="write one .md file per system into DIR")
    p.add_argument(
        "--controls", action="store_true", help="also export the control trainings (ticket, reinit, random-mask)"
    )
    p.set_defaults(func=run)


def varbench_file_name(system) -> str:
    """varbench's `<folder>/<lattice>_<N>_<params>.md` for a TFIM (TFIsing) or toric code (ToricCode)
    system, following its TFIsing naming (lattice, number of spins, boundary O/P, field)."""
    if system.kind == "tfim":
        shape = system.lattice_shape
        lattice = (
            "chain" if len(shape) == 1 else "square" if shape[0] == shape[1] else f"rectangular-{shape[0]}x{shape[1]}"
        )
        bc = "P" if system.params["pbc"] else "O"
        name = f"{lattice}_{system.n_spins}_{bc}_{format_number(abs(system.params['kappa']))}"
        if system.params["J"] != 1.0:
            name += f"_J{format_number(system.params['J'])}"
        return f"TFIsing/{name}.md"
    return f"ToricCode/toric_{system.n_spins}_PP_hx{format_number(system.params['hx'])}.md"


def infinite_temperature_energy(system) -> float:
    """E_inf = Tr H / dim H: the sum of the identity strings' coefficients, 0 for the TFIM and toric code
    (every term is a non-trivial Pauli string, traceless)."""
    return 0.0


def _fmt(value: float) -> str:
    return "" if not math.isfinite(value) else repr(float(value))


def varbench_rows(ds, controls: bool = False) -> dict[str, list[str]]:
    """{varbench file name: [table lines]} for every finished cell (control 'imp' unless `controls`)."""
    tasks = {str(t): i for i, t in enumerate(ds["task"].values)}
    provenance = ds.attrs.get("provenance_json", "")
    out: dict[str, list[str]] = {}
    header = ["| Energy | Sigma | Energy Variance | DOF | Einf | Method | Reference |", "|---|---|---|---|---|---|---|"]
    system_of_task = _systems_of_tasks(ds, provenance)
    for task, t in tasks.items():
        system = system_from_id(system_of_task[task])
        name = varbench_file_name(system)
        rows = []
        for m, method in enumerate(ds["method"].values):
            for c, control in enumerate(ds["control"].values):
                if str(control) != "imp" and not controls:
                    continue
                for r, rnd in enumerate(ds["round"].values):
                    for s, seed in enumerate(ds["seed"].values):
                        pos = (t, m, c, r, s)
                        energy = float(ds["energy"].values[pos])
                        if not math.isfinite(energy):
                            continue
                        n_alive = float(ds["n_alive"].values[pos])
                        what = "dense" if int(rnd) == 0 and str(control) == "imp" else f"round {int(rnd)}"
                        desc = (
                            f"lthbench {task}: {method} {what}"
                            + ("" if str(control) == "imp" else f" ({control})")
                            + f", seed {int(seed)}, {int(n_alive)} parameters (alive weights)"
                        )
                        rows.append(
                            (
                                energy,
                                f"| {_fmt(energy)} | {_fmt(float(ds['energy_sigma'].values[pos]))} | "
                                f"{_fmt(float(ds['variance'].values[pos]))} | {system.n_spins} | "
                                f"{infinite_temperature_energy(system):g} | {desc} | "
                                f"lthbench {__version__} |",
                            )
                        )
        if rows:
            out.setdefault(name, list(header))
            out[name] += [line for _, line in sorted(rows)]
    return out


def _systems_of_tasks(ds, provenance: str) -> dict[str, str]:
    """task id -> system id, from the task registry (standard tasks) or the results' provenance."""
    mapping = {}
    try:
        prov = json.loads(provenance) if provenance else {}
    except ValueError:
        prov = {}
    spec = prov.get("task") if isinstance(prov, dict) else None  # `lthbench run` stores its task spec
    specs = {spec.get("id"): spec} if isinstance(spec, dict) else {}
    for task in (str(t) for t in ds["task"].values):
        spec = specs.get(task)
        if isinstance(spec, dict) and spec.get("system_id"):
            mapping[task] = spec["system_id"]
            continue
        try:
            mapping[task] = get_task(task).system_id
        except (ImportError, LthbenchError, KeyError):
            raise LthbenchError(
                f"cannot tell which system task {task!r} is on (not a standard task and no "
                "task spec in the file's provenance)"
            ) from None
    return mapping


def run(args) -> int:
    path = Path(args.results)
    if not path.is_file():
        raise LthbenchError(f"{path}: no such results file")
    if args.out is not None:
        out_dir = Path(args.out)
        if out_dir.exists() and not out_dir.is_dir():
            raise LthbenchError(f"--out {out_dir} is a file; give a directory")
    ds = load_dataset(path)
    tables = varbench_rows(ds, controls=args.controls)
    if not tables:
        raise LthbenchError(f"{path} holds no finished cell to export")
    if args.out is None:
        for name, lines in tables.items():
            print(f"<!-- varbench file: {name} -->")
            print("\n".join(lines))
            print()
        return 0
    for name, lines in tables.items():
        target = Path(args.out) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("\n".join(lines) + "\n")
        print(f"wrote {len(lines) - 2} rows to {target}")
    return 0
