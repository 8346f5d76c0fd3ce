"""Atomic file replacement: the one writer every module that must never leave a half-written file uses."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from .errors import LthbenchError


def current_umask() -> int:
    """The process umask (read without changing it where /proc allows; else set and restored)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_replace(path: str | os.PathLike, produce: Callable[[str], object]) -> None:
    """`produce(tmp_path)` writes a temp file in path's directory, which then replaces path (os.replace).

    The file gets the mode a plain `open()` would give it (0666 minus the umask), not mkstemp's 0600.
    Temp files are named `.<name>.<random>.tmp`; ones a killed process left behind are removed by the
    next run that takes the output's lock (`lthbench.results.RunStore.lock`). A directory that cannot
    be written is one LthbenchError line.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise LthbenchError(f"cannot write in {str(path.parent)!r}: {err.strerror}") from None
    os.close(fd)
    try:
        produce(tmp)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_bytes(path: str | os.PathLike, write: Callable) -> None:
    """Write via `write(binary file object)`, fsync, then move into place atomically."""

    def produce(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())

    atomic_replace(path, produce)
