"""The training loop: Monte Carlo or full-sum VMC with SR, masked forward pass and masked updates.

One training step (sampling or full sum, local energies, log-derivatives, SR solve, optimiser, masked
update) is a single jitted function; `STEPS_PER_CALL` steps run in one `lax.scan` per call. The
compiled functions are cached on (system, ansatz, the config's static part); params, mask, optimiser
state, chains and keys are arguments, so a pruning protocol calling `train` many times with the same
shapes compiles once.

Divergence: a step whose energy or new params are not finite is not applied; the loop stops and the
result says `diverged=True` with `n_steps_done` the number of good steps.
"""

from __future__ import annotations

import dataclasses
import math
import time
from functools import lru_cache
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from ..errors import LthbenchError
from ..masks import apply_mask, full_mask
from . import exact_sum
from ._blas import single_threaded_blas
from .estimate import chain_statistics, local_energies, log_psi64, single_flip_log_ratios
from .sampler import ChainState, init_chains, sample, star_patterns
from .sr import sample_space_residual, solve, sr, symmetric_gram, unique_samples

STEPS_PER_CALL = 25


def _blas1(fn):
    """Run `fn` with OpenBLAS single-threaded (see `_blas`)."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return fn(*args, **kwargs)

    return wrapper


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults are the paper's (SGD 0.008 + SR 1e-3, 1024 samples, 16 chains)."""

    n_steps: int
    n_samples: int = 1024
    n_chains: int = 16
    learning_rate: float = 0.008
    optimizer: str = "sgd"  # 'sgd' | 'adam'
    sr_shift: float | None = 1e-3  # None: plain gradient
    n_eval_steps: int = 10  # frozen-parameter evaluation steps after training
    exact: bool = False  # full sum over 2^N configurations
    sweep_size: int | None = None  # Metropolis proposals per sample (default N)
    n_burn_in: int = 100  # sweeps discarded when the chains start (once per train/evaluate call)
    star_flip_prob: float = 0.0  # probability of a star (multi-site X string) proposal
    n_discard_per_step: int = 0  # sweeps discarded at the start of every step (NetKet's n_discard_per_chain)
    sr_alive_only: bool = True  # SR over the alive parameters only when fewer than samples (see `alive_cap`)
    sr_dedup: bool = True  # Monte Carlo SR over the distinct samples (exact; see `lthbench.vmc.sr`)

    def __post_init__(self):
        if self.n_steps < 0:
            raise LthbenchError(f"n_steps must be >= 0, got {self.n_steps}")
        if self.optimizer not in ("sgd", "adam"):
            raise LthbenchError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if not self.exact:
            if self.n_chains < 1 or self.n_samples < self.n_chains or self.n_samples % self.n_chains:
                raise LthbenchError(
                    f"n_samples ({self.n_samples}) must be a positive multiple of n_chains ({self.n_chains})"
                )
        if not 0.0 <= self.star_flip_prob <= 1.0:
            raise LthbenchError(f"star_flip_prob must be in [0, 1], got {self.star_flip_prob}")
        if self.sr_shift is not None and not self.sr_shift > 0:
            raise LthbenchError(f"sr_shift must be > 0 or None, got {self.sr_shift}")

    @property
    def n_per_chain(self) -> int:
        return self.n_samples // self.n_chains


@dataclasses.dataclass
class Evaluation:
    energy: float
    energy_sigma: float
    variance: float
    v_score: float
    m_z: float
    m_x: float
    acceptance: float = float("nan")
    tau: float = float("nan")


@dataclasses.dataclass
class TrainResult:
    params: Any
    energy: float
    energy_sigma: float
    variance: float
    v_score: float
    m_z: float
    m_x: float
    energy_history: np.ndarray
    diverged: bool
    n_steps_done: int
    wall_time: float
    seconds_per_step: float
    samples_per_s: float
    variance_history: np.ndarray = None
    evaluation: Evaluation = None


class _Static(NamedTuple):
    """The part of a TrainConfig that shapes the compiled program."""

    n_samples: int
    n_chains: int
    learning_rate: float
    optimizer: str
    sr_shift: float | None
    exact: bool
    sweep_size: int
    star_flip_prob: float
    n_discard_per_step: int
    alive_cap: int = 0  # > 0: SR in the space of the (at most alive_cap) alive parameters
    sr_dedup: bool = True


def _static(system, config: TrainConfig) -> _Static:
    return _Static(
        int(config.n_samples), int(config.n_chains), float(config.learning_rate), config.optimizer,
        None if config.sr_shift is None else float(config.sr_shift), bool(config.exact),
        int(config.sweep_size or system.n_spins), float(config.star_flip_prob), int(config.n_discard_per_step),
        sr_dedup=bool(config.sr_dedup),
    )


_CAP_BUCKETS = tuple(sorted({m << e for e in range(5, 20) for m in (2, 3)}))  # 64, 96, 128, 192, 256, ...


def alive_cap(n_alive: int, n_params: int) -> int:
    """Static number of columns of the alive-parameter SR solve, or 0 to solve over all P parameters.

    A pruned net's SR only involves its alive parameters (pruned columns of the log-derivative matrix
    are zero). Keeping only C columns (C = alive, rounded up to a bucket so that a pruning run compiles
    a handful of programs, not one per round) costs B C^2 + C^3 / 3 in parameter space (C <= B
    samples) or B^2 C + B^3 / 3 in sample space, against B P^2 or B^2 P over all columns; in exact
    mode the QGT costs 2^N C^2 instead of 2^N P^2. Used whenever the bucket is below P.
    """
    cap = next((c for c in _CAP_BUCKETS if c >= n_alive), 0)
    return cap if 0 < cap < n_params else 0


def _alive_indices(mask, cap: int):
    """Flat indices of the alive parameters, padded to `cap`: (idx (cap,) int, valid (cap,) bool)."""
    flat_mask, _ = ravel_pytree(mask)
    idx = jnp.nonzero(flat_mask != 0, size=cap, fill_value=0)[0]
    valid = jnp.arange(cap) < jnp.sum(flat_mask != 0)
    return idx, valid


def _scatter(compact, idx, valid, n_params: int):
    """(cap,) values on the alive indices -> (n_params,) flat vector, zero elsewhere."""
    return jnp.zeros((n_params,), compact.dtype).at[idx].add(jnp.where(valid, compact, 0))


def _base_optimizer(st: _Static):
    return optax.sgd(st.learning_rate) if st.optimizer == "sgd" else optax.adam(st.learning_rate)


def _optimizer(st: _Static):
    """optax.chain(sr, sgd|adam); the state layout (SRState, base state) is shared by all SR paths."""
    base = _base_optimizer(st)
    if st.sr_shift is None:
        return base
    return optax.chain(sr(st.sr_shift), base)


def _flat_jacobian(ansatz, params, mask, spins):
    """d log psi / d params of the masked net, per sample, flattened: (B, P) float64."""

    def f(p, s):
        return log_psi64(ansatz, apply_mask(p, mask), s[None])[0]

    grads = jax.vmap(jax.grad(f), in_axes=(None, 0))(params, spins)
    leaves = jax.tree_util.tree_leaves(grads)
    return jnp.concatenate([x.reshape(spins.shape[0], -1).astype(jnp.float64) for x in leaves], axis=1)


def _single_layer_gram(ansatz, params, spins):
    """X X^T of the centred, 1/sqrt(B)-scaled log-derivatives of a dense single-layer net, in O(B^2 (N + H)).

    O_W[i, j] = s_i g_j(s), O_b[j] = g_j(s), O_a[i] = s_i with g = act'(theta), so the uncentred Gram is
    (s s^T) * (g g^T) [+ g g^T] [+ s s^T] (elementwise); centring is then K - r 1^T - 1 r^T + mu.
    Valid only for an all-ones mask (the caller checks).
    """
    w, b, a = ansatz.single_layer.parts(params)
    theta = spins @ w + (0.0 if b is None else b)
    g = jax.grad(lambda t: jnp.sum(ansatz.single_layer.activation_sum(t)))(theta)
    ss = spins @ spins.T
    gg = g @ g.T
    k = ss * gg
    if b is not None:
        k = k + gg
    if a is not None:
        k = k + ss
    r = jnp.mean(k, axis=1)
    k = k - r[:, None] - r[None, :] + jnp.mean(r)
    return k / spins.shape[0]


def _single_layer_xt(ansatz, params, spins):
    """v -> X^T v as a params pytree, X the centred 1/sqrt(B)-scaled log-derivatives of a dense
    single-layer net (O_W = s g^T, O_b = g, O_a = s), in O(B N H) without forming X."""
    parts = ansatz.single_layer.parts
    (w, b, a), vjp_parts = jax.vjp(parts, params)
    theta = spins @ w + (0.0 if b is None else b)
    g = jax.grad(lambda t: jnp.sum(ansatz.single_layer.activation_sum(t)))(theta)
    n_b = spins.shape[0]
    s_sum, g_sum = jnp.sum(spins, axis=0), jnp.sum(g, axis=0)
    sw = spins.T @ g

    def xt(v):
        v_sum = jnp.sum(v)
        dw = (spins.T @ (g * v[:, None]) - sw * v_sum / n_b) / jnp.sqrt(n_b)
        db = None if b is None else (g.T @ v - g_sum * v_sum / n_b) / jnp.sqrt(n_b)
        da = None if a is None else (spins.T @ v - s_sum * v_sum / n_b) / jnp.sqrt(n_b)
        (tree,) = vjp_parts((dw.astype(w.dtype), db, da))
        return tree

    return xt


def _exact_chunk(n_states: int, n_params: int) -> int:
    chunk = 1 << max(10, int(math.log2(max(1, (1 << 23) // max(n_params, 1)))))
    return min(chunk, n_states)


@lru_cache(maxsize=64)
def _programs(system, ansatz, st: _Static):
    """Compiled functions for one (system, ansatz, static config)."""
    opt = _optimizer(st)
    n = system.n_spins
    stars = star_patterns(system) if st.star_flip_prob > 0 else None
    if st.star_flip_prob > 0 and (stars is None or len(stars) == 0):
        raise LthbenchError(f"star_flip_prob > 0 but {system.id} has no multi-site X strings")
    n_per = st.n_samples // st.n_chains if not st.exact else 0

    def sample_chains(pm, chain, key, n_discard):
        return sample(ansatz, pm, chain, key, n_per, sweep_size=st.sweep_size, stars=stars,
                      star_prob=st.star_flip_prob, n_discard=n_discard)

    # -- one optimisation step ---------------------------------------------------------------------
    def mc_gradient(params, mask, chain, key):
        pm = apply_mask(params, mask)
        chain, samples, _ = sample_chains(pm, chain, key, st.n_discard_per_step)
        spins = samples.reshape(-1, n)
        eloc = local_energies(system, ansatz, pm, spins)
        energy = jnp.mean(eloc)
        variance = jnp.mean((eloc - energy) ** 2)
        ns = spins.shape[0]
        y = 2.0 * (eloc - energy) / jnp.sqrt(ns)
        if st.sr_shift is None:
            _, vjp = jax.vjp(lambda p: log_psi64(ansatz, apply_mask(p, mask), spins), params)
            (grad,) = vjp(2.0 * (eloc - energy) / ns)
            return chain, energy, variance, grad, {}
        flat, unravel = ravel_pytree(params)
        groups = unique_samples(spins) if st.sr_dedup else None

        def generic():
            jac = _flat_jacobian(ansatz, params, mask, spins)
            x = (jac - jnp.mean(jac, axis=0)) / jnp.sqrt(ns)
            g = x.T @ y
            return unravel(g.astype(flat.dtype)), unravel(solve(x, y, g, st.sr_shift, groups=groups).astype(flat.dtype))

        def alive_only():
            jac = _flat_jacobian(ansatz, params, mask, spins)
            x = (jac - jnp.mean(jac, axis=0)) / jnp.sqrt(ns)
            g = x.T @ y
            idx, valid = _alive_indices(mask, st.alive_cap)
            xc = x[:, idx] * valid
            dc = solve(xc, y, g[idx] * valid, st.sr_shift, groups=groups)  # parameter space when C <= B, else sample
            d = _scatter(dc, idx, valid, flat.shape[0])
            return unravel(g.astype(flat.dtype)), unravel(d.astype(flat.dtype))

        if st.alive_cap:
            grad, direction = alive_only()
        elif ansatz.single_layer is None or flat.shape[0] <= ns:
            grad, direction = generic()
        else:
            # dense single-layer net: structured Gram and X^T v, no per-sample Jacobian (sample space)
            def structured():
                gram = _single_layer_gram(ansatz, pm, spins)
                xt = _single_layer_xt(ansatz, params, spins)
                return xt(y), xt(sample_space_residual(gram, y, st.sr_shift, groups))

            dense = jnp.all(jnp.array([jnp.all(m != 0) for m in jax.tree_util.tree_leaves(mask)]))
            grad, direction = jax.lax.cond(dense, structured, generic)
        return chain, energy, variance, grad, {"direction": direction}

    def exact_gradient(params, mask, basis_arrays):
        spins_all, diag, partners = basis_arrays
        pm = apply_mask(params, mask)

        def lp_fn(p):
            return exact_sum.all_log_psi(ansatz, apply_mask(p, mask), spins_all)

        lp, vjp = jax.vjp(lp_fn, params)
        prob = exact_sum.probabilities(lp)
        eloc = exact_sum.local_energies(system, lp, diag, partners)
        energy = prob @ eloc
        variance = prob @ (eloc - energy) ** 2
        (grad,) = vjp(2.0 * prob * (eloc - energy))
        del pm
        if st.sr_shift is None:
            return energy, variance, grad, {}
        flat, unravel = ravel_pytree(params)
        n_params = flat.shape[0]
        total = spins_all.shape[0]
        # S over the alive parameters only when the mask is sparse enough (see `alive_cap`).
        alive = _alive_indices(mask, st.alive_cap) if st.alive_cap else None
        width = st.alive_cap or n_params
        chunk = _exact_chunk(total, width)

        def acc(carry, idx):
            s_mat, mean = carry
            sl = jax.lax.dynamic_slice_in_dim(spins_all, idx * chunk, chunk)
            pc = jax.lax.dynamic_slice_in_dim(prob, idx * chunk, chunk)
            jac = _flat_jacobian(ansatz, params, mask, sl)
            if alive is not None:
                jac = jac[:, alive[0]] * alive[1]
            wj = jac * jnp.sqrt(pc)[:, None]
            return (s_mat + symmetric_gram(wj), mean + pc @ jac), None

        zeros = (jnp.zeros((width, width)), jnp.zeros((width,)))
        (s_unc, mean), _ = jax.lax.scan(acc, zeros, jnp.arange(total // chunk))
        s_mat = s_unc - jnp.outer(mean, mean)
        extra = {"s_matrix": s_mat}
        if alive is not None:
            extra["alive"] = alive
        return energy, variance, grad, extra

    def apply_update(params, opt_state, mask, grad, extra):
        if "direction" in extra:
            updates, inner = _base_optimizer(st).update(extra["direction"], opt_state[1], params)
            opt_state = (opt_state[0], inner)
        elif "s_matrix" in extra:
            flat, unravel = ravel_pytree(grad)
            s_mat = extra["s_matrix"] + st.sr_shift * jnp.eye(extra["s_matrix"].shape[0])
            factor = jax.scipy.linalg.cho_factor(s_mat, lower=True)
            g64 = flat.astype(jnp.float64)
            if "alive" in extra:
                idx, valid = extra["alive"]
                d = _scatter(jax.scipy.linalg.cho_solve(factor, g64[idx] * valid), idx, valid, flat.shape[0])
            else:
                d = jax.scipy.linalg.cho_solve(factor, g64)
            precond = unravel(d.astype(flat.dtype))
            updates, inner = _base_optimizer(st).update(precond, opt_state[1], params)
            opt_state = (opt_state[0], inner)
        else:
            updates, opt_state = opt.update(grad, opt_state, params, **extra)
        updates = apply_mask(updates, mask)
        return apply_mask(optax.apply_updates(params, updates), mask), opt_state

    def guarded(params, opt_state, new_params, new_opt, energy, ok):
        finite = jnp.isfinite(energy) & ok
        leaves = jax.tree_util.tree_leaves(new_params)
        finite = finite & jnp.all(jnp.array([jnp.all(jnp.isfinite(x)) for x in leaves]))
        params = jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new_params, params)
        opt_state = jax.tree_util.tree_map(lambda a, b: jnp.where(finite, a, b), new_opt, opt_state)
        return params, opt_state, finite

    def run_steps(params, opt_state, mask, chain, key, active, basis_arrays):
        """STEPS_PER_CALL steps; step k runs only when active[k] and nothing diverged before."""

        def one(carry, xs):
            params, opt_state, chain, alive = carry
            act, k = xs
            run = act & alive

            def do(args):
                params, opt_state, chain = args
                if st.exact:
                    energy, variance, grad, extra = exact_gradient(params, mask, basis_arrays)
                    new_chain = chain
                else:
                    new_chain, energy, variance, grad, extra = mc_gradient(params, mask, chain, k)
                new_params, new_opt = apply_update(params, opt_state, mask, grad, extra)
                new_params, new_opt, fine = guarded(params, opt_state, new_params, new_opt, energy, True)
                return (new_params, new_opt, new_chain), energy, variance, fine

            def skip(args):
                nan = jnp.array(jnp.nan, dtype=jnp.float64)
                return args, nan, nan, jnp.array(True)

            (params, opt_state, chain), energy, variance, fine = jax.lax.cond(
                run, do, skip, (params, opt_state, chain)
            )
            alive = alive & fine
            return (params, opt_state, chain, alive), (energy, variance, run & fine)

        keys = jax.random.split(key, active.shape[0])
        (params, opt_state, chain, alive), (energies, variances, done) = jax.lax.scan(
            one, (params, opt_state, chain, jnp.array(True)), (active, keys)
        )
        return params, opt_state, chain, alive, energies, variances, done

    # -- frozen evaluation ---------------------------------------------------------------------------
    def mc_eval_step(params, chain, key):
        chain, samples, rate = sample_chains(params, chain, key, 0)
        spins = samples.reshape(-1, n)
        eloc = local_energies(system, ansatz, params, spins).reshape(samples.shape[:2])
        mx = jnp.mean(jnp.exp(single_flip_log_ratios(ansatz, params, spins)))
        mz = jnp.mean(spins)
        return chain, eloc, mz, mx, rate

    def sample_step(params, chain, key):
        chain, samples, _ = sample_chains(params, chain, key, 0)
        return chain, samples.reshape(-1, n)

    def burn_in(params, chain, key, n_sweeps):
        chain, _, _ = sample(ansatz, params, chain, key, 1, sweep_size=st.sweep_size, stars=stars,
                             star_prob=st.star_flip_prob, n_discard=n_sweeps)
        return chain

    def exact_eval(params, basis_arrays):
        spins_all, diag, partners = basis_arrays
        lp = exact_sum.all_log_psi(ansatz, params, spins_all)
        prob = exact_sum.probabilities(lp)
        eloc = exact_sum.local_energies(system, lp, diag, partners)
        energy = prob @ eloc
        variance = prob @ (eloc - energy) ** 2
        mz = prob @ jnp.mean(spins_all, axis=1)
        ratios = jnp.exp(exact_sum.single_flip_partner_log_psi(lp, n) - lp[:, None])
        mx = prob @ jnp.mean(ratios, axis=1)
        return energy, variance, mz, mx, lp

    def gradient(params, mask, chain, key, basis_arrays):
        if st.exact:
            energy, _, grad, _ = exact_gradient(params, mask, basis_arrays)
        else:
            _, energy, _, grad, _ = mc_gradient(params, mask, chain, key)
        return energy, grad

    return {
        "opt": opt,
        "gradient": jax.jit(gradient),
        "run_steps": jax.jit(run_steps),
        "mc_eval_step": jax.jit(mc_eval_step),
        "sample_step": jax.jit(sample_step),
        "burn_in": jax.jit(burn_in, static_argnums=3),
        "exact_eval": jax.jit(exact_eval),
        "init_chains": jax.jit(lambda p, k: init_chains(ansatz, p, st.n_chains, n, k)),
    }


def _init_opt_state(progs, st: _Static, params):
    return progs["opt"].init(params)


def _basis_arrays(system, exact: bool):
    if not exact:
        z = jnp.zeros((0,))
        return (z, z, z)
    return exact_sum.device_basis(system)


def _check(system, ansatz, params, mask):
    if ansatz.n_spins != system.n_spins:
        raise LthbenchError(f"{ansatz} is for N={ansatz.n_spins}, the system has N={system.n_spins}")
    if mask is not None:
        from ..masks import same_structure

        if not same_structure(params, mask):
            raise LthbenchError("mask does not mirror params (tree structure or leaf shapes differ)")


def with_alive_cap(st: _Static, config: TrainConfig, masks) -> _Static:
    """`st` with the alive-parameter SR size (`alive_cap`) for the largest alive count among `masks`
    (a sequence of mask pytrees), or unchanged without SR or with `config.sr_alive_only` off."""
    if st.sr_shift is None or not config.sr_alive_only:
        return st
    counts = [sum(int(np.count_nonzero(np.asarray(m))) for m in jax.tree_util.tree_leaves(mask)) for mask in masks]
    n_params = sum(int(np.size(m)) for m in jax.tree_util.tree_leaves(masks[0]))
    return st._replace(alive_cap=alive_cap(max(counts), n_params))


def _step_programs(system, ansatz, st: _Static, config: TrainConfig, mask):
    """The compiled programs for training steps under `mask`: those of `st`, or, when SR over the
    alive parameters is cheaper (`alive_cap`), those of `st` with that cap (one compilation per cap
    bucket; the evaluation programs stay shared)."""
    return _programs(system, ansatz, with_alive_cap(st, config, [mask]))


@_blas1
def train(system, ansatz, params, mask, config: TrainConfig, key, *, progress: bool = False,
          placement=None) -> TrainResult:
    """Train `params` (masked by `mask`, None = dense) for config.n_steps steps, then evaluate frozen.

    Returns a TrainResult whose params are masked (pruned weights exactly 0). The reported energy is
    the mean of `config.n_eval_steps` frozen-parameter evaluation steps (exact value in exact mode).
    placement: optional device layout with methods replicate(tree), chain(ChainState), basis(arrays)
    (see `lthbench.vmc.sharding`); None keeps JAX's default single-device placement.
    """
    _check(system, ansatz, params, mask)
    if mask is None:
        mask = full_mask(params)
    if config.exact:
        exact_sum.check_size(system)
    st = _static(system, config)
    progs = _programs(system, ansatz, st)
    mask = jax.tree_util.tree_map(lambda m, p: jnp.asarray(m, dtype=jnp.asarray(p).dtype), mask, params)
    params = apply_mask(jax.tree_util.tree_map(jnp.asarray, params), mask)
    opt_state = _init_opt_state(progs, st, params)
    step_progs = _step_programs(system, ansatz, st, config, mask)
    basis_arrays = _basis_arrays(system, config.exact)
    k_chain, k_burn, k_train, k_eval = jax.random.split(key, 4)
    chain = progs["init_chains"](params, k_chain)
    if placement is not None:
        params, mask, opt_state = placement.replicate((params, mask, opt_state))
        chain, basis_arrays = placement.chain(chain), placement.basis(basis_arrays)
    if not config.exact and config.n_burn_in > 0:
        chain = progs["burn_in"](params, chain, k_burn, int(config.n_burn_in))

    energies, variances = [], []
    diverged = False
    n_done = 0
    t0 = time.perf_counter()
    n_calls = math.ceil(config.n_steps / STEPS_PER_CALL)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.n_steps, desc=f"train {ansatz.name}", leave=False)
    for call in range(n_calls):
        todo = min(STEPS_PER_CALL, config.n_steps - call * STEPS_PER_CALL)
        active = jnp.arange(STEPS_PER_CALL) < todo
        params, opt_state, chain, alive, e, v, done = step_progs["run_steps"](
            params, opt_state, mask, chain, jax.random.fold_in(k_train, call), active, basis_arrays
        )
        done = np.asarray(done)[:todo]
        good = int(np.sum(done))
        energies.append(np.asarray(e)[:good])
        variances.append(np.asarray(v)[:good])
        n_done += good
        if bar is not None:
            bar.update(todo)
            if good:
                bar.set_postfix(E=float(energies[-1][-1]))
        if not bool(alive):
            diverged = True
            break
    jax.block_until_ready(params)
    wall = time.perf_counter() - t0
    if bar is not None:
        bar.close()
    history = np.concatenate(energies) if energies else np.zeros((0,))
    var_history = np.concatenate(variances) if variances else np.zeros((0,))

    if diverged:
        ev = Evaluation(*(float("nan"),) * 6)
    else:
        ev = _evaluate(system, ansatz, params, config, k_eval, progs=progs, chain=chain)
    sps = (n_done * (config.n_samples if not config.exact else 2**system.n_spins)) / wall if wall > 0 else float("nan")
    return TrainResult(
        params=params,
        energy=ev.energy,
        energy_sigma=ev.energy_sigma,
        variance=ev.variance,
        v_score=ev.v_score,
        m_z=ev.m_z,
        m_x=ev.m_x,
        energy_history=history,
        diverged=diverged,
        n_steps_done=n_done,
        wall_time=wall,
        seconds_per_step=wall / n_done if n_done else float("nan"),
        samples_per_s=sps,
        variance_history=var_history,
        evaluation=ev,
    )


@_blas1
def energy_gradient(system, ansatz, params, mask, config: TrainConfig, key):
    """(energy, dE/dparams) of the masked net: exact in exact mode, else from one Monte Carlo step
    (fresh chains, `n_burn_in` sweeps, `n_samples` samples). The gradient is 2 Cov(O, E_loc) as a
    params-shaped pytree (zero on pruned weights). For pruning methods that want gradients (SNIP).
    """
    _check(system, ansatz, params, mask)
    if mask is None:
        mask = full_mask(params)
    st = _static(system, config)
    progs = _programs(system, ansatz, st)
    mask = jax.tree_util.tree_map(lambda m, p: jnp.asarray(m, dtype=jnp.asarray(p).dtype), mask, params)
    k_chain, k_burn, k_grad = jax.random.split(key, 3)
    chain = progs["init_chains"](apply_mask(params, mask), k_chain)
    if not config.exact and config.n_burn_in > 0:
        chain = progs["burn_in"](apply_mask(params, mask), chain, k_burn, int(config.n_burn_in))
    energy, grad = progs["gradient"](params, mask, chain, k_grad, _basis_arrays(system, config.exact))
    return float(energy), grad


def _v_score(n_spins, energy, variance):
    return float(n_spins * variance / energy**2) if energy != 0 else float("nan")


def _evaluate(system, ansatz, params, config, key, *, progs=None, chain=None) -> Evaluation:
    st = _static(system, config)
    progs = progs or _programs(system, ansatz, st)
    n = system.n_spins
    if config.exact:
        energy, variance, mz, mx, _ = progs["exact_eval"](params, exact_sum.device_basis(system))
        energy, variance = float(energy), float(variance)
        return Evaluation(energy, 0.0, variance, _v_score(n, energy, variance), float(mz), float(mx))
    k_chain, k_burn, k_eval = jax.random.split(key, 3)
    if chain is None:
        chain = progs["init_chains"](params, k_chain)
        if config.n_burn_in > 0:
            chain = progs["burn_in"](params, chain, k_burn, int(config.n_burn_in))
    elocs, mzs, mxs, rates = [], [], [], []
    for i in range(max(1, config.n_eval_steps)):
        chain, eloc, mz, mx, rate = progs["mc_eval_step"](params, chain, jax.random.fold_in(k_eval, i))
        elocs.append(np.asarray(eloc))
        mzs.append(float(mz))
        mxs.append(float(mx))
        rates.append(float(rate))
    samples = np.concatenate(elocs, axis=0).T  # (C, steps * n_per_chain), chain-major in time
    stats = chain_statistics(samples)
    return Evaluation(
        stats["mean"], stats["sigma"], stats["variance"], _v_score(n, stats["mean"], stats["variance"]),
        float(np.mean(mzs)), float(np.mean(mxs)), float(np.mean(rates)), stats["tau"],
    )


@_blas1
def evaluate(system, ansatz, params, config: TrainConfig, key) -> Evaluation:
    """Energy (with error bar), variance, V-score, M_z, M_x of fixed params (already masked).

    Monte Carlo: fresh chains, `n_burn_in` sweeps, then `n_eval_steps` x `n_samples` samples. Exact
    mode: sums over all 2^N states (energy_sigma = 0).
    """
    _check(system, ansatz, params, None)
    return _evaluate(system, ansatz, params, config, key)


@lru_cache(maxsize=32)
def _exact_log_psi_fn(system, ansatz):
    return jax.jit(lambda p, s: exact_sum.all_log_psi(ansatz, p, s))


@_blas1
def exact_vector(system, ansatz, params) -> np.ndarray:
    """The normalised state psi (2^N,) in the operator's basis-code order."""
    exact_sum.check_size(system)
    spins, _, _ = exact_sum.device_basis(system)
    lp = _exact_log_psi_fn(system, ansatz)(params, spins)
    return np.asarray(exact_sum.normalised_vector(lp))


@_blas1
def fidelity(system, ansatz, params_a, params_b, config: TrainConfig, key) -> float:
    """|<a|b>|^2 / (<a|a><b|b>): exact in exact mode, else E_{s~|a|^2}[b/a] E_{s~|b|^2}[a/b]."""
    if config.exact:
        va = exact_vector(system, ansatz, params_a)
        vb = exact_vector(system, ansatz, params_b)
        return float(np.dot(va, vb) ** 2)
    st = _static(system, config)
    progs = _programs(system, ansatz, st)
    ratio = _ratio_fn(system, ansatz)

    def log_mean_ratio(p_from, p_to, k):
        k_chain, k_burn, k_s = jax.random.split(k, 3)
        chain = progs["init_chains"](p_from, k_chain)
        if config.n_burn_in > 0:
            chain = progs["burn_in"](p_from, chain, k_burn, int(config.n_burn_in))
        logs = []
        for i in range(max(1, config.n_eval_steps)):
            chain, samples = _sample_only(progs, p_from, chain, jax.random.fold_in(k_s, i))
            logs.append(np.asarray(ratio(p_from, p_to, samples)))
        x = np.concatenate(logs)
        m = x.max()
        return m + np.log(np.mean(np.exp(x - m)))

    ka, kb = jax.random.split(key)
    return float(np.exp(log_mean_ratio(params_a, params_b, ka) + log_mean_ratio(params_b, params_a, kb)))


def _sample_only(progs, params, chain, key):
    return progs["sample_step"](params, chain, key)


@lru_cache(maxsize=32)
def _ratio_fn(system, ansatz):
    return jax.jit(lambda pa, pb, s: log_psi64(ansatz, pb, s) - log_psi64(ansatz, pa, s))


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
