"""Training accuracy with the CG SR solver against the Cholesky solver (issue #13): paired runs.

    nice -n 10 .venv/bin/python benchmarks/cg_accuracy.py [--steps 1000] [--seeds 0,1,2] [--json out.json]
        [--figure out.png]

For each task (TFIM 4 x 4 kappa_c FFNN alpha 5; toric code 3 x 3 FFNN alpha 8 with star flips 0.5) and
seed, the same net is trained twice with the same keys, once with `sr_solver='cholesky'` and once with
`sr_solver='cg'` (tolerance `--cg-tol`, warm start), and the trained states' exact energies (full sums
over the 2^N configurations, no sampling noise) are compared: dE = E_cg - E_cholesky per pair. The
solvers agree when |mean dE| <= 2 sigma, sigma the standard error of the mean of the paired
differences. Results are cached per run in the JSON file, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

import jax
import matplotlib
import numpy as np

import lthbench  # noqa: F401  (x64)
from lthbench.exact import ground_energy
from lthbench.nets import make_ansatz
from lthbench.systems import KAPPA_C_2D, tfim, toric
from lthbench.vmc import TrainConfig, evaluate, train

TASKS = {
    "tfim4x4-a5": (lambda: tfim((4, 4), KAPPA_C_2D), 5.0, 0.0),
    "toric3-a8": (lambda: toric(3), 8.0, 0.5),
}


def paired_run(task: str, seed: int, solver: str, n_steps: int, cg_tol: float) -> dict:
    """Train task's net from init key `seed` (training key seed + 100) and return its exact energy."""
    make_system, alpha, star = TASKS[task]
    system = make_system()
    ansatz = make_ansatz("ffnn", system, alpha=alpha)
    params = ansatz.init(jax.random.key(seed))
    cfg = TrainConfig(n_steps=n_steps, star_flip_prob=star, sr_solver=solver, cg_tol=cg_tol, n_eval_steps=1)
    res = train(system, ansatz, params, None, cfg, jax.random.key(seed + 100))
    exact = evaluate(system, ansatz, res.params, TrainConfig(n_steps=0, exact=True), None)
    return {
        "exact_energy": float(exact.energy),
        "diverged": bool(res.diverged),
        "seconds_per_step": float(res.seconds_per_step),
    }


def paired_summary(task: str, runs: dict, seeds, e0: float) -> dict:
    """dE per seed, their mean and standard error, and the relative errors of both solvers."""
    d = np.array([runs[f"{task}/{s}/cg"]["exact_energy"] - runs[f"{task}/{s}/cholesky"]["exact_energy"] for s in seeds])
    sigma = float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else float("nan")
    rel = {
        solver: [abs(runs[f"{task}/{s}/{solver}"]["exact_energy"] - e0) / abs(e0) for s in seeds]
        for solver in ("cholesky", "cg")
    }
    return {
        "dE": d.tolist(),
        "mean_dE": float(d.mean()),
        "sigma": sigma,
        "rel_cholesky": rel["cholesky"],
        "rel_cg": rel["cg"],
        "agree": bool(abs(d.mean()) <= 2 * sigma),
    }


def run_all(n_steps: int, seeds, cg_tol: float, cache: Path | None) -> dict:
    runs = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    out = {}
    for task in TASKS:
        for seed in seeds:
            for solver in ("cholesky", "cg"):
                key = f"{task}/{seed}/{solver}"
                if key not in runs:
                    runs[key] = paired_run(task, seed, solver, n_steps, cg_tol)
                    if cache is not None:
                        cache.write_text(json.dumps(runs, indent=1))
        out[task] = paired_summary(task, runs, seeds, float(ground_energy(TASKS[task][0]())))
    return out


def draw(out: dict, n_steps: int, path: Path) -> None:
    """One panel per task: each seed's exact relative error after training with either solver (the
    pair joined by a line), titled with mean dE +- sigma and whether it lies within 2 sigma."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(out), figsize=(5.2 * len(out), 4.0), squeeze=False)
    for ax, (task, r) in zip(axes[0], out.items()):
        seeds = np.arange(len(r["rel_cholesky"]))
        for i in seeds:
            ax.plot([0, 1], [r["rel_cholesky"][i], r["rel_cg"][i]], "-o", color=f"C{i}", label=f"seed {i}")
        ax.set_xticks([0, 1], ["Cholesky", "CG (tol 1e-5)"])
        ax.set_xlim(-0.4, 1.4)
        ax.set_yscale("log")
        both = r["rel_cholesky"] + r["rel_cg"]
        ax.set_ylim(min(both) / 3, max(both) * 3)  # a fixed factor around the data: no zoom into noise
        ax.set_ylabel("exact relative error |E - E_0| / |E_0|")
        verdict = "within 2 sigma" if r["agree"] else "NOT within 2 sigma"
        ax.set_title(
            f"{task}, {n_steps} steps\nmean dE = {r['mean_dE']:.1e} +- {r['sigma']:.1e}: {verdict}", fontsize=9
        )
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle("SR solver: CG against Cholesky, paired runs (same init and training keys)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--cg-tol", type=float, default=1e-5)
    p.add_argument("--json", default=None, help="cache / results file (resumable)")
    p.add_argument("--figure", default=None, help="draw the pairs into this PNG")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    out = run_all(args.steps, seeds, args.cg_tol, Path(args.json) if args.json else None)
    load = os.getloadavg()
    print(f"{args.steps} steps, seeds {seeds}, CG tol {args.cg_tol:g} (warm start); load {load[0]:.1f}/{load[1]:.1f}")
    print(
        "| task | rel. error Cholesky (per seed) | rel. error CG (per seed) | dE = E_cg - E_chol (per seed) "
        "| mean dE +- sigma | within 2 sigma |"
    )
    print("|---|---|---|---|---|---|")
    for task, r in out.items():
        fmt = lambda xs: ", ".join(f"{x:.2e}" for x in xs)  # noqa: E731
        print(
            f"| {task} | {fmt(r['rel_cholesky'])} | {fmt(r['rel_cg'])} | {fmt(r['dE'])} | "
            f"{r['mean_dE']:.2e} +- {r['sigma']:.1e} | {'yes' if r['agree'] else 'NO'} |"
        )
    if args.figure:
        draw(out, args.steps, Path(args.figure))
        print(f"wrote {args.figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
