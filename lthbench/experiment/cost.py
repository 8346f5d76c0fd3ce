"""What a task costs: training steps of a seed and the calibrated cost model (`estimated_cost`).

The cost model prices every cell at its alive count, calibrated on measured step times
(docs/tasks.md); `lthbench tasks` prints it.
"""

from __future__ import annotations

import math

from ..systems.numbers import format_number
from ..vmc.qgt import alive_cap
from .schedule import dense_weight_count, system_of
from .spec import TaskSpec


def n_spins(task: TaskSpec) -> int:
    return system_of(task.system_id).n_spins


def total_steps(task: TaskSpec, n_rounds: int | None = None, n_controls: int = 3) -> int:
    """Training steps of one seed: dense + rounds x per-round + controls x dense budget, plus every
    cell's evaluation steps. Rounds: up to `task.last_round(n_rounds)` (where the chain ends)."""
    n = task.last_round(n_rounds)
    controls = len(task.control_rounds(n)) * n_controls
    evals = (1 + n + controls) * task.n_eval_steps
    return task.dense_steps * (1 + controls) + task.round_steps * n + evals


# Cost model. One step samples (the Metropolis sampler makes n_per_chain x sweep_size sequential
# proposals, each batched over the chains: a latency no flop rate hides), evaluates log psi (forward +
# backward, ~3 passes of 2 flop per weight) on every configuration it touches plus the off-diagonal
# partners (single-layer nets get them by rank-one updates, about one extra pass per sample; deep nets
# pay one pass per partner; full-sum mode touches all 2^N configurations once), and solves SR:
# - a dense single-layer net with more weights than samples: the structured Gram, 2 B^2 (N + H);
# - otherwise the per-sample Jacobian (2 B P) and a solve over C columns, C = the alive-parameter bucket
#   (`lthbench.vmc.qgt.alive_cap`) or all P: B C^2 + C^3 / 3 in parameter space (C <= B), else
#   2 B^2 C + B^3 / 3 in sample space. So a pruned FFNN step costs more than the dense one until few
#   weights are left (measured: docs/tasks.md).
# An evaluation step samples and evaluates but solves nothing; each compiled program costs
# COMPILE_SECONDS. CPU constants: fitted to measured step times on this 2-core machine (docs/tasks.md:
# command, numbers, load, how far off).
CPU_FLOPS = 1.05e10  # effective flop/s of one process on this 2-core machine
# CPU seconds per sequential Metropolis proposal: single-layer nets update theta by rank one; the
# convolutional nets evaluate the whole net per proposal.
CPU_PROPOSAL_SECONDS = {"single": 1.02e-5, "cnn": 9.25e-5, "rescnn": 9.25e-5}
CELL_OVERHEAD_STEPS = 2  # burn-in, fidelity and bookkeeping of one cell, in training steps
COMPILE_SECONDS = 8.0  # CPU seconds per compiled program (one per SR bucket, one for evaluation)
# GPU column: an assumption, not a measurement (no GPU was available when this was calibrated).
GPU_FLOPS = 1e13
GPU_PROPOSAL_SECONDS = 1e-5


def _flop_parts(task: TaskSpec, n_alive: int | None) -> tuple[float, float]:
    """(forward/backward flop, SR flop) of one training step with n_alive weights alive (None: dense)."""
    system = system_of(task.system_id)
    weights = dense_weight_count(task)
    alive = weights if n_alive is None else int(n_alive)
    single = task.net in ("ffnn", "rbm")
    n_params = weights if single else weights * system.n_spins  # convolutions: each weight at every site
    if task.exact:
        configs = 2.0**system.n_spins
    else:
        configs = task.n_samples * (1 + (1 if single else system.n_flips))
    forward = 6.0 * n_params * configs
    if task.sr_shift is None:
        return forward, 0.0
    cap = alive_cap(alive, weights)
    width = cap or weights
    if task.exact:  # the exact QGT S = J^T diag(p) J over the SR columns
        return forward, configs * width**2
    b = float(task.n_samples)
    if single and alive >= weights and weights > b:
        return forward, 2.0 * b * b * (system.n_spins + weights / system.n_spins)
    jacobian = 2.0 * b * n_params
    solve = b * width**2 + width**3 / 3.0 if width <= b else 2.0 * b * b * width + b**3 / 3.0
    return forward, jacobian + solve


def step_flop(task: TaskSpec, n_alive: int | None = None) -> float:
    """Model flop of one training step of the task's net with n_alive weights alive (None: dense)."""
    return sum(_flop_parts(task, n_alive))


def sequential_proposals(task: TaskSpec) -> int:
    """Metropolis proposals one chain makes per step, one after another (0 in exact mode)."""
    if task.exact:
        return 0
    return (task.n_samples // task.n_chains) * n_spins(task)


def step_seconds(task: TaskSpec, n_alive: int | None = None, *, gpu: bool = False, evaluation: bool = False) -> float:
    """Model seconds of one step (a training step, or with evaluation=True a frozen evaluation step):
    flop / rate + sequential proposals x latency (CPU: calibrated on this 2-core machine; GPU: assumed)."""
    if gpu:
        flops, latency = GPU_FLOPS, GPU_PROPOSAL_SECONDS
    else:
        flops, latency = CPU_FLOPS, CPU_PROPOSAL_SECONDS["single" if task.net in ("ffnn", "rbm") else task.net]
    forward, sr_flop = _flop_parts(task, n_alive)
    return (forward + (0.0 if evaluation else sr_flop)) / flops + sequential_proposals(task) * latency


def _chain_seconds(task: TaskSpec, n_rounds: int | None, n_controls: int, gpu: bool) -> float:
    alive = task.alive_schedule(n_rounds)
    last = len(alive) - 1
    control_rounds = set(task.control_rounds(last))

    def cell(n_steps: int, n_alive: int | None) -> float:
        return (n_steps + CELL_OVERHEAD_STEPS) * step_seconds(
            task, n_alive, gpu=gpu
        ) + task.n_eval_steps * step_seconds(task, n_alive, gpu=gpu, evaluation=True)

    seconds = cell(task.dense_steps, None)
    for r in range(1, last + 1):
        seconds += cell(task.round_steps, alive[r])
        if r in control_rounds:
            seconds += n_controls * cell(task.dense_steps, alive[r])
    return seconds + n_programs(task, n_rounds) * COMPILE_SECONDS


def n_programs(task: TaskSpec, n_rounds: int | None = None) -> int:
    """Programs one seed's chain compiles: one per alive-parameter SR bucket its cells train in
    (`lthbench.vmc.qgt.alive_cap`; 0 = all parameters, the dense net included), plus evaluation."""
    weights = dense_weight_count(task)
    return len({alive_cap(a, weights) for a in task.alive_schedule(n_rounds)}) + 1


def estimated_cost(task: TaskSpec, n_rounds: int | None = None, n_controls: int = 3) -> dict:
    """Cost of one seed with its controls: {'steps', 'flop', 'seconds', 'gpu_seconds', 'last_round',
    'final_alive', 'n_controls', 'dense_weights'}. seconds: this 2-core machine by the calibrated model,
    every round and control at its own alive count; gpu_seconds: the same at the assumed GPU rate."""
    last = task.last_round(n_rounds)
    steps = total_steps(task, n_rounds, n_controls)
    return {
        "steps": steps,
        "flop": step_flop(task) * steps,
        "seconds": _chain_seconds(task, n_rounds, n_controls, gpu=False),
        "gpu_seconds": _chain_seconds(task, n_rounds, n_controls, gpu=True),
        "last_round": last,
        "final_alive": task.alive_schedule(n_rounds)[-1],
        "n_controls": len(task.control_rounds(last)) * n_controls,
        "dense_weights": dense_weight_count(task),
    }


def format_seconds(seconds: float) -> str:
    """'42 s', '12 min', '3.5 h', '2.1 d'."""
    if not math.isfinite(seconds):
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def system_kind(task: TaskSpec) -> str:
    """Short description of the task's system, e.g. 'tfim 10x10 k=3.04438' or 'toric 3x3'."""
    system = system_of(task.system_id)
    if system.kind == "toric":
        L = system.params["L"]
        return f"toric {L}x{L}"
    shape = "x".join(str(n) for n in system.lattice_shape)
    return f"{system.kind} {shape} k={format_number(system.params['kappa'])}"
