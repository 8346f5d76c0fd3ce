"""Seconds per Monte Carlo training step with SR over the distinct samples (`TrainConfig.sr_dedup=True`,
the default) against SR over all 1024 samples, on a partly trained FFNN (repeated samples appear as
the state concentrates).

    .venv/bin/python benchmarks/dedup_sr.py [--system toric-3] [--alpha 8] [--pretrain 300] [--steps 100]
        [--repeats 2] [--densities 1,0.2]

Paper settings (1024 samples, 16 chains, SGD 0.008 + SR 1e-3; toric code: star flips with probability
0.5). For every density (random mask), the net is first trained `--pretrain` steps, then the same
`--steps` steps from there are timed with and without deduplication, alternating, `--repeats` times
each after an untimed compile; prints the number of distinct configurations in one step's samples,
the two median times, and the largest difference between the two energy histories (the solve is
exact, so they agree to rounding).
"""

from __future__ import annotations

import argparse
import statistics

import jax
import jax.numpy as jnp
import numpy as np

import lthbench  # noqa: F401  (x64)
from lthbench.masks import full_mask
from lthbench.nets import make_ansatz
from lthbench.systems import system_from_id
from lthbench.vmc import TrainConfig, train
from lthbench.vmc.config import static_of
from lthbench.vmc.programs import programs


def distinct_samples(system, ansatz, params, cfg, key) -> int:
    progs = programs(system, ansatz, static_of(system, cfg))
    chain = progs["init_chains"](params, key)
    chain = progs["burn_in"](params, chain, jax.random.fold_in(key, 1), 100)
    _, spins = progs["sample_step"](params, chain, jax.random.fold_in(key, 2))
    return int(len(np.unique(np.asarray(spins), axis=0)))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", default="toric-3")
    parser.add_argument("--alpha", type=float, default=8.0)
    parser.add_argument("--pretrain", type=int, default=300)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--densities", default="1")
    args = parser.parse_args(argv)
    system = system_from_id(args.system)
    ansatz = make_ansatz("ffnn", system, alpha=args.alpha)
    params0 = ansatz.init(jax.random.key(0))
    star = 0.5 if system.kind == "toric" else 0.0
    print(
        f"{system.id} ffnn alpha={args.alpha}, {jax.devices()[0].device_kind}; after {args.pretrain} steps, "
        f"median of {args.repeats} x {args.steps} steps: ms/step (distinct-sample SR / all-sample SR)"
    )
    for density in (float(d) for d in args.densities.split(",")):
        mask = full_mask(params0)
        keep = np.random.default_rng(1).random(mask["ffnn"]["w"].shape) < density
        mask["ffnn"]["w"] = jnp.asarray(keep, dtype=jnp.float64)
        pre = TrainConfig(n_steps=args.pretrain, n_eval_steps=1, star_flip_prob=star)
        params = train(system, ansatz, params0, mask, pre, jax.random.key(1)).params
        n_distinct = distinct_samples(system, ansatz, params, pre, jax.random.key(5))
        times = {True: [], False: []}
        hist = {}
        for rep in range(args.repeats + 1):
            for dedup in (True, False):
                cfg = TrainConfig(n_steps=args.steps, n_eval_steps=1, star_flip_prob=star, sr_dedup=dedup)
                res = train(system, ansatz, params, mask, cfg, jax.random.key(2))
                hist[dedup] = res.energy_history
                if rep > 0:  # rep 0 compiles
                    times[dedup].append(res.seconds_per_step)
        on, off = statistics.median(times[True]), statistics.median(times[False])
        diff = float(np.max(np.abs(hist[True] - hist[False])))
        print(
            f"density {density:5.3f} alive {int(keep.sum()):5d}, distinct samples {n_distinct:4d}/1024: "
            f"{on * 1e3:6.1f} / {off * 1e3:6.1f} ms ({off / on:.2f}x); max |E_dedup - E_all| {diff:.1e}",
            flush=True,
        )


if __name__ == "__main__":
    main()
