"""System ids: parsing an id back into a system (ids are made by `tfim_id` / `toric_id`)."""

from __future__ import annotations

import math
import re

from ..errors import LthbenchError
from .tfim import tfim
from .toric import toric

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|nan|inf|-inf"
_TFIM_RE = re.compile(
    rf"^tfim(?P<d>[12])d-(?P<dims>-?\d+(?:x-?\d+)?)-(?P<bc>obc|pbc)-k(?P<kappa>{_NUM})(?:-J(?P<J>{_NUM}))?$"
)
_TORIC_RE = re.compile(rf"^toric-(?P<L>-?\d+)(?:-hx(?P<hx>{_NUM}))?(?:-hz(?P<hz>{_NUM}))?$")

ID_HELP = (
    "system ids look like 'tfim2d-4x4-obc-k3.04438', 'tfim1d-16-pbc-k1' or 'toric-3-hx0.2' "
    "(`lthbench systems` lists the standard ones)"
)


def system_from_id(system_id: str):
    """Build the system named by `system_id`. Raises LthbenchError (one line) for a malformed id."""
    m = _TFIM_RE.match(system_id)
    if m:
        dims = tuple(int(n) for n in m["dims"].split("x"))
        if len(dims) != int(m["d"]):
            raise LthbenchError(f"id {system_id!r} says {m['d']}D but gives {len(dims)} sizes")
        kappa = float(m["kappa"])
        J = float(m["J"]) if m["J"] is not None else 1.0
        system = tfim(dims, kappa, J=J, pbc=m["bc"] == "pbc")
    else:
        m = _TORIC_RE.match(system_id)
        if not m:
            raise LthbenchError(f"unknown system id {system_id!r}: {ID_HELP}")
        hx = float(m["hx"]) if m["hx"] is not None else 0.0
        hz = float(m["hz"]) if m["hz"] is not None else 0.0
        system = toric(int(m["L"]), hx=hx, hz=hz)
    if not all(math.isfinite(float(v)) for v in _numeric_params(system.params)):
        raise LthbenchError(f"non-finite parameter in {system_id!r}")
    return system


def _numeric_params(params):
    for value in params.values():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            yield value
