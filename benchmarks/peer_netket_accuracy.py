"""Accuracy side by side: lthbench vs NetKet after the same training, judged by exact energies.

Run with the lthbench virtualenv (NetKet lives in its own virtualenv and runs as a subprocess):

    .venv/bin/python benchmarks/peer_netket_accuracy.py [--task toric] [--steps 2000] [--seeds 0,1] \
        [--star-flip-prob 0.5] [--n-discard 0] [--nk-driver vmc+sr] [--nk-solver default]

For every seed, both codes train the same FFNN from the same initial weights (drawn from the seed) on
the same Hamiltonian tables with the same settings (the paper's: SGD 0.008 + SR shift 1e-3, 1024
samples, 16 chains, sweeps of N proposals; `--star-flip-prob` > 0 mixes in star flips, for the toric
code), then each reports the **exact** energy of its trained state (a full sum over the 2^N
configurations: no sampling noise). The relative error is against the ground energy from
`lthbench.exact` (-18 for the 3 x 3 toric code).

The NetKet side defaults to the configuration of the paper's code (`nk.VMC` with
`nk.optimizer.Sgd` and `nk.optimizer.SR(diag_shift)`, NetKet's default solver); the star flips are a
NetKet `MetropolisRule` with the same move set as lthbench's sampler (see `_peer_netket_side.py`).
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peer_netket import DEFAULT_NETKET_PYTHON, ROOT, TASKS, _run_side, _spec  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--netket-python", default=str(DEFAULT_NETKET_PYTHON))
    p.add_argument("--task", default="toric", choices=["tfim", "toric"])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--seeds", default="0", help="comma list; each seed draws the shared initial weights")
    p.add_argument("--samples", type=int, default=1024)
    p.add_argument("--chains", type=int, default=16)
    p.add_argument("--n-discard", type=int, default=0)
    p.add_argument("--star-flip-prob", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=0.008)
    p.add_argument("--sr-shift", type=float, default=1e-3)
    p.add_argument("--sides", default="netket,lthbench")
    p.add_argument("--nk-driver", default="vmc+sr", choices=["vmc_sr", "vmc+sr"])
    p.add_argument("--nk-solver", default="default", choices=["default", "cholesky"])
    p.add_argument("--blas-threads", type=int, default=1)
    args = p.parse_args(argv)
    if not 0.0 <= args.star_flip_prob <= 1.0:
        p.error(f"--star-flip-prob must be in [0, 1], got {args.star_flip_prob}")

    from lthbench.exact import ground_energy
    from lthbench.systems import system_from_id

    e0 = float(ground_energy(system_from_id(TASKS[args.task]["system_id"])))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("JAX_PLATFORMS", "cpu")
    if args.blas_threads > 0:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(args.blas_threads)
    print(f"# peer accuracy lthbench vs NetKet  {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}")
    print(
        f"# task {TASKS[args.task]['title']}; E0 = {e0:.10g}; {args.steps} steps; star flips {args.star_flip_prob}; "
        f"n_discard/step {args.n_discard}; lr {args.lr}; SR shift {args.sr_shift}"
    )
    ns = argparse.Namespace(
        samples=args.samples,
        chains=args.chains,
        n_discard=args.n_discard,
        lr=args.lr,
        sr_shift=args.sr_shift,
        steps=0,
        exact_steps=0,
        warmup_steps=0,
        exact_warmup_steps=0,
        repeats=0,
        nk_driver=args.nk_driver,
        nk_operator="jax",
        nk_on_the_fly="false",
        nk_solver=args.nk_solver,
        nk_qgt=None,
        profile=False,
    )
    rows = []
    for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
        ns.seed = seed
        spec = _spec(args.task, ns)
        spec.update(accuracy_steps=args.steps, star_flip_prob=args.star_flip_prob)
        for side in [s.strip() for s in args.sides.split(",") if s.strip()]:
            python = args.netket_python if side == "netket" else sys.executable
            script = "_peer_netket_side.py" if side == "netket" else "_peer_lthbench_side.py"
            r = _run_side(python, script, spec, env, verbose=False)
            rel = abs(r["exact_energy"] - e0) / abs(e0)
            rows.append((seed, side, r["exact_energy"], rel, r["wall_seconds"]))
            print(
                f"  seed {seed} {side:8s} exact E {r['exact_energy']:.8f}  rel.err {rel:.3e}  "
                f"(training E, last 10 steps {r['energy_last10']:.5f}; {r['wall_seconds']:.0f} s)\n"
                f"           {r['config']}",
                flush=True,
            )
    print("\n| seed | code | exact energy of the trained state | relative error |")
    print("|---|---|---|---|")
    for seed, side, e, rel, _ in rows:
        print(f"| {seed} | {side} | {e:.8f} | {rel:.2e} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
