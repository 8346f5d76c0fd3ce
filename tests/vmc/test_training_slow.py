"""The paper's settings reach the accuracy they can reach (slow: a few minutes on 2 cores).

Run with `pytest -m slow tests/vmc/test_training_slow.py -s` (prints the achieved errors and wall times).

Both checks use the trained state's exact energy (a full sum over the 2^N configurations, no sampling
noise) as well as the Monte Carlo estimate the trainer reports, which must agree with it within 4
error bars.

- TFIM 4 x 4 kappa_c, alpha 5, 1000 steps: the issue's target, relative error <= 2e-5 (measured
  3.5e-7).
- Toric code 3 x 3, alpha 8, 2000 steps, star flips with probability 0.5: bound 5e-4. The issue's
  target of 2e-4 is below what the paper's settings reach in 2000 steps, in NetKet (the paper's own
  pipeline, 3.3e-4 and 3.4e-4 for two seeds, `benchmarks/peer_netket_accuracy.py`) as in lthbench
  (3.1e-4 to 3.4e-4 over five seeds). The error is the weight of odd plaquettes, which falls like 1/steps
  at these settings; see docs/accuracy.md. A broken sampler or SR gives far more (single-spin flips
  alone: 6e-3).
"""

import jax
import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from lthbench.nets import make_ansatz
from lthbench.systems import KAPPA_C_2D, tfim, toric
from lthbench.vmc import TrainConfig, evaluate, train

pytestmark = pytest.mark.slow


def ground_energy(system) -> float:
    try:
        from lthbench.exact import ground_energy as ed
    except ImportError:
        ed = None
    if ed is not None:
        return float(ed(system))
    codes = np.arange(2**system.n_spins)
    rows, cols, vals = [codes], [codes], [system.diagonal_of_codes(codes)]
    for flip, coeff in zip(system.flip_codes, system.x_coeffs):
        rows.append(codes ^ flip)
        cols.append(codes)
        vals.append(np.full(codes.shape, coeff))
    h = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(codes.size,) * 2)
    return float(spla.eigsh(h, k=1, which="SA")[0][0])


@pytest.mark.parametrize(
    "system,alpha,n_steps,star,bound",
    [
        (tfim((4, 4), KAPPA_C_2D), 5.0, 1000, 0.0, 2e-5),
        (toric(3), 8.0, 2000, 0.5, 5e-4),
    ],
    ids=["tfim4x4-kc-ffnn-a5", "toric3-ffnn-a8"],
)
def test_paper_settings_reach_target(system, alpha, n_steps, star, bound):
    e0 = ground_energy(system)
    ansatz = make_ansatz("ffnn", system, alpha=alpha)
    params = ansatz.init(jax.random.key(0))
    cfg = TrainConfig(
        n_steps=n_steps, n_samples=1024, n_chains=16, learning_rate=0.008, sr_shift=1e-3, star_flip_prob=star
    )
    res = train(system, ansatz, params, None, cfg, jax.random.key(1))
    rel = abs(res.energy - e0) / abs(e0)
    # The trained state's exact energy (a full sum over the 2^N configurations): no sampling noise.
    exact = evaluate(system, ansatz, res.params, TrainConfig(n_steps=0, exact=True), jax.random.key(2))
    rel_exact = abs(exact.energy - e0) / abs(e0)
    print(
        f"\n{system.id} ffnn alpha={alpha}: E={res.energy:.6f} +- {res.energy_sigma:.1e} (E0={e0:.6f}) "
        f"rel.err={rel:.2e}, exact <H> of the trained state {exact.energy:.6f}: rel.err={rel_exact:.2e}, "
        f"var={res.variance:.2e} wall={res.wall_time:.1f}s ({res.seconds_per_step * 1e3:.1f} ms/step)"
    )
    assert not res.diverged
    # The reported energy is a Monte Carlo estimate: it agrees with the exact one within 4 error bars.
    assert abs(res.energy - exact.energy) <= 4 * res.energy_sigma
    assert rel_exact <= bound


def test_cg_solver_trains_as_well_as_cholesky():
    """Paired runs (same init and training keys), 1000 steps, seeds 0-2, on TFIM 4 x 4 alpha 5 and the
    toric code 3 x 3 alpha 8 (star flips): the exact energies of the CG-trained states (tol 1e-5, warm
    start) differ from the Cholesky-trained ones by |mean dE| <= 2 sigma of the paired differences.
    `benchmarks/cg_accuracy.py` prints the same table (docs/accuracy.md)."""
    from benchmarks.cg_accuracy import run_all

    out = run_all(1000, [0, 1, 2], 1e-5, None)
    for task, r in out.items():
        print(
            f"\n{task}: dE {r['dE']}, mean {r['mean_dE']:.2e} +- {r['sigma']:.1e}; rel. errors Cholesky "
            f"{r['rel_cholesky']}, CG {r['rel_cg']}"
        )
        assert r["agree"], (task, r)
        assert max(r["rel_cg"]) <= 10 * max(r["rel_cholesky"]) + 1e-5
