"""Records: one flat dict per cell, its key (`CellKey`), its normal form, and its JSON encoding."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .schema import KEY_FIELDS, TASK_VARIABLES, VARIABLES


@dataclass(frozen=True, order=True)
class CellKey:
    """One cell: (task, method, control, round, seed). control is 'imp', 'ticket', 'reinit' or
    'random-mask'; round 0 of control 'imp' is the dense network."""

    task: str
    method: str
    control: str
    round: int
    seed: int

    def as_dict(self) -> dict:
        return {
            "task": self.task,
            "method": self.method,
            "control": self.control,
            "round": int(self.round),
            "seed": int(self.seed),
        }

    @classmethod
    def from_record(cls, record: dict) -> CellKey:
        return cls(
            str(record["task"]),
            str(record["method"]),
            str(record["control"]),
            int(record["round"]),
            int(record["seed"]),
        )

    @property
    def stem(self) -> str:
        """A file-system-safe, collision-free file stem for this cell."""
        readable = f"{self.task}__{self.method}__{self.control}__r{self.round:03d}__s{self.seed}"
        readable = re.sub(r"[^A-Za-z0-9._-]+", "_", readable)[:160]
        digest = hashlib.sha1(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:10]
        return f"{readable}__{digest}"


def normalize_record(record: dict) -> dict:
    """A record with every field present: floats (NaN when missing), ints for round/seed, diverged 0/1."""
    out = {k: v for k, v in record.items()}
    for field in KEY_FIELDS:
        if field not in out:
            raise ValueError(f"record lacks {field!r}")
    out["round"], out["seed"] = int(out["round"]), int(out["seed"])
    out["task"], out["method"], out["control"] = str(out["task"]), str(out["method"]), str(out["control"])
    for field in tuple(VARIABLES) + tuple(TASK_VARIABLES):
        value = out.get(field)
        out[field] = float("nan") if value is None else float(value)
    if not math.isnan(out["diverged"]):
        out["diverged"] = float(int(bool(out["diverged"])))
    out["reference_source"] = str(out.get("reference_source") or "")
    out["fingerprint"] = str(out.get("fingerprint") or "")
    out["reference_method"] = str(out.get("reference_method") or "")
    return out


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    if isinstance(obj, Path):
        return str(obj)
    return repr(obj)


def to_json(obj, **kw) -> str:
    """JSON with sorted keys, NaN/inf kept as the (non-standard) tokens Python's json reads back, and
    numpy scalars/arrays, sets, tuples and paths as plain JSON values (anything else as its repr)."""
    return json.dumps(obj, default=_json_default, sort_keys=True, **kw)
