"""Cell identity: a fingerprint of everything that determines a cell's numbers.

A chain's cells (one task, one method label, every control, round and seed) share one identity:

    task            every TaskSpec field except those that decide only *which* cells exist
                    (n_rounds, control_every) or are prose (description); fields added later are
                    covered automatically when they differ from their default (BASE_TASK_FIELDS);
                    budget overrides are `dataclasses.replace`s of the spec
    method          the label's method part, the qualified name of the class or function it runs,
                    its hyperparameters, and for user methods (code outside lthbench.pruning) the
                    sha256 of its source (`inspect.getsource`)
    protocol, rewind, label
    controls        the control definitions' settings (names, budget, the fidelity_exact size limit)
    numerics_version  lthbench.numerics.NUMERICS_VERSION (bumped with the regression gate's reference)
    reference       the reference row the errors are measured against (its row id)

The fingerprint is the sha256 of the identity's canonical JSON (sorted keys, no whitespace, floats in
repr form): the same on every machine, in every process and whatever the run order. Every record
carries `fingerprint` and `identity`; a resume whose fingerprint differs is refused (`check_resume`)
with a one-line error saying what changed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
from collections.abc import Callable, Iterable

from ..errors import LthbenchError
from ..numerics import NUMERICS_VERSION
from ..pruning.controls import CONTROL_NAMES
from ..pruning.hparams import format_value, method_kwargs, method_target, qualified_name
from .spec import PINNED_TASK_FIELDS

# TaskSpec fields that do not change any cell's numbers: how many rounds and which rounds get
# controls decide which cells exist, not what they hold; the description is prose.
NOT_IDENTITY_FIELDS = ("n_rounds", "control_every", "description")


def canonical_json(obj) -> str:
    """Sorted keys, no whitespace, tuples as lists, floats as repr: a stable text of `obj`."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_default)


def _default(obj):
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item):
        return item()
    return repr(obj)


def fingerprint_of(identity: dict) -> str:
    """sha256 hex digest of the identity's canonical JSON."""
    return hashlib.sha256(canonical_json(identity).encode("utf-8")).hexdigest()


# A TaskSpec field added after PINNED_TASK_FIELDS enters the identity only when it differs from its
# default: a new knob at its default keeps today's numbers (a default that moves numbers bumps
# NUMERICS_VERSION with the gate), so landing it does not invalidate long runs.
BASE_TASK_FIELDS = PINNED_TASK_FIELDS


def task_identity(task) -> dict:
    """Every field of the TaskSpec that determines numbers (JSON-able); see BASE_TASK_FIELDS."""
    fields = dataclasses.asdict(task)
    for f in dataclasses.fields(task):
        if f.name not in BASE_TASK_FIELDS and f.default is not dataclasses.MISSING and fields[f.name] == f.default:
            fields.pop(f.name)
    for name in NOT_IDENTITY_FIELDS:
        fields.pop(name, None)
    return json.loads(canonical_json(fields))


def is_user_method(method: Callable) -> bool:
    """True for code outside lthbench.pruning (its source is part of the identity)."""
    module = getattr(method_target(method), "__module__", "") or ""
    return not (module == "lthbench.pruning" or module.startswith("lthbench.pruning."))


def source_hash(method: Callable) -> str:
    """sha256 of the source of the class or function a user method runs ('' for lthbench's own;
    'unavailable' when Python cannot find the source, e.g. code typed into a REPL)."""
    if not is_user_method(method):
        return ""
    try:
        text = inspect.getsource(method_target(method))
    except (OSError, TypeError):
        return "unavailable"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stable_qualname(method: Callable) -> str:
    """'module:QualName' of a user method; 'lthbench.pruning:QualName' of lthbench's own, whatever
    submodule defines it, so moving a built-in method between files keeps every fingerprint."""
    if is_user_method(method):
        return qualified_name(method)
    target = method_target(method)
    return f"lthbench.pruning:{getattr(target, '__qualname__', type(target).__name__)}"


def method_identity(method: Callable, name: str) -> dict:
    """{'name': label part, 'qualname', 'kwargs' (canonical text), 'source_sha256'} of a resolved method."""
    return {
        "name": name,
        "qualname": stable_qualname(method),
        "kwargs": {k: format_value(v) for k, v in method_kwargs(method).items()},
        "source_sha256": source_hash(method),
    }


def chain_identity(
    task,
    method: Callable,
    method_name: str,
    label: str,
    protocol: str,
    rewind: str,
    reference_row: str,
    fidelity_exact_max_spins: int,
) -> dict:
    """The identity shared by every cell of one chain (see the module docstring)."""
    return {
        "task": task_identity(task),
        "method": method_identity(method, method_name),
        "label": label,
        "protocol": protocol,
        "rewind": rewind,
        "controls": {
            "names": list(CONTROL_NAMES),
            "budget": "dense_steps",
            "fidelity_exact_max_spins": int(fidelity_exact_max_spins),
        },
        "numerics_version": NUMERICS_VERSION,
        "reference": reference_row,
    }


def task_part(identity: dict) -> dict:
    """The part of an identity that every label of a task shares (what round 0 depends on)."""
    return {k: identity.get(k) for k in ("task", "numerics_version", "reference", "controls")}


def describe_change(old, new, path: str = "", limit: int = 3) -> list[str]:
    """Human-readable differences 'task.dense_steps 20 -> 10' between two identities (at most `limit`)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new)):
            out += describe_change(old.get(key), new.get(key), f"{path}.{key}" if path else str(key), limit)
            if len(out) >= limit:
                break
        return out[:limit]
    if old == new:
        return []
    if path.endswith("source_sha256"):
        return [f"{path[: -len('.source_sha256')]} source code changed"]
    return [f"{path} {_short(old)} -> {_short(new)}"]


def _short(value) -> str:
    text = canonical_json(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:37] + "..."


def check_resume(records: Iterable[dict], chains: Iterable[tuple[str, str, dict, str]], where: str) -> None:
    """LthbenchError when a stored cell belongs to one of `chains` but has another fingerprint.

    chains: (task id, label, identity, fingerprint) of the chains about to run. A stored cell of the
    same (task, label) must have the same fingerprint; one of the same task under any label the same
    task part (one task id means one task spec in one results store). Cells without a fingerprint
    (written before lthbench recorded them) are taken as they are.
    """
    wanted = {}
    for task_id, label, identity, fp in chains:
        wanted.setdefault(task_id, {})[label] = (identity, fp)
    for rec in records:
        fp = rec.get("fingerprint")
        labels = wanted.get(rec.get("task"))
        if not fp or not labels:
            continue
        mine = labels.get(rec.get("method"))
        old = rec.get("identity") if isinstance(rec.get("identity"), dict) else {}
        if mine is not None:
            identity, want = mine
            if fp == want:
                continue
            diff = describe_change(old, identity) if old else []
        else:
            if not old:
                continue
            identity = next(iter(labels.values()))[0]
            diff = describe_change(task_part(old), task_part(identity))
            if not diff:
                continue
        what = "; ".join(diff) or "its fingerprint differs"
        raise LthbenchError(
            f"{where} holds cells of {rec['task']} {rec.get('method')} computed with other settings ({what}); "
            "rerun with --fresh to discard them and start over, or write to a new --out"
        )
