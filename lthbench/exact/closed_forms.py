"""Closed forms, as independent checks of exact diagonalisation: TFIM chains by free fermions and the
pure toric code."""

from __future__ import annotations

import numpy as np

from ..systems import PauliStringHamiltonian


def tfim_chain_free_fermion_energy(L: int, kappa: float, J: float = 1.0, pbc: bool = True) -> float:
    """Exact ground energy of the chain H = -J sum Z_i Z_i+1 - kappa sum X_i by free fermions.

    pbc=True (L >= 3): after Jordan-Wigner the ground state has even fermion parity, whose fermions
    obey antiperiodic boundary conditions, k = (2n - 1) pi / L, n = 1..L, and
    E0 = -sum_k sqrt(J^2 + kappa^2 - 2 J kappa cos k). For odd L the unpaired mode k = pi stays empty,
    which is its lower state when J kappa > 0, so the same sum holds. J < 0 with odd L is a frustrated
    ring this formula does not describe (ValueError).
    pbc=False: E0 = -sum of the singular values of the L x L bidiagonal matrix with kappa on the
    diagonal and J above it (Lieb-Schultz-Mattis / Pfeuty).
    The sign of kappa is a gauge (conjugation by prod Z), so |kappa| is used.
    """
    L, kappa, J = int(L), abs(float(kappa)), float(J)
    if L < 1:
        raise ValueError(f"chain length must be >= 1, got {L}")
    if not pbc:
        matrix = np.diag(np.full(L, kappa)) + np.diag(np.full(L - 1, J), 1)
        return -float(np.linalg.svd(matrix, compute_uv=False).sum())
    if L < 3:
        raise ValueError("a periodic chain needs L >= 3 (the lattice does not double the bond of L = 2)")
    if J < 0 and L % 2:
        raise ValueError("odd periodic antiferromagnetic chain: frustrated, not covered by this formula")
    J = abs(J)  # even L: flipping every other spin's Z maps J -> -J
    k = (2 * np.arange(1, L + 1) - 1) * np.pi / L
    return -float(np.sqrt(J * J + kappa * kappa - 2.0 * J * kappa * np.cos(k)).sum())


def analytic_ground_level(system: PauliStringHamiltonian) -> tuple[float, int] | None:
    """(E0, degeneracy) from a closed form when one applies, else None (degeneracy -1 when unknown).

    TFIM chains (free fermions; degeneracy 1 for kappa != 0) and the pure toric code (E0 = -2 L^2:
    every star and plaquette satisfied; degeneracy 4 on the torus, the logical qubits).
    """
    p = system.params
    if system.kind == "tfim" and len(system.lattice_shape) == 1:
        L = system.lattice_shape[0]
        if p["pbc"] and L < 3:
            return None
        if p["pbc"] and p["J"] < 0 and L % 2:
            return None
        degeneracy = 1 if p["kappa"] != 0 else -1
        return tfim_chain_free_fermion_energy(L, p["kappa"], p["J"], pbc=p["pbc"]), degeneracy
    if system.kind == "toric" and p["hx"] == 0.0 and p["hz"] == 0.0:
        return -2.0 * p["L"] ** 2, 4
    return None
