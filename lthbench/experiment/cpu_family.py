"""The CPU-scale task family (suffix '-cpu'): every figure at a size and budget a 2-core machine
affords for 3 seeds (docs/tasks.md)."""

from __future__ import annotations

from ..systems.numbers import format_number
from ..systems.tfim import KAPPA_C_2D
from .families import PAPER_FFNN_ALPHAS, PAPER_FIELDS, TC_ALPHAS, Register, tfim_task, toric_task

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


def cpu_spec(rounds: tuple, p: float, figure: str, cut: str, *, controls: bool, steps: tuple) -> dict:
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


TFIM_CUT = "10 x 10 -> {L} x {L} (ED reference), 10,000 / 1,000 steps -> 2,000 / 200"


def cpu_fig1(register: Register) -> None:
    """Fig. 1 (IMP-WR and the three controls) on 4 x 4 and 5 x 5 at kappa_c."""
    kc = KAPPA_C_2D
    # Fig 1 (IMP-WR and the three controls) on 4 x 4 at kappa_c: FFNN alpha 5 (also Fig 2's alpha 5
    # at kappa_c), CNN, a smaller ResCNN; FFNN alpha 5 on 5 x 5.
    for L in (4, 5):
        register(
            tfim_task(
                L,
                kc,
                "ffnn",
                {"alpha": 5.0},
                **cpu_spec(
                    CPU_FFNN_ROUNDS[(L, 5.0)],
                    0.12,
                    "Fig. 1 (and Fig. 2 at kappa_c)" if L == 4 else "Fig. 1 on 5 x 5",
                    TFIM_CUT.format(L=L) + ", controls every 3rd -> 6th round",
                    controls=True,
                    steps=CPU_TFIM_STEPS,
                ),
            )
        )
    register(
        tfim_task(
            4,
            kc,
            "cnn",
            {},
            **cpu_spec(
                CPU_CNN_ROUNDS,
                0.05,
                "Fig. 1 shallow CNN",
                TFIM_CUT.format(L=4) + ", controls every 3rd -> 6th round",
                controls=True,
                steps=CPU_TFIM_STEPS,
            ),
        )
    )
    register(
        tfim_task(
            4,
            kc,
            "rescnn",
            dict(CPU_RESCNN),
            **cpu_spec(
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


def cpu_fig2_3(register: Register) -> None:
    """Fig. 2 (field and width scan) and Fig. 3 (size scaling), no controls."""
    kc = KAPPA_C_2D
    # Fig 2 (regions in absolute n): FFNN alpha 1 / 2.5 / 5 at the seven fields on 4 x 4, no controls.
    for kappa in PAPER_FIELDS:
        for alpha in PAPER_FFNN_ALPHAS:
            if (kappa, alpha) == (kc, 5.0):
                continue  # the Fig. 1 task above
            register(
                tfim_task(
                    4,
                    kappa,
                    "ffnn",
                    {"alpha": alpha},
                    **cpu_spec(
                        CPU_FFNN_ROUNDS[(4, alpha)],
                        0.12,
                        "Fig. 2 field and width scan",
                        TFIM_CUT.format(L=4),
                        controls=False,
                        steps=CPU_TFIM_STEPS,
                    ),
                )
            )
    # Fig 3 (transition, size scaling): FFNN alpha 8 at kappa_c, L = 4, 5, 6, no controls (6 x 6: the
    # DMRG reference of its system id).
    for L in (4, 5, 6):
        cut = TFIM_CUT.format(L=L).replace("(ED reference)", "(DMRG reference)" if L == 6 else "(ED reference)")
        register(
            tfim_task(
                L,
                kc,
                "ffnn",
                {"alpha": 8.0},
                **cpu_spec(
                    CPU_FFNN_ROUNDS[(L, 8.0)],
                    0.12,
                    "Fig. 3 transition and size scaling",
                    cut.replace("10 x 10", "L = 4..10"),
                    controls=False,
                    steps=CPU_TFIM_STEPS,
                ),
            )
        )


def cpu_fig4(register: Register) -> None:
    """Fig. 4 (toric code 3 x 3) at the paper's budget."""
    # Fig 4 (toric code 3 x 3) at the paper's budget: alpha 8 with controls (Fig. 4a, 4d), alpha 4 / 16 /
    # 32 IMP only (Fig. 4b).
    for alpha in TC_ALPHAS:
        with_controls = alpha == 8.0
        register(
            toric_task(
                3,
                alpha,
                **cpu_spec(
                    CPU_TC_ROUNDS[alpha],
                    0.12,
                    "Fig. 4a/4d (controls, filters)" if with_controls else "Fig. 4b",
                    "controls every 3rd -> 6th round" if with_controls else "none (the paper's budget and size)",
                    controls=with_controls,
                    steps=CPU_TC_STEPS,
                ),
            )
        )


def cpu_family(register: Register) -> None:
    """Every CPU-scale task, in registry order."""
    cpu_fig1(register)
    cpu_fig2_3(register)
    cpu_fig4(register)
