"""The registry of standard tasks: frozen specs with stable string ids.

A task names a system (`lthbench.systems.system_from_id`), an ansatz (`lthbench.nets.make_ansatz`),
the training budgets and the pruning schedule; a results cell is one (task, method, control, round,
seed). Ids are stable: results files refer to them, so never rename or repurpose one. Three families:

- paper scale: the paper's tasks (TFIM 10 x 10 OBC FFNN alpha 1 / 2.5 / 5 at seven fields, size
  scaling L = 4..10 alpha 8, CNN, ResCNN nf 16 nb 4, TC 3 x 3 alpha 4 / 8 / 16 / 32) with its budgets;
- small: the same nets on the TFIM 4 x 4 and 5 x 5, where exact diagonalisation gives the reference;
- quick: small budgets, the paper's Monte Carlo settings, a few minutes on 2 CPU cores (`...-quick`).
  (Full-sum SR would form the exact P x P QGT over all 2^N states every step: 2^18 x 2592^2 flop
  for the toric code, hours, not minutes.)

Tasks tagged 'test' (ids starting with 'tiny-') exist for the test suite; they run in seconds and
show no physics.

Nothing here imports the training code at module load: `TaskSpec.train_config` imports
`lthbench.vmc` when called, and the cost/size helpers import `lthbench.nets` when called.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache

from .errors import LthbenchError
from .systems.ids import format_number
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

    def control_rounds(self, n_rounds: int | None = None) -> list[int]:
        """Rounds that get controls: 0 < r, r % control_every == 0, and the last round."""
        n = self.n_rounds if n_rounds is None else int(n_rounds)
        rounds = {r for r in range(1, n + 1) if self.control_every > 0 and r % self.control_every == 0}
        if n >= 1:
            rounds.add(n)
        return sorted(rounds)

    def to_dict(self) -> dict:
        """Plain JSON-able dict of every field (for provenance)."""
        out = dataclasses.asdict(self)
        out["net_hyper"] = {k: v for k, v in self.net_hyper}
        out["exclude"] = list(self.exclude)
        return out


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


def _tfim_task(L: int, kappa: float, net: str, hyper: dict, *, quick: bool = False, **kw) -> TaskSpec:
    from .systems.tfim import tfim_id

    system_id = tfim_id((L, L), kappa)
    tid = f"tfim2d-{L}x{L}-k{format_number(kappa)}-{_hyper_tag(net, hyper)}" + ("-quick" if quick else "")
    spec = dict(dense_steps=10_000, round_steps=1_000)
    if net == "cnn":
        spec.update(learning_rate=0.001, prune_fraction=0.05, n_rounds=40, control_every=10)
    if net == "rescnn":
        # one global threshold over the residual-block kernels; the embedding conv is never pruned
        spec.update(scope="global")
    spec.update(kw)
    return TaskSpec(id=tid, system_id=system_id, net=net, net_hyper=tuple(sorted(hyper.items())), **spec)


def _toric_task(L: int, alpha: float, *, quick: bool = False, **kw) -> TaskSpec:
    from .systems.toric import toric_id

    tid = f"toric-{L}-ffnn-a{format_number(alpha)}" + ("-quick" if quick else "")
    # TC: single-spin Metropolis cannot move between plaquette sectors; star flips help the sampler.
    spec = dict(dense_steps=2_000, round_steps=200, star_flip_prob=0.5)
    spec.update(kw)
    return TaskSpec(id=tid, system_id=toric_id(L), net="ffnn", net_hyper=(("alpha", float(alpha)),), **spec)


def _build_registry() -> None:
    kc = KAPPA_C_2D
    # Paper scale: TFIM 10 x 10 FFNN at seven fields.
    for kappa in PAPER_FIELDS:
        for alpha in PAPER_FFNN_ALPHAS:
            register(_tfim_task(10, kappa, "ffnn", {"alpha": alpha}, description="paper: FFNN width scan (Fig. 1-3)"))
    # Size scaling at kappa_c, alpha = 8.
    for L in SIZE_SCALING_L:
        register(_tfim_task(L, kc, "ffnn", {"alpha": 8.0}, description="paper: size scaling at kappa_c"))
    register(_tfim_task(10, kc, "cnn", {}, description="paper: shallow CNN (36 weights), lr 0.001, p 0.05"))
    register(_tfim_task(10, kc, "rescnn", {"nf": 16, "nb": 4}, description="paper: deep ResCNN, global scope"))
    for alpha in TC_ALPHAS:
        register(_toric_task(3, alpha, description="paper: toric code 3 x 3 (Fig. 4)"))
    # ED-backed small variants: the same nets on 4 x 4 and 5 x 5 at kappa_c (4 x 4 alpha 8 and 5 x 5
    # alpha 8 are the size-scaling tasks above).
    for L in (4, 5):
        for alpha in PAPER_FFNN_ALPHAS:
            register(_tfim_task(L, kc, "ffnn", {"alpha": alpha}, description="small: ED reference"))
        register(_tfim_task(L, kc, "cnn", {}, description="small: ED reference"))
        register(_tfim_task(L, kc, "rescnn", {"nf": 16, "nb": 4}, description="small: ED reference"))
    # Quick variants: full-sum training (no sampling noise), small budgets, a few minutes on 2 cores.
    register(
        _toric_task(
            3, 8.0, quick=True, dense_steps=600, round_steps=200, prune_fraction=0.2,
            n_rounds=20, control_every=10, n_eval_steps=30,
            description="quick: TC 3 x 3 alpha 8, Monte Carlo (paper sampler), p 0.2 (minutes on 2 cores)",
        )
    )
    register(
        _tfim_task(
            4, kc, "ffnn", {"alpha": 2.5}, quick=True, dense_steps=600, round_steps=100,
            prune_fraction=0.3, n_rounds=12, control_every=4, n_eval_steps=50,
            description="quick: TFIM 4 x 4 alpha 2.5 at kappa_c, Monte Carlo, p 0.3",
        )
    )
    # Test-only tiny tasks (seconds; no physics).
    register(
        TaskSpec(
            id="tiny-tfim-3x3", system_id="tfim2d-3x3-obc-k3.04438", net="ffnn", net_hyper=(("alpha", 1.0),),
            dense_steps=20, round_steps=5, exact=True, n_eval_steps=1, prune_fraction=0.3, n_rounds=3,
            control_every=2, description="test only: tiny exact-mode task for the test suite",
        )
    )
    register(
        TaskSpec(
            id="tiny-toric-2", system_id="toric-2", net="ffnn", net_hyper=(("alpha", 1.0),),
            dense_steps=20, round_steps=5, exact=True, n_eval_steps=1, prune_fraction=0.3, n_rounds=3,
            control_every=2, description="test only: tiny exact-mode toric code",
        )
    )


_build_registry()


# --------------------------------------------------------------------------------------------------
# Sizes and costs (no training)


@lru_cache(maxsize=None)
def _system(system_id: str):
    from .systems import system_from_id

    return system_from_id(system_id)


@lru_cache(maxsize=None)
def dense_weight_count(task: TaskSpec) -> int:
    """Number of prunable weights of the dense net, from the ansatz's init shapes (`jax.eval_shape`)."""
    import jax
    import numpy as np

    from .nets import make_ansatz

    ansatz = make_ansatz(task.net, _system(task.system_id), **task.hyper)
    shapes = jax.eval_shape(ansatz.init, jax.random.PRNGKey(0))
    total = 0
    for path, leaf in jax.tree_util.tree_flatten_with_path(shapes)[0]:
        from .masks import path_name

        name = path_name(path)
        if ansatz.is_prunable(name, leaf) and not any(ex in name for ex in task.exclude):
            total += int(np.prod(leaf.shape))
    return total


def n_spins(task: TaskSpec) -> int:
    return _system(task.system_id).n_spins


def total_steps(task: TaskSpec, n_rounds: int | None = None, n_controls: int = 3) -> int:
    """Training steps of one seed: dense + rounds x per-round + controls x dense budget."""
    n = task.n_rounds if n_rounds is None else int(n_rounds)
    controls = len(task.control_rounds(n)) * n_controls
    evals = (1 + n + controls) * task.n_eval_steps
    return task.dense_steps * (1 + controls) + task.round_steps * n + evals


# Cost model: one step evaluates log psi (forward + backward, ~3 passes of 2 flop per weight) on
# every configuration it touches, plus the off-diagonal partners for the local energy. Single-layer
# nets get the connected amplitudes by rank-one updates (about one extra pass per sample); deep nets
# pay one pass per partner. Full-sum mode touches all 2^N configurations once (partners are gathers).
FLOPS_PER_SECOND_2_CORES = 2e10


def estimated_cost(task: TaskSpec, n_rounds: int | None = None, n_controls: int = 3) -> dict:
    """Rough cost of one seed: {'steps', 'flop', 'seconds'} (seconds at ~2e10 flop/s, 2 CPU cores)."""
    system = _system(task.system_id)
    weights = dense_weight_count(task)
    if task.net in ("ffnn", "rbm"):
        n_params = weights
    else:  # convolutions: each weight is used at every site
        n_params = weights * system.n_spins
    if task.exact:
        configs = 2.0 ** system.n_spins
    else:
        partners = 1 if task.net in ("ffnn", "rbm") else system.n_flips
        configs = task.n_samples * (1 + partners)
    flop_per_step = 6.0 * n_params * configs
    if task.sr_shift is not None:
        if task.exact:  # the exact QGT S = J^T diag(p) J: 2^N x P^2 (symmetric half)
            flop_per_step += configs * weights**2
        else:  # sample-space SR: n_samples^2 x P
            flop_per_step += 2.0 * task.n_samples**2 * weights
    steps = total_steps(task, n_rounds, n_controls)
    flop = flop_per_step * steps
    return {"steps": steps, "flop": flop, "seconds": flop / FLOPS_PER_SECOND_2_CORES}


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
