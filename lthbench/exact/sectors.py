"""Sectors: the Hamiltonian as "diagonal + XOR flips" on the full space or one Z2 sector.

Z2 sectors. With P|k> = |k XOR all-ones>, a sector basis state is (|r> + sign |r XOR all>)/sqrt(2) for
the representatives r < 2^(N-1) (spin 0 up), sign +1 ('even') or -1 ('odd'). H commutes with P when
every Z string has even length, so the diagonal is the same on r and on its partner; an X string with
flip code f maps r to r XOR g with g = f when f leaves spin 0 alone and g = f XOR all otherwise (then
with a factor `sign`, because the partner is the flipped copy of a representative). So a sector is
again "diagonal + XOR flips" on N-1 bits, and every kernel of `lthbench.exact` handles sectors and the
full space alike.
"""

from __future__ import annotations

import math

import numpy as np

from ..systems import PauliStringHamiltonian

SECTORS = ("even", "odd")


def sector_sign(system: PauliStringHamiltonian, sector: str | None) -> int:
    """0 for the full space, +1 for 'even', -1 for 'odd'. Raises ValueError for a sector H breaks."""
    if sector is None or sector == "full":
        return 0
    if sector not in SECTORS:
        raise ValueError(f"sector must be None, 'even' or 'odd', got {sector!r}")
    if not system.commutes_with_global_flip:
        raise ValueError(f"{system.id} does not commute with the global spin flip: no {sector} sector")
    return 1 if sector == "even" else -1


def sector_bits(system: PauliStringHamiltonian, sector: str | None = None) -> int:
    """Number of bits n of a sector's basis codes: N for the full space, N - 1 for a Z2 sector."""
    return system.n_spins - (1 if sector_sign(system, sector) else 0)


def sector_flips(system: PauliStringHamiltonian, sector: str | None = None) -> list[tuple[int, float]]:
    """The off-diagonal part as [(g, c)]: H|r> gets c |r XOR g> for each pair, on sector codes r.

    Flips that coincide in the sector (e.g. f and f XOR all) are merged by adding their coefficients,
    and pairs whose coefficients cancel are dropped, so every g is distinct and every c non-zero.
    """
    sign = sector_sign(system, sector)
    n = system.n_spins
    top, all_ones = 1 << (n - 1), (1 << n) - 1
    merged: dict[int, float] = {}
    for f, c in zip(system.flip_codes.tolist(), system.x_coeffs.tolist()):
        if sign and f & top:
            f, c = f ^ all_ones, c * sign
        merged[f] = merged.get(f, 0.0) + c
    return [(g, c) for g, c in merged.items() if c != 0.0]


def sector_diagonal(system: PauliStringHamiltonian, sector: str | None = None, chunk: int = 1 << 21) -> np.ndarray:
    """<r|H|r> for every sector code r = 0 .. 2^n - 1, (2^n,) float64, built in chunks to bound memory.

    In a Z2 sector the representatives r < 2^(N-1) are themselves full codes with spin 0 up.
    """
    dim = 1 << sector_bits(system, sector)
    out = np.empty(dim, dtype=np.float64)
    for start in range(0, dim, chunk):
        stop = min(start + chunk, dim)
        out[start:stop] = system.diagonal_of_codes(np.arange(start, stop, dtype=np.int64))
    return out


def embed_sector_vectors(vectors: np.ndarray, system: PauliStringHamiltonian, sector: str | None = None) -> np.ndarray:
    """Sector vectors (2^n, d) -> the same states in the full basis (2^N, d), float64, same norms."""
    vectors = np.asarray(vectors, dtype=np.float64)
    sign = sector_sign(system, sector)
    if not sign:
        return vectors
    half = vectors.shape[0]
    full = np.empty((2 * half,) + vectors.shape[1:], dtype=np.float64)
    full[:half] = vectors / math.sqrt(2.0)
    # r XOR all-ones = 2^N - 1 - r: the upper half holds the flipped copies in reverse order.
    full[half:] = sign * vectors[::-1] / math.sqrt(2.0)
    return full
