"""Local energies, log-derivatives and the statistics of Monte Carlo estimates.

All functions take params that are already masked (`params * mask`). Log-amplitudes are real, so
psi(s')/psi(s) = exp(log psi(s') - log psi(s)) and every amplitude is positive.

Local energy E_loc(s) = sum_{s'} H_{s s'} psi(s')/psi(s), with the partners from `system.connected`.
Two ways to get the partners' log-amplitudes:
  * generic: run the net on all M + 1 partners;
  * fast (single-layer nets, `ansatz.single_layer`): flipping the X-string T_m changes the
    pre-activations theta = s @ W + b by -2 sum_{i in T_m} W[i, :] s_i, so the partners cost one
    (B, M, N) x (N, H) product (or a broadcast, for single-site strings) instead of M forward passes.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np


def _as64(x):
    return jnp.asarray(x, dtype=jnp.float64)


def log_psi64(ansatz, params, spins):
    """log psi in float64 whatever the net's dtype, for a batch (..., N)."""
    spins = jnp.asarray(spins)
    batch = spins.shape[:-1]
    out = ansatz.log_psi(params, spins.reshape((-1, spins.shape[-1])))
    return _as64(out).reshape(batch)


def _single_layer_theta(ansatz, params, spins):
    w, b, a = ansatz.single_layer.parts(params)
    theta = spins @ w
    if b is not None:
        theta = theta + b
    return theta, w, a


def _string_sites(system):
    """(idx (M, K) int, valid (M, K) float): the sites of every X string, padded to the longest (K)."""
    strings = np.asarray(system.x_strings)
    k = max(1, int(strings.sum(axis=1).max(initial=1)))
    idx = np.zeros((strings.shape[0], k), dtype=np.int32)
    valid = np.zeros((strings.shape[0], k), dtype=np.float64)
    for m, row in enumerate(strings):
        sites = np.flatnonzero(row)
        idx[m, : sites.size] = sites
        valid[m, : sites.size] = 1.0
    return idx, valid


def partner_log_psi(system, ansatz, params, spins, *, fast: bool = True):
    """log psi of s and of its M X-string partners: (B, N) -> (B, M + 1), entry 0 for s itself."""
    spins = _as64(spins)
    if fast and ansatz.single_layer is not None:
        theta, w, a = _single_layer_theta(ansatz, params, spins)  # (B, H)
        act = ansatz.single_layer.activation_sum
        if system.single_site_flips:
            sites = np.asarray(system.flip_sites)
            delta = -2.0 * spins[:, sites, None] * w[sites][None, :, :]  # (B, M, H)
        else:
            idx, valid = _string_sites(system)  # (M, K) sites of each X string, padded
            s_on = spins[:, idx] * valid  # (B, M, K): s_i on T_m, 0 on padding
            delta = -2.0 * jnp.einsum("bmk,mkh->bmh", s_on, w[idx])  # (B, M, H), K << N rows per string
        lp_partners = act(theta[:, None, :] + delta)
        lp_self = act(theta)
        if a is not None:
            vis = spins @ a
            if system.single_site_flips:
                dvis = -2.0 * spins[:, sites] * a[sites]
            else:
                dvis = -2.0 * jnp.sum(s_on * a[idx], axis=-1)
            lp_self = lp_self + vis
            lp_partners = lp_partners + vis[:, None] + dvis
        return jnp.concatenate([lp_self[:, None], lp_partners], axis=1)
    partners, _ = system.connected(spins)  # (B, M + 1, N)
    return log_psi64(ansatz, params, partners)


def local_energies(system, ansatz, params, spins, *, fast: bool = True):
    """E_loc(s) for a batch of spins (B, N) -> (B,) float64."""
    spins = _as64(spins)
    lp = partner_log_psi(system, ansatz, params, spins, fast=fast)
    diag = system.diagonal(spins)
    coeffs = jnp.asarray(system.x_coeffs, dtype=jnp.float64)
    if coeffs.shape[0] == 0:
        return diag
    return diag + jnp.exp(lp[:, 1:] - lp[:, :1]) @ coeffs


def single_flip_log_ratios(ansatz, params, spins, *, fast: bool = True):
    """log psi(s^i) - log psi(s) for every single-site flip i: (B, N) -> (B, N). For M_x."""
    spins = _as64(spins)
    n = spins.shape[-1]
    if fast and ansatz.single_layer is not None:
        theta, w, a = _single_layer_theta(ansatz, params, spins)
        act = ansatz.single_layer.activation_sum
        lp_f = act(theta[:, None, :] - 2.0 * spins[:, :, None] * w[None])
        lp_s = act(theta)[:, None]
        if a is not None:
            lp_f = lp_f - 2.0 * spins * a
        return lp_f - lp_s
    flips = 1.0 - 2.0 * jnp.eye(n, dtype=spins.dtype)
    flipped = spins[:, None, :] * flips[None]
    return log_psi64(ansatz, params, flipped) - log_psi64(ansatz, params, spins)[:, None]


# -- statistics of correlated Markov chains (host side, numpy) ------------------------------------


def integrated_autocorr_time(chains: np.ndarray) -> float:
    """tau_int = 1/2 + sum_{t>=1} rho(t), chain-averaged autocorrelation, Sokal's window (c = 5).

    chains: (n_chains, n_per_chain). Returns 0.5 for uncorrelated samples (Var(mean) = 2 tau sigma^2 / n).
    """
    x = np.asarray(chains, dtype=np.float64)
    n = x.shape[1]
    if n < 4:
        return 0.5
    x = x - x.mean(axis=1, keepdims=True)
    size = 2 ** int(math.ceil(math.log2(2 * n)))
    f = np.fft.rfft(x, n=size, axis=1)
    acf = np.fft.irfft(f * np.conj(f), n=size, axis=1)[:, :n].mean(axis=0)
    if acf[0] <= 0:
        return 0.5
    rho = acf / acf[0]
    taus = np.cumsum(rho) - 0.5
    window = np.arange(n) >= 5.0 * taus
    m = int(np.argmax(window)) if np.any(window) else n - 1
    return float(max(taus[m], 0.5))


def chain_statistics(samples: np.ndarray) -> dict:
    """Mean, error bar, variance and autocorrelation time of (n_chains, n_per_chain) samples.

    The error bar is the larger of two estimates of sqrt(Var(mean)): the autocorrelation one,
    sqrt(2 tau_int Var / n), and the between-chain one, sqrt(Var(chain means) / n_chains), so slow
    mixing visible either within or across chains widens it.
    """
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    n_chains, n_per = x.shape
    total = x.size
    mean = float(x.mean())
    var = float(x.var())
    tau = integrated_autocorr_time(x)
    err2 = 2.0 * tau * var / total
    if n_chains > 1:
        err2 = max(err2, float(x.mean(axis=1).var(ddof=1)) / n_chains)
    r_hat = float("nan")
    if n_chains > 1 and n_per > 1:
        within = float(x.var(axis=1, ddof=1).mean())
        between = float(n_per * x.mean(axis=1).var(ddof=1))
        if within > 0:
            r_hat = math.sqrt(((n_per - 1) / n_per * within + between / n_per) / within)
    return {"mean": mean, "sigma": math.sqrt(max(err2, 0.0)), "variance": var, "tau": tau, "r_hat": r_hat}
