"""What an experiment is made of: the task spec, the protocol values, and the one set of parsers.

- `TaskSpec`: one standard task (a flat frozen dataclass; its fields are pinned by the task-id hashes
  and the cell fingerprints, so never rename, reorder or re-default one).
- Protocols: 'imp-wr' (IMP, rewind and retrain), 'imp-ct' (IMP, continue training, no rewind) and
  'irp-wr' (random pruning, rewind); `chain_rewind` is the rewind target a protocol really uses.
- Parsers (used by the library, the CLI and the sweep specs alike): rewind targets ('trained',
  'init', 'step:K'), controls ('ticket,reinit' | 'none' | a list), seeds ('0-2', '0,3', '5') and
  method labels '<method>[k=v,...]/<protocol>[/rewind=<target>]'.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..errors import LthbenchError
from ..pruning import method_name, parse_method_spec
from ..pruning.controls import CONTROL_NAMES
from ..vmc import TrainConfig
from .schedule import alive_schedule

IMP_WR = "imp-wr"
IMP_CT = "imp-ct"
IRP_WR = "irp-wr"
PROTOCOLS = (IMP_WR, IMP_CT, IRP_WR)
DEFAULT_CONTROLS = CONTROL_NAMES
REWIND_KINDS = ("trained", "init")  # and 'step:K'


# TaskSpec's fields when the first task ids were pinned (tests/experiment/task_spec_hashes.json) and
# the first cells fingerprinted (lthbench.experiment.identity): both cover these fields always, and a
# field added later only where its value differs from its default, so a new field at a default that
# keeps today's numbers leaves every pinned id and every long run valid.
PINNED_TASK_FIELDS = (
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
    "description",
)


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

        Needs the net's prunable shapes (`schedule.alive_schedule`; cached per spec)."""
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


# --------------------------------------------------------------------------------------------------
# Protocols and rewind targets


def check_protocol(protocol: str) -> str:
    """The protocol, or LthbenchError for an unknown one."""
    if protocol not in PROTOCOLS:
        raise LthbenchError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    return protocol


def parse_rewind(rewind_to: str) -> tuple[str, int | None]:
    """'trained' | 'init' | 'step:K' -> (kind, K or None); LthbenchError otherwise."""
    text = str(rewind_to)
    if text in REWIND_KINDS:
        return text, None
    m = re.fullmatch(r"step:(\d+)", text)
    if m:
        return "step", int(m.group(1))
    raise LthbenchError(f"bad rewind target {text!r}: use trained, init or step:K (K a step number)")


def check_rewind(rewind_to: str) -> str:
    """The rewind target text, checked (`parse_rewind`)."""
    parse_rewind(rewind_to)
    return str(rewind_to)


def chain_rewind(protocol: str, rewind_to: str) -> str:
    """The rewind target a chain of `protocol` uses: imp-ct never rewinds, so its label carries
    'trained' whatever was asked (the one place this rule lives)."""
    return "trained" if protocol == IMP_CT else rewind_to


def check_rewind_step(task: TaskSpec, protocol: str, rewind_to: str) -> None:
    """LthbenchError when a 'step:K' rewind lies outside the task's dense training."""
    kind, step = parse_rewind(chain_rewind(protocol, rewind_to))
    if kind == "step" and not 0 <= int(step or 0) <= task.dense_steps:
        raise LthbenchError(
            f"rewind step:{step} lies outside the dense training of {task.id} (0..{task.dense_steps} steps)"
        )


# --------------------------------------------------------------------------------------------------
# Controls and seeds


def parse_controls(controls: str | Iterable[str]) -> tuple[str, ...]:
    """'ticket,reinit' | 'none' | '' | an iterable of names -> the control names (in order, each
    once); LthbenchError for an unknown one."""
    if isinstance(controls, str):
        if controls.strip().lower() in ("none", ""):
            return ()
        controls = controls.split(",")
    names = tuple(str(c).strip() for c in controls if str(c).strip())
    bad = [c for c in names if c not in CONTROL_NAMES]
    if bad:
        raise LthbenchError(f"unknown control(s) {', '.join(bad)}: choose from {', '.join(CONTROL_NAMES)} or none")
    return tuple(dict.fromkeys(names))


def parse_seeds(text: str) -> list[int]:
    """'0-2' -> [0, 1, 2]; '0,3' -> [0, 3]; '5' -> [5]; combinations like '0-2,7' work too."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise LthbenchError(f"bad --seeds {text!r}: use a range '0-2', a list '0,3' or one seed '5'")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise LthbenchError(f"bad --seeds {text!r}: range {part} is empty")
        seeds.extend(s for s in range(lo, hi + 1) if s not in seeds)
    return seeds


# --------------------------------------------------------------------------------------------------
# Method labels


def effective_method(method, protocol: str):
    """irp-wr prunes at random: it takes method 'random' (or the default 'magnitude', replaced)."""
    if protocol != IRP_WR:
        return method
    if isinstance(method, str) and parse_method_spec(method) in (("magnitude", {}), ("random", {})):
        return "random"
    if not isinstance(method, str) and method_name(method) in ("magnitude", "random"):
        return "random"
    raise LthbenchError(f"protocol 'irp-wr' prunes at random; it cannot use method {method_name(method)!r}")


def method_label(method: str | Callable, protocol: str = IMP_WR, rewind_to: str = "trained") -> str:
    """The results' `method` coordinate: '<method>[k=v,...]/<protocol>[/rewind=<target>]'.

    e.g. 'magnitude/imp-wr/rewind=trained', 'magnitude/imp-ct', 'random/irp-wr/rewind=init',
    'synflow[iterations=20]/imp-wr/rewind=trained',
    'examples.custom_method:LayerBalancedMagnitude/imp-wr/rewind=step:10'. Hyperparameters are sorted
    by name, in canonical text, and left out when equal to their defaults (`methods.method_name`), so a
    spec without them gives exactly the label it always gave.
    """
    check_protocol(protocol)
    parse_rewind(rewind_to)
    name = method_name(effective_method(method, protocol))
    if protocol == IMP_CT:
        return f"{name}/{protocol}"
    return f"{name}/{protocol}/rewind={rewind_to}"
