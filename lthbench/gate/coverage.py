"""Coverage by construction: every knob that defines a task, the gate cells whose numbers depend on
it, and the mutations that prove it.

KNOBS maps each knob to (what it is, fnmatch patterns of the gate cells that depend on it). Knobs are
the fields of `lthbench.experiment.TaskSpec` and `lthbench.vmc.TrainConfig` (tests/test_regression_gate.py
asserts that every field is either here or in EXEMPT with a reason, so a field added later fails that
test until it is covered), plus run settings ('run:...', arguments of run_protocol) and code
paths ('code:...') that no field names.

MUTATIONS perturb one knob each (x 1.5, a toggle, a swap, a one-line code change injected by a patch).
`python -m lthbench.regression --mutate all` runs each in a fresh process against the committed
reference, on the gate tasks of its knob's cells, and counts it caught when the gate exits 1 with a
moved value in the knob's cells of every one of those tasks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
from collections.abc import Callable

import jax
import jax.numpy as jnp

from ..experiment import TaskSpec
from ..vmc import TrainConfig
from .cells import GATE_TASKS, task_of


@dataclasses.dataclass(frozen=True)
class Knob:
    what: str
    cells: tuple  # fnmatch patterns of cell names ('<task>/<control>@r<round>')

    @property
    def tasks(self) -> tuple:
        return tuple(dict.fromkeys(task_of(p) for p in self.cells))


ALL_EXACT_TFIM = ("tfim3x3-exact/*",)
MC_TFIM = ("tfim3x3-mc/*",)

KNOBS = {
    # TaskSpec fields
    "system_id": Knob("the Hamiltonian (and, reference_id being empty, its reference row)", ALL_EXACT_TFIM),
    "net": Knob("the ansatz", ALL_EXACT_TFIM),
    "net_hyper": Knob(
        "the ansatz's hyperparameters (width alpha, ResCNN filters)", ALL_EXACT_TFIM + ("tfim3x3-rescnn/*",)
    ),
    "dense_steps": Knob("dense training budget (also each control's)", ALL_EXACT_TFIM),
    "round_steps": Knob("per-round retraining budget", ("tfim3x3-exact/imp@r[12]",)),
    "n_samples": Knob("Monte Carlo samples per step", MC_TFIM),
    "n_chains": Knob("Markov chains", MC_TFIM),
    "learning_rate": Knob("learning rate", ALL_EXACT_TFIM + MC_TFIM),
    "sr_shift": Knob("SR diagonal shift (None: plain gradient)", ALL_EXACT_TFIM + MC_TFIM),
    "optimizer": Knob("base optimiser sgd | adam", ALL_EXACT_TFIM + ("toric2-exact/*",)),
    "exact": Knob("full sums instead of Monte Carlo", MC_TFIM),
    "star_flip_prob": Knob("probability of a star-flip proposal (toric code sampler)", ("toric2-mc/*",)),
    "n_eval_steps": Knob("frozen-parameter evaluation steps", MC_TFIM + ("toric2-mc/*",)),
    "prune_fraction": Knob("fraction of alive weights removed per round", ("tfim3x3-exact/imp@r[12]",)),
    "n_rounds": Knob("number of pruning rounds", ALL_EXACT_TFIM),
    "control_every": Knob("rounds that get controls", ("toric2-exact/ticket@*",)),
    "scope": Knob("pruning scope layer | global", ("tfim3x3-rescnn-p32/imp@r1",)),
    "exclude": Knob("parameter names never pruned", ("tfim3x3-rescnn/imp@r1",)),
    "reference_id": Knob("the reference row the error is scored against", ALL_EXACT_TFIM),
    # TrainConfig fields that TaskSpec does not set (their defaults are part of every task)
    "sweep_size": Knob("Metropolis proposals per sample (default N)", MC_TFIM),
    "n_burn_in": Knob("sweeps discarded when the chains start", MC_TFIM),
    "n_discard_per_step": Knob("sweeps discarded at the start of every step", MC_TFIM),
    # run settings (arguments of run_protocol)
    "run:method": Knob("pruning method", ("tfim3x3-exact/imp@r[12]",)),
    "run:protocol": Knob("protocol imp-wr | imp-ct | irp-wr", ("tfim3x3-exact/imp@r2",)),
    "run:rewind_to": Knob(
        "rewind target trained | init | step:K", ("tfim3x3-exact/imp@r[12]", "toric2-exact/imp@r[12]")
    ),
    "run:controls": Knob("which controls are trained", ("tfim3x3-exact/*@r2",)),
    # code paths no field names
    "code:ansatz-dtype": Knob(
        "the ansatz's parameter dtype (FFNN float64, ResCNN float32)", ALL_EXACT_TFIM + ("tfim3x3-rescnn/*",)
    ),
    "code:reference-row": Knob("the reference row's energy value", ALL_EXACT_TFIM),
    "code:control-ticket": Knob("the ticket control (trained mask, init weights)", ("tfim3x3-exact/ticket@r2",)),
    "code:control-reinit": Knob("the reinit control (trained mask, fresh init)", ("tfim3x3-exact/reinit@r2",)),
    "code:control-random-mask": Knob("the random-mask control", ("tfim3x3-exact/random-mask@r2",)),
}

EXEMPT = {
    "id": "names the task; the gate's ids are fixed in lthbench/gate/cells.py (they fold into every cell's keys)",
    "description": "free text, no number depends on it",
    "n_steps": "TrainConfig.n_steps is set from dense_steps / round_steps, both covered",
    "sr_alive_only": "implementation switch with the same mathematics (SR over the alive parameters: exact "
    "algebra, tested equal in tests/); not part of a task's definition",
    "cg_warm_start": "a TrainConfig switch that TaskSpec does not carry (every task runs CG with its default); "
    "a change of that default moves the CG cells (tfim3x3-mc-cg/*)",
    "sr_dedup": "implementation switch with the same mathematics (SR over distinct samples: exact algebra, "
    "tested equal in tests/); not part of a task's definition",
}

# Fields vmccore may add to TaskSpec / TrainConfig (coord.md item 5). Covered here as soon as they exist.
SOLVER_FIELDS = ("sr_solver", "cg_tol", "cg_maxiter")
FIELDS = tuple(f.name for f in dataclasses.fields(TaskSpec)) + tuple(
    f.name for f in dataclasses.fields(TrainConfig) if f.name not in {g.name for g in dataclasses.fields(TaskSpec)}
)
if "sr_solver" in FIELDS:
    KNOBS["sr_solver"] = Knob("SR linear solver", MC_TFIM)
    KNOBS["cg_tol"] = Knob("CG tolerance (the gate's CG cells)", ("tfim3x3-mc-cg/*",))
    KNOBS["cg_maxiter"] = Knob("CG iteration cap (the gate's CG cells)", ("tfim3x3-mc-cg/*",))


def cells_of(knob: str) -> tuple:
    return KNOBS[knob].cells


def matches(cell: str, patterns) -> bool:
    return any(fnmatch.fnmatchcase(cell, p) for p in patterns)


# --------------------------------------------------------------------------------------------------
# Mutations


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


@contextlib.contextmanager
def replaced(obj, name: str, value):
    """obj.name = value inside the block (restored after)."""
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


def config_patch(changes: dict):
    """Every TaskSpec.train_config result with TrainConfig fields changed by `changes` (field -> f(old))."""
    original = TaskSpec.train_config

    def train_config(self, n_steps):
        cfg = original(self, n_steps)
        return dataclasses.replace(cfg, **{k: f(getattr(cfg, k)) for k, f in changes.items()})

    return replaced(TaskSpec, "train_config", train_config)


def dtype_swap_patch():
    """make_ansatz returns the same net with its parameters stored in the other float dtype (float64 <->
    float32): init casts them, log_psi casts them back to the net's own dtype (a conv needs one dtype), so
    the parameters, gradients and SR updates are rounded to the other precision."""
    from .. import nets

    original = nets.make_ansatz

    def make_ansatz(name, system, **hyper):
        a = original(name, system, **hyper)
        own = jnp.dtype(a.dtype)
        new = jnp.float32 if own == jnp.float64 else jnp.float64
        init, log_psi = a.init, a.log_psi

        def cast(params, dtype):
            return jax.tree_util.tree_map(lambda p: p.astype(dtype), params)

        return dataclasses.replace(
            a,
            dtype=new,
            init=lambda key: cast(init(key), new),
            log_psi=lambda params, spins: log_psi(cast(params, own), spins),
        )

    return replaced(nets, "make_ansatz", make_ansatz)


def reference_row_patch(rel: float = 1e-8):
    """reference_energy returns every row's energy scaled by (1 + rel)."""
    from .. import exact

    original = exact.reference_energy

    def reference_energy(system_id, *args, **kwargs):
        ref = original(system_id, *args, **kwargs)
        return dataclasses.replace(ref, energy=ref.energy * (1.0 + rel))

    return replaced(exact, "reference_energy", reference_energy)


def control_patch(target: str, source: str):
    """Control `target` runs control `source`'s function."""
    from ..experiment import cells

    original = cells.make_controls

    def make_controls(ansatz, prunable):
        controls = dict(original(ansatz, prunable))
        controls[target] = controls[source]
        return controls

    return replaced(cells, "make_controls", make_controls)


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
    from ..errors import LthbenchError

    for m in MUTATIONS:
        if m.name == name:
            return m
    raise LthbenchError(f"unknown mutation {name!r}; `python -m lthbench.regression --list-mutations` lists them")


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
    from .cells import split_value_name

    cells = {split_value_name(n)[0] if ":" in n else n for n in moved}
    return all(any(task_of(c) == t and matches(c, KNOBS[m.knob].cells) for c in cells) for t in m.tasks)
