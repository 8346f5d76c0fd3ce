"""Spin systems of the suite: lattices and one operator object per Hamiltonian."""

from .ids import system_from_id
from .numbers import format_number
from .operator import PauliStringHamiltonian
from .tfim import KAPPA_C_2D, tfim, tfim_id
from .toric import toric, toric_id

__all__ = [
    "KAPPA_C_2D",
    "PauliStringHamiltonian",
    "format_number",
    "system_from_id",
    "tfim",
    "tfim_id",
    "toric",
    "toric_id",
]
