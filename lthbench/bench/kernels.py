"""The timed kernels of the throughput suite: the hot pieces of a VMC step, on whatever device JAX sees.

One `Case` is a system and a net (e.g. TFIM 10 x 10 OBC at kappa_c with the FFNN alpha = 5). For a
case, `kernel(case, name)` builds one jitted piece (a `Kernel`: a zero-argument call that blocks until
its result is ready, and the number of configurations it processes per call), and
`lthbench.bench.suite.measure` times them: a warm-up call compiles, then the median of `repeats` calls is the figure (ED: one cold call).
Nothing here is CPU-specific: on a GPU the same kernels run there, and `device_label()` says where.

Kernels (seconds per call; samples/s = configurations per call / seconds):
  sweep                  Metropolis sampling of one step: n_samples / n_chains sweeps of N single-spin
                         proposals on every chain (configurations = n_samples);
  local_energy_fast      E_loc of n_samples configurations, single-layer fast path (FFNN, RBM only);
  local_energy_generic   E_loc of the same configurations, one forward pass per X-string partner;
  sr_step                the SR direction of a dense net by the trainer's own estimator and SR
                         transformation (`sr_direction`: structured sample-space Gram for single-layer
                         nets, else the per-sample Jacobian, through `lthbench.vmc.sr`);
  train_step             one full `lthbench.vmc.train` step (sampling, E_loc, SR, update) of the dense net;
  train_step_pruned      the same with a random mask keeping PRUNED_DENSITY of every prunable leaf (a
                         masked net takes the trainer's per-sample-Jacobian SR path, as every pruning
                         round and control does);
  exact_step             one full-sum `train` step over all 2^N states (N <= EXACT_STEP_MAX_SPINS,
                         P <= EXACT_STEP_MAX_PARAMS parameters);
  ed                     Lanczos ground energy `lthbench.exact.ground_energy` (TFIM only,
                         N <= ED_MAX_SPINS; configurations = 2^N).

Used by the asv suites (`benchmarks/`), `lthbench bench` (`lthbench.bench.suite`: the named suites of
cases, the timing and the netCDF figures) and the pytest micro benchmarks. The asv and CLI figures come
from the same functions, so a figure in docs/performance.md can be reproduced with `lthbench bench`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..exact import ground_energy
from ..masks import full_mask, prunable_leaves
from ..nets import make_ansatz, n_parameters
from ..systems import system_from_id
from ..vmc import TrainConfig, sr, train
from ..vmc.config import Static
from ..vmc.estimate import local_energies
from ..vmc.estimators import Measured, MonteCarlo
from ..vmc.sampler import init_chains, sample

KERNELS = (
    "sweep",
    "local_energy_fast",
    "local_energy_generic",
    "sr_step",
    "train_step",
    "train_step_pruned",
    "exact_step",
    "ed",
)
PRUNED_DENSITY = 0.5
EXACT_STEP_MAX_SPINS = 16
EXACT_STEP_MAX_PARAMS = 4096  # exact mode forms the P x P QGT: 8 P^2 bytes (a ResCNN's 18.6k: 2.8 GB)
ED_MAX_SPINS = 25
SR_SHIFT = 1e-3


@dataclasses.dataclass(frozen=True)
class Case:
    """A system and a net to time. net_tag: 'ffnn-a5', 'rbm-a1', 'cnn', 'rescnn-f16-b4'.

    n_samples / n_chains: Monte Carlo batch of one step (the paper's 1024 / 16 by default).
    """

    system_id: str
    net_tag: str
    n_samples: int = 1024
    n_chains: int = 16

    @property
    def id(self) -> str:
        return f"{self.system_id}/{self.net_tag}/b{self.n_samples}"

    @property
    def net(self) -> tuple[str, dict]:
        """(make_ansatz name, hyper) parsed from net_tag."""
        return parse_net_tag(self.net_tag)


def parse_net_tag(tag: str) -> tuple[str, dict]:
    """'ffnn-a5' -> ('ffnn', {'alpha': 5.0}); 'rescnn-f16-b4' -> ('rescnn', {'nf': 16, 'nb': 4}); 'cnn' -> ('cnn', {})."""
    name, *parts = tag.split("-")
    hyper: dict = {}
    for part in parts:
        if part.startswith("a"):
            hyper["alpha"] = float(part[1:])
        elif part.startswith("f"):
            hyper["nf"] = int(part[1:])
        elif part.startswith("b"):
            hyper["nb"] = int(part[1:])
        else:
            raise ValueError(f"bad net tag {tag!r}")
    return name, hyper


# --------------------------------------------------------------------------------------------------
# Building blocks


@lru_cache(maxsize=16)
def build(case: Case):
    """(system, ansatz, params) of a case; params from PRNG key 0 (float64 FFNN/RBM, float32 CNNs)."""
    system = system_from_id(case.system_id)
    name, hyper = case.net
    ansatz = make_ansatz(name, system, **hyper)
    return system, ansatz, ansatz.init(jax.random.key(0))


@lru_cache(maxsize=16)
def samples(case: Case) -> jax.Array:
    """(n_samples, N) float64 +-1 configurations drawn by the case's own Metropolis sampler (key 1)."""
    system, ansatz, params = build(case)
    n = system.n_spins
    chain = init_chains(ansatz, params, case.n_chains, n, jax.random.key(1))
    _, out, _ = jax.jit(
        lambda p, c: sample(
            ansatz, p, c, jax.random.key(2), case.n_samples // case.n_chains, sweep_size=n, n_discard=10
        )
    )(params, chain)
    return out.reshape(-1, n)


@dataclasses.dataclass(frozen=True)
class Kernel:
    """call() runs the piece once and blocks until done; configurations: spin configurations per call.

    seconds_of: None (the call's wall time is the figure) or a function of call()'s result giving the
    seconds to report (a training step reports `TrainResult.seconds_per_step`, which leaves out the
    chain set-up and the frozen evaluation that `train` does around its steps).
    """

    name: str
    call: Callable[[], object]
    configurations: int
    seconds_of: Callable[[Any], float] | None = None


def blocking(fn, *args) -> Callable[[], object]:
    """A zero-argument call of fn(*args) that blocks until its result is ready."""
    return lambda: jax.block_until_ready(fn(*args))


def sweep_kernel(case: Case) -> Kernel:
    system, ansatz, params = build(case)
    n = system.n_spins
    chain = init_chains(ansatz, params, case.n_chains, n, jax.random.key(1))
    fn = jax.jit(lambda p, c, k: sample(ansatz, p, c, k, case.n_samples // case.n_chains, sweep_size=n)[1])
    return Kernel("sweep", blocking(fn, params, chain, jax.random.key(3)), case.n_samples)


def local_energy_kernel(case: Case, fast: bool) -> Kernel | None:
    """None for the fast path of a net without one (CNN, ResCNN)."""
    system, ansatz, params = build(case)
    if fast and ansatz.single_layer is None:
        return None
    fn = jax.jit(lambda p, s: local_energies(system, ansatz, p, s, fast=fast))
    name = "local_energy_fast" if fast else "local_energy_generic"
    return Kernel(name, blocking(fn, params, samples(case)), case.n_samples)


def sr_direction(ansatz, params, spins, eloc, shift: float = SR_SHIFT, path: str = "auto", solver: str = "cholesky"):
    """The SR-preconditioned gradient (a params pytree) of a dense net, computed by the trainer's own
    estimator (`lthbench.vmc.estimators.MonteCarlo.problem`) and SR transformation (`lthbench.vmc.sr`):
    X (B, P) the centred, 1/sqrt(B)-scaled log-derivatives, y = 2 (E_loc - E) / sqrt(B) (B,),
    direction = (X^T X + shift)^{-1} X^T y.

    path 'auto': the trainer's choice for the solver (Cholesky: single-layer nets with P > B take
    'structured', the structured Gram and X^T v; others 'jacobian', the formed per-sample Jacobian;
    CG: 'khatri-rao' for single-layer nets). solver: 'cholesky' | 'cg' (tolerance 1e-5, cold start).
    """
    b = spins.shape[0]
    st = Static(b, 1, 0.0, "sgd", float(shift), False, spins.shape[1], 0.0, 0, sr_solver=solver)
    est = MonteCarlo(None, ansatz, st)
    kinds = {
        "auto": est.kinds(ravel_pytree(params)[0].shape[0])[0],
        "structured": "structured",
        "jacobian": "dense",
        "khatri-rao": "khatri-rao",
    }
    energy = jnp.mean(eloc)
    measured = Measured(None, energy, jnp.mean((eloc - energy) ** 2), (spins, eloc))
    grad, jacobian = est.problem(kinds[path], params, full_mask(params), measured)
    opt = sr(shift, solver=solver)
    direction, _ = opt.update(grad, opt.init(params), params, jacobian=jacobian)
    return direction


def sr_kernel(case: Case) -> Kernel:
    system, ansatz, params = build(case)
    spins = samples(case)
    eloc = jax.jit(lambda p, s: local_energies(system, ansatz, p, s))(params, spins)
    fn = jax.jit(lambda p, s, e: sr_direction(ansatz, p, s, e))
    return Kernel("sr_step", blocking(fn, params, spins, eloc), case.n_samples)


def random_mask(ansatz, params, density: float, seed: int = 5):
    """A mask (pytree of float arrays like params) keeping each prunable weight with probability `density`
    (numpy RNG `seed`), all non-prunable leaves alive."""
    rng = np.random.default_rng(seed)
    return jax.tree_util.tree_map(
        lambda p, prunable: (rng.random(np.shape(p)) < density if prunable else np.ones(np.shape(p))).astype(p.dtype),
        params,
        prunable_leaves(params, ansatz.is_prunable),
    )


def train_step_kernel(case: Case, exact: bool = False, density: float = 1.0) -> Kernel | None:
    """One `train` step (its wall time excludes burn-in and the frozen evaluation), of the dense net or,
    with density < 1, of the net under `random_mask(density)`. None for exact mode beyond
    EXACT_STEP_MAX_SPINS spins or EXACT_STEP_MAX_PARAMS parameters. call() returns the TrainResult.
    No burn-in: the chains start from random configurations, so the step's energy means nothing (a
    CNN's evaluation can even be non-finite); only its time counts."""
    system, ansatz, params = build(case)
    if exact and (system.n_spins > EXACT_STEP_MAX_SPINS or n_parameters(ansatz) > EXACT_STEP_MAX_PARAMS):
        return None
    cfg = TrainConfig(
        n_steps=1, n_samples=case.n_samples, n_chains=case.n_chains, n_eval_steps=1, n_burn_in=0, exact=exact
    )
    configurations = 2**system.n_spins if exact else case.n_samples
    mask = None if density >= 1.0 else random_mask(ansatz, params, density)
    name = "exact_step" if exact else ("train_step" if mask is None else "train_step_pruned")
    return Kernel(
        name,
        lambda: train(system, ansatz, params, mask, cfg, jax.random.key(4)),
        configurations,
        seconds_of=lambda result: result.seconds_per_step,
    )


def ed_kernel(case: Case) -> Kernel | None:
    """Lanczos ground energy of the case's system (TFIM, N <= ED_MAX_SPINS), else None."""
    system, _, _ = build(case)
    if system.kind != "tfim" or system.n_spins > ED_MAX_SPINS:
        return None
    return Kernel("ed", lambda: ground_energy(system), 2**system.n_spins)


def kernel(case: Case, name: str) -> Kernel | None:
    """The named kernel of a case, or None where it does not apply."""
    makers = {
        "sweep": sweep_kernel,
        "local_energy_fast": lambda c: local_energy_kernel(c, True),
        "local_energy_generic": lambda c: local_energy_kernel(c, False),
        "sr_step": sr_kernel,
        "train_step": train_step_kernel,
        "train_step_pruned": lambda c: train_step_kernel(c, density=PRUNED_DENSITY),
        "exact_step": lambda c: train_step_kernel(c, exact=True),
        "ed": ed_kernel,
    }
    if name not in makers:
        raise ValueError(f"unknown kernel {name!r}; choose from {', '.join(KERNELS)}")
    return makers[name](case)
