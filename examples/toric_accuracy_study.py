"""Where the 3 x 3 toric code's dense training error comes from, measured with exact energies.

    .venv/bin/python examples/toric_accuracy_study.py --steps 2000 --every 250      # the trajectory
    .venv/bin/python examples/toric_accuracy_study.py --alpha 4                     # other widths
    .venv/bin/python examples/toric_accuracy_study.py --sr-shift 1e-4               # another SR shift
    .venv/bin/python examples/toric_accuracy_study.py --star-flip-prob 0 --n-discard 10   # single flips only

Trains the FFNN (alpha, default 8) on the 3 x 3 toric code with the paper's settings (SGD 0.008 + SR
shift 1e-3, 1024 samples, 16 chains, one sample per sweep of N proposals, star flips with probability
0.5 unless told otherwise), in chunks of `--every` steps, and after each chunk prints the **exact**
relative error of the current state (a full sum over the 2^18 configurations, no sampling noise) and
its split into the two kinds of terms of H = -sum_v A_v - sum_p B_p:

  plaquette deficit  sum_p (1 - <B_p>) = 2 x (total probability of odd plaquettes);
  star deficit       sum_v (1 - <A_v>): the amplitudes' non-uniformity over the loop configurations.

E - E0 = plaquette deficit + star deficit (E0 = -18). Each chunk is one `train` call (fresh chains,
burn-in; the optimiser is plain SGD, so there is no state to lose between chunks).
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from lthbench.nets import make_ansatz
from lthbench.systems import toric
from lthbench.vmc import TrainConfig, exact_vector, train


def term_expectations(system, ansatz, params):
    """(<B_p> for every Z string (P,), <A_v> for every X string (V,)) of the state, by full sums."""
    psi = exact_vector(system, ansatz, params)
    codes = np.arange(psi.size)
    spins = system.spins_of_codes(codes)
    prob = psi**2
    z_terms = np.array([prob @ np.prod(np.where(m.astype(bool), spins, 1.0), axis=1) for m in system.z_strings])
    x_terms = np.array([psi @ psi[codes ^ f] for f in system.flip_codes])
    return z_terms, x_terms


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--every", type=int, default=2000, help="steps between exact evaluations")
    p.add_argument("--alpha", type=float, default=8.0)
    p.add_argument("--sr-shift", type=float, default=1e-3)
    p.add_argument("--star-flip-prob", type=float, default=0.5)
    p.add_argument("--n-discard", type=int, default=0, help="sweeps discarded per chain at every step")
    p.add_argument("--init-seed", type=int, default=0)
    p.add_argument("--train-seed", type=int, default=1)
    args = p.parse_args(argv)
    if args.steps < 1 or args.every < 1:
        p.error("--steps and --every must be >= 1")

    system = toric(3)
    # H = -sum_p B_p - sum_v A_v: every coefficient is -1, so E = -(sum <B_p> + sum <A_v>)
    assert np.all(np.asarray(system.z_coeffs) == -1.0) and np.all(np.asarray(system.x_coeffs) == -1.0)
    ansatz = make_ansatz("ffnn", system, alpha=args.alpha)
    params = ansatz.init(jax.random.key(args.init_seed))
    key = jax.random.key(args.train_seed)
    print(
        f"# toric 3x3, FFNN alpha={args.alpha}, SR shift {args.sr_shift}, star flips {args.star_flip_prob}, "
        f"n_discard/step {args.n_discard}, seeds init {args.init_seed} train {args.train_seed}"
    )
    print("| steps | exact relative error | plaquette deficit | star deficit | wall s |")
    print("|---:|---:|---:|---:|---:|")
    done, t0 = 0, time.perf_counter()
    while done < args.steps:
        todo = min(args.every, args.steps - done)
        cfg = TrainConfig(
            n_steps=todo,
            sr_shift=args.sr_shift,
            star_flip_prob=args.star_flip_prob,
            n_discard_per_step=args.n_discard,
            n_eval_steps=1,
        )
        res = train(system, ansatz, params, None, cfg, jax.random.fold_in(key, done))
        if res.diverged:
            raise SystemExit(f"training diverged after {done + res.n_steps_done} steps")
        params, done = res.params, done + todo
        z_terms, x_terms = term_expectations(system, ansatz, params)
        energy = -float(z_terms.sum() + x_terms.sum())
        print(
            f"| {done} | {abs(energy + 18.0) / 18.0:.3e} | {len(z_terms) - z_terms.sum():.3e} | "
            f"{len(x_terms) - x_terms.sum():.3e} | {time.perf_counter() - t0:.0f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
