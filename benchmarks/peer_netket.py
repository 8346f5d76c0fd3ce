"""Throughput benchmark: lthbench vs NetKet, seconds per VMC step on identical settings (issue #3, item 5).

Run with the lthbench virtualenv (NetKet lives in its own virtualenv and is never imported here):

    .venv/bin/python benchmarks/peer_netket.py [--netket-python .venv-netket/bin/python] \
        [--steps 50] [--repeats 3] [--tasks tfim,tfim-m50,tfim-m10,toric,exact] [--solver cholesky|cg]
        [--cg-tol 1e-5] [--json out.json]

For every task the two codes run one after the other, each in a fresh subprocess (NetKet side:
`_peer_netket_side.py` under the NetKet interpreter; lthbench side: `_peer_lthbench_side.py` under
this interpreter), with the same environment (thread settings included), the same Hamiltonian
tables (taken from `lthbench.systems`, so the toric-code edge ordering is lthbench's), the same
initial weights, and the same settings:

  (a) tfim      TFIM 2D 4x4 OBC, kappa_c = 3.04438, FFNN alpha=5 (1280 params), 1024 samples, 16 chains;
  (a') tfim-m50 / (a'') tfim-m10: the same under a random mask of density 0.5 / 0.1 (NetKet: the mask
      inside the model, as the paper's code; lthbench: `train(..., mask)`);
  (b) toric     toric code 3x3 (18 edge spins), FFNN alpha=8 (2592 params), same settings, star flips
      with probability 0.5 in both codes (--no-star-flips: single-spin flips only);
  (c) exact     task (a) in full-sum mode (NetKet FullSumState vs lthbench TrainConfig(exact=True));
  scale-L, scale-L-m10 (L = 6, 8, 10): the scaling rows, TFIM L x L alpha 5, dense / density 0.1.

--solver cg runs both codes with CG at --cg-tol (NetKet: nk.driver.VMC + nk.optimizer.SR with
jax.scipy.sparse.linalg.cg, warm start, the paper's configuration; lthbench: sr_solver='cg').
The last lines printed are a ready-to-paste markdown table (command, date, commit, load).

Common settings: Metropolis single-spin-flip, sweep size N, one sample per sweep, no sweeps discarded
per step (--n-discard), SGD lr 0.008 + SR diag shift 1e-3, float64 ReLU FFNN without bias,
Normal(0, 0.01) init. Each side compiles in a warm-up run (`--warmup-steps`), then times `--repeats`
runs of `--steps` steps (block_until_ready before stopping the clock) and reports the median seconds
per step. The ratio printed is NetKet / lthbench (> 1: lthbench faster). The mean training energy of
the last 10 steps is printed for both as a sanity check (same steps from the same init; a similar
value, not equality, is expected: the Monte Carlo streams differ).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_NETKET_PYTHON = ROOT / ".venv-netket" / "bin" / "python"

TFIM4 = "tfim2d-4x4-obc-k3.04438"
TASKS = {
    "tfim": dict(title="(a) TFIM 4x4 OBC kappa_c, FFNN a=5, MC 1024", system_id=TFIM4, alpha=5.0, exact=False),
    "tfim-m50": dict(
        title="(a') the same, masked at density 0.5", system_id=TFIM4, alpha=5.0, exact=False, density=0.5
    ),
    "tfim-m10": dict(
        title="(a'') the same, masked at density 0.1", system_id=TFIM4, alpha=5.0, exact=False, density=0.1
    ),
    "toric": dict(
        title="(b) toric code 3x3, FFNN a=8, MC 1024, star flips 0.5",
        system_id="toric-3",
        alpha=8.0,
        exact=False,
        star_flip_prob=0.5,
    ),
    "exact": dict(title="(c) TFIM 4x4 OBC kappa_c, FFNN a=5, exact (full sum)", system_id=TFIM4, alpha=5.0, exact=True),
}
for _L in (6, 8, 10):  # the scaling rows (--tasks scale-6,scale-6-m10,...)
    TASKS[f"scale-{_L}"] = dict(
        title=f"TFIM {_L}x{_L} a=5 MC 1024 dense", system_id=f"tfim2d-{_L}x{_L}-obc-k3.04438", alpha=5.0, exact=False
    )
    TASKS[f"scale-{_L}-m10"] = dict(
        title=f"TFIM {_L}x{_L} a=5 MC 1024 density 0.1",
        system_id=f"tfim2d-{_L}x{_L}-obc-k3.04438",
        alpha=5.0,
        exact=False,
        density=0.1,
    )
# issue #13: (goal, stretch) of NetKet / lthbench seconds per step
GOALS = {"tfim": (5, 8), "tfim-m50": (5, 8), "tfim-m10": (10, 15), "toric": (5, 8), "exact": (3, 10)}
DEFAULT_TASKS = "tfim,tfim-m50,tfim-m10,toric,exact"


def _spec(task: str, args) -> dict:
    import numpy as np

    from lthbench.systems import system_from_id

    t = TASKS[task]
    system = system_from_id(t["system_id"])
    n = system.n_spins
    width = int(round(t["alpha"] * n))
    rng = np.random.default_rng(args.seed)
    w0 = rng.normal(0.0, 0.01, size=(n, width))
    density = float(t.get("density", 1.0))
    mask = (np.random.default_rng(args.seed + 1).random((n, width)) < density).astype(int) if density < 1 else None
    if mask is not None:
        w0 = w0 * mask
    return {
        "task": task,
        "system_id": system.id,
        "alpha": t["alpha"],
        "n_spins": n,
        "z_strings": np.asarray(system.z_strings).astype(int).tolist(),
        "z_coeffs": np.asarray(system.z_coeffs).tolist(),
        "x_strings": np.asarray(system.x_strings).astype(int).tolist(),
        "x_coeffs": np.asarray(system.x_coeffs).tolist(),
        "w_init": w0.tolist(),
        "exact": t["exact"],
        "n_samples": args.samples,
        "n_chains": args.chains,
        "n_discard": args.n_discard,
        "learning_rate": args.lr,
        "sr_shift": args.sr_shift,
        "steps": args.steps if not t["exact"] else args.exact_steps,
        "warmup_steps": args.warmup_steps if not t["exact"] else args.exact_warmup_steps,
        "repeats": args.repeats,
        "seed": args.seed,
        # NetKet configuration (see _peer_netket_side.py)
        "driver": args.nk_driver,
        "operator": args.nk_operator,
        "on_the_fly": None if args.nk_on_the_fly == "auto" else args.nk_on_the_fly == "true",
        "solver": args.nk_solver,
        "qgt": args.nk_qgt,
        "profile": bool(args.profile),
        "star_flip_prob": float(t.get("star_flip_prob", 0.0)) if args.star_flips else 0.0,
        "mask": None if mask is None else mask.tolist(),
        "density": density,
        # SR solver of both codes: 'cholesky', or 'cg' at tolerance cg_tol (NetKet: nk.optimizer.SR with
        # jax.scipy.sparse.linalg.cg, the paper's configuration; lthbench: TrainConfig(sr_solver='cg'))
        "sr_solver": args.solver,
        "cg_tol": args.cg_tol,
        "cg_maxiter": args.cg_maxiter,
    }


def _run_side(python: str, script: str, spec: dict, env: dict, verbose: bool) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
        path = f.name
    try:
        proc = subprocess.run([python, str(HERE / script), path], env=env, capture_output=True, text=True)
    finally:
        os.unlink(path)
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("PEER_RESULT "):
            result = json.loads(line[len("PEER_RESULT ") :])
        elif verbose:
            print(f"    [{script}] {line}")
    if proc.returncode != 0 or result is None:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{script} failed (rc={proc.returncode}) on task {spec['task']}")
    return result


def _verdict(task: str, ratio: float) -> str:
    if task not in GOALS:
        return "no goal"
    goal, stretch = GOALS[task]
    return f"goal {goal}, stretch {stretch}: " + (
        "stretch met" if ratio >= stretch else "goal met" if ratio >= goal else "GOAL MISSED"
    )


def markdown_table(tasks, results, args, commit: str) -> str:
    """The ready-to-paste table: one row per task, with the settings, date, commit and load."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    lines = [
        f"`.venv/bin/python benchmarks/peer_netket.py --tasks {','.join(tasks)} --solver {args.solver}"
        f"{f' --cg-tol {args.cg_tol}' if args.solver == 'cg' else ''} --steps {args.steps} --repeats {args.repeats}`, "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, lthbench {commit}, "
        f"load average at the end {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on {os.cpu_count()} cores",
        "",
        "| task | SR solver | NetKet s/step | lthbench s/step | NetKet / lthbench | goal / stretch |",
        "|---|---|---:|---:|---:|---|",
    ]
    for task in tasks:
        r = results[task]
        nk_s = f"{r['netket']['seconds_per_step']:.4f}" if "netket" in r else "-"
        lt_s = f"{r['lthbench']['seconds_per_step']:.4f}" if "lthbench" in r else "-"
        ratio = f"{r['ratio']:.2f}" if "ratio" in r else "-"
        goal = "{} / {}".format(*GOALS[task]) if task in GOALS else "-"
        solver = args.solver if args.solver == "cholesky" else f"cg tol {args.cg_tol:g}"
        lines.append(f"| {TASKS[task]['title']} | {solver} | {nk_s} | {lt_s} | {ratio} | {goal} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--netket-python", default=str(DEFAULT_NETKET_PYTHON))
    p.add_argument("--tasks", default=DEFAULT_TASKS, help=f"comma list of {', '.join(TASKS)}")
    p.add_argument("--steps", type=int, default=50, help="timed steps per repeat (MC tasks)")
    p.add_argument("--exact-steps", type=int, default=5, help="timed steps per repeat (exact task)")
    p.add_argument("--exact-warmup-steps", type=int, default=3, help="untimed steps that compile (exact task)")
    p.add_argument("--warmup-steps", type=int, default=25, help="untimed steps that compile (both sides)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--samples", type=int, default=1024)
    p.add_argument("--chains", type=int, default=16)
    p.add_argument("--n-discard", type=int, default=0, help="sweeps discarded per chain at every step (both)")
    p.add_argument(
        "--no-star-flips",
        dest="star_flips",
        action="store_false",
        help="task (b) with single-spin flips only (default: star flips with probability 0.5, both codes)",
    )
    p.add_argument(
        "--solver",
        default="cholesky",
        choices=["cholesky", "cg"],
        help="SR solver of both codes (cg: NetKet's nk.optimizer.SR + jax cg with --nk-driver vmc+sr)",
    )
    p.add_argument("--cg-tol", type=float, default=1e-5, help="CG relative tolerance (both codes)")
    p.add_argument(
        "--cg-maxiter", type=int, default=None, help="CG iteration cap (both codes; default jax's 10 x size)"
    )
    p.add_argument("--markdown", action="store_true", help="print only the ready-to-paste markdown table at the end")
    p.add_argument("--lr", type=float, default=0.008)
    p.add_argument("--sr-shift", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sides", default="netket,lthbench", help="which codes to run, in order")
    p.add_argument("--nk-driver", default="vmc_sr", choices=["vmc_sr", "vmc+sr"])
    p.add_argument("--nk-operator", default="jax", choices=["jax", "numba"])
    p.add_argument(
        "--nk-on-the-fly",
        default="false",
        choices=["auto", "true", "false"],
        help="VMC_SR on_the_fly (NTK); 'false' is faster for dense single-layer nets here",
    )
    p.add_argument(
        "--nk-solver",
        default="cholesky",
        choices=["default", "cholesky"],
        help="VMC_SR linear solver: cholesky (as lthbench) or NetKet's cholesky_with_fallback",
    )
    p.add_argument("--nk-qgt", default=None, help="qgt class for --nk-driver vmc+sr, e.g. QGTJacobianDense")
    p.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="OPENBLAS/OMP/MKL_NUM_THREADS for both codes (0: leave the environment alone). "
        "jax's CPU Cholesky calls scipy's OpenBLAS; with 2 BLAS threads on a busy 2-core host "
        "a 1024x1024 Cholesky takes ~0.8 s instead of ~0.03 s, for both codes alike",
    )
    p.add_argument("--json", default=None, help="write all results here")
    p.add_argument("--verbose", action="store_true")
    p.add_argument(
        "--profile",
        action="store_true",
        help="also time the pieces of an lthbench step (sampling, local energies, Jacobian, Gram, "
        "Cholesky; exact: full-sum gradient, S matrix, Cholesky), each jitted alone",
    )
    args = p.parse_args(argv)

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for t in tasks:
        if t not in TASKS:
            p.error(f"unknown task {t!r}")
    sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", "")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env["PYTHONPATH"] else "")
    env.setdefault("JAX_PLATFORMS", "cpu")
    if args.blas_threads > 0:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.blas_threads)

    print(f"# peer benchmark lthbench vs NetKet  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}")
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "lthbench"], capture_output=True, text=True
        ).stdout.strip()
        head_line = f"{head}{' + uncommitted changes in lthbench/' if dirty else ''}"
        print(f"# lthbench at {head_line}")
    except OSError:
        head_line = "?"
    print(
        f"# host {platform.node()}  {platform.machine()}  os.cpu_count()={os.cpu_count()}  "
        f"affinity={len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}"
    )
    print(
        f"# env  JAX_PLATFORMS={env.get('JAX_PLATFORMS')}  XLA_FLAGS={env.get('XLA_FLAGS', '')!r}  "
        f"OMP_NUM_THREADS={env.get('OMP_NUM_THREADS', '')!r}  OPENBLAS_NUM_THREADS={env.get('OPENBLAS_NUM_THREADS', '')!r}  (same environment for both codes)"
    )
    print(
        f"# settings: samples={args.samples} chains={args.chains} sweep=N n_discard/step={args.n_discard} "
        f"toric star flips={0.5 if args.star_flips else 0.0} solver={args.solver} cg_tol={args.cg_tol} "
        f"lr={args.lr} sr_shift={args.sr_shift} warmup={args.warmup_steps} steps={args.steps} "
        f"(exact: warmup {args.exact_warmup_steps}, steps {args.exact_steps}) repeats={args.repeats} (median)"
    )

    results = {}
    for i, task in enumerate(tasks):
        spec = _spec(task, args)
        print(f"\n{TASKS[task]['title']}")
        order = sides if i % 2 == 0 else list(reversed(sides))
        for side in order:
            if side == "netket":
                r = _run_side(args.netket_python, "_peer_netket_side.py", spec, env, args.verbose)
            else:
                r = _run_side(sys.executable, "_peer_lthbench_side.py", spec, env, args.verbose)
            results.setdefault(task, {})[side] = r
            reps = ", ".join(f"{x:.4g}" for x in r["seconds_per_step_repeats"])
            print(
                f"  {side:8s} {r['seconds_per_step']:.5f} s/step  (repeats {reps}; warm-up {r['warmup_seconds']:.1f} s; "
                f"E_last10 {r['energy_last10']:.5f} after {r['n_steps_total']} steps; P={r['n_params']}; "
                f"devices {r['devices']}; cpu_count {r['cpu_count']})"
            )
            print(f"           {r['config']}")
            if "profile" in r:
                parts = "  ".join(f"{k} {v * 1e3:.1f} ms" for k, v in r["profile"].items())
                print(f"           profile (each piece jitted alone): {parts}")
            if "distinct_samples_final" in r:
                print(
                    f"           distinct configurations among the {args.samples} samples of a step after the timed "
                    f"steps (fresh chains, 100 burn-in sweeps): {r['distinct_samples_final']}"
                )
        if "netket" in results[task] and "lthbench" in results[task]:
            ratio = results[task]["netket"]["seconds_per_step"] / results[task]["lthbench"]["seconds_per_step"]
            results[task]["ratio"] = ratio
            print(f"  ratio NetKet/lthbench = {ratio:.2f}  ({_verdict(task, ratio)})")
    print()
    print(markdown_table(tasks, results, args, head_line))
    if args.json:
        payload = {
            "args": vars(args),
            "results": results,
            "date": datetime.datetime.now(datetime.UTC).isoformat(),
            "cpu_count": os.cpu_count(),
            "host": platform.node(),
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
