"""What a training is asked to do (TrainConfig), what it returns (TrainResult, Evaluation), and the
part of the config that shapes the compiled programs (Static)."""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from ..errors import LthbenchError

SR_SOLVERS = ("cholesky", "cg")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train. Defaults are the paper's (SGD 0.008 + SR 1e-3, 1024 samples, 16 chains).

    SR solver: 'cholesky' (exact solve; parameter or sample space, over the distinct samples) or 'cg'
    (conjugate gradients on the QGT as an operator, NetKet's semantics: stop when
    ||r|| <= cg_tol ||F||, at most cg_maxiter iterations (None: 10 x the system size, as
    `jax.scipy.sparse.linalg.cg`), started from the previous step's solution when cg_warm_start).
    """

    n_steps: int
    n_samples: int = 1024
    n_chains: int = 16
    learning_rate: float = 0.008
    optimizer: str = "sgd"  # 'sgd' | 'adam'
    sr_shift: float | None = 1e-3  # None: plain gradient
    n_eval_steps: int = 10  # frozen-parameter evaluation steps after training
    exact: bool = False  # full sum over 2^N configurations
    sweep_size: int | None = None  # Metropolis proposals per sample (default N)
    n_burn_in: int = 100  # sweeps discarded when the chains start (once per train/evaluate call)
    star_flip_prob: float = 0.0  # probability of a star (multi-site X string) proposal
    n_discard_per_step: int = 0  # sweeps discarded at the start of every step (NetKet's n_discard_per_chain)
    sr_alive_only: bool = True  # SR over the alive parameters only when fewer than samples (see `alive_cap`)
    sr_dedup: bool = True  # Monte Carlo SR over the distinct samples (exact; see `lthbench.vmc.sr`)
    sr_solver: str = "cholesky"  # 'cholesky' | 'cg'
    cg_tol: float = 1e-5  # CG relative residual tolerance (NetKet's default)
    cg_maxiter: int | None = None  # CG iteration cap (None: 10 x the system size)
    cg_warm_start: bool = True  # CG starts from the previous step's solution (NetKet's solver_restart=False)

    def __post_init__(self):
        if self.n_steps < 0:
            raise LthbenchError(f"n_steps must be >= 0, got {self.n_steps}")
        if self.optimizer not in ("sgd", "adam"):
            raise LthbenchError(f"optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if not self.exact:
            if self.n_chains < 1 or self.n_samples < self.n_chains or self.n_samples % self.n_chains:
                raise LthbenchError(
                    f"n_samples ({self.n_samples}) must be a positive multiple of n_chains ({self.n_chains})"
                )
        if not 0.0 <= self.star_flip_prob <= 1.0:
            raise LthbenchError(f"star_flip_prob must be in [0, 1], got {self.star_flip_prob}")
        if self.sr_shift is not None and not self.sr_shift > 0:
            raise LthbenchError(f"sr_shift must be > 0 or None, got {self.sr_shift}")
        if self.sr_solver not in SR_SOLVERS:
            raise LthbenchError(f"sr_solver must be one of {', '.join(SR_SOLVERS)}, got {self.sr_solver!r}")
        if not self.cg_tol > 0:
            raise LthbenchError(f"cg_tol must be > 0, got {self.cg_tol}")
        if self.cg_maxiter is not None and self.cg_maxiter < 1:
            raise LthbenchError(f"cg_maxiter must be >= 1 or None, got {self.cg_maxiter}")

    @property
    def n_per_chain(self) -> int:
        return self.n_samples // self.n_chains


@dataclasses.dataclass
class Evaluation:
    energy: float
    energy_sigma: float
    variance: float
    v_score: float
    m_z: float
    m_x: float
    acceptance: float = float("nan")
    tau: float = float("nan")


@dataclasses.dataclass
class TrainResult:
    params: Any
    energy: float
    energy_sigma: float
    variance: float
    v_score: float
    m_z: float
    m_x: float
    energy_history: np.ndarray
    diverged: bool
    n_steps_done: int
    wall_time: float
    seconds_per_step: float
    samples_per_s: float
    variance_history: np.ndarray | None = None
    evaluation: Evaluation | None = None


class Static(NamedTuple):
    """The part of a TrainConfig that shapes the compiled program (hashable: a cache key)."""

    n_samples: int
    n_chains: int
    learning_rate: float
    optimizer: str
    sr_shift: float | None
    exact: bool
    sweep_size: int
    star_flip_prob: float
    n_discard_per_step: int
    alive_cap: int = 0  # > 0: SR in the space of the (at most alive_cap) alive parameters
    sr_dedup: bool = True
    sr_solver: str = "cholesky"
    cg_tol: float = 1e-5
    cg_maxiter: int | None = None
    cg_warm_start: bool = True


def static_of(system, config: TrainConfig) -> Static:
    """The Static part of `config` for `system` (sweep_size defaults to N)."""
    return Static(
        int(config.n_samples),
        int(config.n_chains),
        float(config.learning_rate),
        config.optimizer,
        None if config.sr_shift is None else float(config.sr_shift),
        bool(config.exact),
        int(config.sweep_size or system.n_spins),
        float(config.star_flip_prob),
        int(config.n_discard_per_step),
        sr_dedup=bool(config.sr_dedup),
        sr_solver=config.sr_solver,
        cg_tol=float(config.cg_tol),
        cg_maxiter=None if config.cg_maxiter is None else int(config.cg_maxiter),
        cg_warm_start=bool(config.cg_warm_start),
    )


def v_score(n_spins, energy, variance):
    """N Var(E_loc) / E^2 (dimensionless), NaN at E = 0."""
    return float(n_spins * variance / energy**2) if energy != 0 else float("nan")
