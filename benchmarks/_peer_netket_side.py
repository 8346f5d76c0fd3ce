"""NetKet half of the peer throughput benchmark (run by the NetKet virtualenv's python).

Never imported by lthbench: `benchmarks/peer_netket.py` runs this file as a subprocess with the
NetKet venv's interpreter, passing a JSON spec file, and reads one JSON result line
("PEER_RESULT {...}") from stdout.

The spec carries the Hamiltonian as lthbench's Pauli-string tables (Z strings and X strings over the
same spin/edge ordering), the initial FFNN weights (so both codes start from the same state), and
the Monte Carlo / optimiser settings. This side builds:

  * the operator as `nk.operator.PauliStrings` (one Z...Z string per diagonal term, one X...X string
    per star / field term), converted to its jax implementation (`PauliStringsJax`, the faster one
    on this workload; `nk.operator.PauliStrings` is the jax class in 3.23) unless `operator = 'numba'`;
  * a Flax linen FFNN: log psi = sum_j ReLU(sum_i W_ij s_i), no bias, float64;
  * `nk.vqs.MCState` with `nk.sampler.MetropolisLocal` (single-spin flips, sweep_size = N), or
    `nk.vqs.FullSumState` in exact mode;
  * the driver: `nk.driver.VMC_SR` (NetKet's recommended SR driver since 3.17: it picks the NTK /
    minSR sample-space form when n_params > n_samples) with `optax.sgd(lr)`, or, with
    `driver = 'vmc+sr'`, the classic `nk.driver.VMC(..., preconditioner=nk.optimizer.SR(...))` the
    paper's authors used.

Timing: one warm-up `driver.run` (compilation), then `repeats` timed runs of `steps` steps each,
`jax.block_until_ready` on the parameters before stopping the clock. No logger, no progress bar.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time


def _build(spec):
    import functools

    import flax.linen as nn
    import jax
    import jax.numpy as jnp
    import netket as nk
    import numpy as np
    import optax

    n = int(spec["n_spins"])
    hi = nk.hilbert.Spin(s=0.5, N=n)

    def pauli(mask, letter):
        return "".join(letter if b else "I" for b in mask)

    ops, weights = [], []
    for mask, c in zip(spec["z_strings"], spec["z_coeffs"]):
        ops.append(pauli(mask, "Z"))
        weights.append(float(c))
    for mask, c in zip(spec["x_strings"], spec["x_coeffs"]):
        ops.append(pauli(mask, "X"))
        weights.append(float(c))
    ham = nk.operator.PauliStrings(hi, ops, weights, dtype=jnp.float64)  # PauliStringsJax in 3.23
    if spec.get("operator", "jax") == "numba":
        ham = ham.to_numba_operator()

    w0 = np.asarray(spec["w_init"], dtype=np.float64)  # (N, H)
    width = w0.shape[1]

    mask = None if spec.get("mask") is None else jnp.asarray(np.asarray(spec["mask"], dtype=np.float64))

    class FFNN(nn.Module):
        """log psi = sum_j ReLU(sum_i (W * mask)_ij s_i): the mask inside the model, as the paper's code."""

        width: int

        @nn.compact
        def __call__(self, x):
            kernel = self.param("kernel", nn.initializers.normal(0.01), (x.shape[-1], self.width), jnp.float64)
            if mask is not None:
                kernel = kernel * mask
            return jnp.sum(nn.relu(x.astype(jnp.float64) @ kernel), axis=-1)

    model = FFNN(width)
    seed = int(spec.get("seed", 0))
    star_prob = float(spec.get("star_flip_prob", 0.0))
    if spec["exact"]:
        vstate = nk.vqs.FullSumState(hi, model, seed=seed)
    else:
        if star_prob > 0:
            rule = _local_or_star_rule(nk, spec["x_strings"], star_prob)
            sampler = nk.sampler.MetropolisSampler(hi, rule, n_chains=int(spec["n_chains"]), sweep_size=n)
        else:
            sampler = nk.sampler.MetropolisLocal(hi, n_chains=int(spec["n_chains"]), sweep_size=n)
        vstate = nk.vqs.MCState(
            sampler,
            model,
            n_samples=int(spec["n_samples"]),
            n_discard_per_chain=int(spec["n_discard"]),
            seed=seed,
            sampler_seed=seed + 1,
        )
    vstate.parameters = {"kernel": jnp.asarray(w0)}

    lr = float(spec["learning_rate"])
    shift = float(spec["sr_shift"])
    driver_kind = spec.get("driver", "vmc_sr")
    if spec.get("sr_solver") == "cg":
        driver_kind = "vmc+sr"  # VMC_SR solves a formed matrix; CG goes through nk.optimizer.SR
    if driver_kind == "vmc_sr":
        kw = {}
        if spec.get("on_the_fly") is not None:
            kw["on_the_fly"] = bool(spec["on_the_fly"])
        if spec.get("solver") == "cholesky":
            kw["linear_solver"] = nk.optimizer.solver.cholesky
        driver = nk.driver.VMC_SR(ham, optax.sgd(lr), diag_shift=shift, variational_state=vstate, mode="real", **kw)
        desc = (
            f"nk.driver.VMC_SR(optax.sgd({lr}), diag_shift={shift}, mode='real', use_ntk={driver._use_ntk}, "
            f"on_the_fly={driver._on_the_fly}, solver={getattr(driver._linear_solver, '__name__', driver._linear_solver)})"
        )
    elif driver_kind == "vmc+sr":
        qgt = spec.get("qgt")
        qgt_obj = getattr(nk.optimizer.qgt, qgt) if qgt else None
        sr_kw = {"diag_shift": shift}
        if qgt_obj is not None:
            sr_kw["qgt"] = qgt_obj
        if spec.get("sr_solver") == "cg":
            sr_kw["solver"] = functools.partial(
                jax.scipy.sparse.linalg.cg, tol=float(spec["cg_tol"]), maxiter=spec.get("cg_maxiter")
            )
            sr_kw["solver_restart"] = False  # warm start from the last solution (NetKet's default)
        elif spec.get("solver") == "cholesky":
            sr_kw["solver"] = nk.optimizer.solver.cholesky
        driver = nk.driver.VMC(
            ham, nk.optimizer.Sgd(learning_rate=lr), variational_state=vstate, preconditioner=nk.optimizer.SR(**sr_kw)
        )
        desc = f"nk.driver.VMC(nk.optimizer.Sgd({lr}), preconditioner=nk.optimizer.SR({sr_kw}))"
    else:
        raise SystemExit(f"unknown driver {driver_kind!r}")
    sampler_desc = (
        f"MetropolisSampler(local-or-star rule, star probability {star_prob}, " if star_prob > 0 else "MetropolisLocal("
    )
    state_desc = (
        "nk.vqs.FullSumState"
        if spec["exact"]
        else f"nk.vqs.MCState({sampler_desc}n_chains={spec['n_chains']}, sweep_size={n}), "
        f"n_samples={spec['n_samples']}, n_discard_per_chain={spec['n_discard']})"
    )
    op_desc = type(ham).__name__
    return driver, vstate, ham, f"{state_desc}; {desc}; operator {op_desc}"


def _local_or_star_rule(nk, x_strings, star_prob: float):
    """A Metropolis rule proposing, per chain, a flip of all the spins of a random multi-site X string
    (a star of the toric code) with probability `star_prob`, else a single-spin flip at a random site:
    the move set of lthbench's `TrainConfig(star_flip_prob=...)`. Both proposals are symmetric."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    strings = np.asarray(x_strings, dtype=np.float64)
    stars = strings[strings.sum(axis=1) > 1]

    class LocalOrStarRule(nk.sampler.rules.MetropolisRule):
        patterns: jax.Array
        star_prob: float = nk.utils.struct.field(pytree_node=False)

        def __init__(self, patterns, prob):
            self.patterns = jnp.asarray(patterns)
            self.star_prob = float(prob)

        def transition(rule, sampler, machine, parameters, state, key, sigma):
            k_site, k_use, k_which = jax.random.split(key, 3)
            n_chains, n_sites = sigma.shape
            site = jax.random.randint(k_site, (n_chains,), 0, n_sites)
            use_star = jax.random.bernoulli(k_use, rule.star_prob, (n_chains,))
            which = jax.random.randint(k_which, (n_chains,), 0, rule.patterns.shape[0])
            pattern = jnp.where(use_star[:, None], rule.patterns[which], jax.nn.one_hot(site, n_sites))
            return (sigma * (1 - 2 * pattern)).astype(sigma.dtype), None

    return LocalOrStarRule(stars, star_prob)


def exact_energy(vstate, ham) -> float:
    """<psi|H|psi> / <psi|psi> of the variational state by a full sum (the 2^N vector and the sparse H)."""
    import numpy as np

    psi = np.asarray(vstate.to_array(normalize=True))
    h = ham.to_sparse()
    return float(np.real(np.vdot(psi, h @ psi)))


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    import jax

    jax.config.update("jax_enable_x64", True)
    import flax
    import netket as nk

    driver, vstate, ham, desc = _build(spec)
    energies = []

    def record(step, log_data, drv):
        e = log_data.get("Energy")
        if e is not None:
            energies.append(e.mean)
        return True

    def run(k):
        driver.run(k, out=(), show_progress=False, callback=record)
        jax.block_until_ready(vstate.parameters)

    if spec.get("accuracy_steps"):
        # accuracy mode: train, then the exact energy of the trained state (no timing)
        t0 = time.perf_counter()
        run(int(spec["accuracy_steps"]))
        wall = time.perf_counter() - t0
        hist = [float(jax.numpy.real(e)) for e in energies]
        out = {
            "code": "netket",
            "task": spec["task"],
            "n_steps_total": len(hist),
            "wall_seconds": wall,
            "energy_last10": sum(hist[-10:]) / len(hist[-10:]),
            "exact_energy": exact_energy(vstate, ham),
            "config": desc,
            "versions": {"netket": nk.__version__, "jax": jax.__version__},
        }
        print("PEER_RESULT " + json.dumps(out), flush=True)
        return

    t0 = time.perf_counter()
    run(int(spec["warmup_steps"]))
    warm = time.perf_counter() - t0
    times = []
    for _ in range(int(spec["repeats"])):
        t0 = time.perf_counter()
        run(int(spec["steps"]))
        times.append((time.perf_counter() - t0) / int(spec["steps"]))
    hist = [float(jax.numpy.real(e)) for e in energies]
    tail = hist[-min(10, len(hist)) :]
    out = {
        "code": "netket",
        "task": spec["task"],
        "seconds_per_step": statistics.median(times),
        "seconds_per_step_repeats": times,
        "warmup_seconds": warm,
        "n_steps_total": len(hist),
        "energy_last10": sum(tail) / len(tail) if tail else float("nan"),
        "energy_first": hist[0] if hist else float("nan"),
        "n_params": int(vstate.n_parameters),
        "config": desc,
        "versions": {
            "netket": nk.__version__,
            "jax": jax.__version__,
            "flax": flax.__version__,
            "python": platform.python_version(),
        },
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "devices": [str(d) for d in jax.devices()],
    }
    print("PEER_RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
