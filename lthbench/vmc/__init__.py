"""Variational Monte Carlo: Metropolis sampling or full sums, local energies, SR, the training loop.

Public API (see docs/CONTRACTS.md):
  TrainConfig, TrainResult, Evaluation,
  train(system, ansatz, params, mask, config, key, *, progress=False) -> TrainResult
  evaluate(system, ansatz, params, config, key) -> Evaluation
  fidelity(system, ansatz, params_a, params_b, config, key) -> float
  ground_space_weight(system, ansatz, params, ground_vectors) -> float
  exact_vector(system, ansatz, params) -> np.ndarray (normalised psi in basis-code order)
  energy_gradient(system, ansatz, params, mask, config, key) -> (energy, grad pytree)
"""

from .sr import sr
from .train import (
    Evaluation,
    TrainConfig,
    TrainResult,
    energy_gradient,
    evaluate,
    exact_vector,
    fidelity,
    ground_space_weight,
    train,
)

__all__ = [
    "Evaluation",
    "TrainConfig",
    "TrainResult",
    "energy_gradient",
    "evaluate",
    "exact_vector",
    "fidelity",
    "ground_space_weight",
    "sr",
    "train",
]
