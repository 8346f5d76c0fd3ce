"""Shipped baseline results: where the dataset of a standard task lives.

The datasets are package data (`lthbench/data/baselines/<task id>.nc`), so a non-editable install
reads them too.
"""

from __future__ import annotations

from pathlib import Path

from .errors import LthbenchError

BASELINE_DIR = Path(__file__).resolve().parent / "data" / "baselines"


def shipped_baseline_path(task_id: str) -> Path:
    """Path of the shipped baseline dataset of `task_id`; LthbenchError when none ships."""
    path = BASELINE_DIR / f"{task_id}.nc"
    if not path.is_file():
        raise LthbenchError(f"no shipped baseline for task {task_id!r} (see `lthbench baselines`)")
    return path
