"""Seconds per Monte Carlo training step of a pruned FFNN, SR over the alive parameters only
(`TrainConfig.sr_alive_only=True`, the default) against SR over all parameters.

    .venv/bin/python benchmarks/alive_sr.py [--system toric-3] [--alpha 8] [--densities 1,0.5,0.2,0.05]
        [--steps 50]

Random masks of the given densities (the SR cost depends on the alive count, not on which weights
are alive); paper settings (1024 samples, 16 chains, SGD 0.008 + SR 1e-3). Each configuration runs
once untimed (compilation) and once timed; prints one line per density.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import lthbench  # noqa: F401  (x64)
from lthbench.masks import full_mask
from lthbench.nets import make_ansatz
from lthbench.systems import system_from_id
from lthbench.vmc import TrainConfig, train


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--system", default="toric-3")
    parser.add_argument("--alpha", type=float, default=8.0)
    parser.add_argument("--densities", default="1,0.5,0.2,0.05")
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    system = system_from_id(args.system)
    ansatz = make_ansatz("ffnn", system, alpha=args.alpha)
    params = ansatz.init(jax.random.key(0))
    star = 0.5 if system.kind == "toric" else 0.0
    print(
        f"{args.system} ffnn alpha={args.alpha}, {jax.devices()[0].device_kind}; ms/step (alive-only SR / all-parameter SR)"
    )
    for density in (float(d) for d in args.densities.split(",")):
        mask = full_mask(params)
        keep = np.random.default_rng(1).random(mask["ffnn"]["w"].shape) < density
        mask["ffnn"]["w"] = jnp.asarray(keep, dtype=jnp.float64)
        times = []
        for alive_only in (True, False):
            cfg = TrainConfig(n_steps=args.steps, n_eval_steps=1, star_flip_prob=star, sr_alive_only=alive_only)
            train(system, ansatz, params, mask, cfg, jax.random.key(2))  # compile
            times.append(train(system, ansatz, params, mask, cfg, jax.random.key(2)).seconds_per_step)
        print(
            f"density {density:5.3f} alive {int(keep.sum()):5d}: {times[0] * 1e3:7.1f} / {times[1] * 1e3:7.1f} ms "
            f"({times[1] / times[0]:.1f}x)",
            flush=True,
        )


if __name__ == "__main__":
    main()
