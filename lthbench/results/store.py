"""The store of a run's finished cells on disk (`<out>.cells/`: one JSON record and one `.npz` of
artifacts per cell, each written atomically, the record last), and the lock a run holds on its output."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..atomic import atomic_write_bytes
from ..errors import LthbenchError, one_line
from .dataset import load_dataset, merge, records_to_dataset, save_dataset, stored_fingerprints
from .paths import cells_dir_of, check_output_path
from .records import CellKey, normalize_record, to_json
from .trees import pack_artifacts, unpack_artifacts


def read_cell_record(path: Path) -> dict:
    """The record in a cell's JSON file; LthbenchError (one line, saying how to recover) when damaged."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        CellKey.from_record(record)
    except Exception as err:  # noqa: BLE001 - truncated, not JSON, not UTF-8, keys missing
        raise LthbenchError(
            f"damaged cell file {str(path)!r} ({one_line(err, 120)}); delete it (and its .npz) to recompute the cell"
        ) from None
    return record


class RunStore:
    """Cells of a run on disk, in f"{out_path}.cells/": <stem>.json (record) + <stem>.npz (artifacts)."""

    def __init__(self, out_path: str | os.PathLike, *, create: bool = True):
        self.out_path = check_output_path(out_path)
        self.cells_dir = cells_dir_of(self.out_path)
        if create:
            self.cells_dir.mkdir(exist_ok=True)

    def _paths(self, key: CellKey) -> tuple[Path, Path]:
        stem = key.stem
        return self.cells_dir / f"{stem}.json", self.cells_dir / f"{stem}.npz"

    def has(self, key: CellKey) -> bool:
        return self._paths(key)[0].is_file()

    def write(self, key: CellKey, record: dict, artifacts: dict[str, Any]) -> None:
        """Store one finished cell: artifacts first, then the record (so a record means complete)."""
        self.cells_dir.mkdir(exist_ok=True)
        record_path, npz_path = self._paths(key)
        record = dict(record)
        for field, value in key.as_dict().items():
            if field in record and record[field] != value:
                raise ValueError(f"record {field}={record[field]!r} does not match the cell key {value!r}")
            record[field] = value
        record = normalize_record(record)
        # np.savez takes the arrays as keywords; 'kind::name' never collides with its allow_pickle.
        packed: dict[str, Any] = pack_artifacts(artifacts)
        atomic_write_bytes(npz_path, lambda fh: np.savez(fh, **packed))
        atomic_write_bytes(record_path, lambda fh: fh.write(to_json(record, indent=1).encode()))

    def read_record(self, key: CellKey) -> dict:
        record_path, _ = self._paths(key)
        if not record_path.is_file():
            raise KeyError(f"no finished cell {key}")
        record = read_cell_record(record_path)
        if CellKey.from_record(record) != key:
            raise LthbenchError(
                f"damaged cell file {str(record_path)!r}: it holds another cell's record; "
                "delete it (and its .npz) to recompute the cell"
            )
        return record

    def read_artifacts(self, key: CellKey) -> dict[str, dict]:
        _, npz_path = self._paths(key)
        try:
            with np.load(npz_path) as npz:
                return unpack_artifacts(npz)
        except Exception as err:  # noqa: BLE001 - missing, truncated or not an npz
            raise LthbenchError(
                f"damaged cell file {str(npz_path)!r} ({one_line(err, 120)}); delete it and its "
                ".json to recompute the cell"
            ) from None

    def keys(self) -> list[CellKey]:
        return sorted(CellKey.from_record(r) for r in self.records())

    def records(self) -> list[dict]:
        """Every finished cell's record; LthbenchError for a damaged one (unreadable, or whose record
        belongs to another cell than its file name says)."""
        if not self.cells_dir.is_dir():
            return []
        out = []
        for path in sorted(self.cells_dir.glob("*.json")):
            if path.name.startswith("."):
                continue
            record = read_cell_record(path)
            if f"{CellKey.from_record(record).stem}.json" != path.name:
                raise LthbenchError(
                    f"damaged cell file {str(path)!r}: its record is another cell's; delete it "
                    "(and its .npz) to recompute the cell"
                )
            out.append(record)
        return out

    def finalize(self, provenance: dict) -> xr.Dataset:
        """Merge every cell (and any dataset already at out_path) and write out_path atomically."""
        ds = records_to_dataset(self.records(), provenance)
        if self.out_path.is_file():
            ds = merge([load_dataset(self.out_path), ds])
        save_dataset(ds, self.out_path)
        return ds

    def fingerprint_records(self) -> list[dict]:
        """Every finished cell's record, plus {'task', 'method', 'fingerprint'} for each (task, method)
        of the dataset already at out_path (what a resume must agree with)."""
        return self.records() + stored_fingerprints(self.out_path)

    def discard(self) -> None:
        """Delete every cell and the results file (`--fresh`). Call only while holding the lock."""
        if self.cells_dir.is_dir():
            for path in self.cells_dir.iterdir():
                if path.name != ".lock" and path.is_file():
                    path.unlink()
        if self.out_path.is_file():
            self.out_path.unlink()

    @contextlib.contextmanager
    def lock(self) -> Iterator[RunStore]:
        """Hold the advisory lock (fcntl.flock) on this output while writing it.

        A second process asking for it gets an LthbenchError naming the holder (pid and host). Stale
        temp files of killed runs are removed once the lock is held. The lock file is
        `<out>.cells/.lock`; it stays (empty) after release.
        """
        try:
            self.cells_dir.mkdir(exist_ok=True)
            fd = os.open(self.cells_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            raise LthbenchError(f"cannot lock {str(self.out_path)!r}: {err.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
                raise LthbenchError(
                    f"{str(self.out_path)!r} is being written by {holder}; wait for that run to "
                    "finish, or use another --out"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"lthbench pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
            self.clean_temp_files()
            try:
                yield self
            finally:
                os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def clean_temp_files(self) -> list[Path]:
        """Remove the temp files killed writers left (`.*.tmp` in the cells directory and
        `.<out name>.*.tmp` next to the output: `lthbench.atomic`'s temp names). Call only while
        holding the lock."""
        stale = list(self.cells_dir.glob(".*.tmp")) + list(self.out_path.parent.glob(f".{self.out_path.name}.*.tmp"))
        for path in stale:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return stale
