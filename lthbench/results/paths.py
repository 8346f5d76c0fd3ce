"""Where a run writes: the output file (`results.nc`) and its cells directory (`results.nc.cells/`),
checked before any work starts."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import LthbenchError
from .schema import read_attrs


def cells_dir_of(out_path: str | os.PathLike) -> Path:
    """The directory that holds the finished cells of the results file at out_path."""
    return Path(f"{out_path}.cells")


def check_output_path(out_path: str | os.PathLike) -> Path:
    """The output path as a Path; LthbenchError when its directory does not exist or cannot be written,
    or the path is a directory."""
    path = Path(out_path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LthbenchError(f"output directory {str(parent)!r} does not exist")
    if path.is_dir():
        raise LthbenchError(f"output path {str(path)!r} is a directory; give a file name such as results.nc")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise LthbenchError(f"output directory {str(parent)!r} is not writable")
    if path.exists() and not os.access(path, os.R_OK):
        raise LthbenchError(f"output file {str(path)!r} is not readable")
    return path


def check_results_output(out_path: str | os.PathLike) -> Path:
    """check_output_path, and an existing file at the path must be an lthbench results file that this
    version reads (runs merge into it): a foreign file is refused before any work starts."""
    path = check_output_path(out_path)
    if path.exists():
        read_attrs(path)
    cells = cells_dir_of(path)
    if cells.exists() and (not cells.is_dir() or not os.access(cells, os.W_OK | os.X_OK)):
        raise LthbenchError(f"{str(cells)!r} (the cells of {str(path)!r}) is not a writable directory")
    return path
