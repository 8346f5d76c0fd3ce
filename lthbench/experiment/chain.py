"""One IMP chain and its schedule: `Chain.plan()` is the only place that says which cells a chain has,
in what order, and what each needs first.

    round 0        dense training from theta_init (control 'imp', method-independent key)
    round r >= 1   prune the previous round's trained params with the method, then
                     imp-wr / irp-wr: rewind the survivors to the rewind target and retrain
                     imp-ct:          continue from the previous round's trained params (no rewind)
                   for `round_steps` steps;
                   at every `control_every`-th round and the last (`TaskSpec.control_rounds`): each
                   control (ticket, reinit, random-mask) trained in isolation for `dense_steps`.

A chain ends at `task.last_round(n_rounds)` (before a round that would remove no weight). IMP round r
needs round r - 1; the controls of round r need IMP round r. `plan_chains` joins many chains into one
graph: round 0 of a (task, seed) is trained by its first chain and copied by the others (round 0
does not depend on the method: `keys.DENSE`). `run.run_protocol` executes a plan in this process,
`lthbench.sweep` one future per planned node.

Rewind targets (imp-wr and irp-wr only): 'trained' = the dense-trained weights (what the authors'
code does), 'init' = theta_init (classic LTH), 'step:K' = the params after K dense steps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..pruning import check_signature, method_name, resolve_method
from ..results import CellKey
from .identity import chain_identity, fingerprint_of
from .metrics import EXACT_FIDELITY_MAX_SPINS, reference_row
from .spec import DEFAULT_CONTROLS, IMP_WR, TaskSpec, chain_rewind, effective_method, method_label


@dataclass(frozen=True)
class PlannedCell:
    """One node of a plan: the cell, the chain it belongs to, the cells it needs first."""

    key: CellKey
    chain: Chain
    deps: tuple = ()
    also: tuple = ()  # further controls of the same round trained with `key` as one batched node

    @property
    def keys(self) -> tuple:
        return (self.key,) + self.also


@dataclass(frozen=True)
class Chain:
    """One (task, method, protocol, rewind, seed) chain: the arguments of one `run_protocol` call.

    rewind is stored as the chain uses it (`spec.chain_rewind`: imp-ct never rewinds). n_rounds None:
    the task's own. batch_controls True/'vmap'/'map': a round's controls are one planned node.
    """

    task: TaskSpec
    method: str | Callable = "magnitude"
    protocol: str = IMP_WR
    rewind: str = "trained"
    controls: tuple = DEFAULT_CONTROLS
    seed: int = 0
    n_rounds: int | None = None
    batch_controls: bool | str = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "rewind", chain_rewind(self.protocol, self.rewind))
        object.__setattr__(self, "controls", tuple(self.controls))
        object.__setattr__(self, "seed", int(self.seed))

    @property
    def label(self) -> str:
        """The results' method label ('magnitude/imp-wr/rewind=trained')."""
        return method_label(self.method, self.protocol, self.rewind)

    def last_round(self) -> int:
        """The round the chain ends at."""
        return self.task.last_round(self.task.n_rounds if self.n_rounds is None else int(self.n_rounds))

    def key(self, control: str, rnd: int) -> CellKey:
        return CellKey(self.task.id, self.label, control, int(rnd), self.seed)

    def plan(self) -> list[PlannedCell]:
        """Every cell of the chain in run order: IMP round r (needs round r - 1), then the controls of
        round r (each needs IMP round r; one batched node with batch_controls)."""
        last = self.last_round()
        control_rounds = set(self.task.control_rounds(last)) if self.controls else set()
        cells: list[PlannedCell] = []
        for rnd in range(last + 1):
            key = self.key("imp", rnd)
            cells.append(PlannedCell(key, self, (self.key("imp", rnd - 1),) if rnd else ()))
            if rnd not in control_rounds:
                continue
            controls = [self.key(name, rnd) for name in self.controls]
            if self.batch_controls:
                cells.append(PlannedCell(controls[0], self, (key,), tuple(controls[1:])))
            else:
                cells.extend(PlannedCell(c, self, (key,)) for c in controls)
        return cells


def plan_chains(chains: Iterable[Chain]) -> list[PlannedCell]:
    """The plans of many chains as one graph, in a topological order: round 0 of a (task, seed) is
    trained by its first chain; the other chains of that (task, seed) copy it, so their round 0 needs
    the first one. The same cell planned twice (a chain listed twice) is planned once."""
    first_dense: dict[tuple, CellKey] = {}
    seen: set = set()
    out: list[PlannedCell] = []
    for chain in chains:
        for cell in chain.plan():
            if cell.key.control == "imp" and cell.key.round == 0:
                shared = first_dense.setdefault((chain.task.id, chain.seed), cell.key)
                cell = dataclasses.replace(cell, deps=() if shared == cell.key else (shared,))
            if cell.key not in seen:
                seen.add(cell.key)
                out.append(cell)
    return out


def chain_fingerprint(task, method, protocol: str, rewind_to: str, *, compute_reference: bool = True) -> tuple:
    """(resolved method, label, identity, fingerprint) of a chain (see `lthbench.experiment.identity`).

    Resolving imports a user method's module and checks its signature: LthbenchError (one line).
    compute_reference=False never runs exact diagonalisation for a reference missing from the table
    (for checks that must not compute, e.g. `--dry-run`; the fingerprint is then not the run's).
    """
    effective = effective_method(method, protocol)
    resolved = resolve_method(effective)
    check_signature(resolved)
    label = method_label(method, protocol, rewind_to)
    identity = chain_identity(
        task,
        resolved,
        method_name(effective),
        label,
        protocol,
        rewind_to,
        reference_row(task.reference, compute_reference),
        EXACT_FIDELITY_MAX_SPINS,
    )
    return resolved, label, identity, fingerprint_of(identity)
