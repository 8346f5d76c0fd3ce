"""Exact (full-sum) mode: every quantity as a sum over all 2^N basis states, with no sampling noise.

The basis follows the operator's code convention (spin 0 is the most significant bit, bit 1 means
s = -1), so state index k is basis code k and a vector psi[k] is directly comparable with
`lthbench.exact.ground_space` vectors. The off-diagonal partners of state k are the states
k XOR flip_codes[m]: local energies are gathers of the one evaluated log psi, never new passes.
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import TooLargeForExactError
from .estimate import log_psi64

MAX_EXACT_SPINS = 24


def check_size(system):
    if system.n_spins > MAX_EXACT_SPINS:
        raise TooLargeForExactError(
            f"exact (full-sum) mode enumerates 2^N states; N={system.n_spins} > {MAX_EXACT_SPINS}"
        )


@lru_cache(maxsize=8)
def basis(system):
    """(codes (2^N,) int64, spins (2^N, N) float64, diagonal (2^N,) float64, partner indices (2^N, M))."""
    check_size(system)
    codes = np.arange(2**system.n_spins, dtype=np.int64)
    spins = system.spins_of_codes(codes)
    diag = system.diagonal_of_codes(codes)
    partners = codes[:, None] ^ system.flip_codes[None, :]
    for arr in (codes, spins, diag, partners):
        arr.setflags(write=False)
    return codes, spins, diag, partners


def device_basis(system):
    _, spins, diag, partners = basis(system)
    idx_dtype = jnp.int32 if system.n_spins < 31 else jnp.int64
    return jnp.asarray(spins), jnp.asarray(diag), jnp.asarray(partners, dtype=idx_dtype)


def all_log_psi(ansatz, params, spins, chunk: int = 1 << 16):
    """log psi on every basis state, evaluated in chunks to bound memory."""
    total = spins.shape[0]
    if total <= chunk:
        return log_psi64(ansatz, params, spins)
    return jax.lax.map(lambda s: log_psi64(ansatz, params, s), spins.reshape(total // chunk, chunk, -1)).reshape(-1)


def probabilities(lp):
    """|psi|^2 / <psi|psi> from log psi (real), normalised with logsumexp."""
    return jnp.exp(2.0 * lp - jax.scipy.special.logsumexp(2.0 * lp))


def local_energies(system, lp, diag, partners):
    """E_loc for every basis state from the full log psi vector (gathers, no new passes)."""
    coeffs = jnp.asarray(system.x_coeffs, dtype=jnp.float64)
    if coeffs.shape[0] == 0:
        return diag
    return diag + jnp.exp(lp[partners] - lp[:, None]) @ coeffs


def normalised_vector(lp):
    """psi / ||psi|| (real, positive) from log psi."""
    return jnp.exp(lp - 0.5 * jax.scipy.special.logsumexp(2.0 * lp))


def single_flip_partner_log_psi(lp, n_spins: int):
    """log psi(s^i) for every state and every single-site flip i: (2^N,) -> (2^N, N), by index XOR."""
    idx = jnp.arange(lp.shape[0], dtype=jnp.int32 if n_spins < 31 else jnp.int64)
    bits = jnp.left_shift(jnp.ones((), idx.dtype), jnp.arange(n_spins - 1, -1, -1, dtype=idx.dtype))
    return lp[idx[:, None] ^ bits[None, :]]
