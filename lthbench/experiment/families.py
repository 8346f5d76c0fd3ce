"""The task families of the registry (docs/tasks.md): paper scale, small (ED-backed), cpu, quick and
the test-only tiny tasks. Each family is a function `family(register)` that registers its tasks in
a fixed order (the registry's order is part of what `lthbench tasks` and the baselines list).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..systems.numbers import format_number
from ..systems.tfim import KAPPA_C_2D, tfim_id
from ..systems.toric import toric_id
from .spec import TaskSpec

Register = Callable[[TaskSpec], TaskSpec]

PAPER_FIELDS = (0.1, 1.0, 2.0, KAPPA_C_2D, 4.0, 5.0, 6.0)
PAPER_FFNN_ALPHAS = (1.0, 2.5, 5.0)
SIZE_SCALING_L = tuple(range(4, 11))
TC_ALPHAS = (4.0, 8.0, 16.0, 32.0)


def hyper_tag(net: str, hyper: dict) -> str:
    if net in ("ffnn", "rbm"):
        return f"{net}-a{format_number(hyper['alpha'])}"
    if net == "rescnn":
        return f"rescnn-f{hyper['nf']}-b{hyper['nb']}"
    return net


def tfim_task(L: int, kappa: float, net: str, hyper: dict, *, quick: bool = False, suffix: str = "", **kw) -> TaskSpec:
    system_id = tfim_id((L, L), kappa)
    suffix = "-quick" if quick else suffix
    tid = f"tfim2d-{L}x{L}-k{format_number(kappa)}-{hyper_tag(net, hyper)}" + suffix
    spec: dict[str, Any] = dict(dense_steps=10_000, round_steps=1_000)
    if net == "cnn":
        spec.update(learning_rate=0.001, prune_fraction=0.05, n_rounds=40, control_every=10)
    if net == "rescnn":
        # one global threshold over the residual-block kernels; the embedding conv is never pruned
        spec.update(scope="global")
    spec.update(kw)
    return TaskSpec(id=tid, system_id=system_id, net=net, net_hyper=tuple(sorted(hyper.items())), **spec)


def toric_task(L: int, alpha: float, *, quick: bool = False, suffix: str = "", **kw) -> TaskSpec:
    tid = f"toric-{L}-ffnn-a{format_number(alpha)}" + ("-quick" if quick else suffix)
    # TC: single-spin Metropolis cannot move between plaquette sectors; star flips help the sampler.
    spec: dict[str, Any] = dict(dense_steps=2_000, round_steps=200, star_flip_prob=0.5)
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


def schedule_note(listed: int, last: int, n_last: int, p: float) -> str:
    """'65 rounds of p 0.12 listed (the paper's count); ends at round 65 (n = 12)', plus why when the
    stopping rule ends the chain before the listed count."""
    note = f"{listed} rounds of p {format_number(p)} listed (the paper's count); ends at round {last} (n = {n_last})"
    if last < listed:
        note += f": round {last + 1} would remove no weight (rint(p n) = 0)"
    return note


def paper_schedule(rounds: tuple, p: float = 0.12) -> dict:
    """n_rounds, control_every and the schedule note of a paper task with rounds (listed, last, n)."""
    listed, last, n_last = rounds
    return dict(n_rounds=listed, control_every=PAPER_CONTROL_EVERY, note=schedule_note(listed, last, n_last, p))


def with_note(build, *args, note: str, description: str, **kw) -> TaskSpec:
    return build(*args, description=f"{description}; {note}", **kw)


def paper_family(register: Register) -> None:
    """Paper scale: TFIM 10 x 10 FFNN at seven fields, size scaling, CNN, ResCNN, toric code."""
    kc = KAPPA_C_2D
    # Paper scale: TFIM 10 x 10 FFNN at seven fields.
    for kappa in PAPER_FIELDS:
        for alpha in PAPER_FFNN_ALPHAS:
            register(
                with_note(
                    tfim_task,
                    10,
                    kappa,
                    "ffnn",
                    {"alpha": alpha},
                    description="paper: FFNN width scan (Fig. 1-3), controls every 3rd round",
                    **paper_schedule(PAPER_FFNN_ROUNDS[alpha]),
                )
            )
    # Size scaling at kappa_c, alpha = 8.
    for L in SIZE_SCALING_L:
        register(
            with_note(
                tfim_task,
                L,
                kc,
                "ffnn",
                {"alpha": 8.0},
                description="paper: size scaling at kappa_c, controls every 3rd round",
                **paper_schedule(SIZE_SCALING_ROUNDS[L]),
            )
        )
    register(
        with_note(
            tfim_task,
            10,
            kc,
            "cnn",
            {},
            description="paper: shallow CNN (36 weights), lr 0.001, controls every 3rd round",
            **paper_schedule(CNN_ROUNDS, 0.05),
        )
    )
    register(
        with_note(
            tfim_task,
            10,
            kc,
            "rescnn",
            {"nf": 16, "nb": 4},
            description="paper: deep ResCNN, global scope, controls every 3rd round",
            **paper_schedule(RESCNN_ROUNDS),
        )
    )
    paper_toric_code(register)


def paper_toric_code(register: Register) -> None:
    """Paper scale: the toric code 3 x 3 at four widths (Fig. 4)."""
    for alpha in TC_ALPHAS:
        register(
            with_note(
                toric_task,
                3,
                alpha,
                description="paper: toric code 3 x 3 (Fig. 4), controls every 3rd round",
                **paper_schedule(TC_ROUNDS[alpha]),
            )
        )


def small_family(register: Register) -> None:
    """ED-backed small variants of the paper's nets."""
    kc = KAPPA_C_2D
    # ED-backed small variants: the same nets on 4 x 4 and 5 x 5 at kappa_c (4 x 4 alpha 8 and 5 x 5
    # alpha 8 are the size-scaling tasks above).
    for L in (4, 5):
        for alpha in PAPER_FFNN_ALPHAS:
            register(tfim_task(L, kc, "ffnn", {"alpha": alpha}, description="small: ED reference"))
        register(tfim_task(L, kc, "cnn", {}, description="small: ED reference"))
        register(tfim_task(L, kc, "rescnn", {"nf": 16, "nb": 4}, description="small: ED reference"))


def quick_family(register: Register) -> None:
    """Quick variants: small budgets, a few minutes on 2 cores."""
    kc = KAPPA_C_2D
    # Quick variants: full-sum training (no sampling noise), small budgets, a few minutes on 2 cores.
    register(
        toric_task(
            3,
            8.0,
            quick=True,
            dense_steps=600,
            round_steps=200,
            # 768 samples, not the paper's 1024: the masked SR solve (sample-space Gram B^2 C) costs
            # ~0.55x, which brings the README's first command under 5 minutes on 2 cores and keeps
            # its plateau, jump and random-mask verdicts (docs/performance.md).
            n_samples=768,
            prune_fraction=0.2,
            n_rounds=20,
            control_every=10,
            n_eval_steps=30,
            description="quick: TC 3 x 3 alpha 8, Monte Carlo (paper sampler, 768 samples), p 0.2 (minutes on 2 cores)",
        )
    )
    register(
        tfim_task(
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


def test_family(register: Register) -> None:
    """Test-only tiny tasks (seconds; no physics)."""
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
