"""The gate's tasks and the numbers it tracks.

A gate task is a TaskSpec of its own (id 'gate-<name>', never registered as a standard task) run
through the public protocol (`lthbench.experiment.run_protocol`) with a fixed method, protocol, rewind
target, controls and seeds. Every results record of the run gives tracked values, one per quantity
of QUANTITIES, named

    '<task>/<control>@r<round>/s<seed>:<quantity>'     e.g. 'tfim3x3-exact/ticket@r2/s0:energy'

and the cell (without seed and quantity) 'tfim3x3-exact/ticket@r2'. Energies are in the
Hamiltonian's unit, rel_error = |E - E_ref| / |E_ref| (dimensionless), n_alive a count.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time
from pathlib import Path

from ...errors import LthbenchError
from ...experiment import TaskSpec, run_protocol
from ...experiment.spec import IMP_WR
from ...pruning.controls import CONTROL_NAMES, TICKET
from ...results import RunStore

# Record variables the gate tracks. NaN-valued ones (e.g. energy_sigma in exact mode) are left out.
QUANTITIES = (
    "energy",
    "rel_error",
    "variance",
    "energy_sigma",
    "v_score",
    "n_alive",
    "density",
    "fidelity_prev",
    "fidelity_exact",
    "m_z",
    "m_x",
    "reference_energy",
    "diverged",
)
# The quantity of the statistical (across-seed) test of Monte Carlo cells.
STAT_QUANTITY = "energy"
TFIM3 = "tfim2d-3x3-obc-k3.04438"


FLOAT32_NETS = ("cnn", "rescnn")


@dataclasses.dataclass(frozen=True)
class GateTask:
    """One gate task: `spec` run by run_protocol(method, protocol, rewind_to, controls) for every seed
    of `seeds` (fixed keys, compared value by value) and, only when the reference is recorded, for
    every seed of `stat_seeds` (the stored distribution of the across-seed test; Monte Carlo only)."""

    name: str
    spec: TaskSpec
    method: str = "magnitude"
    protocol: str = IMP_WR
    rewind_to: str = "trained"
    controls: tuple = ()
    seeds: tuple = (0,)
    stat_seeds: tuple = ()
    cost: float = 10.0  # rough relative cost of the fixed-key seeds, for sharing tasks among workers

    @property
    def float32(self) -> bool:
        """True for a float32 net (CNN, ResCNN: `lthbench.nets`), whose trained values are bit-stable
        only on CPUs with the same vector instruction sets."""
        return self.spec.net in FLOAT32_NETS

    @property
    def monte_carlo(self) -> bool:
        return not self.spec.exact


def _spec(name: str, system_id: str, net: str, net_hyper: tuple, **fields) -> TaskSpec:
    return TaskSpec(
        id=f"gate-{name}",
        system_id=system_id,
        net=net,
        net_hyper=net_hyper,
        # kept verbatim from before the move to lthbench.bench.gate: a task field, so it stays byte-identical
        description="accuracy gate task (lthbench.gate); not a standard task",
        **fields,
    )


STAT_SEEDS = tuple(range(100, 108))

GATE_TASKS = (
    # TFIM 3 x 3 at kappa_c, FFNN alpha 1 (81 weights), exact: dense, two rounds of p = 0.5 (81 -> 41 -> 21
    # alive), the three controls at round 2; SGD + SR, rewind to the trained weights.
    GateTask(
        "tfim3x3-exact",
        _spec(
            "tfim3x3-exact",
            TFIM3,
            "ffnn",
            (("alpha", 1.0),),
            dense_steps=200,
            round_steps=50,
            exact=True,
            n_eval_steps=1,
            prune_fraction=0.5,
            n_rounds=2,
            control_every=2,
        ),
        controls=CONTROL_NAMES,
        cost=14.0,
    ),
    # Toric code 2 x 2, FFNN alpha 2, exact, Adam + SR, rewind to step 50, ticket control every round.
    GateTask(
        "toric2-exact",
        _spec(
            "toric2-exact",
            "toric-2",
            "ffnn",
            (("alpha", 2.0),),
            dense_steps=150,
            round_steps=50,
            optimizer="adam",
            learning_rate=0.004,
            exact=True,
            n_eval_steps=1,
            prune_fraction=0.3,
            n_rounds=2,
            control_every=1,
        ),
        rewind_to="step:50",
        controls=(TICKET,),
        cost=10.0,
    ),
    # TFIM 3 x 3, ResCNN nf 2 nb 1 (float32; two prunable kernels, the embedding never pruned), exact,
    # one global threshold.
    GateTask(
        "tfim3x3-rescnn",
        _spec(
            "tfim3x3-rescnn",
            TFIM3,
            "rescnn",
            (("nb", 1), ("nf", 2)),
            dense_steps=100,
            round_steps=30,
            learning_rate=0.004,
            exact=True,
            n_eval_steps=1,
            prune_fraction=0.3,
            n_rounds=1,
            scope="global",
        ),
        cost=19.0,
    ),
    # The same ResCNN with p = 0.32, where the scope decides the count: global rint(0.32 * 72) = 23 weights,
    # layer 2 x rint(0.32 * 36) = 24 (at p = 0.3 both give 22, and the 22 smallest weights happened to
    # split 11 / 11, so the scope mutation was not seen by tfim3x3-rescnn).
    GateTask(
        "tfim3x3-rescnn-p32",
        _spec(
            "tfim3x3-rescnn-p32",
            TFIM3,
            "rescnn",
            (("nb", 1), ("nf", 2)),
            dense_steps=20,
            round_steps=10,
            learning_rate=0.004,
            exact=True,
            n_eval_steps=1,
            prune_fraction=0.32,
            n_rounds=1,
            scope="global",
        ),
        cost=12.0,
    ),
    # TFIM 3 x 3 Monte Carlo (single-spin Metropolis, 128 samples on 16 chains, fast-path E_loc, SR over
    # distinct samples), FFNN alpha 2; three fixed-key seeds and the stored across-seed distribution.
    GateTask(
        "tfim3x3-mc",
        _spec(
            "tfim3x3-mc",
            TFIM3,
            "ffnn",
            (("alpha", 2.0),),
            dense_steps=100,
            round_steps=30,
            n_samples=128,
            n_chains=16,
            n_eval_steps=10,
            prune_fraction=0.3,
            n_rounds=1,
        ),
        seeds=(0, 1, 2),
        stat_seeds=STAT_SEEDS,
        cost=34.0,
    ),
    # Toric code 2 x 2 Monte Carlo with star-flip proposals (p = 0.5), 64 samples on 8 chains.
    GateTask(
        "toric2-mc",
        _spec(
            "toric2-mc",
            "toric-2",
            "ffnn",
            (("alpha", 1.0),),
            dense_steps=100,
            round_steps=30,
            n_samples=64,
            n_chains=8,
            star_flip_prob=0.5,
            n_eval_steps=10,
            prune_fraction=0.3,
            n_rounds=1,
        ),
        seeds=(0, 1, 2),
        stat_seeds=STAT_SEEDS,
        cost=23.0,
    ),
)


def gate_task(name: str, tasks=GATE_TASKS) -> GateTask:
    for gt in tasks:
        if gt.name == name:
            return gt
    raise LthbenchError(f"unknown gate task {name!r}; gate tasks: {', '.join(g.name for g in tasks)}")


def cell_name(task: str, control: str, rnd: int) -> str:
    """'tfim3x3-exact/ticket@r2'; the dense network is 'imp@r0'."""
    return f"{task}/{control}@r{int(rnd)}"


def value_name(cell: str, seed: int, quantity: str) -> str:
    """'tfim3x3-exact/ticket@r2/s0:energy'."""
    return f"{cell}/s{int(seed)}:{quantity}"


def split_value_name(name: str) -> tuple[str, int, str]:
    """(cell, seed, quantity) of a value name."""
    head, quantity = name.rsplit(":", 1)
    cell, seed = head.rsplit("/s", 1)
    return cell, int(seed), quantity


def task_of(name: str) -> str:
    """The gate task of a cell or value name."""
    return name.split("/", 1)[0]


def record_values(task: str, record: dict, seed: int) -> dict[str, float]:
    """{value name: float} of one results record (finite-or-NaN floats; NaN quantities left out)."""
    cell = cell_name(task, record["control"], record["round"])
    out = {}
    for q in QUANTITIES:
        if q not in record:
            continue
        v = float(record[q])
        if not math.isnan(v):
            out[value_name(cell, seed, q)] = v
    return out


def run_seed(gt: GateTask, seed: int, workdir: str | os.PathLike) -> dict[str, float]:
    """Run gate task `gt` at one seed in `workdir`: {value name: value}, sorted."""
    store = RunStore(Path(workdir) / f"{gt.name}-s{seed}.nc")
    run_protocol(
        gt.spec,
        method=gt.method,
        protocol=gt.protocol,
        rewind_to=gt.rewind_to,
        controls=gt.controls,
        seed=seed,
        store=store,
        progress=False,
    )
    values = {}
    for record in store.records():
        values.update(record_values(gt.name, record, seed))
    return dict(sorted(values.items()))


def run_gate_task(gt: GateTask, seeds=None) -> tuple[dict[str, float], float]:
    """Run `gt` at `seeds` (default: its fixed-key seeds): ({value name: value}, wall seconds)."""
    values = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in gt.seeds if seeds is None else seeds:
            values.update(run_seed(gt, seed, tmp))
    return dict(sorted(values.items())), time.perf_counter() - t0


if "sr_solver" in {f.name for f in dataclasses.fields(TaskSpec)}:
    # The CG solver path (vmccore's SR solvers, issue 13): the Monte Carlo TFIM task solved by CG.
    GATE_TASKS += (
        GateTask("tfim3x3-mc-cg", dataclasses.replace(GATE_TASKS[4].spec, id="gate-tfim3x3-mc-cg", sr_solver="cg")),
    )
