"""Exact ground states, closed forms, and the shipped table of reference energies.

Three layers, each usable alone:

* **Operators on the basis.** `sparse_hamiltonian` (scipy CSR) and `hamiltonian_operator` (matrix-free
  scipy LinearOperator, a jitted JAX kernel) act on vectors indexed by the operator's basis codes
  (`lthbench.systems.operator`: code k, spin 0 the most significant bit, bit 1 means s = -1).
  Both can restrict to a sector of the global spin flip P = prod_i X_i when H commutes with it.
* **Ground states.** `ground_energy` and `ground_space` (Lanczos via scipy's ARPACK `eigsh`, dense
  `eigh` for tiny sectors), with degeneracy detection to a stated tolerance; `TooLargeForExactError`
  beyond `MAX_ED_SPINS` or the machine's memory. Closed forms as independent checks.
* **References.** `reference_energy(system_id)` reads `reference_data/references.nc` (published rows
  kept as shipped, computed rows rebuilt by `regenerate_reference_table`) and falls back to ED for a
  system not in the table.

Z2 sectors. With P|k> = |k XOR all-ones>, a sector basis state is (|r> + sign |r XOR all>)/sqrt(2) for
the representatives r < 2^(N-1) (spin 0 up), sign +1 ('even') or -1 ('odd'). H commutes with P when
every Z string has even length, so the diagonal is the same on r and on its partner; an X string with
flip code f maps r to r XOR g with g = f when f leaves spin 0 alone and g = f XOR all otherwise (then
with a factor `sign`, because the partner is the flipped copy of a representative). So a sector is
again "diagonal + XOR flips" on N-1 bits, and every kernel below handles sectors and the full space
alike.

Energies are in the Hamiltonian's unit (`system.energy_unit`: J for the TFIM).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import re
import sys
import tempfile
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .errors import LthbenchError, TooLargeForExactError

MAX_ED_SPINS = 30  # hard cap: an even sector of 2^29 float64 Lanczos vectors is already 4.3 GB each
DENSE_MAX_DIM = 1024  # sectors up to this dimension are diagonalised densely (exact, no Lanczos)
SPARSE_MAX_NNZ = 60_000_000  # ~0.7 GB of CSR (int32 indices + float64 data)
LANCZOS_TOL = 1e-13  # ARPACK's relative Ritz-value tolerance
DEGENERACY_TOL = 1e-8  # levels within this (times max(1, |E0|)) of the lowest are one degenerate level
LANCZOS_NCV = 20  # Krylov vectors kept by ARPACK; sets the memory of a solve
SECTORS = ("even", "odd")


# --------------------------------------------------------------------------------------------------
# Sectors: the Hamiltonian as "diagonal + XOR flips" on the full space or one Z2 sector


def _sector_sign(system, sector) -> int:
    """0 for the full space, +1 for 'even', -1 for 'odd'. Raises ValueError for a sector H breaks."""
    if sector is None or sector == "full":
        return 0
    if sector not in SECTORS:
        raise ValueError(f"sector must be None, 'even' or 'odd', got {sector!r}")
    if not system.commutes_with_global_flip:
        raise ValueError(f"{system.id} does not commute with the global spin flip: no {sector} sector")
    return 1 if sector == "even" else -1


def sector_bits(system, sector=None) -> int:
    """Number of bits n of a sector's basis codes: N for the full space, N - 1 for a Z2 sector."""
    return system.n_spins - (1 if _sector_sign(system, sector) else 0)


def sector_flips(system, sector=None) -> list[tuple[int, float]]:
    """The off-diagonal part as [(g, c)]: H|r> gets c |r XOR g> for each pair, on sector codes r.

    Flips that coincide in the sector (e.g. f and f XOR all) are merged by adding their coefficients,
    and pairs whose coefficients cancel are dropped, so every g is distinct and every c non-zero.
    """
    sign = _sector_sign(system, sector)
    n = system.n_spins
    top, all_ones = 1 << (n - 1), (1 << n) - 1
    merged: dict[int, float] = {}
    for f, c in zip(system.flip_codes.tolist(), system.x_coeffs.tolist()):
        if sign and f & top:
            f, c = f ^ all_ones, c * sign
        merged[f] = merged.get(f, 0.0) + c
    return [(g, c) for g, c in merged.items() if c != 0.0]


def sector_diagonal(system, sector=None, chunk: int = 1 << 21) -> np.ndarray:
    """<r|H|r> for every sector code r = 0 .. 2^n - 1, (2^n,) float64, built in chunks to bound memory.

    In a Z2 sector the representatives r < 2^(N-1) are themselves full codes with spin 0 up.
    """
    dim = 1 << sector_bits(system, sector)
    out = np.empty(dim, dtype=np.float64)
    for start in range(0, dim, chunk):
        stop = min(start + chunk, dim)
        out[start:stop] = system.diagonal_of_codes(np.arange(start, stop, dtype=np.int64))
    return out


def embed_sector_vectors(vectors: np.ndarray, system, sector=None) -> np.ndarray:
    """Sector vectors (2^n, d) -> the same states in the full basis (2^N, d), float64, same norms."""
    vectors = np.asarray(vectors, dtype=np.float64)
    sign = _sector_sign(system, sector)
    if not sign:
        return vectors
    half = vectors.shape[0]
    full = np.empty((2 * half,) + vectors.shape[1:], dtype=np.float64)
    full[:half] = vectors / math.sqrt(2.0)
    # r XOR all-ones = 2^N - 1 - r: the upper half holds the flipped copies in reverse order.
    full[half:] = sign * vectors[::-1] / math.sqrt(2.0)
    return full


# --------------------------------------------------------------------------------------------------
# Operators


def sparse_hamiltonian(system, sector=None) -> sp.csr_matrix:
    """H (or its block in the Z2 sector 'even'/'odd') as a (2^n, 2^n) float64 CSR matrix.

    Built from `diagonal_of_codes` and the flip codes (partner = code XOR flip). Raises
    TooLargeForExactError when the matrix would exceed SPARSE_MAX_NNZ stored entries; use
    `hamiltonian_operator` (matrix-free) then.
    """
    check_exact_feasible(system)
    flips = sector_flips(system, sector)
    n = sector_bits(system, sector)
    dim = 1 << n
    width = len(flips) + 1
    if dim * width > SPARSE_MAX_NNZ:
        raise TooLargeForExactError(
            f"{system.id}: the sparse matrix would hold {dim * width:,} entries (> {SPARSE_MAX_NNZ:,}); "
            "use lthbench.exact.hamiltonian_operator (matrix-free)"
        )
    idx_dtype = np.int32 if n < 31 else np.int64
    codes = np.arange(dim, dtype=idx_dtype)
    # Row r holds the diagonal then its partners r XOR g (all distinct, since the g are distinct and
    # non-zero unless a flip is trivial in the sector, which sum_duplicates then folds in).
    indices = np.empty((dim, width), dtype=idx_dtype)
    data = np.empty((dim, width), dtype=np.float64)
    indices[:, 0] = codes
    data[:, 0] = sector_diagonal(system, sector)
    for m, (g, c) in enumerate(flips, start=1):
        np.bitwise_xor(codes, idx_dtype(g), out=indices[:, m])
        data[:, m] = c
    indptr = np.arange(0, dim * width + 1, width, dtype=np.int64 if dim * width >= 2**31 else idx_dtype)
    matrix = sp.csr_matrix((data.ravel(), indices.ravel(), indptr), shape=(dim, dim))
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    return matrix


def _flip_layout(g: int, n: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Reshape and reversal that realise x[r XOR g] on an (2^n,) vector without an index array.

    Split the n bits (most significant first) into runs of equal bits of g; XOR with a run of ones is
    j -> 2^len - 1 - j, i.e. reversing that axis. Returns (shape, axes to reverse).
    """
    bits = [(g >> (n - 1 - p)) & 1 for p in range(n)]
    shape, axes, p = [], [], 0
    while p < n:
        q = p
        while q < n and bits[q] == bits[p]:
            q += 1
        if bits[p]:
            axes.append(len(shape))
        shape.append(1 << (q - p))
        p = q
    return tuple(shape), tuple(axes)


@lru_cache(maxsize=16)
def _jax_matvec(layouts: tuple):
    """Jitted (diag (D,), x (D,)) -> H x for static ((shape, axes, coeff), ...): one fused XLA loop.

    Measured on 2 CPU cores at D = 2^24 (TFIM 5x5 even sector): 0.33 s per product, against 0.5 s for
    the best numpy variant (strided half-block adds) and more for index-array gathers.
    """
    import jax
    import jax.numpy as jnp

    def matvec(diag, x):
        out = diag * x
        for shape, axes, coeff in layouts:
            out = out + coeff * jnp.flip(x.reshape(shape), axes).reshape(-1)
        return out

    return jax.jit(matvec)


def hamiltonian_operator(system, sector=None) -> spla.LinearOperator:
    """Matrix-free H (or its Z2-sector block) as a float64 scipy LinearOperator of shape (2^n, 2^n).

    Memory: the diagonal plus a few work vectors of 2^n float64; no index arrays. Each product is one
    jitted JAX kernel in which every flip is a reshaped, reversed view of x (see `_flip_layout`).
    """
    import jax.numpy as jnp

    check_exact_feasible(system)
    n = sector_bits(system, sector)
    dim = 1 << n
    layouts = tuple((*_flip_layout(g, n), float(c)) for g, c in sector_flips(system, sector))
    kernel = _jax_matvec(layouts)
    diag = jnp.asarray(sector_diagonal(system, sector))

    def matvec(x):
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        return np.asarray(kernel(diag, jnp.asarray(x)))

    def matmat(xs):
        return np.stack([matvec(col) for col in np.asarray(xs).T], axis=1)

    return spla.LinearOperator((dim, dim), matvec=matvec, rmatvec=matvec, matmat=matmat, dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# Feasibility


def _available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (bytes); a conservative 8 GB where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


def ed_memory_estimate(system, n_vectors: int = 1) -> int:
    """Bytes a ground-space solve needs: ARPACK's Krylov basis and work vectors in the largest sector,
    plus the returned full-basis vectors (2^N x n_vectors float64)."""
    n = system.n_spins - (1 if system.commutes_with_global_flip else 0)
    return (LANCZOS_NCV + 8) * 8 * (1 << n) + 8 * n_vectors * (1 << system.n_spins)


def check_exact_feasible(system, n_vectors: int = 1) -> None:
    """Raise TooLargeForExactError (one line) when ED of `system` is out of reach on this machine."""
    hint = "use a published reference (reference_data/, `lthbench systems`) or a VMC estimate"
    n = system.n_spins
    if n > MAX_ED_SPINS:
        raise TooLargeForExactError(
            f"{system.id} has N={n} spins: too large for exact diagonalisation (N <= {MAX_ED_SPINS}); {hint}"
        )
    need, have = ed_memory_estimate(system, n_vectors), int(0.8 * _available_memory_bytes())
    if need > have:
        raise TooLargeForExactError(
            f"{system.id} has N={n} spins: exact diagonalisation needs ~{need / 2**30:.1f} GiB, "
            f"{have / 2**30:.1f} GiB available; {hint}"
        )


_ID_SIZE_RE = re.compile(r"^tfim[12]d-(?P<dims>\d+(?:x\d+)?)-|^toric-(?P<L>\d+)(?:-|$)")
MAX_DMRG_SPINS = 400  # 20 x 20: beyond it the default schedules are far from converged in hours


def spins_in_id(system_id: str) -> int | None:
    """N read from a system id's size field alone (no system is built), or None when the id has no
    parsable size (then `system_from_id` reports the id itself)."""
    m = _ID_SIZE_RE.match(system_id.split("/", 1)[0])
    if not m:
        return None
    if m["L"] is not None:
        return 2 * int(m["L"]) ** 2
    return math.prod(int(n) for n in m["dims"].split("x"))


def check_id_size(system_id: str, method: str = "ed-lanczos") -> None:
    """Raise TooLargeForExactError before any allocation when the id's N is beyond `method`'s reach
    (ED: MAX_ED_SPINS; DMRG: MAX_DMRG_SPINS; closed forms: no limit)."""
    n = spins_in_id(system_id)
    limit = {"ed-lanczos": MAX_ED_SPINS, "dmrg-tenpy": MAX_DMRG_SPINS}.get(method)
    if n is not None and limit is not None and n > limit:
        what = "exact diagonalisation" if method == "ed-lanczos" else "a DMRG reference"
        raise TooLargeForExactError(
            f"{system_id} has N={n} spins: too large for {what} (N <= {limit}); use a published reference "
            "(reference_data/, `lthbench systems`) or a VMC estimate"
        )


# --------------------------------------------------------------------------------------------------
# Ground states


def _gf2_rank(codes) -> int:
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


def is_stoquastic(system) -> bool:
    """Every off-diagonal element <k'|H|k> <= 0 (all X-string coefficients <= 0): then some ground
    state is non-negative, so a ground state lies in the even sector when H commutes with P."""
    return bool(np.all(system.x_coeffs <= 0.0))


def has_unique_ground_state(system) -> bool:
    """True when Perron-Frobenius guarantees a unique (and positive) ground state: every X-string
    coefficient < 0 and the flip patterns connect all 2^N basis states (GF(2) rank N). Holds for the
    TFIM with kappa > 0 and the toric code with hx > 0; not for the pure toric code."""
    return bool(np.all(system.x_coeffs < 0.0)) and _gf2_rank(system.flip_codes) == system.n_spins


def _spectral_bound(system) -> float:
    """An upper bound on ||H||_2: the sum of the absolute coefficients of all Pauli strings."""
    return float(np.abs(system.z_coeffs).sum() + np.abs(system.x_coeffs).sum())


class _ProductCounter:
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

        return spla.LinearOperator(op.shape, matvec=matvec, rmatvec=matvec, dtype=np.float64)


def _lowest_eigenpairs(system, sector, k: int, deflate: np.ndarray | None = None, progress=None):
    """The k lowest eigenpairs of H in a sector: (values (k,), vectors (2^n, k)), ascending.

    `deflate` (2^n, d) orthonormal columns are pushed up by a shift larger than the spectral width,
    so the solve finds the lowest states orthogonal to them. progress: a text stream for status lines
    of long Lanczos solves (None: silent).
    """
    dim = 1 << sector_bits(system, sector)
    if dim <= DENSE_MAX_DIM:
        matrix = sparse_hamiltonian(system, sector).toarray()
        if deflate is not None and deflate.shape[1]:
            matrix += 2.0 * _spectral_bound(system) * (deflate @ deflate.T)
        values, vectors = np.linalg.eigh(matrix)
        return values[:k], vectors[:, :k]
    op = hamiltonian_operator(system, sector)
    if deflate is not None and deflate.shape[1]:
        shift, base = 2.0 * _spectral_bound(system), op
        op = spla.LinearOperator(
            op.shape, matvec=lambda x: base.matvec(x) + shift * (deflate @ (deflate.T @ x)), dtype=np.float64
        )
    if progress is not None:
        op = _ProductCounter(f"{system.id} ({sector or 'full'} sector)", progress).wrap(op)
    # A fixed start vector makes every solve reproducible (ARPACK's default is random).
    v0 = np.random.default_rng(12345).standard_normal(dim)
    k = min(k, dim - 1)
    values, vectors = spla.eigsh(op, k=k, which="SA", tol=LANCZOS_TOL, v0=v0, ncv=max(LANCZOS_NCV, 2 * k + 1))
    order = np.argsort(values)
    return values[order], vectors[:, order]


def _residual(system, sector, value: float, vector: np.ndarray) -> float:
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


def _sectors_to_search(system, lowest_only: bool) -> list:
    """Sectors that together hold the whole ground level (or, with lowest_only, its lowest energy)."""
    if not system.commutes_with_global_flip:
        return [None]
    if has_unique_ground_state(system) or (lowest_only and is_stoquastic(system)):
        return ["even"]  # the positive ground state is its own flipped copy
    return list(SECTORS)


def solve_ground_level(system, n_levels: int = 4, tol: float = DEGENERACY_TOL, progress=None) -> GroundLevel:
    """The full lowest level of H with its degeneracy, searched sector by sector.

    In each sector Lanczos asks for `n_levels` states; then deflated solves (the found vectors pushed
    out of the way) look for more states within the tolerance until the next one lies above it, so a
    degeneracy larger than n_levels is still found. Degenerate means |E - E0| <= tol * max(1, |E0|).
    progress: a text stream for status lines of long Lanczos solves (None: silent).
    """
    check_exact_feasible(system, n_vectors=n_levels)
    if has_unique_ground_state(system):
        sector = _sectors_to_search(system, lowest_only=False)[0]
        values, vectors = _lowest_eigenpairs(system, sector, 1, progress=progress)
        residual = _residual(system, sector, values[0], vectors[:, 0])
        return GroundLevel(values[:1], ((sector, vectors[:, :1]),), residual, True)
    found = []  # (energy, sector, vector)
    for sector in _sectors_to_search(system, lowest_only=False):
        values, vectors = _lowest_eigenpairs(system, sector, n_levels, progress=progress)
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
        basis = np.linalg.qr(np.stack(vecs, axis=1))[0]
        while True:
            # Look for a missed state of the level orthogonal to those found (ARPACK may return only
            # one vector of an exactly degenerate eigenspace).
            values, vectors = _lowest_eigenpairs(system, sector, 1, deflate=basis, progress=progress)
            if values[0] > e0 + window:
                break
            energies.append(float(values[0]))
            vecs.append(vectors[:, 0])
            basis = np.linalg.qr(np.stack(vecs, axis=1))[0]
        parts.append((sector, basis, energies))
    residual = max(_residual(system, sector, e, basis[:, j]) for sector, basis, es in parts for j, e in enumerate(es))
    energies = np.sort(np.concatenate([np.asarray(es) for _, _, es in parts]))
    return GroundLevel(energies, tuple((s, b) for s, b, _ in parts), residual, False)


def ground_energy(system) -> float:
    """The ground-state energy of `system` (float, in `system.energy_unit`) by Lanczos.

    Uses the even Z2 sector alone when H commutes with the global flip and is stoquastic (then a
    ground state is non-negative, hence even); otherwise both sectors or the full space.
    Raises TooLargeForExactError beyond MAX_ED_SPINS or the available memory.
    """
    check_exact_feasible(system)
    return min(float(_lowest_eigenpairs(system, s, 1)[0][0]) for s in _sectors_to_search(system, lowest_only=True))


def ground_space(system, n_levels: int = 4, tol: float = DEGENERACY_TOL) -> tuple[np.ndarray, np.ndarray]:
    """The lowest level of H: (energies (d,) float64, orthonormal vectors (2^N, d) float64).

    Vectors are in the full basis (row k = basis code k), so the 3x3 pure toric code gives d = 4 even
    though its ground states sit two in each Z2 sector. Levels within tol * max(1, |E0|) of the lowest
    count as degenerate (Lanczos accuracy is ~1e-12 relative, far below the default 1e-8).
    """
    level = solve_ground_level(system, n_levels=n_levels, tol=tol)
    vectors = np.concatenate([embed_sector_vectors(b, system, s) for s, b in level.parts], axis=1)
    return level.energies, vectors


# --------------------------------------------------------------------------------------------------
# Closed forms


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


def analytic_ground_level(system) -> tuple[float, int] | None:
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


# --------------------------------------------------------------------------------------------------
# The reference table

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TABLE_PATH = REPO_ROOT / "reference_data" / "references.nc"
REGENERATE_COMMAND = "lthbench exact --regenerate"
METHODS = ("analytic", "ed-lanczos", "published-ed", "dmrg-tenpy", "published-dmrg", "published-nqs")  # best first
ROW_TAGS = {
    "analytic": "analytic",
    "ed-lanczos": "ed",
    "published-ed": "ed-varbench",
    "dmrg-tenpy": "dmrg-tenpy",
    "published-dmrg": "dmrg",
    "published-nqs": "nqs",
}
VARBENCH = (
    "varbench (Wu et al., Science 2024, V-score benchmark), file TFIsing/square_36_P_3.md, row 'Exact diagonalization'"
)
METHOD_ALIASES = {"ed": "ed-lanczos", "dmrg": "dmrg-tenpy", "analytic": "analytic"}  # for the command line

PAPER = "Barton, Carrasquilla, Roth, Valenti, arXiv:2505.22734 (2025), and its code github.com/bartonbrandon/sparse-nqs"
KAPPA_C = 3.04438


@dataclasses.dataclass(frozen=True)
class Reference:
    """One reference ground energy.

    row_id: stable table row id '<system_id>/<tag>', tag in {ed, analytic, dmrg-tenpy, dmrg, nqs}.
    energy, energy_per_spin: float64 in the Hamiltonian's unit (J for the TFIM).
    method: 'ed-lanczos' | 'analytic' | 'dmrg-tenpy' | 'published-dmrg' | 'published-nqs'.
    tolerance: an estimate of |energy - exact| (NaN when unknown).
    uncertainty: the stated absolute uncertainty of `energy` (energy units; NaN when unknown): the
      residual bound for ED, rounding for closed forms, the extrapolation interval for DMRG, the
      disagreement of the two published 10 x 10 values at kappa_c. Equal to `tolerance` for every
      row made here; a separate field so that analysis code can rely on its meaning.
    details: JSON of method-specific data (DMRG: bond-dimension schedule, energy, discarded weight
      and variance per stage, the extrapolation); '' when none.
    degeneracy: of the ground level, -1 when unknown.
    source: the command that computed it, or the publication.
    versions: JSON of package versions used (computed rows), '' for published ones.
    """

    system_id: str
    n_spins: int
    energy: float
    energy_per_spin: float
    method: str
    tolerance: float
    degeneracy: int
    source: str
    versions: str
    row_id: str = ""
    notes: str = ""
    wall_time_s: float = float("nan")
    uncertainty: float = float("nan")
    details: str = ""

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _published_rows() -> list[Reference]:
    """The paper's 10 x 10 OBC references, copied from its code (values as published, full digits)."""
    dmrg, nqs_kc = -321.0980007876571, 100 * -3.211395417101927
    gap = abs(dmrg - nqs_kc)  # the two published values at kappa_c disagree by this much
    rows = [
        _published(
            "tfim2d-10x10-obc-k3.04438",
            "published-dmrg",
            dmrg,
            gap,
            "DMRG ground energy used by the paper as the 10x10 kappa_c reference. The dense-ResCNN "
            f"mean lies {gap:.4f} below it, so neither is better than ~1.3e-4 relative.",
        ),
        _published(
            "tfim2d-10x10-obc-k3.04438",
            "published-nqs",
            nqs_kc,
            gap,
            "mean dense-ResCNN energy, E/N = -3.211395417101927 (E = 100 E/N); variational "
            "Monte Carlo estimate, yet below the DMRG value by the tolerance given.",
        ),
    ]
    for kappa, energy in (
        (0.1, -180.14327137818287),
        (1, -194.44212670669265),
        (2, -239.0234337701538),
        (4, -411.94084029073827),
        (5, -509.3311469812418),
        (6, -607.6855556865164),
    ):
        rows.append(
            _published(
                f"tfim2d-10x10-obc-k{kappa}",
                "published-nqs",
                energy,
                float("nan"),
                "mean dense-ResCNN energy used by the paper as the reference at this field; accuracy not stated",
            )
        )
    # The V-score benchmark's 6 x 6 periodic TFIM at Gamma = 3: H = Gamma sum X + sum ZZ there, the same
    # spectrum as ours with J = 1 (sublattice and Z gauges flip both signs on the bipartite torus).
    rows.append(
        _published(
            "tfim2d-6x6-pbc-k3",
            "published-ed",
            -115.232707303718485,
            1e-12 * 115.232707303718485,
            "exact diagonalisation published by varbench (digits as given; uncertainty = rounding); "
            "used to cross-check the suite's Hamiltonian and V-score (docs/accuracy.md)",
            n=36,
            source=VARBENCH,
        )
    )
    return rows


def _published(
    system_id: str, method: str, energy: float, tolerance: float, notes: str, n: int = 100, source: str = PAPER
) -> Reference:
    return Reference(
        system_id,
        n,
        float(energy),
        float(energy) / n,
        method,
        float(tolerance),
        -1,
        source,
        "",
        row_id=f"{system_id}/{ROW_TAGS[method]}",
        notes=notes,
        uncertainty=float(tolerance),
    )


def computed_row_ids() -> list[str]:
    """Row ids of every computed (ED or closed-form) row of the shipped table, in table order."""
    ids = [f"tfim2d-4x4-obc-k{k}/ed" for k in ("0.1", "1", "2", "3.04438", "4", "5", "6")]
    ids += [f"tfim2d-5x5-obc-k{k}/ed" for k in ("0.1", "1", "2", "3.04438", "4", "5", "6")]
    for L in (16, 20):
        for bc in ("pbc", "obc"):
            ids += [f"tfim1d-{L}-{bc}-k1/ed", f"tfim1d-{L}-{bc}-k1/analytic"]
    for system_id in ("toric-2", "toric-3"):
        ids += [f"{system_id}/ed", f"{system_id}/analytic", f"{system_id}-hx0.2/ed"]
    return ids


def dmrg_row_ids() -> list[str]:
    """Row ids of the DMRG rows the table aims at (made one at a time, by
    `lthbench exact --regenerate --method dmrg <system>`, never by a plain --regenerate)."""
    return [f"tfim2d-{L}x{L}-obc-k{KAPPA_C}/dmrg-tenpy" for L in range(6, 11)]


def _versions_json() -> str:
    from importlib import metadata

    from . import __version__

    out = {"lthbench": __version__, "python": platform.python_version()}
    for name in ("numpy", "scipy", "jax", "physics-tenpy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return json.dumps(out, sort_keys=True)


def compute_reference(
    system_id: str, method: str = "ed-lanczos", source: str = "", progress=None, **dmrg_kwargs
) -> Reference:
    """Compute one reference by ED ('ed-lanczos'), a closed form ('analytic') or DMRG ('dmrg-tenpy').

    ED: the full ground level (with degeneracy) by `solve_ground_level`; tolerance = the residual
    norm ||H v - E v|| (a rigorous bound), floored at 1e-12 |E| for the rounding of E itself.
    DMRG: `lthbench.dmrg.run_dmrg(system, **dmrg_kwargs)` (schedule, checkpoint, ...); energy and
    uncertainty from its extrapolation, the stages in `details`. progress: a text stream for status
    lines (ED: Lanczos products; DMRG: one line per sweep with an ETA), None for silence.
    """
    from .systems import system_from_id

    check_id_size(system_id, method)
    system = system_from_id(system_id)
    start = time.perf_counter()
    details = ""
    if method == "dmrg-tenpy":
        from . import dmrg

        dmrg_kwargs.setdefault("schedule", None)
        dmrg_kwargs["schedule"] = dmrg_kwargs["schedule"] or dmrg.default_schedule(system)
        if not dmrg_kwargs.get("checkpoint"):
            dmrg_kwargs["checkpoint"] = dmrg.default_checkpoint_path(system.id, dmrg_kwargs["schedule"])
        # DMRG finds one state; the level is unique by Perron-Frobenius for the TFIM with kappa != 0
        # (decided from the parameters: N >= 64 spins have no int64 basis codes to test it on).
        degeneracy = 1 if system.params.get("kappa", 0.0) != 0.0 else -1
        result = dmrg.run_dmrg(system, progress=progress, **dmrg_kwargs)
        energy, tolerance = result.energy, result.uncertainty
        source = source or f"{REGENERATE_COMMAND} --method dmrg {system_id}"
        details = dmrg.details_json(result)
        fit, last = result.extrapolation, result.stages[-1]
        notes = (
            f"{result.library}, two-site DMRG, snake MPS, parity conserved; chi {[s.chi for s in result.stages]}; "
            f"E(chi={last.chi}) = {last.energy:.13f} (variational), discarded weight {last.trunc_err:.2g}, "
            f"variance {last.variance:.2g}; {fit['method']} -> {fit['energy']:.13f} +- {fit['uncertainty']:.2g}"
            f"; load {result.load}"
        )
        wall = result.wall_time_s  # includes time before a resume
    elif method == "ed-lanczos":
        level = solve_ground_level(system, progress=progress)
        energy, degeneracy = float(level.energies[0]), level.degeneracy
        tolerance = max(level.residual, 1e-12 * abs(energy))
        how = "Perron-Frobenius: unique" if level.unique_by_theorem else f"degeneracy to {DEGENERACY_TOL:g} rel."
        sectors = ",".join(str(s or "full") for s, _ in level.parts)
        notes = f"scipy eigsh (ARPACK) on the matrix-free operator, sectors: {sectors}; {how}"
    elif method == "analytic":
        closed = analytic_ground_level(system)
        if closed is None:
            raise LthbenchError(f"no closed form for {system_id}")
        energy, degeneracy = closed
        tolerance = 1e-12 * abs(energy)
        notes = (
            "free fermions (Jordan-Wigner), "
            + ("antiperiodic k" if system.params.get("pbc") else "OBC singular values")
            if system.kind == "tfim"
            else "pure toric code: -(stars + plaquettes) = -2 L^2, 4-fold on the torus"
        )
    else:
        raise ValueError(f"cannot compute a {method!r} reference")
    if method != "dmrg-tenpy":
        wall = time.perf_counter() - start
    return Reference(
        system_id,
        system.n_spins,
        energy,
        energy / system.n_spins,
        method,
        float(tolerance),
        int(degeneracy),
        source or REGENERATE_COMMAND,
        _versions_json(),
        row_id=f"{system_id}/{ROW_TAGS[method]}",
        notes=notes,
        wall_time_s=wall,
        uncertainty=float(tolerance),
        details=details,
    )


def _split_row_id(row_id: str) -> tuple[str, str]:
    system_id, tag = row_id.rsplit("/", 1)
    method = {v: k for k, v in ROW_TAGS.items()}[tag]
    return system_id, method


def row_id_for(system_id: str, method: str) -> str:
    """The table row id of a system's row made by `method` (a METHODS name or a METHOD_ALIASES key)."""
    method = METHOD_ALIASES.get(method, method)
    if method not in ROW_TAGS or method.startswith("published-"):
        raise LthbenchError(f"cannot compute a {method!r} row; methods: {', '.join(METHOD_ALIASES)}")
    return f"{system_id}/{ROW_TAGS[method]}"


def references_to_dataset(rows: list[Reference]):
    """Rows -> xarray Dataset with one dim `row` (string coord = row ids) and a `system_id` coord."""
    import xarray as xr

    from . import __version__

    fields = [f.name for f in dataclasses.fields(Reference) if f.name != "row_id"]
    data = {}
    for name in fields:
        values = [getattr(r, name) for r in rows]
        if name in ("n_spins", "degeneracy"):
            arr = np.asarray(values, dtype=np.int64)
        elif name in ("energy", "energy_per_spin", "tolerance", "wall_time_s", "uncertainty"):
            arr = np.asarray(values, dtype=np.float64)
        else:
            arr = np.asarray(values, dtype=object)
        data[name] = ("row", arr)
    coords = {"row": np.asarray([r.row_id for r in rows], dtype=object)}
    coords["system_id"] = data.pop("system_id")
    ds = xr.Dataset(data, coords=coords)
    ds["energy"].attrs["units"] = "Hamiltonian energy unit (J for the TFIM, star/plaquette coupling for the toric code)"
    ds["tolerance"].attrs["description"] = "estimate of |energy - exact|; NaN when unknown"
    ds["uncertainty"].attrs["description"] = "stated absolute uncertainty of energy (energy units); NaN when unknown"
    ds["details"].attrs["description"] = "JSON of method-specific data (DMRG stages and extrapolation)"
    ds["degeneracy"].attrs["description"] = "degeneracy of the ground level; -1 when unknown"
    ds.attrs.update(
        {
            "title": "lthbench reference ground energies",
            "generated_by": REGENERATE_COMMAND,
            "lthbench_version": __version__,
            "methods_best_first": ",".join(METHODS),
        }
    )
    return ds


def dataset_to_references(ds) -> list[Reference]:
    """Inverse of `references_to_dataset`."""
    rows = []
    for i, row_id in enumerate(ds["row"].values):
        kwargs = {"row_id": str(row_id), "system_id": str(ds["system_id"].values[i])}
        for f in dataclasses.fields(Reference):
            if f.name in kwargs or f.name not in ds:  # older tables lack uncertainty and details
                continue
            value = ds[f.name].values[i]
            kwargs[f.name] = int(value) if f.type == "int" else float(value) if f.type == "float" else str(value)
        if "uncertainty" not in ds:
            kwargs["uncertainty"] = kwargs["tolerance"]
        rows.append(Reference(**kwargs))
    return rows


def _write_atomically(path: Path, write) -> None:
    """Call write(tmp_path) on a temporary file in path's directory, then os.replace it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_table_out(path) -> Path:
    """Validate an output path for the reference table before any computation (LthbenchError, one line).

    It must end in .nc, its folder must exist and be writable, and an existing file there must be a
    reference table (never overwrite someone's results file).
    """
    path = Path(path)
    if path.suffix != ".nc":
        raise LthbenchError(f"--out {path}: the reference table is a netCDF file; give a path ending in .nc")
    if path.is_dir():
        raise LthbenchError(f"--out {path} is a directory; give a .nc file path")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise LthbenchError(f"--out {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise LthbenchError(f"--out {path}: folder {folder} is not writable")
    if path.exists():
        try:
            import xarray as xr

            with xr.open_dataset(path, engine="h5netcdf") as ds:
                ok = {"energy", "method", "system_id"} <= set(ds.variables)
        except Exception as err:  # noqa: BLE001 - any unreadable file is refused the same way
            raise LthbenchError(f"--out {path} exists and is not a reference table ({type(err).__name__})") from None
        if not ok:
            raise LthbenchError(f"--out {path} exists and is not a reference table; give another path")
    return path


def _merged_rows(old: list[Reference], new: list[Reference]) -> list[Reference]:
    """old rows with the new ones replacing equal row ids; new ids are inserted before the published
    rows (computed rows first, in computed_row_ids / dmrg_row_ids order, then any others)."""
    by_id = {r.row_id: r for r in old}
    by_id.update({r.row_id: r for r in new})
    order = computed_row_ids() + dmrg_row_ids()
    rank = {rid: i for i, rid in enumerate(order)}
    published = [r for r in by_id.values() if r.method.startswith("published-")]
    computed = [r for r in by_id.values() if not r.method.startswith("published-")]
    computed.sort(key=lambda r: (rank.get(r.row_id, len(order)), r.row_id))
    return computed + published


def write_reference_table(rows: list[Reference], path=None, readme=None):
    """Write rows as the netCDF table at path (default the shipped one, whose README.md is then
    rewritten too; readme: another README path) atomically; clears the lookup caches. Returns the Dataset."""
    path = Path(path) if path is not None else DEFAULT_TABLE_PATH
    if readme is None and path.resolve() == DEFAULT_TABLE_PATH.resolve():
        readme = DEFAULT_TABLE_PATH.parent / "README.md"
    ds = references_to_dataset(rows)
    _write_atomically(path, lambda tmp: ds.to_netcdf(tmp, engine="h5netcdf"))
    if readme is not None:
        text = render_markdown(rows)
        _write_atomically(Path(readme), lambda tmp: Path(tmp).write_text(text))
    load_reference_table.cache_clear()
    reference_energy.cache_clear()
    return ds


def merge_into_table(new_rows: list[Reference], path=None, readme=None):
    """Add or replace rows (by row id) in the table at path (default the shipped one), keep the rest."""
    path = check_table_out(path if path is not None else DEFAULT_TABLE_PATH)
    old = table_references(path) if path.exists() else table_references()
    return write_reference_table(_merged_rows(old, new_rows), path, readme)


def regenerate_reference_table(
    path=None, progress: bool = True, readme=None, row_ids=None, merge: bool = False, dmrg_options=None
):
    """Recompute rows, keep the published ones, write the netCDF table atomically.

    path: output .nc (default `DEFAULT_TABLE_PATH`), validated by `check_table_out` before any work.
    readme: where to write the markdown rendering (default: README.md next to the default table;
    None for another path). row_ids: compute only these (default `computed_row_ids()`, i.e. every ED
    and closed-form row; DMRG rows are made only when named). merge: keep every other row of the
    existing table (at path, else the shipped one) and write after each computed row, so a long list
    loses nothing when interrupted; without merge, the ED/closed-form rows are all recomputed and the
    existing DMRG rows are kept as they are. dmrg_options: keyword arguments for `run_dmrg`
    (schedule, checkpoint, ...). Returns the xarray Dataset written.
    """
    path = check_table_out(path if path is not None else DEFAULT_TABLE_PATH)
    source_table = path if path.exists() else DEFAULT_TABLE_PATH
    old = table_references(source_table) if source_table.exists() else []
    ids = list(row_ids) if row_ids is not None else computed_row_ids()
    for row_id in ids:
        check_id_size(*_split_row_id(row_id))
    stream = sys.stderr if progress else None
    if merge:
        base = old
    else:
        base = [r for r in old if r.method == "dmrg-tenpy"] + _published_rows()
    computed: list[Reference] = []

    def write(rows):
        return write_reference_table(rows, path, readme)

    ds = None
    for i, row_id in enumerate(ids):
        system_id, method = _split_row_id(row_id)
        if stream is not None:
            print(f"references: row {i + 1}/{len(ids)}: {row_id}", file=stream, flush=True)
        kwargs = dict(dmrg_options or {}) if method == "dmrg-tenpy" else {}
        computed.append(compute_reference(system_id, method, progress=stream, **kwargs))
        if merge:
            ds = write(_merged_rows(base, computed))
    if ds is None:
        ds = write(_merged_rows(base, computed))
    return ds


@lru_cache(maxsize=4)
def load_reference_table(path=None):
    """The shipped table as an xarray Dataset (dim `row`; coords `row` ids and `system_id`).

    Raises LthbenchError when the file is missing (rebuild it with `lthbench exact --regenerate`).
    """
    import xarray as xr

    path = Path(path) if path is not None else DEFAULT_TABLE_PATH
    if not path.exists():
        raise LthbenchError(f"reference table {path} not found; rebuild it with `{REGENERATE_COMMAND}`")
    return xr.load_dataset(path, engine="h5netcdf")


def table_references(path=None) -> list[Reference]:
    """Every row of the table, in table order."""
    return dataset_to_references(load_reference_table(path))


def _rank(ref: Reference) -> int:
    return METHODS.index(ref.method)


def references_for(system_id: str, path=None) -> list[Reference]:
    """The table rows for a system id (best first), or the single row named by a row id; [] if none."""
    rows = table_references(path)
    if "/" in system_id:
        return [r for r in rows if r.row_id == system_id]
    return sorted((r for r in rows if r.system_id == system_id), key=_rank)


@lru_cache(maxsize=64)
def reference_energy(system_id: str, compute: bool = True) -> Reference:
    """The best reference for a system id (analytic > ed-lanczos > published-dmrg > published-nqs).

    A row id ('tfim2d-10x10-obc-k3.04438/dmrg') picks that row. A system absent from the table is
    computed by ED when `compute` (notes say 'computed now'); otherwise, or when it is too large,
    raises LthbenchError / TooLargeForExactError with a one-line message.
    """
    rows = references_for(system_id) if DEFAULT_TABLE_PATH.exists() else []
    if rows:
        return rows[0]
    if "/" in system_id:
        raise LthbenchError(f"no row {system_id!r} in the reference table")
    if not compute:
        raise LthbenchError(f"no reference for {system_id!r} in the table")
    ref = compute_reference(system_id, "ed-lanczos", source="lthbench.exact.reference_energy (computed now)")
    return dataclasses.replace(ref, row_id="", notes="computed now, not from the table; " + ref.notes)


def _fmt(value: float, digits: int = 13) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.{digits}g}"


def render_markdown(rows: list[Reference]) -> str:
    """The human-readable README of reference_data/, generated from the rows (do not edit it by hand)."""
    lines = [
        "# Reference ground energies",
        "",
        f"Generated by `{REGENERATE_COMMAND}` from `lthbench/exact.py`; do not edit by hand. The data live in",
        "`references.nc` (netCDF, read with `lthbench.exact.load_reference_table()`; one dim `row`, coords",
        "`row` = row id and `system_id`). `lthbench.exact.reference_energy(system_id)` returns the best row",
        "for a system: analytic > ed-lanczos > published-ed > dmrg-tenpy > published-dmrg > published-nqs. Row ids are",
        "stable. Energies in units of J (TFIM) or of the star/plaquette coupling (toric code). `uncertainty`",
        "is absolute (energy units) and `rel. unc.` = uncertainty / |energy|: a relative error below it is",
        "below the reference's precision. Times are wall-clock on the machine that made the row (2 shared",
        "cores; the load is in the notes where it was recorded).",
        "",
        "| row id | N | energy | E / N | method | uncertainty | rel. unc. | degeneracy | time (s) |",
        "|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        deg = str(r.degeneracy) if r.degeneracy >= 0 else "?"
        wall = f"{r.wall_time_s:.1f}" if math.isfinite(r.wall_time_s) else ""
        rel = r.uncertainty / abs(r.energy) if math.isfinite(r.uncertainty) and r.energy else float("nan")
        lines.append(
            f"| `{r.row_id}` | {r.n_spins} | {r.energy:.13f} | {r.energy_per_spin:.13f} | {r.method} | "
            f"{_fmt(r.uncertainty, 2)} | {_fmt(rel, 2)} | {deg} | {wall} |"
        )
    versions = next((r.versions for r in rows if r.versions and r.method != "dmrg-tenpy"), "{}")
    lines += [
        "",
        "## How each number was made",
        "",
        f"- **ed-lanczos**: `{REGENERATE_COMMAND}`, i.e. `lthbench.exact.compute_reference(id, 'ed-lanczos')`:",
        "  scipy `eigsh` (ARPACK Lanczos, tol 1e-13, fixed start vector) on the matrix-free operator",
        "  `hamiltonian_operator` in the even Z2 (global spin flip) sector when Perron-Frobenius makes the",
        "  ground state unique and positive (TFIM with kappa > 0, toric code with hx > 0), else in both",
        f"  sectors with deflated solves until no further state lies within {DEGENERACY_TOL:g} x max(1, |E0|).",
        "  Tolerance = the residual norm ||H v - E v|| (some eigenvalue lies that close), floored at 1e-12 |E|.",
        "- **analytic**: TFIM chains by free fermions (`tfim_chain_free_fermion_energy`; PBC: even fermion",
        "  parity, antiperiodic momenta k = (2n-1) pi / L; OBC: singular values of the bidiagonal L x L",
        "  matrix); pure toric code -2 L^2, four-fold degenerate. Tolerance 1e-12 |E| (rounding).",
        "- **dmrg-tenpy**: `lthbench exact --regenerate --method dmrg <system> [--chi 32,64,...]`, i.e.",
        "  `lthbench.dmrg.run_dmrg`: physics-tenpy's two-site DMRG on `TFIModel` (H = -J sum XX - g sum Z,",
        "  Pauli matrices: our H after a Hadamard on every site, g = kappa), square lattice as a snake MPS,",
        "  parity conserved, started from |+...+>. The bond dimension grows through the schedule; stages",
        "  before the last two run <= 3 sweeps, the last two until a sweep changes E by < 1e-13 relative",
        "  (<= 12 sweeps). Per stage: <H> of the truncated MPS (variational), the largest discarded weight",
        "  of its last sweep, and <H^2> - <H>^2 (always for the last two). Energy = the line through the",
        "  last two stages in discarded weight, at zero; uncertainty = max(|E_last - E_0|, |E_0 - E_0^var|,",
        "  1e-12 |E|), E_0^var the same line in the variance. The row's `details` (JSON) holds every stage.",
        "  The run checkpoints the MPS after every sweep (`~/.cache/lthbench/dmrg/`) and resumes from it.",
        f"- **published-ed**: copied from {VARBENCH}.",
        f"- **published-dmrg / published-nqs**: copied from {PAPER}. The paper reports no exact",
        "  diagonalisation at 10 x 10. At kappa_c its DMRG value and its dense-ResCNN mean disagree by 0.0415",
        "  (the NQS mean is lower), recorded as both rows' tolerance; the other NQS rows have no stated accuracy.",
        "",
        f"Versions of the computed rows: `{versions}`.",
        "",
        "## Notes per row",
        "",
    ]
    lines += [f"- `{r.row_id}`: {r.notes}" for r in rows if r.notes]
    for r in rows:
        if r.method == "dmrg-tenpy" and r.details:
            lines += ["", f"### `{r.row_id}`: stages", ""] + _dmrg_stage_table(json.loads(r.details))
    return "\n".join(lines) + "\n"


def _dmrg_stage_table(details: dict) -> list[str]:
    """Markdown lines: one row per bond dimension of a DMRG row's details, then its extrapolation."""
    lines = ["| chi | sweeps | <H> | discarded weight | variance | time (s) |", "|---:|---:|---:|---:|---:|---:|"]
    for s in details["stages"]:
        lines.append(
            f"| {s['chi']} | {s['sweeps']} | {s['energy']:.13f} | {_fmt(s['trunc_err'], 3)} | "
            f"{_fmt(s['variance'], 3)} | {s['wall_time_s']:.0f} |"
        )
    fit = details["extrapolation"]
    extra = [f"{k} {fit[k]:.13f}" for k in ("energy_var", "energy_3pt") if k in fit]
    lines += [
        "",
        f"Extrapolation ({fit['method']}): E_0 = {fit['energy']:.13f} +- {fit['uncertainty']:.2g}"
        + (f"; cross-checks: {', '.join(extra)}" if extra else "")
        + f". {details.get('library', '')}.",
    ]
    return lines
