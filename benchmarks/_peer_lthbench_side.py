"""lthbench half of the peer throughput benchmark (run by the lthbench virtualenv's python).

`benchmarks/peer_netket.py` runs this file as a subprocess with a JSON spec file (the same spec the
NetKet half gets) and reads one JSON result line ("PEER_RESULT {...}") from stdout.

It trains `make_ansatz('ffnn', system, alpha)` from the spec's initial weights with
`lthbench.vmc.train` and a `TrainConfig` matching the spec (samples, chains, sweep size N, SGD lr,
SR shift, sweeps discarded per step, exact mode). The first `train` call (`warmup_steps` steps)
compiles; then `repeats` calls of `steps` steps each continue from the previous parameters, and
the figure is the median of their `TrainResult.seconds_per_step` (the stepping loop only: the
per-call chain burn-in and the frozen evaluation after training are not part of a step, and NetKet's
driver keeps its chains across runs, so neither side pays for them in the timed region).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time


def _median_time(fn, *args, repeats=5):
    import jax

    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def profile(system, ansatz, params, spec) -> dict:
    """Seconds of the pieces of one lthbench step, each jitted on its own (uses vmc internals).

    MC: sampling (n_samples / n_chains sweeps of N proposals on every chain), local energies, the
    per-sample Jacobian, the structured sample-space Gram matrix, and the Cholesky solve of
    (Gram + shift) in sample space. Exact: log psi + local energies + gradient over all 2^N states, the
    full Jacobian, the S = J^T diag(p) J product, and the P x P Cholesky.
    """
    import importlib

    import jax
    import jax.numpy as jnp

    from lthbench.masks import full_mask
    from lthbench.vmc import exact_sum
    from lthbench.vmc.estimate import local_energies
    from lthbench.vmc.sampler import init_chains, sample

    tr = importlib.import_module("lthbench.vmc.qgt")
    n = system.n_spins
    mask = full_mask(params)
    shift = float(spec["sr_shift"])
    cho = jax.jit(lambda k: jax.scipy.linalg.cho_factor(k + shift * jnp.eye(k.shape[0]), lower=True)[0])
    out = {}
    if not spec["exact"]:
        n_per = int(spec["n_samples"]) // int(spec["n_chains"])
        chain = init_chains(ansatz, params, int(spec["n_chains"]), n, jax.random.key(1))
        samp = jax.jit(lambda p, c, k: sample(ansatz, p, c, k, n_per, sweep_size=n))
        out["sampling"] = _median_time(samp, params, chain, jax.random.key(2))
        spins = samp(params, chain, jax.random.key(2))[1].reshape(-1, n)
        out["local_energies"] = _median_time(jax.jit(lambda p, s: local_energies(system, ansatz, p, s)), params, spins)
        jac = jax.jit(lambda p, s: tr.flat_jacobian(ansatz, p, mask, s))
        out["jacobian"] = _median_time(jac, params, spins)
        if ansatz.single_layer is not None:
            gram = jax.jit(lambda p, s: tr.single_layer_gram(ansatz, p, s))
            out["gram_structured"] = _median_time(gram, params, spins)
        x = jac(params, spins)
        out["gram_dense_XXt"] = _median_time(jax.jit(lambda x: x @ x.T), x)
        out["cholesky_sample_space"] = _median_time(cho, x @ x.T)
    else:
        spins, diag, partners = exact_sum.device_basis(system)

        def energy_grad(p):
            lp, vjp = jax.vjp(lambda q: exact_sum.all_log_psi(ansatz, q, spins), p)
            prob = exact_sum.probabilities(lp)
            el = exact_sum.local_energies(system, lp, diag, partners)
            e = prob @ el
            return e, vjp(2.0 * prob * (el - e))[0], prob

        eg = jax.jit(energy_grad)
        out["energy_gradient_fullsum"] = _median_time(eg, params, repeats=3)
        prob = eg(params)[2]
        jac = jax.jit(lambda p, s: tr.flat_jacobian(ansatz, p, mask, s))
        out["jacobian_all_states"] = _median_time(jac, params, spins, repeats=2)
        j = jac(params, spins)
        smat = jax.jit(lambda j, pr: (j * jnp.sqrt(pr)[:, None]).T @ (j * jnp.sqrt(pr)[:, None]))
        out["S_matrix_JtPJ"] = _median_time(smat, j, prob, repeats=2)
        out["cholesky_parameter_space"] = _median_time(cho, smat(j, prob))
    return out


def main(spec_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    import jax

    jax.config.update("jax_enable_x64", True)
    import haiku
    import jax.numpy as jnp
    import numpy as np

    import lthbench
    from lthbench.nets import make_ansatz
    from lthbench.systems import system_from_id
    from lthbench.vmc import TrainConfig, train

    system = system_from_id(spec["system_id"])
    ansatz = make_ansatz("ffnn", system, alpha=float(spec["alpha"]))
    params = ansatz.init(jax.random.key(0))
    w0 = np.asarray(spec["w_init"], dtype=np.float64)
    if params["ffnn"]["w"].shape != w0.shape:
        raise SystemExit(f"weight shape mismatch: {params['ffnn']['w'].shape} vs {w0.shape}")
    params = {"ffnn": {"w": jnp.asarray(w0)}}

    def config(n_steps):
        return TrainConfig(
            n_steps=n_steps,
            n_samples=int(spec["n_samples"]),
            n_chains=int(spec["n_chains"]),
            learning_rate=float(spec["learning_rate"]),
            optimizer="sgd",
            sr_shift=float(spec["sr_shift"]),
            n_eval_steps=1,
            exact=bool(spec["exact"]),
            sweep_size=system.n_spins,
            n_burn_in=int(spec.get("n_burn_in", 100)),
            n_discard_per_step=int(spec["n_discard"]),
            star_flip_prob=float(spec.get("star_flip_prob", 0.0)),
            sr_solver=spec.get("sr_solver", "cholesky"),
            cg_tol=float(spec.get("cg_tol", 1e-5)),
            cg_maxiter=spec.get("cg_maxiter"),
        )

    mask = None if spec.get("mask") is None else {"ffnn": {"w": jnp.asarray(np.asarray(spec["mask"], np.float64))}}

    key = jax.random.key(int(spec.get("seed", 0)))
    if spec.get("accuracy_steps"):
        # accuracy mode: train, then the exact energy of the trained state (no timing)
        from lthbench.vmc import evaluate

        t0 = time.perf_counter()
        res = train(system, ansatz, params, mask, config(int(spec["accuracy_steps"])), key)
        wall = time.perf_counter() - t0
        exact = evaluate(system, ansatz, res.params, TrainConfig(n_steps=0, exact=True), key)
        st = config(1)
        out = {
            "code": "lthbench",
            "task": spec["task"],
            "n_steps_total": int(res.n_steps_done),
            "wall_seconds": wall,
            "energy_last10": float(np.mean(res.energy_history[-10:])),
            "exact_energy": float(exact.energy),
            "config": (
                f"lthbench.vmc.train, TrainConfig(n_samples={st.n_samples}, n_chains={st.n_chains}, "
                f"sweep_size={st.sweep_size}, learning_rate={st.learning_rate}, sr_shift={st.sr_shift}, "
                f"star_flip_prob={st.star_flip_prob}, n_discard_per_step={st.n_discard_per_step})"
            ),
            "versions": {"lthbench": getattr(lthbench, "__version__", "?"), "jax": jax.__version__},
        }
        print("PEER_RESULT " + json.dumps(out), flush=True)
        return

    history = []
    t0 = time.perf_counter()
    res = train(system, ansatz, params, mask, config(int(spec["warmup_steps"])), jax.random.fold_in(key, 0))
    warm = time.perf_counter() - t0
    history.append(res.energy_history)
    times = []
    for r in range(int(spec["repeats"])):
        res = train(system, ansatz, res.params, mask, config(int(spec["steps"])), jax.random.fold_in(key, r + 1))
        if res.diverged:
            raise SystemExit("lthbench training diverged")
        times.append(res.seconds_per_step)
        history.append(res.energy_history)
    hist = np.concatenate(history)
    n_params = int(sum(x.size for x in jax.tree_util.tree_leaves(params)))
    st = config(1)
    out = {
        "code": "lthbench",
        "task": spec["task"],
        "seconds_per_step": statistics.median(times),
        "seconds_per_step_repeats": times,
        "warmup_seconds": warm,
        "n_steps_total": int(hist.size),
        "energy_last10": float(np.mean(hist[-10:])),
        "energy_first": float(hist[0]),
        "n_params": n_params,
        "config": (
            f"lthbench.vmc.train, TrainConfig(n_samples={st.n_samples}, n_chains={st.n_chains}, "
            f"sweep_size={st.sweep_size}, learning_rate={st.learning_rate}, sr_shift={st.sr_shift}, "
            f"exact={st.exact}, n_discard_per_step={st.n_discard_per_step}, n_burn_in={st.n_burn_in}, "
            f"star_flip_prob={st.star_flip_prob}, sr_dedup={st.sr_dedup}, sr_solver={st.sr_solver!r}"
            f"{f', cg_tol={st.cg_tol}' if st.sr_solver == 'cg' else ''}), mask density {spec.get('density', 1.0)}"
        ),
        "versions": {
            "lthbench": getattr(lthbench, "__version__", "?"),
            "jax": jax.__version__,
            "haiku": haiku.__version__,
            "python": platform.python_version(),
        },
        "cpu_count": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "devices": [str(d) for d in jax.devices()],
    }
    if not spec["exact"]:
        # how many distinct configurations the SR solve saw at the end of the timed steps
        # (`TrainConfig.sr_dedup` solves over those only)
        from lthbench.vmc.config import static_of
        from lthbench.vmc.programs import programs

        progs = programs(system, ansatz, static_of(system, st))
        chain = progs["init_chains"](res.params, jax.random.key(7))
        chain = progs["burn_in"](res.params, chain, jax.random.key(8), 100)
        _, spins = progs["sample_step"](res.params, chain, jax.random.key(9))
        out["distinct_samples_final"] = int(len(np.unique(np.asarray(spins), axis=0)))
    if spec.get("profile"):
        out["profile"] = profile(system, ansatz, params, spec)
    print("PEER_RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
