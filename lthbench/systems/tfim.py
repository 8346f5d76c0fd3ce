"""Transverse-field Ising model H = -J sum_<ij> Z_i Z_j - kappa sum_i X_i on a chain or square lattice."""

from __future__ import annotations

import math

from ..errors import LthbenchError
from .lattice import chain_bonds, square_bonds
from .numbers import format_number
from .operator import PauliStringHamiltonian

KAPPA_C_2D = 3.04438  # critical field of the 2D square-lattice TFIM (paper's value)


def _check_field(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise LthbenchError(f"{name} must be a finite number, got {value}")
    return value


def tfim_id(shape: tuple[int, ...], kappa: float, J: float = 1.0, pbc: bool = False) -> str:
    """Stable id: 'tfim1d-16-pbc-k1', 'tfim2d-4x4-obc-k3.04438' (with '-J<J>' appended when J != 1)."""
    dims = "x".join(str(int(n)) for n in shape)
    sid = f"tfim{len(shape)}d-{dims}-{'pbc' if pbc else 'obc'}-k{format_number(kappa)}"
    if float(J) != 1.0:
        sid += f"-J{format_number(J)}"
    return sid


def tfim(shape, kappa: float, J: float = 1.0, pbc: bool = False) -> PauliStringHamiltonian:
    """The TFIM on a chain (shape=(L,)) or an Lx x Ly square lattice (shape=(Lx, Ly)).

    Sites are row-major (`spins.reshape(shape)` is the lattice). Energies in units of J's scale (J=1
    in the paper). Raises LthbenchError for sizes < 1, more than 2 dimensions, or non-finite fields.
    """
    if isinstance(shape, int):
        shape = (shape,)
    shape = tuple(int(n) for n in shape)
    if len(shape) not in (1, 2):
        raise LthbenchError(f"TFIM shape must be (L,) or (Lx, Ly), got {shape}")
    if any(n < 1 for n in shape):
        raise LthbenchError(f"TFIM lattice sizes must be >= 1, got {shape}")
    kappa = _check_field("kappa", kappa)
    J = _check_field("J", J)
    pbc = bool(pbc)
    if len(shape) == 1:
        bonds = chain_bonds(shape[0], pbc)
    else:
        bonds = square_bonds(shape[0], shape[1], pbc)
    n_spins = math.prod(shape)
    return PauliStringHamiltonian(
        n_spins=n_spins,
        system_id=tfim_id(shape, kappa, J, pbc),
        kind="tfim",
        lattice_shape=shape,
        params={"shape": list(shape), "kappa": kappa, "J": J, "pbc": pbc},
        z_sets=[tuple(b) for b in bonds],
        z_coeffs=[-J] * len(bonds),
        x_sets=[(i,) for i in range(n_spins)],
        x_coeffs=[-kappa] * n_spins,
        energy_unit="J",
    )
