"""Shipped baseline results: magnitude IMP-WR (rewind to the trained weights) with its controls, per task.

The datasets are package data (`lthbench/data/baselines/<task id>.nc`), so a non-editable install
reads them too; `reference_data/baselines/README.md` points here. Their version is
`BASELINES_VERSION` (stored in each file's `baselines_version` attribute); what changed between
versions is in `lthbench/data/baselines/CHANGELOG.md`.

A baseline file is an ordinary results file (`lthbench.results.load_dataset` reads its root group:
one record per cell, no per-step histories) plus a netCDF group `artifacts` with what the claims need
and the per-cell records do not hold:

- `mask_<i>` (seed, round, *leaf shape) int8: the IMP chain's mask of leaf i at every round;
- `init_<i>` (seed, *leaf shape): theta_init, and `trained_<i>` (seed, *leaf shape): round 0's
  trained net (the dense net every chain of a seed shares: what pairs a user's seed with ours);
- `params_<i>` (seed, round, *leaf shape): the IMP chain's trained weights at every round, only for
  tasks whose claims read the weights (`keeps_round_weights`: the toric code's filters).

Leaf i's name (`lthbench.results.flatten_tree` form, e.g. 'ffnn/~/linear/w') is the variable's `leaf`
attribute. The controls' weights are not kept (their records are).

`regenerate` reruns a task's baseline through `lthbench.experiment.run_protocol` into a work directory
of cells (resumable: rerunning skips finished cells, also across sessions when the work directory is
kept). Each seed, once finished, is packed on its own into a *seed pack* (`<task id>.seed<k>.nc`, the
baseline format with one seed; a few hundred kB where the work store's cells are tens of MB); the
baseline file is the seed packs of its seeds joined. A seed with a pack is never rerun, so a baseline
also resumes from its packs alone, e.g. committed ones on a new machine; a pack made by another chain
(task spec, method label or engine: its fingerprint) is refused, never silently reused.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import xarray as xr

from .. import provenance
from ..atomic import atomic_replace
from ..errors import LthbenchError
from ..results import (
    CellKey,
    RunStore,
    dataset_to_records,
    flatten_tree,
    load_dataset,
    provenance_of,
    records_to_dataset,
    save_dataset,
    unflatten_tree,
)
from .chain import chain_fingerprint
from .cpu_family import CPU_SUFFIX
from .run import run_protocol
from .spec import DEFAULT_CONTROLS, IMP_WR, method_label
from .tasks import get_task, list_tasks

BASELINE_DIR = Path(__file__).resolve().parents[1] / "data" / "baselines"
BASELINES_VERSION = "0.1.0"
BASELINE_METHOD = "magnitude"
BASELINE_PROTOCOL = IMP_WR
BASELINE_REWIND = "trained"
ARTIFACTS_GROUP = "artifacts"
CPU_FAMILY = "all-cpu"


def shipped_baseline_path(task_id: str) -> Path:
    """Path of the shipped baseline dataset of `task_id`; LthbenchError when none ships."""
    path = BASELINE_DIR / f"{task_id}.nc"
    if not path.is_file():
        raise LthbenchError(f"no shipped baseline for task {task_id!r} (see `lthbench baselines`)")
    return path


def baseline_label() -> str:
    """The method label of every baseline cell ('magnitude/imp-wr/rewind=trained')."""
    return method_label(BASELINE_METHOD, BASELINE_PROTOCOL, BASELINE_REWIND)


def baseline_controls(task) -> tuple[str, ...]:
    """The controls a task's baseline runs: the three, or none where the task has no control rounds."""
    return tuple(DEFAULT_CONTROLS) if task.control_rounds() else ()


def keeps_round_weights(task) -> bool:
    """True when the baseline keeps the IMP weights of every round (the toric code's filter claim)."""
    return task.system_id.startswith("toric")


def family_task_ids(name: str) -> list[str]:
    """Task ids of a family name: 'all-cpu' -> every '-cpu' task, in registry order."""
    if name != CPU_FAMILY:
        raise LthbenchError(f"unknown baseline family {name!r}; families: {CPU_FAMILY}")
    return [t.id for t in list_tasks(include_test=False) if t.id.endswith(CPU_SUFFIX)]


# --------------------------------------------------------------------------------------------------
# Listing


def list_baselines(directory: str | os.PathLike = BASELINE_DIR) -> list[dict]:
    """One dict per shipped baseline file: task, version, seeds, n_cells, bytes, path."""
    out = []
    for path in sorted(Path(directory).glob("*.nc")):
        ds = load_dataset(path)
        n_cells = int((~np.isnan(ds["energy"].values)).sum())
        out.append(
            {
                "task": path.stem,
                "version": str(ds.attrs.get("baselines_version", "?")),
                "seeds": [int(s) for s in ds["seed"].values],
                "n_cells": n_cells,
                "bytes": path.stat().st_size,
                "path": path,
            }
        )
    return out


# --------------------------------------------------------------------------------------------------
# Packing a run into a baseline file


def _stack(trees: list[dict]) -> dict[str, np.ndarray]:
    """[flat {leaf: array}] -> {leaf: stacked array} (leading axis = the list)."""
    return {name: np.stack([t[name] for t in trees]) for name in trees[0]}


def artifacts_dataset(store, task, label: str, seeds: list[int]):
    """The `artifacts` group (an xr.Dataset) of a finished baseline run in `store` (see module doc)."""

    def arts(rnd: int, seed: int) -> dict:
        return store.read_artifacts(CellKey(task.id, label, "imp", rnd, seed))

    rounds = sorted({k.round for k in store.keys() if (k.task, k.method, k.control) == (task.id, label, "imp")})
    last = task.last_round()
    if rounds != list(range(last + 1)):
        raise LthbenchError(f"baseline run of {task.id} is incomplete: IMP rounds {rounds}, want 0..{last}")
    kinds = {"mask": ("mask", True), "init": ("params_init", False), "trained": ("params", False)}
    if keeps_round_weights(task):
        kinds["params"] = ("params", True)
    data_vars = {}
    for prefix, (kind, per_round) in kinds.items():
        per_seed = []
        for seed in seeds:
            chosen = [arts(r, seed) for r in (rounds if per_round else [0])]
            per_seed.append(_stack([flatten_tree(a[kind]) for a in chosen]))
        stacked = _stack(per_seed)  # leaf -> (seed, round, *shape)
        for i, (leaf, value) in enumerate(sorted(stacked.items())):
            if not per_round:
                value = value[:, 0]
            if prefix == "mask":
                value = value.astype(np.int8)
            dims = (
                ("seed",)
                + (("round",) if per_round else ())
                + tuple(f"{prefix}_{i}_d{j}" for j in range(value.ndim - 1 - per_round))
            )
            data_vars[f"{prefix}_{i}"] = (dims, value, {"leaf": leaf})
    return xr.Dataset(
        data_vars, coords={"seed": np.asarray(seeds, dtype=np.int64), "round": np.asarray(rounds, dtype=np.int64)}
    )


def write_baseline(store, task, seeds: list[int], path: str | os.PathLike, provenance: dict) -> Path:
    """Write the baseline file of `task` from a finished run in `store` (atomically): the records of
    the baseline label's cells (root group) and the artifacts group."""
    label = baseline_label()
    records = [r for r in store.records() if r["task"] == task.id and r["method"] == label and r["seed"] in seeds]
    return write_baseline_file(records, artifacts_dataset(store, task, label, seeds), path, provenance)


def write_baseline_file(records: list[dict], arts, path: str | os.PathLike, provenance: dict) -> Path:
    """Write a baseline file (atomically) from its cell records and its artifacts dataset."""
    ds = records_to_dataset(records, provenance)
    ds.attrs["baselines_version"] = BASELINES_VERSION
    task_ids = sorted({r["task"] for r in records})
    ds.attrs["baseline"] = f"lthbench baseline {', '.join(task_ids)} ({baseline_label()})"
    path = Path(path)

    def produce(tmp: str) -> None:
        save_dataset(ds, tmp)  # the title stays the results schema's
        encoding = {name: {"zlib": True, "complevel": 4} for name in arts.data_vars}
        arts.to_netcdf(tmp, mode="a", group=ARTIFACTS_GROUP, engine="h5netcdf", encoding=encoding)

    atomic_replace(path, produce)
    return path


def seed_pack_path(directory: str | os.PathLike, task_id: str, seed: int) -> Path:
    """Where `regenerate` keeps the seed pack of (`task_id`, `seed`): `<directory>/<task id>.seed<k>.nc`."""
    return Path(directory) / f"{task_id}.seed{int(seed)}.nc"


def check_seed_pack(path: Path, task, seed: int) -> list[dict]:
    """The records of the seed pack at `path` after checking it is `seed`'s finished baseline chain of
    `task` with today's fingerprint (LthbenchError, one line, otherwise)."""
    label = baseline_label()
    records = dataset_to_records(load_dataset(path))
    if {(r["task"], r["method"], r["seed"]) for r in records} != {(task.id, label, seed)}:
        raise LthbenchError(
            f"seed pack {str(path)!r} does not hold seed {seed} of {task.id} ({label}) alone; delete it to rerun the seed"
        )
    fingerprint = chain_fingerprint(task, BASELINE_METHOD, BASELINE_PROTOCOL, BASELINE_REWIND)[3]
    stale = sorted({str(r.get("fingerprint") or "none") for r in records} - {fingerprint})
    if stale:
        raise LthbenchError(
            f"seed pack {str(path)!r} was made by another chain (task spec, method label or engine: fingerprint "
            f"{stale[0][:12]}, today's {fingerprint[:12]}); delete it to rerun the seed"
        )
    return records


def join_seed_packs(paths: list[Path], task, seeds: list[int], out: Path, provenance: dict) -> Path:
    """Write the baseline file `out` of `task` from the seed packs at `paths` (one per seed, checked
    by `check_seed_pack`); `provenance['seed_packs']` holds each pack's own provenance."""
    records = [r for path, seed in zip(paths, seeds, strict=True) for r in check_seed_pack(path, task, seed)]
    arts = xr.concat([load_artifacts(path) for path in paths], dim="seed")
    provenance = {**provenance, "seed_packs": [provenance_of(load_dataset(path)) for path in paths]}
    return write_baseline_file(records, arts, out, provenance)


def load_artifacts(path: str | os.PathLike):
    """The `artifacts` group of a baseline file as an xr.Dataset (loaded; the file is closed)."""
    try:
        with xr.open_dataset(path, group=ARTIFACTS_GROUP, engine="h5netcdf") as ds:
            return ds.load()
    except (OSError, ValueError) as err:
        raise LthbenchError(f"cannot read the artifacts of baseline {str(path)!r}: {err}") from None


def artifact_tree(arts, prefix: str, seed: int, rnd: int | None = None) -> dict:
    """The Haiku-style params/mask tree `prefix` ('mask', 'init', 'trained', 'params') of `seed` (and
    round `rnd` for the per-round kinds) from `load_artifacts`' dataset. Masks come back as float64."""
    names = sorted((n for n in arts.data_vars if n.startswith(f"{prefix}_")), key=lambda n: int(n.split("_")[1]))
    if not names:
        raise LthbenchError(f"baseline artifacts hold no {prefix!r} arrays")
    flat = {}
    for name in names:
        var = arts[name].sel(seed=seed)
        if "round" in var.dims:
            if rnd is None:
                raise LthbenchError(f"baseline artifact {prefix!r} is per round: give a round")
            var = var.sel(round=rnd)
        value = var.values
        flat[arts[name].attrs["leaf"]] = value.astype(np.float64) if prefix == "mask" else value
    return unflatten_tree(flat)


class BaselineArtifacts:
    """The artifacts group of a baseline file, read the way the analysis reads a run's cell store
    (`has(key)`, `read_artifacts(key)`, as `lthbench.results.RunStore`), for the IMP cells of its
    chain: 'mask' every round, 'params' every round where the file keeps the round weights (the toric
    code), and at round 0 'params' (the trained dense net) and 'params_init'."""

    def __init__(self, path: str | os.PathLike):
        self.arts = load_artifacts(path)
        self.tasks = {str(t) for t in load_dataset(path)["task"].values}
        self.seeds = {int(s) for s in self.arts["seed"].values}
        self.rounds = {int(r) for r in self.arts["round"].values}
        self.round_weights = any(str(name).startswith("params_") for name in self.arts.data_vars)

    def has(self, key: CellKey) -> bool:
        return (
            key.task in self.tasks
            and (key.method, key.control) == (baseline_label(), "imp")
            and key.seed in self.seeds
            and key.round in self.rounds
        )

    def read_artifacts(self, key: CellKey) -> dict[str, dict]:
        if not self.has(key):
            raise KeyError(f"no artifacts of cell {key} in the baseline file")
        out = {"mask": artifact_tree(self.arts, "mask", key.seed, key.round)}
        if self.round_weights:
            out["params"] = artifact_tree(self.arts, "params", key.seed, key.round)
        if key.round == 0:
            out["params"] = artifact_tree(self.arts, "trained", key.seed)
            out["params_init"] = artifact_tree(self.arts, "init", key.seed)
        return out


def artifacts_next_to(path: str | os.PathLike):
    """What holds a results file's cell artifacts: its run's cell store (`<path>.cells/`), else its
    own `artifacts` group (a baseline file: `BaselineArtifacts`), else None."""
    if Path(f"{path}.cells").is_dir():
        return RunStore(path, create=False)
    try:
        return BaselineArtifacts(path)
    except LthbenchError:
        return None


# --------------------------------------------------------------------------------------------------
# Regenerating


def regenerate(
    task_id: str,
    seeds: list[int],
    *,
    out_dir: str | os.PathLike = BASELINE_DIR,
    work_dir: str | os.PathLike,
    packs_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> Path:
    """Run (or resume) the baseline of `task_id` for `seeds` in `work_dir`, packing each finished seed
    into `packs_dir` (default `work_dir`; see the module doc), then write `out_dir/<task id>.nc` from
    the seed packs. Seeds that have a pack are not rerun. Returns the baseline file's path."""
    task = get_task(task_id)
    work = Path(work_dir)
    work.mkdir(parents=True, exist_ok=True)
    out = Path(out_dir)
    if not out.is_dir():
        raise LthbenchError(f"baseline directory {str(out)!r} does not exist")
    packs = Path(packs_dir) if packs_dir is not None else work
    if not packs.is_dir():
        raise LthbenchError(f"seed pack directory {str(packs)!r} does not exist")
    store = RunStore(work / f"{task.id}.nc")
    controls = baseline_controls(task)
    extra = {
        "method_label": baseline_label(),
        "controls": list(controls),
        "baselines_version": BASELINES_VERSION,
        "made_by": "lthbench baselines --regenerate",
    }
    with store.lock():  # one process at a time writes a work store, as `lthbench run` does
        for seed in seeds:
            pack = seed_pack_path(packs, task.id, seed)
            if pack.is_file():
                check_seed_pack(pack, task, seed)
                continue
            run_protocol(
                task,
                method=BASELINE_METHOD,
                protocol=BASELINE_PROTOCOL,
                rewind_to=BASELINE_REWIND,
                controls=controls,
                seed=seed,
                store=store,
                n_rounds=task.n_rounds,
                progress=progress,
            )
            write_baseline(store, task, [seed], pack, provenance.collect(task=task, extra={**extra, "seeds": [seed]}))
        prov = provenance.collect(task=task, extra={**extra, "seeds": list(seeds)})
        paths = [seed_pack_path(packs, task.id, seed) for seed in seeds]
        return join_seed_packs(paths, task, list(seeds), out / f"{task.id}.nc", prov)


def rerun_cell(path: str | os.PathLike, task_id: str, seed: int, work_dir: str | os.PathLike) -> tuple[dict, dict]:
    """Rerun IMP round 1 of `seed` from the baseline file's round-0 nets with today's engine:
    (shipped record, new record). Round 1 is the cheapest cell that runs the whole pipeline (prune,
    rewind, retrain, evaluate, fidelity)."""
    task = get_task(task_id)
    label = baseline_label()
    ds = load_dataset(path)
    shipped = {(r["control"], r["round"], r["seed"]): r for r in dataset_to_records(ds) if r["method"] == label}
    if ("imp", 1, seed) not in shipped:
        raise LthbenchError(f"baseline {str(path)!r} has no IMP round 1 of seed {seed}")
    arts = load_artifacts(path)
    store = RunStore(Path(work_dir) / f"{task.id}-rerun.nc")
    dense = {
        "mask": artifact_tree(arts, "mask", seed, 0),
        "params": artifact_tree(arts, "trained", seed),
        "params_init": artifact_tree(arts, "init", seed),
    }
    record = {k: v for k, v in shipped[("imp", 0, seed)].items() if k != "method"}
    store.write(CellKey(task.id, label, "imp", 0, seed), record, dense)
    run_protocol(
        task,
        method=BASELINE_METHOD,
        protocol=BASELINE_PROTOCOL,
        rewind_to=BASELINE_REWIND,
        controls=(),
        seed=seed,
        store=store,
        n_rounds=1,
        progress=False,
    )
    return shipped[("imp", 1, seed)], store.read_record(CellKey(task.id, label, "imp", 1, seed))


def energies_agree(a: dict, b: dict, n_sigma: float = 4.0) -> bool:
    """True when two records' energies agree within n_sigma combined Monte Carlo standard errors
    (exactly equal energies agree; a NaN sigma counts as 0)."""
    ea, eb = float(a["energy"]), float(b["energy"])
    sa, sb = (float(r.get("energy_sigma", math.nan)) for r in (a, b))
    sigma = math.hypot(0.0 if math.isnan(sa) else sa, 0.0 if math.isnan(sb) else sb)
    return abs(ea - eb) <= n_sigma * sigma + 1e-9 * max(1.0, abs(ea))
