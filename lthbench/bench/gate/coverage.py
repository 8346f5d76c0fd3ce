"""Coverage by construction: every knob that defines a task and the gate cells whose numbers depend on it.

KNOBS maps each knob to (what it is, fnmatch patterns of the gate cells that depend on it). Knobs are
the fields of `lthbench.experiment.TaskSpec` and `lthbench.vmc.TrainConfig` (tests/bench/test_regression_gate.py
asserts that every field is either here or in EXEMPT with a reason, so a field added later fails that
test until it is covered), plus run settings ('run:...', arguments of run_protocol) and code
paths ('code:...') that no field names. The mutations that prove the table are in
`lthbench.bench.gate.mutations`.
"""

from __future__ import annotations

import dataclasses
import fnmatch

from ...experiment import TaskSpec
from ...vmc import TrainConfig
from .cells import task_of


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
    "id": "names the task; the gate's ids are fixed in lthbench/bench/gate/cells.py (they fold into every cell's keys)",
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
