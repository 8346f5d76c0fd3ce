"""DMRG references (physics-tenpy, the `dmrg` extra, also in `test`): the Pauli convention against ED,
DMRG against ED on 3 x 3 / 4 x 4, the extrapolation's stated uncertainty against the true error,
checkpoint and resume, and `lthbench exact --regenerate --method dmrg`."""

import io
import json

import numpy as np
import pytest

import lthbench  # noqa: F401  (enables x64)
from lthbench import exact
from lthbench.cli import main
from lthbench.errors import LthbenchError
from lthbench.systems import system_from_id

tenpy = pytest.importorskip("tenpy")
dmrg = pytest.importorskip("lthbench.exact.dmrg")
dmrg_fit = pytest.importorskip("lthbench.exact.dmrg_fit")
dmrg_checkpoint = pytest.importorskip("lthbench.exact.dmrg_checkpoint")


def _ed(system_id):
    return exact.ground_energy(system_from_id(system_id))


def test_pauli_convention_on_2x2():
    """Pauli (not spin-1/2) couplings, J and kappa in their places: tenpy's model on 2 x 2 with J != kappa
    has our ED ground energy, and our |+...+> has energy -kappa N (spin-1/2 operators would give
    -kappa N / 2 and a ground energy off by a factor)."""
    system_id = "tfim2d-2x2-obc-k0.7-J1.3"
    system = system_from_id(system_id)
    model = dmrg.tenpy_model(system)
    assert model.lat.N_sites == 4
    plus = dmrg.product_state(model)
    assert dmrg.mps_energy(model, plus) == pytest.approx(-0.7 * 4, rel=1e-14)
    result = dmrg.run_dmrg(system, (4,), progress=None)
    assert result.energy == pytest.approx(_ed(system_id), rel=1e-12)
    # 2 x 2 (a 4-ring) is self-dual under J <-> kappa; 2 x 3 is not, so a swap of the roles shows there
    system = system_from_id("tfim2d-2x3-obc-k0.7-J1.3")
    assert dmrg.run_dmrg(system, (8,), progress=None).energy == pytest.approx(_ed(system.id), rel=1e-12)
    assert abs(_ed("tfim2d-2x3-obc-k1.3-J0.7") - _ed(system.id)) > 0.1


@pytest.mark.parametrize(
    "system_id, schedule",
    [
        ("tfim2d-3x3-obc-k3.04438", (8, 16, 32)),
        ("tfim2d-4x4-obc-k3.04438", (16, 32, 64)),
    ],
)
def test_dmrg_reproduces_ed(system_id, schedule):
    e_ed = _ed(system_id)
    result = dmrg.run_dmrg(system_from_id(system_id), schedule, progress=None)
    assert abs(result.energy - e_ed) / abs(e_ed) <= 1e-9
    assert abs(result.energy - e_ed) <= result.uncertainty
    last = result.stages[-1]
    assert last.energy >= e_ed - 1e-9 * abs(e_ed)  # variational
    assert last.variance >= -1e-9 and np.isfinite(last.variance)
    assert [s.chi for s in result.stages] == list(schedule)


@pytest.mark.parametrize("schedule", [(8, 12, 16), pytest.param((16, 24, 32), marks=pytest.mark.slow)])
def test_stated_uncertainty_contains_the_true_error_on_4x4(schedule):
    """Truncated schedules (errors 1e-7 .. 1e-5 relative): the extrapolated energy lies within its stated
    uncertainty of ED, and the uncertainty is not vacuous (below the variational error of the last stage
    times 3)."""
    system_id = "tfim2d-4x4-obc-k3.04438"
    e_ed = _ed(system_id)
    result = dmrg.run_dmrg(system_from_id(system_id), schedule, progress=None, max_sweeps=4)
    err = abs(result.energy - e_ed)
    assert err <= result.uncertainty
    assert result.uncertainty <= 3 * (result.stages[-1].energy - e_ed)
    assert result.stages[-1].trunc_err > 0


@pytest.mark.slow
def test_stated_uncertainty_contains_the_true_error_on_5x5():
    """Against the shipped 5 x 5 ED row (N = 25 is too slow to diagonalise in a test)."""
    system_id = "tfim2d-5x5-obc-k3.04438"
    e_ed = exact.references_for(f"{system_id}/ed")[0].energy
    for schedule in ((16, 24, 32), (32, 48, 64)):
        result = dmrg.run_dmrg(system_from_id(system_id), schedule, progress=None, max_sweeps=4)
        assert abs(result.energy - e_ed) <= result.uncertainty


def test_extrapolation_on_synthetic_data():
    """E(eps) = E0 + a eps + b eps^2 sampled at decreasing eps: the 2-point line's interval holds E0;
    without truncation the variational energy is kept with the rounding floor."""
    e0, a, b = -100.0, 300.0, 2e4
    eps = np.array([1e-4, 3e-5, 1e-5, 3e-6])
    fit = dmrg_fit.extrapolate(eps, e0 + a * eps + b * eps**2)
    assert abs(fit["energy"] - e0) <= fit["uncertainty"] < 3 * (a * eps[-1])
    exact_fit = dmrg_fit.extrapolate([1e-6, 0.0], [-99.9, -100.0])
    assert exact_fit["energy"] == -100.0 and exact_fit["uncertainty"] == pytest.approx(1e-10)
    with_var = dmrg_fit.extrapolate(eps, e0 + a * eps, variances=10 * eps)
    assert with_var["energy_var"] == pytest.approx(e0, abs=1e-9)
    # a stage stopped by its sweep limit widens the interval by its last sweep's change
    base = dmrg_fit.extrapolate(eps, e0 + a * eps)
    unconverged = dmrg_fit.extrapolate(eps, e0 + a * eps, delta_es=[0, 0, 1e-6, 2e-6])
    assert unconverged["uncertainty"] == pytest.approx(base["uncertainty"] + 3e-6)


class _InterruptAfter(io.StringIO):
    """A progress stream that raises KeyboardInterrupt at its n-th status line (a kill mid-run)."""

    def __init__(self, n):
        super().__init__()
        self.n = n

    def write(self, text):
        if text.strip():
            self.n -= 1
            if self.n < 0:
                raise KeyboardInterrupt
        return super().write(text)


def test_checkpoint_resumes_a_killed_run(tmp_path):
    system = system_from_id("tfim2d-3x3-obc-k2")
    schedule = (4, 8, 16)
    ckpt = tmp_path / "run.pkl"
    with pytest.raises(KeyboardInterrupt):
        dmrg.run_dmrg(system, schedule, checkpoint=ckpt, progress=_InterruptAfter(5))
    state = dmrg_checkpoint.load_checkpoint(ckpt)
    assert state["system_id"] == system.id and state["schedule"] == list(schedule)
    assert 0 < len(state["stages"]) < len(schedule)
    log = io.StringIO()
    resumed = dmrg.run_dmrg(system, schedule, checkpoint=ckpt, progress=log)
    assert "resuming" in log.getvalue()
    assert resumed.stages[0].chi == 4 and [s.chi for s in resumed.stages] == list(schedule)
    assert resumed.energy == pytest.approx(_ed(system.id), rel=1e-10)
    with pytest.raises(LthbenchError):
        dmrg.run_dmrg(system, (2, 8), checkpoint=ckpt, progress=None)


def test_a_resumed_stage_keeps_its_sweep_budget(tmp_path):
    """Killed after one sweep of its last stage, the resumed stage sweeps as often in all as it does
    unkilled, not max_sweeps more (e_tol 1e-30: the stages never converge, so each runs its whole
    budget)."""
    system = system_from_id("tfim2d-3x3-obc-k2")
    ckpt = tmp_path / "run.pkl"
    opts = dict(max_sweeps=3, e_tol=1e-30, variance="last")
    whole = [s.sweeps for s in dmrg.run_dmrg(system, (4, 8), progress=None, **opts).stages]
    with pytest.raises(KeyboardInterrupt):
        dmrg.run_dmrg(system, (4, 8), checkpoint=ckpt, progress=_InterruptAfter(6), **opts)
    state = dmrg_checkpoint.load_checkpoint(ckpt)
    assert (state["chi"], state["stage_sweeps"]) == (8, 1)
    log = io.StringIO()
    resumed = dmrg.run_dmrg(system, (4, 8), checkpoint=ckpt, progress=log, **opts)
    assert [s.sweeps for s in resumed.stages] == whole and whole[1] >= 3
    assert f"chi=8 sweep {whole[1]} " in log.getvalue() and f"chi=8 sweep {whole[1] + 1} " not in log.getvalue()


def test_eta_model():
    """Seconds per sweep t = A chi^p through the last two stages (p in [1, 3]), times the sweeps expected."""
    stages = [
        dmrg_fit.Stage(chi=c, energy=0.0, trunc_err=0.0, variance=0.0, sweeps=4, wall_time_s=4 * t)
        for c, t in ((32, 2.0), (64, 8.0))
    ]  # p = 2
    eta = dmrg_fit.eta_seconds((32, 64, 128, 256), stages, 128, 10.0)
    assert eta == pytest.approx(6 * 32.0 - 10.0 + 6 * 128.0, rel=1e-12)
    flat = [dmrg_fit.Stage(chi=c, energy=0.0, trunc_err=0.0, variance=0.0, sweeps=1, wall_time_s=5.0) for c in (32, 64)]
    assert dmrg_fit.eta_seconds((32, 64, 128), flat, None, 0.0) == pytest.approx(6 * 10.0)  # p clipped to 1
    assert np.isnan(dmrg_fit.eta_seconds((32, 64), stages[:1], 64, 0.0))
    # the running stage's own rate, when slower than modelled: 2 sweeps in 200 s at chi 128 -> 100 s a
    # sweep (modelled 32), 4 more sweeps of it, then 6 sweeps at chi 256 at 100 * 2^2
    assert dmrg_fit.eta_seconds((32, 64, 128, 256), stages, 128, 200.0, 2) == pytest.approx(4 * 100 + 6 * 400)
    # faster than modelled: the model stands, the sweeps done are taken off
    assert dmrg_fit.eta_seconds((32, 64, 128, 256), stages, 128, 20.0, 2) == pytest.approx(4 * 32 + 6 * 128)
    # past the guess (12 sweeps done of the last stage), its own remaining-sweeps estimate counts:
    # |dE| 1e-7 -> 5e-8 (ratio 1/2) reaches 1e-9 in ceil(log2(50)) = 6 sweeps, at the model's 32 s
    left = dmrg_fit.sweeps_to_converge([np.nan, 2e-6, 1e-7, 5e-8], 1e-9, cap=20)
    assert left == 6
    assert dmrg_fit.eta_seconds((32, 64, 128), stages, 128, 12 * 30.0, 12, left) == pytest.approx(6 * 32)
    assert dmrg_fit.sweeps_to_converge([1e-7, 5e-8], 1e-9, cap=3) == 3  # the stage's budget caps it
    assert dmrg_fit.sweeps_to_converge([1e-7, 5e-10], 1e-9, cap=3) == 1  # converged: this sweep ends it
    assert dmrg_fit.sweeps_to_converge([1e-7], 1e-9, cap=4) == 4  # no decay seen yet: the budget


def test_regenerate_dmrg_row_merges_into_the_table(tmp_path, capsys):
    out = tmp_path / "refs.nc"
    assert (
        main(
            [
                "exact",
                "--regenerate",
                "--method",
                "dmrg",
                "tfim2d-3x3-obc-k3.04438",
                "--chi",
                "8,16",
                "--checkpoint",
                str(tmp_path / "c.pkl"),
                "--out",
                str(out),
                "--no-progress",
            ]
        )
        == 0
    )
    rows = {r.row_id: r for r in exact.table_references(out)}
    shipped = exact.table_references()
    assert {r.row_id for r in shipped} <= set(rows)
    row = rows["tfim2d-3x3-obc-k3.04438/dmrg-tenpy"]
    assert row.method == "dmrg-tenpy" and row.uncertainty > 0
    assert row.energy == pytest.approx(_ed("tfim2d-3x3-obc-k3.04438"), rel=1e-10)
    details = json.loads(row.details)
    assert details["schedule"] == [8, 16] and len(details["stages"]) == 2
    assert details["library"].startswith("physics-tenpy ")
    assert json.loads(row.versions)["physics-tenpy"]
    for key in ("energy", "trunc_err", "variance", "wall_time_s"):
        assert key in details["stages"][-1]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["exact", "--regenerate", "--method", "dmrg", "tfim2d-4x4-pbc-k1"], "open-boundary"),
        (["exact", "--regenerate", "--method", "dmrg", "toric-3"], "open-boundary"),
        (["exact", "--regenerate", "--method", "dmrg", "tfim2d-30x30-obc-k1"], "N=900"),
        (["exact", "--regenerate", "--method", "dmrg", "tfim2d-3x3-obc-k1", "--chi", "16,8"], "ascending"),
        (["exact", "--regenerate", "--method", "dmrg", "tfim2d-3x3-obc-k1", "--chi", "a"], "integers"),
        (["exact", "--regenerate", "--chi", "8"], "--method dmrg"),
    ],
)
def test_regenerate_dmrg_bad_input_is_one_line(argv, needle, capsys, tmp_path):
    assert main(argv + ["--out", str(tmp_path / "x.nc")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lthbench exact: error:") and "\n" not in err and needle in err
    assert not (tmp_path / "x.nc").exists()
