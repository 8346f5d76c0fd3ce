"""One operator object per Hamiltonian, serving exact diagonalisation and VMC alike.

Every Hamiltonian of the suite is a real sum of Pauli strings that are products of Z only or of X only:

    H = sum_k a_k prod_{i in S_k} Z_i  +  sum_m b_m prod_{i in T_m} X_i.

In the sigma^z basis (spins s_i = +-1) the Z strings are the diagonal, and each X string maps a
configuration s to exactly one partner s^(m) (the spins of T_m flipped) with matrix element b_m.
Both parts are stored as 0/1 matrices over the spins, which gives:

  * VMC: `diagonal(spins)` and `connected(spins)`, jittable, for any batch shape;
  * ED:  the same terms on integer basis codes (`diagonal_of_codes`, `flip_codes`), from which
         `lthbench.exact` builds sparse matrices and matrix-free operators.

Basis codes: configuration s has code k = sum_i b_i 2^(N-1-i) with b_i = (1 - s_i)/2, so code 0 is all
spins up (+1) and spin 0 is the most significant bit.
"""

from __future__ import annotations

import hashlib
from typing import Any

import jax.numpy as jnp
import numpy as np

from .lattice import index_sets_to_masks

MAX_CODE_BITS = 62  # int64 basis codes


class PauliStringHamiltonian:
    """H = sum_k a_k Z^{S_k} + sum_m b_m X^{T_m} on `n_spins` spin-1/2 sites (real coefficients).

    Attributes:
      n_spins: int, number of spins N.
      id: str, stable identifier, e.g. "tfim2d-4x4-obc-k3.04438".
      kind: "tfim" or "toric".
      lattice_shape: tuple, (L,) for a chain, (Lx, Ly) for a square lattice, ("torus", L) for toric edges.
      params: dict of the model parameters (kappa, J, pbc, hx, hz, ...).
      z_strings: (K, N) uint8, row k marks S_k;  z_coeffs: (K,) float64 a_k.
      x_strings: (M, N) uint8, row m marks T_m;  x_coeffs: (M,) float64 b_m.
      energy_unit: str, the unit of every energy (units of J for the TFIM, of the star/plaquette
        coupling for the toric code).
    """

    def __init__(
        self,
        *,
        n_spins: int,
        system_id: str,
        kind: str,
        lattice_shape: tuple,
        params: dict[str, Any],
        z_sets,
        z_coeffs,
        x_sets,
        x_coeffs,
        energy_unit: str,
    ):
        self.n_spins = int(n_spins)
        self.id = system_id
        self.kind = kind
        self.lattice_shape = tuple(lattice_shape)
        self.params = dict(params)
        self.energy_unit = energy_unit
        self.z_strings = index_sets_to_masks(z_sets, self.n_spins)
        self.x_strings = index_sets_to_masks(x_sets, self.n_spins)
        self.z_coeffs = np.asarray(z_coeffs, dtype=np.float64).reshape(-1)
        self.x_coeffs = np.asarray(x_coeffs, dtype=np.float64).reshape(-1)
        if self.z_coeffs.shape[0] != self.z_strings.shape[0]:
            raise ValueError("one coefficient per Z string")
        if self.x_coeffs.shape[0] != self.x_strings.shape[0]:
            raise ValueError("one coefficient per X string")
        for arr in (self.z_strings, self.x_strings, self.z_coeffs, self.x_coeffs):
            arr.setflags(write=False)
        self._fingerprint = hashlib.sha1(
            b"".join(a.tobytes() for a in (self.z_strings, self.x_strings, self.z_coeffs, self.x_coeffs))
        ).hexdigest()

    # -- identity: usable as a static argument of jax.jit -------------------------------------------
    def __hash__(self) -> int:
        return hash((self.id, self._fingerprint))

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, PauliStringHamiltonian)
            and self.id == other.id
            and self._fingerprint == other._fingerprint
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id}: N={self.n_spins}, {self.n_diagonal_terms} Z strings, {self.n_flips} X strings>"

    @property
    def n_flips(self) -> int:
        """M, the number of X strings = off-diagonal partners of every configuration."""
        return int(self.x_strings.shape[0])

    @property
    def n_diagonal_terms(self) -> int:
        return int(self.z_strings.shape[0])

    @property
    def single_site_flips(self) -> bool:
        """True when every X string is a single X_i (the TFIM): the fast single-flip VMC paths apply."""
        return bool(np.all(self.x_strings.sum(axis=1) == 1))

    @property
    def flip_sites(self) -> np.ndarray:
        """(M,) int array: the site flipped by X string m. Only valid when `single_site_flips`."""
        if not self.single_site_flips:
            raise ValueError(f"{self.id} has multi-site X strings")
        return np.argmax(self.x_strings, axis=1)

    @property
    def commutes_with_global_flip(self) -> bool:
        """True when H commutes with prod_i X_i (every Z string has even length): a Z2 symmetry."""
        return bool(np.all(self.z_strings.sum(axis=1) % 2 == 0))

    # -- VMC side: batches of +-1 spins, jittable ---------------------------------------------------
    def diagonal(self, spins):
        """<s|H|s> for spins of shape (..., N) with values +-1 (any float dtype). Returns shape (...)."""
        spins = jnp.asarray(spins)
        down = (1 - spins) / 2  # 1 where s_i = -1
        n_down_in_string = down @ jnp.asarray(self.z_strings, dtype=down.dtype).T  # (..., K)
        parity = 1 - 2 * jnp.mod(n_down_in_string, 2)
        return parity @ jnp.asarray(self.z_coeffs, dtype=parity.dtype)

    def flipped(self, spins):
        """The M off-diagonal partners: (..., N) -> (..., M, N), partner m = spins with T_m flipped."""
        spins = jnp.asarray(spins)
        signs = jnp.asarray(1 - 2 * self.x_strings.astype(np.int8), dtype=spins.dtype)  # (M, N)
        return spins[..., None, :] * signs

    def connected(self, spins):
        """All configurations s' with <s'|H|s> != 0 (generically) and those matrix elements.

        Args:
          spins: (..., N) array of +-1.
        Returns:
          partners: (..., M + 1, N); entry 0 is s itself, entry m + 1 is s with T_m flipped.
          matrix_elements: (..., M + 1) float; entry 0 is the diagonal <s|H|s>, entry m + 1 is b_m.
        """
        spins = jnp.asarray(spins)
        partners = jnp.concatenate([spins[..., None, :], self.flipped(spins)], axis=-2)
        diag = self.diagonal(spins)
        offdiag = jnp.broadcast_to(jnp.asarray(self.x_coeffs, dtype=diag.dtype), diag.shape + (self.n_flips,))
        return partners, jnp.concatenate([diag[..., None], offdiag], axis=-1)

    # -- ED side: integer basis codes ---------------------------------------------------------------
    def _check_codes_fit(self):
        if self.n_spins > MAX_CODE_BITS:
            raise ValueError(f"{self.id}: {self.n_spins} spins do not fit in int64 basis codes")

    def _masks_to_codes(self, masks: np.ndarray) -> np.ndarray:
        self._check_codes_fit()
        weights = np.left_shift(np.int64(1), np.arange(self.n_spins - 1, -1, -1, dtype=np.int64))
        return (masks.astype(np.int64) * weights).sum(axis=1).astype(np.int64)

    @property
    def flip_codes(self) -> np.ndarray:
        """(M,) int64: the basis code of X string m's flip pattern; partner code = code XOR flip_codes[m]."""
        return self._masks_to_codes(self.x_strings)

    @property
    def z_string_codes(self) -> np.ndarray:
        """(K,) int64 bit masks of the Z strings."""
        return self._masks_to_codes(self.z_strings)

    def diagonal_of_codes(self, codes: np.ndarray) -> np.ndarray:
        """<k|H|k> for an int64 array of basis codes, float64, same shape. Pure numpy."""
        codes = np.asarray(codes, dtype=np.int64)
        out = np.zeros(codes.shape, dtype=np.float64)
        for mask, coeff in zip(self.z_string_codes, self.z_coeffs):
            parity = np.bitwise_count(codes & mask) & 1
            out += coeff * (1.0 - 2.0 * parity)
        return out

    def spins_of_codes(self, codes: np.ndarray, dtype=np.float64) -> np.ndarray:
        """Basis codes (...,) -> spins (..., N) of +-1 in `dtype` (spin 0 is the most significant bit)."""
        codes = np.asarray(codes, dtype=np.int64)
        shifts = np.arange(self.n_spins - 1, -1, -1, dtype=np.int64)
        bits = (codes[..., None] >> shifts) & 1
        return (1 - 2 * bits).astype(dtype)

    def codes_of_spins(self, spins) -> np.ndarray:
        """Spins (..., N) of +-1 -> int64 basis codes (...,)."""
        bits = (1 - np.asarray(spins)).astype(np.int64) // 2
        weights = np.left_shift(np.int64(1), np.arange(self.n_spins - 1, -1, -1, dtype=np.int64))
        return (bits * weights).sum(axis=-1)

    def uniform_state_energy(self) -> float:
        """<+...+|H|+...+>: every X string has expectation 1, every non-empty Z string 0.

        This is the energy of a network with no weights left (log psi = const), the paper's
        high-error plateau: -kappa N for the TFIM, -(number of stars) - hx N for the toric code.
        """
        empty = self.z_strings.sum(axis=1) == 0
        return float(self.x_coeffs.sum() + self.z_coeffs[empty].sum())
