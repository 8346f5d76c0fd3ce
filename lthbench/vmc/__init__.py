"""Variational Monte Carlo: Metropolis sampling or full sums, local energies, SR, the training loop.

Public API (see docs/CONTRACTS.md):
  TrainConfig, TrainResult, Evaluation,
  train(system, ansatz, params, mask, config, key, *, progress=False) -> TrainResult
  evaluate(system, ansatz, params, config, key) -> Evaluation
  fidelity(system, ansatz, params_a, params_b, config, key) -> float
  ground_space_weight(system, ansatz, params, ground_vectors) -> float
  exact_vector(system, ansatz, params) -> np.ndarray (normalised psi in basis-code order)
  energy_gradient(system, ansatz, params, mask, config, key) -> (energy, grad pytree)
  precompile_steps(system, ansatz, params, masks, config, key) -> int (train's step programs, ahead)
  sr(shift, solver=...), keep_pruned(): optax transformations (`lthbench.vmc.sr`)

Modules: config (TrainConfig, results), sampler (Metropolis moves), estimate (local energies, chain
statistics), exact_sum (full sums), qgt (the log-derivative matrix as an operator), cholesky and sr
(SR solves, the optax transformation), estimators (the estimate half of a step), step (one step and
its lax.scan loop), programs (compiled, cached), driver (the host loop), trainer (`train`), batched,
sharding, observables.
"""

from importlib import import_module
from typing import TYPE_CHECKING

from .config import Evaluation, TrainConfig, TrainResult
from .sr import keep_pruned, sr

if TYPE_CHECKING:  # for readers and type checkers; at run time these load on first use (below)
    from .observables import evaluate, exact_vector, fidelity, ground_space_weight
    from .trainer import energy_gradient, precompile_steps, train

# The trainer is loaded on first use (PEP 562), so that `import lthbench.vmc.sr` (the optax
# transformation) and `lthbench.vmc.config` do not load it.
_LAZY = {
    "evaluate": "observables",
    "exact_vector": "observables",
    "fidelity": "observables",
    "ground_space_weight": "observables",
    "energy_gradient": "trainer",
    "precompile_steps": "trainer",
    "train": "trainer",
}


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Evaluation",
    "TrainConfig",
    "TrainResult",
    "energy_gradient",
    "evaluate",
    "exact_vector",
    "fidelity",
    "ground_space_weight",
    "keep_pruned",
    "precompile_steps",
    "sr",
    "train",
]
