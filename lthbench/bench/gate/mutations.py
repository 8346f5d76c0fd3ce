"""The mutations that prove the coverage table (`lthbench.bench.gate.coverage.KNOBS`).

MUTATIONS perturb one knob each (x 1.5, a toggle, a swap, a one-line code change injected by a patch
from `lthbench.bench.gate.patches`). `python -m lthbench.regression --mutate all` runs each in a fresh
process against the committed reference, on the gate tasks of its knob's cells, and counts it caught
when the gate exits 1 with a moved value in the knob's cells of every one of those tasks.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable

from ...errors import LthbenchError
from .cells import GATE_TASKS, split_value_name, task_of
from .coverage import FIELDS, KNOBS, matches
from .patches import config_patch, control_patch, dtype_swap_patch, reference_row_patch


@dataclasses.dataclass(frozen=True)
class Mutation:
    """One perturbation of one knob. spec: TaskSpec field -> f(old value) (applied to the knob's gate
    tasks); run: GateTask field -> f(old); config: TrainConfig field -> f(old) (every training call);
    patch: a context-manager factory injecting a code change."""

    name: str
    knob: str
    how: str
    spec: dict = dataclasses.field(default_factory=dict)
    run: dict = dataclasses.field(default_factory=dict)
    config: dict = dataclasses.field(default_factory=dict)
    patch: Callable | None = None

    @property
    def tasks(self) -> tuple:
        return KNOBS[self.knob].tasks


def x(factor: float, integer: bool = False) -> Callable:
    return (lambda v: int(round(v * factor))) if integer else (lambda v: v * factor)


def const(value) -> Callable:
    return lambda _v: value


MUTATIONS = [
    Mutation(
        "system kappa 3.04438 -> 3",
        "system_id",
        "system_id tfim2d-3x3-obc-k3.04438 -> tfim2d-3x3-obc-k3",
        spec={"system_id": const("tfim2d-3x3-obc-k3")},
    ),
    Mutation("net ffnn -> rbm", "net", "net ffnn -> rbm (same alpha)", spec={"net": const("rbm")}),
    Mutation(
        "net_hyper x1.5",
        "net_hyper",
        "alpha x 1.5 (FFNN 1 -> 1.5), ResCNN nf x 1.5 (2 -> 3)",
        spec={
            "net_hyper": lambda h: tuple(
                (k, int(round(v * 1.5)) if k == "nf" else v * 1.5 if k == "alpha" else v) for k, v in h
            )
        },
    ),
    Mutation("dense_steps x1.5", "dense_steps", "dense_steps x 1.5", spec={"dense_steps": x(1.5, True)}),
    Mutation("round_steps x1.5", "round_steps", "round_steps x 1.5", spec={"round_steps": x(1.5, True)}),
    Mutation(
        "n_samples x1.5",
        "n_samples",
        "n_samples x 1.5 (128 -> 192, still a multiple of 16 chains)",
        spec={"n_samples": x(1.5, True)},
    ),
    Mutation(
        "n_chains x2",
        "n_chains",
        "n_chains x 2 (16 -> 32; x 1.5 does not divide 128 samples)",
        spec={"n_chains": x(2, True)},
    ),
    Mutation("learning_rate x1.5", "learning_rate", "learning_rate x 1.5", spec={"learning_rate": x(1.5)}),
    Mutation("sr_shift x1.5", "sr_shift", "sr_shift x 1.5 (1e-3 -> 1.5e-3)", spec={"sr_shift": x(1.5)}),
    Mutation("sr off", "sr_shift", "sr_shift -> None (plain gradient)", spec={"sr_shift": const(None)}),
    Mutation(
        "optimizer swap", "optimizer", "sgd <-> adam", spec={"optimizer": lambda o: "adam" if o == "sgd" else "sgd"}
    ),
    Mutation("exact toggle", "exact", "Monte Carlo -> full sums", spec={"exact": lambda e: not e}),
    Mutation(
        "star_flip_prob x1.5", "star_flip_prob", "star_flip_prob x 1.5 (0.5 -> 0.75)", spec={"star_flip_prob": x(1.5)}
    ),
    Mutation(
        "star flips off",
        "star_flip_prob",
        "star_flip_prob -> 0 (single-spin moves only)",
        spec={"star_flip_prob": const(0.0)},
    ),
    Mutation("n_eval_steps x1.5", "n_eval_steps", "n_eval_steps x 1.5 (10 -> 15)", spec={"n_eval_steps": x(1.5, True)}),
    Mutation(
        "prune_fraction x1.5", "prune_fraction", "prune_fraction x 1.5 (0.5 -> 0.75)", spec={"prune_fraction": x(1.5)}
    ),
    Mutation("n_rounds x1.5", "n_rounds", "n_rounds x 1.5 (2 -> 3)", spec={"n_rounds": x(1.5, True)}),
    Mutation("control_every x2", "control_every", "control_every 1 -> 2", spec={"control_every": x(2, True)}),
    Mutation(
        "scope swap",
        "scope",
        "scope global <-> layer",
        spec={"scope": lambda s: "layer" if s == "global" else "global"},
    ),
    Mutation(
        "exclude toggle",
        "exclude",
        "exclude () -> ('block0_conv2',) (and back)",
        spec={"exclude": lambda e: () if e else ("block0_conv2",)},
    ),
    Mutation(
        "reference_id swap",
        "reference_id",
        "reference_id '' -> tfim2d-3x3-obc-k3 (another row)",
        spec={"reference_id": const("tfim2d-3x3-obc-k3")},
    ),
    Mutation(
        "sweep_size x1.5",
        "sweep_size",
        "sweep_size None (N = 9) -> 14 proposals per sample",
        config={"sweep_size": lambda s: 14 if s is None else int(round(s * 1.5))},
    ),
    Mutation("n_burn_in x1.5", "n_burn_in", "n_burn_in x 1.5 (100 -> 150)", config={"n_burn_in": x(1.5, True)}),
    Mutation(
        "n_discard_per_step toggle",
        "n_discard_per_step",
        "n_discard_per_step 0 -> 1",
        config={"n_discard_per_step": lambda d: 1 if d == 0 else 0},
    ),
    Mutation("method magnitude -> random", "run:method", "method magnitude -> random", run={"method": const("random")}),
    Mutation(
        "protocol imp-wr -> imp-ct", "run:protocol", "protocol imp-wr -> imp-ct", run={"protocol": const("imp-ct")}
    ),
    Mutation(
        "rewind swap",
        "run:rewind_to",
        "rewind trained -> init; step:50 -> step:75",
        run={"rewind_to": lambda r: "init" if r == "trained" else f"step:{int(int(r.split(':')[1]) * 1.5)}"},
    ),
    Mutation(
        "controls drop random-mask",
        "run:controls",
        "controls (ticket, reinit, random-mask) -> (ticket, reinit)",
        run={"controls": lambda c: tuple(n for n in c if n != "random-mask")},
    ),
    Mutation(
        "dtype swap",
        "code:ansatz-dtype",
        "parameters stored as float32 (FFNN) / float64 (ResCNN) (make_ansatz patched)",
        patch=dtype_swap_patch,
    ),
    Mutation(
        "reference row x(1+1e-8)",
        "code:reference-row",
        "reference energy x (1 + 1e-8) (reference_energy patched)",
        patch=reference_row_patch,
    ),
    Mutation(
        "ticket <- reinit",
        "code:control-ticket",
        "the ticket control runs reinit's code",
        patch=lambda: control_patch("ticket", "reinit"),
    ),
    Mutation(
        "reinit <- ticket",
        "code:control-reinit",
        "the reinit control runs ticket's code",
        patch=lambda: control_patch("reinit", "ticket"),
    ),
    Mutation(
        "random-mask <- ticket",
        "code:control-random-mask",
        "the random-mask control runs ticket's code",
        patch=lambda: control_patch("random-mask", "ticket"),
    ),
]
if "sr_solver" in FIELDS:
    MUTATIONS += [
        Mutation(
            "sr_solver swap",
            "sr_solver",
            "sr_solver cholesky <-> cg",
            spec={"sr_solver": lambda s: "cg" if s != "cg" else "cholesky"},
        ),
        Mutation("cg_tol x10", "cg_tol", "cg_tol x 10", spec={"cg_tol": x(10.0)}),
        Mutation("cg_maxiter -> 1", "cg_maxiter", "cg_maxiter -> 1 iteration", spec={"cg_maxiter": const(1)}),
    ]


def mutation(name: str) -> Mutation:
    for m in MUTATIONS:
        if m.name == name:
            return m
    raise LthbenchError(f"unknown mutation {name!r}; `python -m lthbench.regression --list-knobs` lists them")


def mutated_tasks(m: Mutation, tasks=GATE_TASKS) -> list:
    """The gate tasks of m's knob with m's spec and run changes applied (the others are not run)."""
    out = []
    for gt in tasks:
        if gt.name not in m.tasks:
            continue
        spec = dataclasses.replace(gt.spec, **{k: f(getattr(gt.spec, k)) for k, f in m.spec.items()})
        out.append(dataclasses.replace(gt, spec=spec, **{k: f(getattr(gt, k)) for k, f in m.run.items()}))
    return out


def mutation_context(m: Mutation):
    """The code change of m (config and patch parts) as one context manager."""
    stack = contextlib.ExitStack()
    if m.config:
        stack.enter_context(config_patch(m.config))
    if m.patch is not None:
        stack.enter_context(m.patch())
    return stack


def caught(m: Mutation, moved: list[str]) -> bool:
    """True when the moved value / cell names include a cell of m's knob in every task of the knob."""
    cells = {split_value_name(n)[0] if ":" in n else n for n in moved}
    return all(any(task_of(c) == t and matches(c, KNOBS[m.knob].cells) for c in cells) for t in m.tasks)
