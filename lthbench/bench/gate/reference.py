"""The gate's reference file (lthbench/bench/gate_reference.json, package data: it ships in the wheel and
is read relative to the package, never through a repository checkout): reading it, the numerics-version
rule, and building a re-recorded one with its history entry.

Layout (format 2):
  numerics_version   `lthbench.numerics.NUMERICS_VERSION` of the code that recorded it (the gate refuses
                     to compare when the code's differs);
  platform           where the fixed-key numbers were made (the gate runs on CPU only);
  values             {value name: float} fixed-key values (see lthbench.bench.gate.cells);
  distributions      {cell: {'quantity', 'seeds', 'values'}} across-seed samples of Monte Carlo cells;
  wall_time_s        {gate task: seconds} of the recording run (informational);
  history            one entry per recording, oldest first: date, commit, numerics version, why, and the
                     diff of numbers (changed: [name, old, new], added: [name, new], removed: [name, old]).

The update rule: re-recording needs `--why` and either a NUMERICS_VERSION above the stored one (bumped by
hand in lthbench/numerics.py in the same change: cells computed by the old engine are then recognisably
different), or `--same-numerics` for a pure addition (equal versions; no stored value may move or vanish,
checked before anything is written). A reference without numerics_version counts as version 0.
"""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

from ...atomic import atomic_replace
from ...errors import LthbenchError
from .cells import task_of
from .verdict import RTOL, compare_values

# package data of lthbench.bench (pyproject.toml [tool.setuptools.package-data]); `--update` rewrites it in place
REFERENCE_PATH = Path(__file__).resolve().parent.parent / "gate_reference.json"
FORMAT = 2


def load_reference(path: str | os.PathLike = REFERENCE_PATH, *, allow_old: bool = False) -> dict:
    """The reference dict. Raises LthbenchError (one line) when unreadable or (unless allow_old) not
    format 2."""
    try:
        with open(path) as fh:
            ref = json.load(fh)
        if not isinstance(ref, dict) or not isinstance(ref.get("values"), dict):
            raise ValueError("no 'values' mapping")
    except (OSError, ValueError) as err:
        raise LthbenchError(f"cannot read the gate's reference file {str(path)!r}: {err}") from None
    if ref.get("format") != FORMAT and not allow_old:
        raise LthbenchError(
            f"the gate's reference file {str(path)!r} has format {ref.get('format', 1)}, "
            f"this gate reads format {FORMAT}: re-record it (`python -m lthbench.regression "
            "--update --why ...`)"
        )
    return ref


def stored_numerics_version(ref: dict) -> int:
    return int(ref.get("numerics_version", 0))


def check_numerics(ref: dict, code_version: int) -> None:
    """LthbenchError (one line) when the reference was recorded under another numerics version."""
    stored = stored_numerics_version(ref)
    if stored != code_version:
        raise LthbenchError(
            f"the reference was recorded under NUMERICS_VERSION {stored}, the code has {code_version}: "
            're-record it with `python -m lthbench.regression --update --why "..."` in the same change'
        )


def check_update_allowed(ref: dict, code_version: int, same_numerics: bool, why: str, partial: bool) -> None:
    """The update rule (module doc), checked before any measurement; LthbenchError (one line) if broken."""
    if not why or not why.strip():
        raise LthbenchError('--update needs --why "...": the reason goes into the reference\'s history')
    stored = stored_numerics_version(ref)
    if same_numerics:
        if stored != code_version:
            raise LthbenchError(
                f"--same-numerics needs equal numerics versions; the reference has {stored}, the code {code_version}"
            )
        return
    if code_version <= stored:
        raise LthbenchError(
            f"re-recording needs NUMERICS_VERSION bumped above the reference's {stored} (lthbench/numerics.py, "
            f"now {code_version}) in the same change, or --same-numerics for a pure addition of cells"
        )
    if partial:
        raise LthbenchError("with a new NUMERICS_VERSION every gate task is re-recorded: drop --only")


def diff(old_values: dict[str, float], new_values: dict[str, float]) -> dict[str, list]:
    """{'changed': [[name, old, new]], 'added': [[name, new]], 'removed': [[name, old]]} (changed: beyond RTOL)."""
    out = {"changed": [], "added": [], "removed": []}
    for v in compare_values(new_values, old_values):
        if v["status"] == "MOVED":
            out["changed"].append([v["name"], v["stored"], v["measured"]])
        elif v["status"] == "NEW":
            out["added"].append([v["name"], v["measured"]])
        elif v["status"] == "MISSING":
            out["removed"].append([v["name"], v["stored"]])
    return out


def check_pure_addition(d: dict) -> None:
    """LthbenchError naming the first moved/removed values when an update is not a pure addition."""
    bad = [f"{n}: {o!r} -> {m!r}" for n, o, m in d["changed"]] + [f"{n} removed" for n, _ in d["removed"]]
    if bad:
        raise LthbenchError(
            f"--same-numerics but {len(bad)} stored value(s) moved or vanished (first: {bad[0]}); "
            "bump NUMERICS_VERSION instead. Nothing was written"
        )


def updated_reference(
    old: dict,
    *,
    values: dict,
    distributions: dict,
    walls: dict,
    tasks: list[str],
    numerics_version: int,
    why: str,
    command: str,
    commit: str,
    machine: str,
    platform_info: dict,
) -> tuple[dict, dict]:
    """(new reference, its history entry). Values and distributions of the gate tasks `tasks` are
    replaced by the measured ones; other tasks' are kept (a partial, pure-addition update)."""
    old_values = old.get("values", {}) if old.get("format") == FORMAT else {}
    kept = {n: v for n, v in old_values.items() if task_of(n) not in tasks}
    new_values = dict(sorted({**kept, **values}.items()))
    old_dist = old.get("distributions", {}) if old.get("format") == FORMAT else {}
    new_dist = {c: d for c, d in old_dist.items() if task_of(c) not in tasks}
    new_dist.update(distributions)
    d = diff(old_values, new_values)
    if old.get("format") != FORMAT and old.get("values"):
        d["removed_format1"] = sorted(old["values"])  # format-1 names (rel_error only): all replaced
    entry = {
        "date_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": commit,
        "numerics_version": numerics_version,
        "previous_numerics_version": stored_numerics_version(old),
        "why": why,
        "command": command,
        "machine": machine,
        "tasks": sorted(tasks),
        **d,
    }
    new = {
        "format": FORMAT,
        "description": "lthbench accuracy regression gate (lthbench/bench/gate): fixed-key values of small gate tasks, "
        f"compared at {RTOL:.0e} relative in both directions, and across-seed distributions of "
        "the Monte Carlo cells (t-test + Holm). Re-record only with the command below.",
        "command": 'python -m lthbench.regression --update --why "..." [--same-numerics]',
        "numerics_version": numerics_version,
        "git_commit": commit,
        "created_utc": entry["date_utc"],
        "machine": machine,
        "platform": platform_info,
        "rtol": RTOL,
        "values": new_values,
        "distributions": dict(sorted(new_dist.items())),
        "wall_time_s": dict(
            sorted({**(old.get("wall_time_s", {}) if old.get("format") == FORMAT else {}), **walls}.items())
        ),
        "history": list(old.get("history", [])) + [entry],
    }
    return new, entry


def write_reference(ref: dict, path: str | os.PathLike) -> None:
    """Write atomically (`lthbench.atomic.atomic_replace`): JSON, one-space indent, a final newline."""

    def produce(tmp: str) -> None:
        with open(tmp, "w") as fh:
            json.dump(ref, fh, indent=1)
            fh.write("\n")

    atomic_replace(path, produce)
