"""Synthetic results in the lthbench schema for the figures and the worked example of docs/comparison.md.

No training: curves shaped like the paper's (LEP plateau, power law, jump to the product state's
error at rho ~ 4) with Monte Carlo error bars and seed scatter. Run from the repository root:

    python docs/figures/make_synthetic.py OUTDIR

writes OUTDIR/tfim4-magnitude.nc, OUTDIR/tfim4-mine.nc (a second method, worse below rho ~ 20, one
seed diverging), OUTDIR/tfim-sizes.nc (L = 4, 5, 6 for the size-scan overlay), OUTDIR/toric3-filters.nc
(+ .cells/ artifacts: first-layer filters for the filter figure and the odd-parity claim).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from analysis_synth import curve_records, dataset  # noqa: E402

KC = 3.04438
E_PER_SPIN = {4: -3.2, 5: -3.19, 6: -3.185}


def tfim_curve(L, method, *, worse=1.0, diverged=(), seeds=(0, 1, 2), rng_seed=0):
    n_spins = L * L
    e_ref = E_PER_SPIN[L] * n_spins
    eps = abs(-KC * n_spins - e_ref) / abs(e_ref)
    noise = np.random.default_rng(rng_seed).normal(0, 0.08, (10, 80))
    task = f"tfim2d-{L}x{L}-k{KC}-ffnn-a8"

    def err(n, seed, rnd):
        rho = n / n_spins
        if rho < 4.0:  # HEP: the product state's error, reached by a jump at rho = 4
            y = math.log10(eps) - 0.02 * (4 - rho)
        else:  # LEP for rho >= 40, power law (slope -1.5 in log-log) between
            y = -4.0 + 1.5 * max(0.0, math.log10(40 / rho))
        f = worse if rho < 20 else 1.0
        return 10 ** (y + noise[seed, rnd]) * f

    def fid(n, seed, rnd):
        rho = n / n_spins
        dip = 0.4 + 0.15 * (6 - L) if 4.0 > rho >= 3.4 else 0.995 - 0.003 * seed
        return {
            "fidelity_prev": None if rnd == 0 else dip,
            "m_x": 0.9 - 0.02 * math.log(1 + rho),
            "m_z": 0.02 * (seed - 1),
            "fidelity_exact": math.exp(-5 * err(n, seed, rnd)),
        }

    kw = dict(
        task=task,
        n0=8 * n_spins**2,
        n_rounds=64 if L == 4 else 70,
        e_ref=e_ref,
        n_spins=n_spins,
        seeds=seeds,
        sigma_rel=3e-5,
        extra=fid,
    )
    recs = curve_records(err, method=method, diverged=diverged, **kw)
    rounds = list(range(0, kw["n_rounds"] + 1, 6))
    kw["extra"] = lambda n, s, r: dict(fid(n, s, r), fidelity_prev=None)  # controls: no previous round
    recs += curve_records(err, method=method, control="ticket", rounds=rounds, **kw)
    recs += curve_records(lambda n, s, r: 1.1 * err(n, s, r), method=method, control="reinit", rounds=rounds, **kw)
    recs += curve_records(
        lambda n, s, r: min(12 * err(n, s, r), eps), method=method, control="random-mask", rounds=rounds, **kw
    )
    return recs


def toric_store(path):
    """A toric-code 3 x 3 alpha 8 run with artifacts: 79 surviving units at the last round, 30 of them
    odd-parity single-plaquette filters, 20 even ones, 29 spread over several plaquettes."""
    from lthbench.results import CellKey, RunStore
    from lthbench.systems.lattice import torus_plaquettes

    rng = np.random.default_rng(4)
    plaq = torus_plaquettes(3)
    store = RunStore(path)
    final = np.zeros((18, 144))
    for u in range(79):
        if u < 50:
            edges = plaq[u % 9]
            signs = np.ones(4)
            n_neg = rng.choice([1, 3]) if u < 30 else rng.choice([0, 2, 4])
            signs[rng.choice(4, n_neg, replace=False)] = -1
            final[edges, u] = signs * rng.uniform(0.5, 1.5, 4)
        else:
            edges = rng.choice(18, rng.integers(2, 7), replace=False)
            final[edges, u] = rng.normal(0, 0.6, edges.size)
    n0 = 18 * 144
    rounds = 12
    alive_final = int((final != 0).sum())
    for seed in (0, 1, 2):
        for rnd in range(rounds + 1):
            n = int(round(n0 * (alive_final / n0) ** (rnd / rounds)))
            err = 5e-5 if n / 18 > 10 else 0.1
            w = final.copy()
            if rnd < rounds:  # earlier rounds: some extra alive weights
                extra = np.flatnonzero(final.ravel() == 0)[: n - alive_final]
                w.ravel()[extra] = rng.normal(0, 0.01, extra.size)
            rec = curve_records(
                lambda *a, err=err: err,
                task="toric-3-ffnn-a8",
                seeds=(seed,),
                rounds=[0],
                n0=n0,
                n_rounds=0,
                sigma_rel=1e-5,
            )[0]
            rec.update(round=rnd, n_alive=float(n), density=n / n0, rho=n / 18)
            arts = {"params": {"ffnn/~/linear": {"w": w}}, "mask": {"ffnn/~/linear": {"w": (w != 0).astype(float)}}}
            store.write(CellKey.from_record(rec), rec, arts)
    store.finalize({"synthetic": True})


def main(out):
    out = Path(out)
    out.mkdir(exist_ok=True)
    dataset(tfim_curve(4, "magnitude/imp-wr/rewind=trained"), out / "tfim4-magnitude.nc")
    dataset(
        tfim_curve(4, "mine[k=1]/imp-wr/rewind=trained", worse=3.0, diverged={(40, 2)}, rng_seed=1),
        out / "tfim4-mine.nc",
    )
    recs = []
    for L in (4, 5, 6):
        recs += [r for r in tfim_curve(L, "magnitude/imp-wr/rewind=trained", rng_seed=L) if r["control"] == "imp"]
    dataset(recs, out / "tfim-sizes.nc")
    toric_store(out / "toric3-filters.nc")


if __name__ == "__main__":
    main(sys.argv[1])
