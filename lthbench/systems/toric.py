"""Toric code H = -sum_v A_v - sum_p B_p - hx sum_e X_e - hz sum_e Z_e on the 2 L^2 edges of an L x L torus.

A_v is the product of X on the 4 edges at vertex v (an X string: a 4-spin flip), B_p the product of Z
around plaquette p (a diagonal Z string). The fields are our addition; with hx = hz = 0 the ground
energy is -2 L^2, four-fold degenerate on the torus.
"""

from __future__ import annotations

import math

from ..errors import LthbenchError
from .lattice import torus_plaquettes, torus_stars
from .numbers import format_number
from .operator import PauliStringHamiltonian


def toric_id(L: int, hx: float = 0.0, hz: float = 0.0) -> str:
    """Stable id: 'toric-3', 'toric-3-hx0.2', 'toric-3-hx0.2-hz0.1'."""
    sid = f"toric-{int(L)}"
    if float(hx) != 0.0:
        sid += f"-hx{format_number(hx)}"
    if float(hz) != 0.0:
        sid += f"-hz{format_number(hz)}"
    return sid


def toric(L: int, hx: float = 0.0, hz: float = 0.0) -> PauliStringHamiltonian:
    """The toric code on an L x L torus (L >= 2), spins on edges in `lattice.torus_*_edge` order."""
    L = int(L)
    if L < 2:
        raise LthbenchError(f"toric code needs L >= 2 (a 1 x 1 torus has repeated edges), got L={L}")
    for name, value in (("hx", hx), ("hz", hz)):
        if not math.isfinite(float(value)):
            raise LthbenchError(f"{name} must be a finite number, got {value}")
    hx, hz = float(hx), float(hz)
    n_spins = 2 * L * L
    z_sets = [tuple(p) for p in torus_plaquettes(L)]
    z_coeffs = [-1.0] * len(z_sets)
    x_sets = [tuple(s) for s in torus_stars(L)]
    x_coeffs = [-1.0] * len(x_sets)
    if hz != 0.0:
        z_sets += [(e,) for e in range(n_spins)]
        z_coeffs += [-hz] * n_spins
    if hx != 0.0:
        x_sets += [(e,) for e in range(n_spins)]
        x_coeffs += [-hx] * n_spins
    return PauliStringHamiltonian(
        n_spins=n_spins,
        system_id=toric_id(L, hx, hz),
        kind="toric",
        lattice_shape=("torus", L),
        params={"L": L, "hx": hx, "hz": hz},
        z_sets=z_sets,
        z_coeffs=z_coeffs,
        x_sets=x_sets,
        x_coeffs=x_coeffs,
        energy_unit="star/plaquette coupling",
    )
