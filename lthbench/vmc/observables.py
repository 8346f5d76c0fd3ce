"""Frozen-parameter observables: the evaluation after training (energy with error bar, variance,
V-score, M_z, M_x), fidelities and exact state vectors."""

from __future__ import annotations

from functools import lru_cache

import jax
import numpy as np

from ..errors import LthbenchError
from . import exact_sum
from .blas_threads import blas1
from .config import Evaluation, TrainConfig, static_of, v_score
from .estimate import chain_statistics, log_psi64
from .programs import programs


def exact_evaluation(n_spins: int, energy, variance, mz, mx) -> Evaluation:
    """An exact-mode Evaluation (energy_sigma 0) from the full-sum values."""
    energy, variance = float(energy), float(variance)
    return Evaluation(energy, 0.0, variance, v_score(n_spins, energy, variance), float(mz), float(mx))


def mc_evaluation(n_spins: int, elocs: list, mzs, mxs, rates) -> Evaluation:
    """A Monte Carlo Evaluation from `n_eval_steps` steps: elocs[t] (n_per_chain, C), mzs/mxs/rates[t] ()."""
    stats = chain_statistics(np.concatenate(elocs, axis=0).T)  # (C, steps * n_per_chain), chain-major in time
    return Evaluation(
        stats["mean"],
        stats["sigma"],
        stats["variance"],
        v_score(n_spins, stats["mean"], stats["variance"]),
        float(np.mean(mzs)),
        float(np.mean(mxs)),
        float(np.mean(rates)),
        stats["tau"],
    )


def fresh_chains(progs, params, config: TrainConfig, key):
    """New chains (key split(key, 3)[0]) after `n_burn_in` sweeps (key [1])."""
    k_chain, k_burn, _ = jax.random.split(key, 3)
    chain = progs["init_chains"](params, k_chain)
    if config.n_burn_in > 0:
        chain = progs["burn_in"](params, chain, k_burn, int(config.n_burn_in))
    return chain


def evaluate_with(system, ansatz, params, config, key, *, progs=None, chain=None) -> Evaluation:
    """`evaluate`, reusing compiled programs and (Monte Carlo) a chain state when given."""
    progs = progs or programs(system, ansatz, static_of(system, config))
    n = system.n_spins
    if config.exact:
        energy, variance, mz, mx, _ = progs["exact_eval"](params, exact_sum.device_basis(system))
        return exact_evaluation(n, energy, variance, mz, mx)
    k_eval = jax.random.split(key, 3)[2]
    if chain is None:
        chain = fresh_chains(progs, params, config, key)
    elocs, mzs, mxs, rates = [], [], [], []
    for i in range(max(1, config.n_eval_steps)):
        chain, eloc, mz, mx, rate = progs["mc_eval_step"](params, chain, jax.random.fold_in(k_eval, i))
        elocs.append(np.asarray(eloc))
        mzs.append(float(mz))
        mxs.append(float(mx))
        rates.append(float(rate))
    return mc_evaluation(n, elocs, mzs, mxs, rates)


@blas1
def evaluate(system, ansatz, params, config: TrainConfig, key) -> Evaluation:
    """Energy (with error bar), variance, V-score, M_z, M_x of fixed params (already masked).

    Monte Carlo: fresh chains, `n_burn_in` sweeps, then `n_eval_steps` x `n_samples` samples. Exact
    mode: sums over all 2^N states (energy_sigma = 0).
    """
    check_system(system, ansatz)
    return evaluate_with(system, ansatz, params, config, key)


def check_system(system, ansatz):
    if ansatz.n_spins != system.n_spins:
        raise LthbenchError(f"{ansatz} is for N={ansatz.n_spins}, the system has N={system.n_spins}")


@lru_cache(maxsize=32)
def _exact_log_psi_fn(system, ansatz):
    return jax.jit(lambda p, s: exact_sum.all_log_psi(ansatz, p, s))


@blas1
def exact_vector(system, ansatz, params) -> np.ndarray:
    """The normalised state psi (2^N,) in the operator's basis-code order."""
    exact_sum.check_size(system)
    spins, _, _ = exact_sum.device_basis(system)
    lp = _exact_log_psi_fn(system, ansatz)(params, spins)
    return np.asarray(exact_sum.normalised_vector(lp))


@lru_cache(maxsize=32)
def _ratio_fn(system, ansatz):
    return jax.jit(lambda pa, pb, s: log_psi64(ansatz, pb, s) - log_psi64(ansatz, pa, s))


@blas1
def fidelity(system, ansatz, params_a, params_b, config: TrainConfig, key) -> float:
    """|<a|b>|^2 / (<a|a><b|b>): exact in exact mode, else E_{s~|a|^2}[b/a] E_{s~|b|^2}[a/b]."""
    if config.exact:
        va = exact_vector(system, ansatz, params_a)
        vb = exact_vector(system, ansatz, params_b)
        return float(np.dot(va, vb) ** 2)
    progs = programs(system, ansatz, static_of(system, config))
    ratio = _ratio_fn(system, ansatz)

    def log_mean_ratio(p_from, p_to, k):
        k_s = jax.random.split(k, 3)[2]
        chain = fresh_chains(progs, p_from, config, k)
        logs = []
        for i in range(max(1, config.n_eval_steps)):
            chain, samples = progs["sample_step"](p_from, chain, jax.random.fold_in(k_s, i))
            logs.append(np.asarray(ratio(p_from, p_to, samples)))
        x = np.concatenate(logs)
        m = x.max()
        return m + np.log(np.mean(np.exp(x - m)))

    ka, kb = jax.random.split(key)
    return float(np.exp(log_mean_ratio(params_a, params_b, ka) + log_mean_ratio(params_b, params_a, kb)))


def ground_space_weight(system, ansatz, params, ground_vectors) -> float:
    """sum_k |<g_k|psi>|^2 / <psi|psi> over the columns of ground_vectors (2^N, d), exact."""
    v = exact_vector(system, ansatz, params)
    g = np.asarray(ground_vectors)
    if g.ndim == 1:
        g = g[:, None]
    if g.shape[0] != v.shape[0]:
        raise LthbenchError(f"ground vectors have {g.shape[0]} rows, the basis has {v.shape[0]} states")
    amp = g.conj().T @ v
    return float(np.sum(np.abs(amp) ** 2))
