"""Where an lthbench VMC step's time goes, and how far each piece is from its floor (issue #13).

    nice -n 5 .venv/bin/python benchmarks/step_profile.py [--cases tfim,tfim-m50,tfim-m10,toric,exact]

Each piece is jitted alone and timed (median of 5 after a compiling call) with OpenBLAS at one
thread, as the trainer runs. Floors: flop counts at the machine's measured float64 GEMM rate (a
1024^3 `jnp.dot`, timed in the same run), and for the sampler the sequential latency of its
n_samples / n_chains x N proposals, each at least one forward pass of every chain at the GEMM rate
(and at least one trivial `lax.scan` iteration).
The whole step is `lthbench.bench.train_step_kernel` (the trainer's own step). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics

import jax
import jax.numpy as jnp
import numpy as np

import lthbench  # noqa: F401  (x64)
from lthbench import bench
from lthbench.vmc.blas_threads import single_threaded_blas
from lthbench.vmc.estimate import local_energies
from lthbench.vmc.qgt import flat_jacobian, khatri_rao_jacobian, single_layer_gram
from lthbench.vmc.sr import cg_direction

CASES = {
    "tfim": ("tfim2d-4x4-obc-k3.04438", "ffnn-a5", 1.0, False),
    "tfim-m50": ("tfim2d-4x4-obc-k3.04438", "ffnn-a5", 0.5, False),
    "tfim-m10": ("tfim2d-4x4-obc-k3.04438", "ffnn-a5", 0.1, False),
    "toric": ("toric-3", "ffnn-a8", 1.0, False),
    "exact": ("tfim2d-4x4-obc-k3.04438", "ffnn-a5", 1.0, True),
}


def timed(fn, *args, repeats=5) -> float:
    """Median seconds of `repeats` blocking calls fn(*args) after one compiling call."""
    return bench.median_seconds(lambda: jax.block_until_ready(fn(*args)), repeats=repeats)


def machine_rates() -> tuple[float, float]:
    """(float64 GEMM flop/s of a 1024^3 dot, seconds per trivial lax.scan iteration)."""
    a = jnp.ones((1024, 1024))
    gemm = 2 * 1024**3 / timed(jax.jit(lambda a: a @ a), a)
    scan = jax.jit(lambda x: jax.lax.scan(lambda c, _: (c * 1.0000001 + 1.0, None), x, None, length=4096)[0])
    return gemm, timed(scan, jnp.ones((16,))) / 4096


def pieces(name: str, gemm: float, per_iter: float) -> list[tuple[str, float, float]]:
    """[(piece, seconds, floor seconds)] of one case."""
    system_id, net, density, exact = CASES[name]
    case = bench.Case(system_id, net)
    system, ansatz, params = bench.build(case)
    n, b = system.n_spins, case.n_samples
    p = int(sum(x.size for x in jax.tree_util.tree_leaves(params)))
    h = p // n
    mask = bench.random_mask(ansatz, params, density) if density < 1 else jax.tree_util.tree_map(jnp.ones_like, params)
    mask = jax.tree_util.tree_map(jnp.asarray, mask)
    params = jax.tree_util.tree_map(lambda x, m: x * m, params, mask)
    step = bench.train_step_kernel(case, exact=exact, density=density)
    step.call()
    out = [("whole step (trainer)", statistics.median(step.seconds_of(step.call()) for _ in range(3)), float("nan"))]
    if exact:
        return out
    spins = bench.samples(case)
    proposals = b // case.n_chains * n  # sequential: n_samples / n_chains sweeps of N proposals
    forward = 2 * case.n_chains * n * h / gemm  # one proposal's forward pass of every chain, at the GEMM rate
    out.append(
        ("sampling", bench.median_seconds(bench.sweep_kernel(case).call, repeats=5), proposals * max(per_iter, forward))
    )
    le = jax.jit(lambda q, s: local_energies(system, ansatz, q, s))
    m = len(system.x_coeffs)
    out.append(("local energies", timed(le, params, spins), 2 * b * m * h / gemm))
    jac = jax.jit(lambda q, s: flat_jacobian(ansatz, q, mask, s))
    out.append(("per-sample Jacobian X (B x P)", timed(jac, params, spins), float("nan")))
    out.append(
        (
            "structured Gram (s s^T)(g g^T)",
            timed(jax.jit(lambda q, s: single_layer_gram(ansatz, q, s)), params, spins),
            2 * b * b * (n + h) / gemm,
        )
    )
    alive = int(sum(np.count_nonzero(np.asarray(x)) for x in jax.tree_util.tree_leaves(mask)))
    k = jnp.eye(b) + 0.01
    cho = jax.jit(lambda k: jax.scipy.linalg.cho_factor(k, lower=True)[0])
    out.append((f"Cholesky {b} x {b} (sample space)", timed(cho, k), b**3 / 3 / gemm))
    if alive < b:
        s = jnp.eye(alive) + 0.01
        out.append((f"Cholesky {alive} x {alive} (alive parameters)", timed(cho, s), alive**3 / 3 / gemm))
    w = jnp.full((b,), 1.0 / b)
    kr = khatri_rao_jacobian(ansatz, params, mask, spins, w)
    v = jnp.ones((p,))
    out.append(("Khatri-Rao S v", timed(jax.jit(lambda v: kr.matvec(v)), v), 4 * b * n * h / gemm))
    y = 2 * (le(params, spins) - le(params, spins).mean()) / np.sqrt(b)
    g = kr.xt(y)
    out.append(
        (
            "CG solve, tol 1e-5, cold start",
            timed(jax.jit(lambda g: cg_direction(kr, g, 1e-3, tol=1e-5)), g, repeats=3),
            float("nan"),
        )
    )
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=",".join(CASES))
    args = ap.parse_args(argv)
    with single_threaded_blas():
        gemm, per_iter = machine_rates()
        print(
            f"float64 GEMM {gemm / 1e9:.1f} GFLOP/s, one lax.scan iteration {per_iter * 1e6:.2f} us; "
            f"load {os.getloadavg()[0]:.1f}"
        )
        for name in args.cases.split(","):
            print(f"\n{name}: {CASES[name]}\n\n| piece | ms | floor ms | x floor |\n|---|---:|---:|---:|")
            for piece, sec, floor in pieces(name, gemm, per_iter):
                ratio = f"{sec / floor:.1f}" if floor == floor and floor > 0 else "-"
                fl = f"{floor * 1e3:.2f}" if floor == floor else "-"
                print(f"| {piece} | {sec * 1e3:.2f} | {fl} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
