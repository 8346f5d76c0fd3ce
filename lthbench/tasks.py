"""The registry of standard tasks: frozen specs with stable string ids.

A task names a system (`lthbench.systems.system_from_id`), an ansatz (`lthbench.nets.make_ansatz`),
the training budgets and the pruning schedule; a results cell is one (task, method, control, round,
seed). Ids are stable: results files refer to them, so never rename or repurpose one (each id is
pinned to `spec_hash` of its spec in tests/task_spec_hashes.json). Families (docs/tasks.md):

- paper scale: the paper's tasks (TFIM 10 x 10 OBC FFNN alpha 1 / 2.5 / 5 at seven fields, size
  scaling L = 4..10 alpha 8, CNN, ResCNN nf 16 nb 4, TC 3 x 3 alpha 4 / 8 / 16 / 32) with its budgets
  and schedules (rounds, controls every 3rd round);
- cpu (`...-cpu`): every figure at a size and budget a 2-core machine affords for 3 seeds;
- small: the same nets on the TFIM 4 x 4 and 5 x 5, where exact diagonalisation gives the reference;
- quick: small budgets, the paper's Monte Carlo settings, a few minutes on 2 CPU cores (`...-quick`).
  (Full-sum SR would form the exact P x P QGT over all 2^N states every step: 2^18 x 2592^2 flop
  for the toric code, hours, not minutes.)

Tasks tagged 'test' (ids starting with 'tiny-') exist for the test suite; they run in seconds and
show no physics.

A chain ends at the first round that would remove no weight (`TaskSpec.last_round`). The cost model
(`estimated_cost`) prices every cell at its alive count, calibrated on measured step times.

Nothing here imports the training code at module load: `TaskSpec.train_config` imports
`lthbench.vmc` when called, and the cost/size helpers import `lthbench.nets` when called.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache

from .errors import LthbenchError
from .systems.numbers import format_number
from .systems.tfim import KAPPA_C_2D

PAPER_FIELDS = (0.1, 1.0, 2.0, KAPPA_C_2D, 4.0, 5.0, 6.0)
PAPER_FFNN_ALPHAS = (1.0, 2.5, 5.0)
SIZE_SCALING_L = tuple(range(4, 11))
TC_ALPHAS = (4.0, 8.0, 16.0, 32.0)


@dataclass(frozen=True)
class TaskSpec:
    """One standard task. See docs/CONTRACTS.md (tasks) for the meaning of every field."""

    id: str
    system_id: str
    net: str
    net_hyper: tuple
    dense_steps: int
    round_steps: int
    n_samples: int = 1024
    n_chains: int = 16
    learning_rate: float = 0.008
    sr_shift: float | None = 1e-3
    optimizer: str = "sgd"
    exact: bool = False
    star_flip_prob: float = 0.0
    n_eval_steps: int = 10
    prune_fraction: float = 0.12
    n_rounds: int = 20
    control_every: int = 5
    scope: str = "layer"
    exclude: tuple = ()
    reference_id: str = ""
    description: str = ""
    sr_solver: str = "cholesky"  # 'cholesky' | 'cg' (see lthbench.vmc.TrainConfig)
    cg_tol: float = 1e-5
    cg_maxiter: int | None = None

    def train_config(self, n_steps: int):
        """The `lthbench.vmc.TrainConfig` for training this task's net for `n_steps` steps."""
        from .vmc import TrainConfig  # lazy: tasks load without the training layer

        fields = {f.name for f in dataclasses.fields(TrainConfig)}
        wanted = {
            "n_steps": int(n_steps),
            "n_samples": self.n_samples,
            "n_chains": self.n_chains,
            "learning_rate": self.learning_rate,
            "sr_shift": self.sr_shift,
            "optimizer": self.optimizer,
            "exact": self.exact,
            "star_flip_prob": self.star_flip_prob,
            "n_eval_steps": self.n_eval_steps,
            "sr_solver": self.sr_solver,
            "cg_tol": self.cg_tol,
            "cg_maxiter": self.cg_maxiter,
        }
        return TrainConfig(**{k: v for k, v in wanted.items() if k in fields})

    @property
    def hyper(self) -> dict:
        """net_hyper as a dict (the keyword arguments of `make_ansatz`)."""
        return dict(self.net_hyper)

    @property
    def reference(self) -> str:
        """The system id whose reference energy this task is scored against."""
        return self.reference_id or self.system_id

    @property
    def is_test(self) -> bool:
        """True for the tiny tasks that exist only for the test suite."""
        return self.id.startswith("tiny-")

    def last_round(self, n_rounds: int | None = None) -> int:
        """The round the chain ends at: n_rounds (default the task's), or earlier, at the last round
        before the first one that would remove no weight (rint(p * alive) == 0 in every layer).

        Needs the net's prunable shapes (imports `lthbench.nets`; cached per spec)."""
        n = self.n_rounds if n_rounds is None else int(n_rounds)
        return len(alive_schedule(self, n)) - 1

    def alive_schedule(self, n_rounds: int | None = None) -> list[int]:
        """Alive prunable weights n at rounds 0..last_round(n_rounds) (round 0: the dense count)."""
        return alive_schedule(self, self.n_rounds if n_rounds is None else int(n_rounds))

    def control_rounds(self, n_rounds: int | None = None) -> list[int]:
        """Rounds that get controls: 0 < r <= last, r % control_every == 0, and the last round
        (last = `last_round(n_rounds)`). control_every == 0: none (a task the paper runs without controls)."""
        if self.control_every <= 0:
            return []
        n = self.last_round(n_rounds)
        rounds = {r for r in range(1, n + 1) if r % self.control_every == 0}
        if n >= 1:
            rounds.add(n)
        return sorted(rounds)

    def to_dict(self) -> dict:
        """Plain JSON-able dict of every field (for provenance)."""
        out = dataclasses.asdict(self)
        out["net_hyper"] = {k: v for k, v in self.net_hyper}
        out["exclude"] = list(self.exclude)
        return out


# Fields every spec hash covers: TaskSpec's fields when the ids were first pinned (tests/
# task_spec_hashes.json), less the description (prose; it changes no number). A field added later
# joins a task's hash only where its value differs from the field's default, so adding a field whose
# default keeps today's numbers (docs/CONTRACTS.md, tasks) leaves every pinned id valid.
SPEC_HASH_FIELDS = (
    "id",
    "system_id",
    "net",
    "net_hyper",
    "dense_steps",
    "round_steps",
    "n_samples",
    "n_chains",
    "learning_rate",
    "sr_shift",
    "optimizer",
    "exact",
    "star_flip_prob",
    "n_eval_steps",
    "prune_fraction",
    "n_rounds",
    "control_every",
    "scope",
    "exclude",
    "reference_id",
)


def canonical_spec(task: TaskSpec) -> str:
    """Canonical JSON of everything in a task's spec that determines its numbers (sorted keys, no spaces)."""
    import json

    full = task.to_dict()
    defaults = {f.name: f.default for f in dataclasses.fields(TaskSpec)}
    keep = {
        k: v
        for k, v in full.items()
        if k in SPEC_HASH_FIELDS or (k != "description" and v != defaults.get(k, dataclasses.MISSING))
    }
    return json.dumps(keep, sort_keys=True, separators=(",", ":"))


def spec_hash(task: TaskSpec) -> str:
    """sha256 (hex) of `canonical_spec(task)`: what pins a task id to its spec."""
    import hashlib

    return hashlib.sha256(canonical_spec(task).encode()).hexdigest()


# --------------------------------------------------------------------------------------------------
# Registry

_REGISTRY: dict[str, TaskSpec] = {}


def register(task: TaskSpec) -> TaskSpec:
    """Add a task to the registry (ids must be unique). Returns the task."""
    if task.id in _REGISTRY and _REGISTRY[task.id] != task:
        raise ValueError(f"task id {task.id!r} registered twice with different specs")
    _REGISTRY[task.id] = task
    return task


def get_task(task_id: str) -> TaskSpec:
    """The task with this id. Raises LthbenchError (one line) for an unknown id."""
    try:
        return _REGISTRY[task_id]
    except KeyError:
        close = [t for t in _REGISTRY if task_id and task_id.split("-")[0] in t][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise LthbenchError(f"unknown task {task_id!r}{hint}; `lthbench tasks` lists them") from None


def list_tasks(*, include_test: bool = True) -> list[TaskSpec]:
    """All registered tasks, in registration order (test-only tiny tasks last)."""
    tasks = list(_REGISTRY.values())
    ordinary = [t for t in tasks if not t.is_test]
    return ordinary + ([t for t in tasks if t.is_test] if include_test else [])


def quick_variant(task_id: str) -> TaskSpec:
    """The `-quick` variant of a task (the task itself when it already is one)."""
    if task_id.endswith("-quick"):
        return get_task(task_id)
    get_task(task_id)
    quick = f"{task_id}-quick"
    if quick not in _REGISTRY:
        raise LthbenchError(f"task {task_id!r} has no quick variant; quick tasks: {', '.join(quick_ids())}")
    return _REGISTRY[quick]


def quick_ids() -> list[str]:
    return [t.id for t in list_tasks(include_test=False) if t.id.endswith("-quick")]


def _hyper_tag(net: str, hyper: dict) -> str:
    if net in ("ffnn", "rbm"):
        return f"{net}-a{format_number(hyper['alpha'])}"
    if net == "rescnn":
        return f"rescnn-f{hyper['nf']}-b{hyper['nb']}"
    return net


def _tfim_task(L: int, kappa: float, net: str, hyper: dict, *, quick: bool = False, suffix: str = "", **kw) -> TaskSpec:
    from .systems.tfim import tfim_id

    system_id = tfim_id((L, L), kappa)
    suffix = "-quick" if quick else suffix
    tid = f"tfim2d-{L}x{L}-k{format_number(kappa)}-{_hyper_tag(net, hyper)}" + suffix
    spec = dict(dense_steps=10_000, round_steps=1_000)
    if net == "cnn":
        spec.update(learning_rate=0.001, prune_fraction=0.05, n_rounds=40, control_every=10)
    if net == "rescnn":
        # one global threshold over the residual-block kernels; the embedding conv is never pruned
        spec.update(scope="global")
    spec.update(kw)
    return TaskSpec(id=tid, system_id=system_id, net=net, net_hyper=tuple(sorted(hyper.items())), **spec)


def _toric_task(L: int, alpha: float, *, quick: bool = False, suffix: str = "", **kw) -> TaskSpec:
    from .systems.toric import toric_id

    tid = f"toric-{L}-ffnn-a{format_number(alpha)}" + ("-quick" if quick else suffix)
    # TC: single-spin Metropolis cannot move between plaquette sectors; star flips help the sampler.
    spec = dict(dense_steps=2_000, round_steps=200, star_flip_prob=0.5)
    spec.update(kw)
    return TaskSpec(id=tid, system_id=toric_id(L), net="ffnn", net_hyper=(("alpha", float(alpha)),), **spec)


# The paper's schedules (issue 12): rounds listed per task, and (last round, alive n there) where the
# chain ends by the stopping rule (`TaskSpec.last_round`); tests check both against the schedule.
PAPER_CONTROL_EVERY = 3
PAPER_FFNN_ROUNDS = {5.0: (65, 65, 12), 2.5: (60, 60, 12), 1.0: (54, 54, 10)}  # alpha: (listed, last, n)
SIZE_SCALING_ROUNDS = {
    4: (51, 48, 4),
    5: (58, 55, 4),
    6: (64, 61, 4),
    7: (69, 66, 4),
    8: (65, 65, 9),
    9: (74, 73, 4),
    10: (74, 74, 7),
}
CNN_ROUNDS = (31, 22, 10)
RESCNN_ROUNDS = (43, 43, 76)
TC_ROUNDS = {4.0: (47, 44, 4), 8.0: (53, 50, 4), 16.0: (58, 55, 4), 32.0: (64, 61, 4)}


def _schedule_note(listed: int, last: int, n_last: int, p: float) -> str:
    """'65 rounds of p 0.12 listed (the paper's count); ends at round 65 (n = 12)', plus why when the
    stopping rule ends the chain before the listed count."""
    note = f"{listed} rounds of p {format_number(p)} listed (the paper's count); ends at round {last} (n = {n_last})"
    if last < listed:
        note += f": round {last + 1} would remove no weight (rint(p n) = 0)"
    return note


def _paper(rounds: tuple, p: float = 0.12) -> dict:
    """n_rounds, control_every and the schedule note of a paper task with rounds (listed, last, n)."""
    listed, last, n_last = rounds
    return dict(n_rounds=listed, control_every=PAPER_CONTROL_EVERY, note=_schedule_note(listed, last, n_last, p))


def _with_note(build, *args, note: str, description: str, **kw) -> TaskSpec:
    return build(*args, description=f"{description}; {note}", **kw)


# The CPU-scale family (issue 12, suffix '-cpu'): each figure at a size and budget a 2-core machine
# affords for 3 seeds (docs/tasks.md: the budget and the cost model's calibration). Same schedule
# shape as the paper (p 0.12, CNN 0.05, to the first round that would remove no weight), ED or DMRG
# references, shorter budgets, controls every 6th round where the paper has controls, none where it has
# none (control_every 0).
CPU_SUFFIX = "-cpu"
CPU_CONTROL_EVERY = 6
CPU_TFIM_STEPS = (2_000, 200)  # (dense, per round); the paper's 10,000 / 1,000
CPU_TC_STEPS = (2_000, 200)  # the paper's own toric-code budget
CPU_RESCNN = {"nf": 4, "nb": 2}  # the paper's nf 16, nb 4
CPU_RESCNN_STEPS = (1_000, 100)  # nf 8 nb 2 at 2,000 / 200 would be ~9.8 h a seed (docs/tasks.md)
# (last round, alive n there) of each CPU task's schedule: where the stopping rule ends it.
CPU_FFNN_ROUNDS = {
    (4, 1.0): (32, 4),
    (4, 2.5): (39, 4),
    (4, 5.0): (44, 4),
    (4, 8.0): (48, 4),
    (5, 5.0): (51, 4),
    (5, 8.0): (55, 4),
    (6, 8.0): (61, 4),
}
CPU_CNN_ROUNDS = (22, 10)
CPU_RESCNN_ROUNDS = (38, 4)
CPU_TC_ROUNDS = {4.0: (44, 4), 8.0: (50, 4), 16.0: (55, 4), 32.0: (61, 4)}


def _cpu(rounds: tuple, p: float, figure: str, cut: str, *, controls: bool, steps: tuple) -> dict:
    """Spec fields and description of a CPU-family task ending at round rounds[0] with n = rounds[1]."""
    last, n_last = rounds
    dense, per_round = steps
    ctl = f"controls every {CPU_CONTROL_EVERY}th round" if controls else "no controls (as the paper)"
    description = (
        f"cpu: {figure}; {dense} dense + {per_round} per round, {ctl}; p {format_number(p)} to round {last} "
        f"(n = {n_last}; round {last + 1} would remove no weight); cut vs the paper: {cut}"
    )
    return dict(
        n_rounds=last,
        control_every=CPU_CONTROL_EVERY if controls else 0,
        dense_steps=dense,
        round_steps=per_round,
        suffix=CPU_SUFFIX,
        description=description,
    )


def _register_cpu_family() -> None:
    kc = KAPPA_C_2D
    tfim_cut = "10 x 10 -> {L} x {L} (ED reference), 10,000 / 1,000 steps -> 2,000 / 200"
    # Fig 1 (IMP-WR and the three controls) on 4 x 4 at kappa_c: FFNN alpha 5 (also Fig 2's alpha 5
    # at kappa_c), CNN, a smaller ResCNN; FFNN alpha 5 on 5 x 5.
    for L in (4, 5):
        register(
            _tfim_task(
                L,
                kc,
                "ffnn",
                {"alpha": 5.0},
                **_cpu(
                    CPU_FFNN_ROUNDS[(L, 5.0)],
                    0.12,
                    "Fig. 1 (and Fig. 2 at kappa_c)" if L == 4 else "Fig. 1 on 5 x 5",
                    tfim_cut.format(L=L) + ", controls every 3rd -> 6th round",
                    controls=True,
                    steps=CPU_TFIM_STEPS,
                ),
            )
        )
    register(
        _tfim_task(
            4,
            kc,
            "cnn",
            {},
            **_cpu(
                CPU_CNN_ROUNDS,
                0.05,
                "Fig. 1 shallow CNN",
                tfim_cut.format(L=4) + ", controls every 3rd -> 6th round",
                controls=True,
                steps=CPU_TFIM_STEPS,
            ),
        )
    )
    register(
        _tfim_task(
            4,
            kc,
            "rescnn",
            dict(CPU_RESCNN),
            **_cpu(
                CPU_RESCNN_ROUNDS,
                0.12,
                "Fig. 1 deep ResCNN (global scope)",
                "10 x 10 -> 4 x 4 (ED reference), nf 16 nb 4 -> nf 4 nb 2, 10,000 / 1,000 steps -> 1,000 / 100, "
                "controls every 3rd -> 6th round",
                controls=True,
                steps=CPU_RESCNN_STEPS,
            ),
        )
    )
    # Fig 2 (regions in absolute n): FFNN alpha 1 / 2.5 / 5 at the seven fields on 4 x 4, no controls.
    for kappa in PAPER_FIELDS:
        for alpha in PAPER_FFNN_ALPHAS:
            if (kappa, alpha) == (kc, 5.0):
                continue  # the Fig. 1 task above
            register(
                _tfim_task(
                    4,
                    kappa,
                    "ffnn",
                    {"alpha": alpha},
                    **_cpu(
                        CPU_FFNN_ROUNDS[(4, alpha)],
                        0.12,
                        "Fig. 2 field and width scan",
                        tfim_cut.format(L=4),
                        controls=False,
                        steps=CPU_TFIM_STEPS,
                    ),
                )
            )
    # Fig 3 (transition, size scaling): FFNN alpha 8 at kappa_c, L = 4, 5, 6, no controls (6 x 6: the
    # DMRG reference of its system id).
    for L in (4, 5, 6):
        cut = tfim_cut.format(L=L).replace("(ED reference)", "(DMRG reference)" if L == 6 else "(ED reference)")
        register(
            _tfim_task(
                L,
                kc,
                "ffnn",
                {"alpha": 8.0},
                **_cpu(
                    CPU_FFNN_ROUNDS[(L, 8.0)],
                    0.12,
                    "Fig. 3 transition and size scaling",
                    cut.replace("10 x 10", "L = 4..10"),
                    controls=False,
                    steps=CPU_TFIM_STEPS,
                ),
            )
        )
    # Fig 4 (toric code 3 x 3) at the paper's budget: alpha 8 with controls (Fig. 4a, 4d), alpha 4 / 16 /
    # 32 IMP only (Fig. 4b).
    for alpha in TC_ALPHAS:
        with_controls = alpha == 8.0
        register(
            _toric_task(
                3,
                alpha,
                **_cpu(
                    CPU_TC_ROUNDS[alpha],
                    0.12,
                    "Fig. 4a/4d (controls, filters)" if with_controls else "Fig. 4b",
                    "controls every 3rd -> 6th round" if with_controls else "none (the paper's budget and size)",
                    controls=with_controls,
                    steps=CPU_TC_STEPS,
                ),
            )
        )


def _build_registry() -> None:
    kc = KAPPA_C_2D
    # Paper scale: TFIM 10 x 10 FFNN at seven fields.
    for kappa in PAPER_FIELDS:
        for alpha in PAPER_FFNN_ALPHAS:
            register(
                _with_note(
                    _tfim_task,
                    10,
                    kappa,
                    "ffnn",
                    {"alpha": alpha},
                    description="paper: FFNN width scan (Fig. 1-3), controls every 3rd round",
                    **_paper(PAPER_FFNN_ROUNDS[alpha]),
                )
            )
    # Size scaling at kappa_c, alpha = 8.
    for L in SIZE_SCALING_L:
        register(
            _with_note(
                _tfim_task,
                L,
                kc,
                "ffnn",
                {"alpha": 8.0},
                description="paper: size scaling at kappa_c, controls every 3rd round",
                **_paper(SIZE_SCALING_ROUNDS[L]),
            )
        )
    register(
        _with_note(
            _tfim_task,
            10,
            kc,
            "cnn",
            {},
            description="paper: shallow CNN (36 weights), lr 0.001, controls every 3rd round",
            **_paper(CNN_ROUNDS, 0.05),
        )
    )
    register(
        _with_note(
            _tfim_task,
            10,
            kc,
            "rescnn",
            {"nf": 16, "nb": 4},
            description="paper: deep ResCNN, global scope, controls every 3rd round",
            **_paper(RESCNN_ROUNDS),
        )
    )
    for alpha in TC_ALPHAS:
        register(
            _with_note(
                _toric_task,
                3,
                alpha,
                description="paper: toric code 3 x 3 (Fig. 4), controls every 3rd round",
                **_paper(TC_ROUNDS[alpha]),
            )
        )
    # ED-backed small variants: the same nets on 4 x 4 and 5 x 5 at kappa_c (4 x 4 alpha 8 and 5 x 5
    # alpha 8 are the size-scaling tasks above).
    for L in (4, 5):
        for alpha in PAPER_FFNN_ALPHAS:
            register(_tfim_task(L, kc, "ffnn", {"alpha": alpha}, description="small: ED reference"))
        register(_tfim_task(L, kc, "cnn", {}, description="small: ED reference"))
        register(_tfim_task(L, kc, "rescnn", {"nf": 16, "nb": 4}, description="small: ED reference"))
    _register_cpu_family()
    # Quick variants: full-sum training (no sampling noise), small budgets, a few minutes on 2 cores.
    register(
        _toric_task(
            3,
            8.0,
            quick=True,
            dense_steps=600,
            round_steps=200,
            prune_fraction=0.2,
            n_rounds=20,
            control_every=10,
            n_eval_steps=30,
            description="quick: TC 3 x 3 alpha 8, Monte Carlo (paper sampler), p 0.2 (minutes on 2 cores)",
        )
    )
    register(
        _tfim_task(
            4,
            kc,
            "ffnn",
            {"alpha": 2.5},
            quick=True,
            dense_steps=600,
            round_steps=100,
            prune_fraction=0.3,
            n_rounds=12,
            control_every=4,
            n_eval_steps=50,
            description="quick: TFIM 4 x 4 alpha 2.5 at kappa_c, Monte Carlo, p 0.3",
        )
    )
    # Test-only tiny tasks (seconds; no physics).
    register(
        TaskSpec(
            id="tiny-tfim-3x3",
            system_id="tfim2d-3x3-obc-k3.04438",
            net="ffnn",
            net_hyper=(("alpha", 1.0),),
            dense_steps=20,
            round_steps=5,
            exact=True,
            n_eval_steps=1,
            prune_fraction=0.3,
            n_rounds=3,
            control_every=2,
            description="test only: tiny exact-mode task for the test suite",
        )
    )
    register(
        TaskSpec(
            id="tiny-toric-2",
            system_id="toric-2",
            net="ffnn",
            net_hyper=(("alpha", 1.0),),
            dense_steps=20,
            round_steps=5,
            exact=True,
            n_eval_steps=1,
            prune_fraction=0.3,
            n_rounds=3,
            control_every=2,
            description="test only: tiny exact-mode toric code",
        )
    )


_build_registry()


# --------------------------------------------------------------------------------------------------
# Sizes and costs (no training)


@cache
def _system(system_id: str):
    from .systems import system_from_id

    return system_from_id(system_id)


@cache
def _prunable_sizes(system_id: str, net: str, net_hyper: tuple, exclude: tuple) -> tuple[int, ...]:
    import jax
    import numpy as np

    from .masks import path_name
    from .nets import make_ansatz

    ansatz = make_ansatz(net, _system(system_id), **dict(net_hyper))
    shapes = jax.eval_shape(ansatz.init, jax.random.PRNGKey(0))
    sizes = []
    for path, leaf in jax.tree_util.tree_flatten_with_path(shapes)[0]:
        name = path_name(path)
        if ansatz.is_prunable(name, leaf) and not any(ex in name for ex in exclude):
            sizes.append(int(np.prod(leaf.shape)))
    return tuple(sizes)


def prunable_sizes(task: TaskSpec) -> tuple[int, ...]:
    """Weights of each prunable leaf of the dense net (pytree flattening order), from the ansatz's
    init shapes (`jax.eval_shape`; no training)."""
    return _prunable_sizes(task.system_id, task.net, task.net_hyper, tuple(task.exclude))


def dense_weight_count(task: TaskSpec) -> int:
    """Number of prunable weights of the dense net."""
    return sum(prunable_sizes(task))


def schedule_counts(sizes: tuple[int, ...], fraction: float, scope: str, n_rounds: int) -> list[int]:
    """Alive weights (total) after rounds 0..R of the paper's rule: each round removes
    rint(fraction * alive) weights per layer (scope 'layer') or of the total ('global'), as
    `lthbench.pruning.removal_counts` does. R = n_rounds, or the last round before the first one
    that would remove nothing (the chain ends there). Pure; sizes: weights per prunable leaf."""
    alive = [int(n) for n in sizes]
    out = [sum(alive)]
    for _ in range(int(n_rounds)):
        if scope == "global":
            k = int(round_half_even(fraction * sum(alive)))
            removed = [k]
            alive = [sum(alive) - k]
        else:
            removed = [int(round_half_even(fraction * a)) for a in alive]
            alive = [a - k for a, k in zip(alive, removed)]
        if sum(removed) == 0:
            break
        out.append(sum(alive))
    return out


def round_half_even(x: float) -> float:
    """numpy's rint (round half to even), which `removal_counts` uses."""
    import numpy as np

    return float(np.rint(x))


def alive_schedule(task: TaskSpec, n_rounds: int) -> list[int]:
    """`schedule_counts` of a task: alive weights at rounds 0..task.last_round(n_rounds)."""
    return list(_schedule(prunable_sizes(task), float(task.prune_fraction), task.scope, int(n_rounds)))


@cache
def _schedule(sizes: tuple, fraction: float, scope: str, n_rounds: int) -> tuple[int, ...]:
    return tuple(schedule_counts(sizes, fraction, scope, n_rounds))


def n_spins(task: TaskSpec) -> int:
    return _system(task.system_id).n_spins


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
    system = _system(task.system_id)
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
    from .vmc.qgt import alive_cap  # lazy: the training layer only for the SR bucket sizes

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

    def cell(n_steps: int, n_alive: int) -> float:
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
    from .vmc.qgt import alive_cap  # lazy: the training layer only for the SR bucket sizes

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
    system = _system(task.system_id)
    if system.kind == "toric":
        L = system.params["L"]
        return f"toric {L}x{L}"
    shape = "x".join(str(n) for n in system.lattice_shape)
    return f"{system.kind} {shape} k={format_number(system.params['kappa'])}"
