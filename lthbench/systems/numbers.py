"""Numbers in ids: the shortest exact decimal of a float (a leaf module: ids, tfim and toric use it)."""

from __future__ import annotations

import numpy as np


def format_number(value: float) -> str:
    """Shortest exact decimal for an id: 3.04438 -> '3.04438', 1.0 -> '1', 0.1 -> '0.1'."""
    return np.format_float_positional(float(value), trim="-")
