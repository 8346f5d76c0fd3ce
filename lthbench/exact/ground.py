"""Ground states: `ground_energy` and `ground_space` (Lanczos via scipy's ARPACK `eigsh`, dense `eigh` for
tiny sectors), with degeneracy detection to a stated tolerance, searched sector by sector.

`TooLargeForExactError` beyond `MAX_ED_SPINS` or the machine's memory (`lthbench.exact.feasibility`).
Energies are in the Hamiltonian's unit (`system.energy_unit`: J for the TFIM).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import scipy.sparse.linalg as spla

from ..systems import PauliStringHamiltonian
from .feasibility import LANCZOS_NCV, check_exact_feasible
from .operators import hamiltonian_operator, linear_operator, sparse_hamiltonian
from .sectors import SECTORS, embed_sector_vectors, sector_bits

DENSE_MAX_DIM = 1024  # sectors up to this dimension are diagonalised densely (exact, no Lanczos)
LANCZOS_TOL = 1e-13  # ARPACK's relative Ritz-value tolerance
DEGENERACY_TOL = 1e-8  # levels within this (times max(1, |E0|)) of the lowest are one degenerate level


def gf2_rank(codes) -> int:
    """Rank over GF(2) of integer bit patterns (Gaussian elimination on the highest set bit)."""
    basis: dict[int, int] = {}
    for v in codes:
        v = int(v)
        while v:
            top = v.bit_length() - 1
            if top not in basis:
                basis[top] = v
                break
            v ^= basis[top]
    return len(basis)


def is_stoquastic(system: PauliStringHamiltonian) -> bool:
    """Every off-diagonal element <k'|H|k> <= 0 (all X-string coefficients <= 0): then some ground
    state is non-negative, so a ground state lies in the even sector when H commutes with P."""
    return bool(np.all(system.x_coeffs <= 0.0))


def has_unique_ground_state(system: PauliStringHamiltonian) -> bool:
    """True when Perron-Frobenius guarantees a unique (and positive) ground state: every X-string
    coefficient < 0 and the flip patterns connect all 2^N basis states (GF(2) rank N). Holds for the
    TFIM with kappa > 0 and the toric code with hx > 0; not for the pure toric code."""
    return bool(np.all(system.x_coeffs < 0.0)) and gf2_rank(system.flip_codes) == system.n_spins


def spectral_bound(system: PauliStringHamiltonian) -> float:
    """An upper bound on ||H||_2: the sum of the absolute coefficients of all Pauli strings."""
    return float(np.abs(system.z_coeffs).sum() + np.abs(system.x_coeffs).sum())


class ProductCounter:
    """Counts H x products of a Lanczos solve and prints a status line at most every `every` s.

    ARPACK does not know its iteration count in advance, so the line gives the products done, the
    time per product and the elapsed time, not a completion percentage.
    """

    def __init__(self, label: str, stream, every: float = 10.0):
        self.label, self.stream, self.every = label, stream, every
        self.count, self.start, self.last = 0, time.perf_counter(), time.perf_counter()

    def wrap(self, op: spla.LinearOperator) -> spla.LinearOperator:
        def matvec(x):
            self.count += 1
            now = time.perf_counter()
            if now - self.last >= self.every:
                self.last = now
                per = (now - self.start) / self.count
                print(
                    f"ed {self.label}: {self.count} Lanczos products, {per:.2f} s each, {now - self.start:.0f} s "
                    "elapsed (ARPACK stops at convergence: the count is not known in advance)",
                    file=self.stream,
                    flush=True,
                )
            return op.matvec(x)

        return linear_operator(op.shape, matvec, rmatvec=matvec)


def lowest_eigenpairs(
    system: PauliStringHamiltonian, sector, k: int, deflate: np.ndarray | None = None, progress=None
) -> tuple[np.ndarray, np.ndarray]:
    """The k lowest eigenpairs of H in a sector: (values (k,), vectors (2^n, k)), ascending.

    `deflate` (2^n, d) orthonormal columns are pushed up by a shift larger than the spectral width,
    so the solve finds the lowest states orthogonal to them. progress: a text stream for status lines
    of long Lanczos solves (None: silent).
    """
    dim = 1 << sector_bits(system, sector)
    if dim <= DENSE_MAX_DIM:
        matrix = sparse_hamiltonian(system, sector).toarray()
        if deflate is not None and deflate.shape[1]:
            matrix += 2.0 * spectral_bound(system) * (deflate @ deflate.T)
        values, vectors = np.linalg.eigh(matrix)
        return values[:k], vectors[:, :k]
    op = hamiltonian_operator(system, sector)
    if deflate is not None and deflate.shape[1]:
        shift, base = 2.0 * spectral_bound(system), op
        op = linear_operator(op.shape, lambda x: base.matvec(x) + shift * (deflate @ (deflate.T @ x)))
    if progress is not None:
        op = ProductCounter(f"{system.id} ({sector or 'full'} sector)", progress).wrap(op)
    # A fixed start vector makes every solve reproducible (ARPACK's default is random).
    v0 = np.random.default_rng(12345).standard_normal(dim)
    k = min(k, dim - 1)
    # The stubs type eigsh's tol as int; it is a float.
    ncv = max(LANCZOS_NCV, 2 * k + 1)
    values, vectors = spla.eigsh(op, k=k, which="SA", tol=LANCZOS_TOL, v0=v0, ncv=ncv)  # pyright: ignore[reportArgumentType]
    order = np.argsort(values)
    return values[order], vectors[:, order]


def residual_norm(system: PauliStringHamiltonian, sector, value: float, vector: np.ndarray) -> float:
    """||H v - E v|| / ||v||: some eigenvalue of H lies within this of E (symmetric H)."""
    dim = vector.shape[0]
    op = sparse_hamiltonian(system, sector) if dim <= DENSE_MAX_DIM else hamiltonian_operator(system, sector)
    return float(np.linalg.norm(op @ vector - value * vector) / np.linalg.norm(vector))


@dataclasses.dataclass(frozen=True)
class GroundLevel:
    """The lowest level of H, in the sector basis it was found in (before embedding in the full basis).

    energies: (d,) float64 Ritz values within the degeneracy tolerance of the lowest.
    parts: ((sector, vectors (2^n, d_s)), ...) the orthonormal ground vectors of each sector searched.
    residual: max ||H v - E v|| over the returned vectors: a rigorous bound on each energy's error.
    unique_by_theorem: True when Perron-Frobenius fixed d = 1 without a degeneracy search.
    """

    energies: np.ndarray
    parts: tuple
    residual: float
    unique_by_theorem: bool

    @property
    def degeneracy(self) -> int:
        return int(self.energies.shape[0])


def sectors_to_search(system: PauliStringHamiltonian, lowest_only: bool) -> list:
    """Sectors that together hold the whole ground level (or, with lowest_only, its lowest energy)."""
    if not system.commutes_with_global_flip:
        return [None]
    if has_unique_ground_state(system) or (lowest_only and is_stoquastic(system)):
        return ["even"]  # the positive ground state is its own flipped copy
    return list(SECTORS)


def _complete_sector_level(system, sector, vecs: list, energies: list, e0: float, window: float, progress):
    """Deflated solves in one sector until its next state lies above the level: (basis, energies)."""
    basis = np.linalg.qr(np.stack(vecs, axis=1))[0]
    while True:
        # Look for a missed state of the level orthogonal to those found (ARPACK may return only
        # one vector of an exactly degenerate eigenspace).
        values, vectors = lowest_eigenpairs(system, sector, 1, deflate=basis, progress=progress)
        if values[0] > e0 + window:
            break
        energies.append(float(values[0]))
        vecs.append(vectors[:, 0])
        basis = np.linalg.qr(np.stack(vecs, axis=1))[0]
    return basis, energies


def solve_ground_level(
    system: PauliStringHamiltonian, n_levels: int = 4, tol: float = DEGENERACY_TOL, progress=None
) -> GroundLevel:
    """The full lowest level of H with its degeneracy, searched sector by sector.

    In each sector Lanczos asks for `n_levels` states; then deflated solves (the found vectors pushed
    out of the way) look for more states within the tolerance until the next one lies above it, so a
    degeneracy larger than n_levels is still found. Degenerate means |E - E0| <= tol * max(1, |E0|).
    progress: a text stream for status lines of long Lanczos solves (None: silent).
    """
    check_exact_feasible(system, n_vectors=n_levels)
    if has_unique_ground_state(system):
        sector = sectors_to_search(system, lowest_only=False)[0]
        values, vectors = lowest_eigenpairs(system, sector, 1, progress=progress)
        residual = residual_norm(system, sector, values[0], vectors[:, 0])
        return GroundLevel(values[:1], ((sector, vectors[:, :1]),), residual, True)
    found = []  # (energy, sector, vector)
    for sector in sectors_to_search(system, lowest_only=False):
        values, vectors = lowest_eigenpairs(system, sector, n_levels, progress=progress)
        found += [(float(e), sector, vectors[:, j]) for j, e in enumerate(values)]
    e0 = min(e for e, _, _ in found)
    window = tol * max(1.0, abs(e0))
    kept = [item for item in found if item[0] <= e0 + window]
    parts = []
    for sector in dict.fromkeys(s for _, s, _ in found):
        vecs = [v for e, s, v in kept if s == sector]
        energies = [e for e, s, _ in kept if s == sector]
        if not vecs:  # this sector's lowest Ritz value already lies above the level
            continue
        basis, energies = _complete_sector_level(system, sector, vecs, energies, e0, window, progress)
        parts.append((sector, basis, energies))
    residual = max(
        residual_norm(system, sector, e, basis[:, j]) for sector, basis, es in parts for j, e in enumerate(es)
    )
    energies = np.sort(np.concatenate([np.asarray(es) for _, _, es in parts]))
    return GroundLevel(energies, tuple((s, b) for s, b, _ in parts), residual, False)


def ground_energy(system: PauliStringHamiltonian) -> float:
    """The ground-state energy of `system` (float, in `system.energy_unit`) by Lanczos.

    Uses the even Z2 sector alone when H commutes with the global flip and is stoquastic (then a
    ground state is non-negative, hence even); otherwise both sectors or the full space.
    Raises TooLargeForExactError beyond MAX_ED_SPINS or the available memory.
    """
    check_exact_feasible(system)
    return min(float(lowest_eigenpairs(system, s, 1)[0][0]) for s in sectors_to_search(system, lowest_only=True))


def ground_space(
    system: PauliStringHamiltonian, n_levels: int = 4, tol: float = DEGENERACY_TOL
) -> tuple[np.ndarray, np.ndarray]:
    """The lowest level of H: (energies (d,) float64, orthonormal vectors (2^N, d) float64).

    Vectors are in the full basis (row k = basis code k), so the 3x3 pure toric code gives d = 4 even
    though its ground states sit two in each Z2 sector. Levels within tol * max(1, |E0|) of the lowest
    count as degenerate (Lanczos accuracy is ~1e-12 relative, far below the default 1e-8).
    """
    level = solve_ground_level(system, n_levels=n_levels, tol=tol)
    vectors = np.concatenate([embed_sector_vectors(b, system, s) for s, b in level.parts], axis=1)
    return level.energies, vectors
