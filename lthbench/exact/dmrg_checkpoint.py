"""DMRG checkpoints: where a run keeps its state, written atomically after every sweep, and read back
to resume a killed run."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

from ..atomic import atomic_write_bytes


def default_checkpoint_path(system_id: str, schedule) -> Path:
    """Where `lthbench exact --regenerate --method dmrg` keeps a run's checkpoint:
    $LTHBENCH_CACHE (default ~/.cache/lthbench)/dmrg/<system_id>-chi<max chi>.pkl."""
    root = Path(os.environ.get("LTHBENCH_CACHE") or Path.home() / ".cache" / "lthbench")
    return root / "dmrg" / f"{system_id}-chi{max(schedule)}.pkl"


def save_checkpoint(path: Path, state: dict) -> None:
    """Pickle `state` to `path` atomically (a killed run leaves the previous checkpoint intact)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, lambda fh: pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL))


def load_checkpoint(path) -> dict | None:
    """The checkpoint dict at `path` (keys system_id, schedule, stages, chi, psi, sweeps, elapsed), or
    None when there is none."""
    path = Path(path)
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        return pickle.load(fh)
