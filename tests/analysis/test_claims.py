"""Claims: the detectors recover boundaries and jumps of synthetic curves within a stated tolerance,
say "undetermined" on curves without them; the claims command on synthetic datasets."""

from __future__ import annotations

import math

import numpy as np
import pytest
from analysis_synth import curve_records, dataset, n_schedule

from lthbench.analysis.claims import (
    claims_markdown,
    claims_of_files,
    compute_claims,
    dip,
    fit_regions,
    format_claims,
    largest_jump,
    largest_shift,
    n_at_error,
    odd_parity_filters,
    scan_claims,
)
from lthbench.analysis.claims.scans import widened_to_grid
from lthbench.analysis.reproduction import generate
from lthbench.analysis.task_params import task_parameters
from lthbench.cli import main
from lthbench.systems.lattice import torus_plaquettes

# Tolerance of a recovered boundary: 0.1 decade in n (about two pruning rounds at p = 0.12).
TOL_DECADES = 0.1


def _three_regions(x, x1, x2, a=0.0, b=-4.0):
    h = np.clip((x - x1) / (x2 - x1), 0, 1)
    return a * (1 - h) + b * h


@pytest.mark.parametrize("x1,x2", [(1.5, 3.0), (2.0, 3.5), (1.2, 2.4)])
def test_fit_regions_recovers_boundaries(x1, x2):
    rng = np.random.default_rng(0)
    x = np.log10(n_schedule(50_000, 0.12, 70))
    x = x[x > 0.5]
    for _ in range(5):
        y = _three_regions(x, x1, x2) + rng.normal(0, 0.05, x.size)
        fit = fit_regions(x, y)
        assert fit.hep and fit.lep and fit.regions
        assert abs(fit.x1 - x1) <= TOL_DECADES and abs(fit.x2 - x2) <= TOL_DECADES, (fit, x1, x2)
        assert fit.beta == pytest.approx(-4.0 / (x2 - x1), rel=0.1)


def test_fit_regions_with_a_jump():
    """A first-order jump onto the HEP at x1 (the paper's shallow nets): x1 is the last HEP point."""
    rng = np.random.default_rng(3)
    x = np.log10(n_schedule(2048, 0.12, 60))
    x = x[x > 0.5]
    y = np.where(x <= 1.8, -1.3, -2.5 + 1.5 * np.clip(2.8 - x, 0, None) / 1.0 - 1.5) + rng.normal(0, 0.05, x.size)
    fit = fit_regions(x, y)
    assert fit.jump and fit.hep and fit.lep
    assert abs(fit.x1 - 1.8) <= TOL_DECADES and abs(fit.x2 - 2.8) <= TOL_DECADES, fit
    assert fit.beta == pytest.approx(-1.5, rel=0.15)


def test_fit_regions_undetermined():
    rng = np.random.default_rng(1)
    x = np.log10(n_schedule(5_000, 0.12, 40))
    flat = fit_regions(x, -3 + rng.normal(0, 0.05, x.size))
    assert not flat.regions and not flat.hep and not flat.lep
    line = fit_regions(x, -1.5 * (x - x.min()) + rng.normal(0, 0.05, x.size))  # power law all the way
    assert line.regions and not line.hep and not line.lep
    only_lep = fit_regions(x, _three_regions(x, x.min() - 1, 2.5) + rng.normal(0, 0.05, x.size))
    assert only_lep.lep and not only_lep.hep
    assert abs(only_lep.x2 - 2.5) <= TOL_DECADES


def test_largest_jump_and_dip():
    y = np.concatenate([np.linspace(-4, -3.5, 20), np.linspace(-2.0, -1.8, 10)])  # 1.5-decade jump at 19
    rng = np.random.default_rng(2)
    before, after, size = largest_jump(y + rng.normal(0, 0.01, y.size))
    assert (before, after) == (19, 20) and size == pytest.approx(1.5, abs=0.05)
    y[20] = np.nan  # a round without data right after the jump: skipped, not straddled
    assert largest_jump(y + rng.normal(0, 0.01, y.size))[:2] == (19, 21)
    assert largest_jump(np.linspace(-4, -1, 30) + rng.normal(0, 0.01, 30)) is None  # smooth: none
    assert largest_jump(-3 + rng.normal(0, 0.05, 30)) is None  # noise: none
    f = 1 - 1e-3 * rng.random(30)
    assert dip(f) is None
    f[17] = 0.6
    assert dip(f) == (17, 0.6)


def test_odd_parity_filters():
    L = 3
    plaq = torus_plaquettes(L)
    w = np.zeros((2 * L * L, 5))
    w[plaq[0], 0] = [1, -1, 1, 1]  # odd: one negative
    w[plaq[1], 1] = [1, -1, -1, 1]  # even
    w[plaq[2][:3], 2] = [-1, 1, 1]  # not a whole plaquette
    w[plaq[3], 3] = [-1, -1, -1, 1]  # odd: three negative
    odd, total, frac = odd_parity_filters(w, L)
    assert (odd, total) == (2, 4) and frac == pytest.approx(8 / 15)


def _synthetic_run(
    x1=2.0,
    x2=3.0,
    jump=True,
    seeds=(0, 1, 2),
    task="tfim2d-4x4-k3.04438-ffnn-a8",
    e_ref=-51.4,
    n_spins=16,
    n0=2048,
    n_rounds=60,
    controls=True,
    random_shift=None,
):
    """A TFIM-like IMP curve with LEP/APL/HEP (HEP at the product state's error), optional controls.
    The random mask's error is 10x IMP's (capped at HEP), or with `random_shift` s (a number, or a
    function of n) IMP's curve moved to s times the weights: err_random(n) = err_IMP(n / s(n))."""
    eps = abs(-3.04438 * n_spins - e_ref) / abs(e_ref)
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 0.03, (max(seeds) + 1, n_rounds + 1))

    def err(n, seed, rnd):
        x = math.log10(n)
        y = _three_regions(np.array([x]), x1, x2, a=math.log10(eps), b=-4.0)[0] if jump else -4.0
        return 10 ** (y + noise[seed, rnd])

    recs = curve_records(
        err, task=task, seeds=seeds, n0=n0, n_rounds=n_rounds, e_ref=e_ref, n_spins=n_spins, sigma_rel=1e-6
    )
    if controls:
        rounds = list(range(0, n_rounds + 1, 6))
        recs += curve_records(
            err,
            task=task,
            control="reinit",
            seeds=seeds,
            rounds=rounds,
            n0=n0,
            n_rounds=n_rounds,
            e_ref=e_ref,
            n_spins=n_spins,
            sigma_rel=1e-6,
        )
        recs += curve_records(
            (lambda n, s, r: min(10 * err(n, s, r), eps))
            if random_shift is None
            # its own noise (another round's draw), so the paired bootstrap has something to resample
            else (
                lambda n, s, r: err(
                    n / (random_shift(n) if callable(random_shift) else random_shift), s, (r + 7) % (n_rounds + 1)
                )
            ),
            task=task,
            control="random-mask",
            seeds=seeds,
            rounds=rounds,
            n0=n0,
            n_rounds=n_rounds,
            e_ref=e_ref,
            n_spins=n_spins,
            sigma_rel=1e-6,
        )
    return recs


def _claim(claims, name):
    return [c for c in claims if c.claim.startswith(name)]


def test_compute_claims_on_a_synthetic_run():
    claims = compute_claims(dataset(_synthetic_run()))
    n1 = _claim(claims, "regions: HEP/APL")[0]
    n2 = _claim(claims, "regions: APL/LEP")[0]
    assert n1.verdict == "determined" and abs(math.log10(n1.value) - 2.0) <= TOL_DECADES
    assert n2.verdict == "determined" and abs(math.log10(n2.value) - 3.0) <= TOL_DECADES
    assert n1.lo <= n1.value <= n1.hi
    assert _claim(claims, "HEP = product state")[0].verdict.startswith("yes")
    match = _claim(claims, "matches dense")[0]
    assert 10**2.9 / 2048 <= match.value <= 10**3.1 / 2048
    reinit = _claim(claims, "structure, not init: T(theta_rand")
    assert reinit and all(c.verdict == "comparable" for c in reinit)
    rnd = [c for c in claims if c.claim == "random mask fails earlier"][0]
    assert rnd.value > 1.5, rnd
    text = format_claims(claims)
    assert "undetermined" in text and "threshold" in text
    md = claims_markdown(claims)
    assert md.startswith("| figure |") and md.count("\n") == len(claims) + 1


def test_n_at_error_interpolates_a_power_law_exactly():
    n = 2048 * 0.88 ** np.arange(40)
    err = 1e-2 * (n / 100.0) ** -2.0  # log-linear: the interpolation is exact
    for level in (3e-4, 1e-2, 0.5):
        assert n_at_error(n, err, level) == pytest.approx(100.0 * (level / 1e-2) ** -0.5, rel=1e-9)
    holes = err.copy()
    holes[10:30:2] = np.nan  # rounds without data are skipped, not read as zero
    assert n_at_error(n, holes, 1e-2) == pytest.approx(100.0, rel=1e-9)
    assert n_at_error(n, err, err[0] / 2) == n[0]  # already reached at the first round
    assert math.isnan(n_at_error(n, err, 10 * err[-1]))  # never reached
    spiky = err.copy()
    spiky[5] = 1.0  # a noisy early round above the level: the first crossing counts, not a later one
    assert n_at_error(n, spiky, 1e-2) == pytest.approx(float(np.exp(np.log(n[4]) + np.log(n[5])) ** 0.5), rel=0.2)


def test_largest_shift_reads_only_the_points_inside_the_error_window():
    n_imp = 2048 * 0.88 ** np.arange(40)

    def imp_error(n):  # log-linear, so n at equal error is interpolated exactly
        return 1e-2 * (n / 100.0) ** -2.0

    shifts = np.array([10.0, 4.0, 2.0, 5.0])
    n_rand = np.array([2000.0, 400.0, 150.0, 100.0])
    err_rand = imp_error(n_rand / shifts)  # 2.5e-3, 1e-2, 1.8e-2, 0.25
    value, k = largest_shift(n_imp, imp_error(n_imp), n_rand, err_rand, lower=3e-3, upper=0.1)
    assert (k, value) == (1, pytest.approx(4.0, rel=1e-9))  # not the 10x below nor the 5x above
    value, k = largest_shift(n_imp, imp_error(n_imp), n_rand, err_rand, lower=0.0, upper=10.0)
    assert (k, value) == (0, pytest.approx(10.0, rel=1e-9))
    value, k = largest_shift(n_imp, imp_error(n_imp), n_rand, err_rand, lower=3e-3, upper=10.0)
    assert (k, value) == (3, pytest.approx(5.0, rel=1e-9))
    assert largest_shift(n_imp, imp_error(n_imp), n_rand, err_rand, lower=10.0, upper=20.0)[1] == -1


@pytest.mark.parametrize("shift,verdict", [(4.0, "earlier"), (1.0, "comparable")])
def test_random_mask_shift_at_equal_error_is_recovered(shift, verdict):
    claims = compute_claims(dataset(_synthetic_run(random_shift=shift)))
    c = _claim(claims, "random mask fails earlier (equal error)")[0]
    assert c.verdict.startswith(verdict), c
    assert abs(math.log10(c.value / shift)) <= TOL_DECADES, c
    assert c.lo <= c.value <= c.hi


@pytest.mark.parametrize("shift", [4.0, 1.0])
def test_random_mask_shift_of_one_seed_has_no_verdict_but_inconclusive(shift):
    claims = compute_claims(dataset(_synthetic_run(seeds=(0,), random_shift=shift)))
    c = _claim(claims, "random mask fails earlier (equal error)")[0]
    assert abs(math.log10(c.value / shift)) <= TOL_DECADES, c
    assert math.isnan(c.lo) and c.verdict.startswith("inconclusive"), c


def test_random_mask_shift_is_the_largest_over_the_failing_rounds():
    # 2x the weights of IMP at large n, 5x below n = 300: the claim is the largest gap, not the first
    run = _synthetic_run(x1=1.0, x2=3.0, random_shift=lambda n: 2.0 if n > 300 else 5.0)
    c = _claim(compute_claims(dataset(run)), "random mask fails earlier (equal error)")[0]
    assert abs(math.log10(c.value / 5.0)) <= TOL_DECADES, c


def test_random_mask_at_the_hep_level_has_no_shift():
    # a random mask that fails straight to the HEP plateau (the toric code's): on IMP's flat HEP end
    # the n at equal error is not determined, whatever the noise lets the interpolation read
    run = _synthetic_run(random_shift=1e9)
    c = _claim(compute_claims(dataset(run)), "random mask fails earlier (equal error)")[0]
    assert c.verdict.startswith("undetermined: no failing control round"), c


def test_claims_undetermined_without_structure():
    claims = compute_claims(dataset(_synthetic_run(jump=False, controls=False)))
    for name in ("regions: HEP/APL", "regions: APL/LEP", "regions: APL exponent", "transition: largest"):
        assert _claim(claims, name)[0].verdict.startswith("undetermined"), name
    assert all(c.verdict.startswith("undetermined") for c in _claim(claims, "random mask"))


def test_transition_and_size_trend():
    recs = []
    for L, depth in ((4, 0.9), (5, 0.7)):
        n_spins = L * L

        def err(n, seed, rnd, n_spins=n_spins):
            return 1e-4 if n / n_spins > 4 else 1e-1

        def fid(n, seed, rnd, n_spins=n_spins, depth=depth):
            return {"fidelity_prev": depth if 4 >= n / n_spins > 4 * 0.88 else 0.999}

        recs += curve_records(
            err,
            task=f"tfim2d-{L}x{L}-k3.04438-ffnn-a8",
            n0=8 * n_spins**2,
            n_rounds=60,
            n_spins=n_spins,
            e_ref=-3.2 * n_spins,
            sigma_rel=1e-7,
            extra=fid,
        )
    claims = compute_claims(dataset(recs))
    jumps = _claim(claims, "transition: largest error jump")
    assert len(jumps) == 2 and all(3.0 <= c.value <= 5.0 for c in jumps), jumps
    dips = _claim(claims, "transition: fidelity minimum")
    assert [c.value for c in dips] == pytest.approx([0.9, 0.7])
    trend = _claim(claims, "trend with L")[0]
    assert trend.verdict == "sharpens with L"


def _staggered_jumps(jump_rho: dict) -> list:
    """A toric-code alpha 8 curve whose seeds each jump by 1.3 decades, seed s below rho = jump_rho[s]
    (None: no jump, a slow drift), so the seed mean rises by < 0.5 decades a round."""

    def err(n, seed, rnd):
        at = jump_rho.get(seed)
        if at is None:
            return 1e-3 * (2592 / n) ** 0.3
        return 1e-3 if n / 18 > at else 2e-2

    return curve_records(err, task="toric-3-ffnn-a8", n_rounds=40, sigma_rel=1e-7)


def test_error_jump_is_read_from_the_seeds_when_the_mean_smears_it():
    """Seeds that jump at different rounds (as the toric code alpha 8 baseline: rho 8.2 / 9.3 / 10.5)
    leave no single rise of >= 0.5 decades in the seed mean; the jump is then found in most seeds, at
    their geometric-mean rho; one jumping seed of three stays undetermined, and says where it jumped."""
    staggered = _staggered_jumps({0: 8.0, 1: 10.5, 2: 13.5})  # jumps between rho 8.72-7.67, 11.2-9.89, 14.4-12.7
    ly = [[math.log10(abs(r["energy"] + 18) / 18) for r in staggered if r["round"] == k] for k in range(41)]
    assert largest_jump(np.mean(ly, axis=1)) is None  # the seed mean alone misses it
    jump = _claim(compute_claims(dataset(staggered)), "transition: largest error jump")[0]
    assert not jump.verdict.startswith("undetermined"), jump.verdict
    assert "3 of 3 seeds" in jump.verdict and "below the n/N = 16 line" in jump.verdict
    assert 8.5 <= jump.value <= 12.0 and jump.lo < jump.value < jump.hi
    lone = _claim(compute_claims(dataset(_staggered_jumps({0: 9.9}))), "transition: largest error jump")[0]
    assert lone.verdict.startswith("undetermined: no jump stands out (1 of 3 seeds: 1.30 decades at rho")
    assert math.isnan(lone.value)
    two = _claim(compute_claims(dataset(_staggered_jumps({0: 8.0, 1: 13.5}))), "transition: largest error jump")[0]
    assert "2 of 3 seeds" in two.verdict and 8.0 <= two.value <= 13.5, two


def test_error_jump_ci_is_never_narrower_than_the_rounds_around_the_jump():
    """Seeds that all jump at the same round give a t interval of zero width; the CI keeps the
    resolution of the round grid: from the round after the jump to the round before it."""
    same = _staggered_jumps({0: 10.5, 1: 10.5, 2: 10.5})
    jump = _claim(compute_claims(dataset(same)), "transition: largest error jump")[0]
    rho = sorted({r["rho"] for r in same})
    after, before = max(x for x in rho if x < 10.5), min(x for x in rho if x > 10.5)
    assert jump.verdict.startswith("jump of 1.30 decades")
    assert (jump.lo, jump.hi) == pytest.approx((after, before)) and jump.lo < jump.value < jump.hi


def test_error_jump_skips_a_round_without_data():
    """A seed whose round right after its jump is missing (NaN in its column): its jump lies between
    the finite rounds around the gap, not between the last finite round and the missing one."""

    def err(n, seed, rnd):
        return 2e-2 if seed == 0 and n / 18 < 10.5 else 1e-3

    recs = curve_records(err, task="toric-3-ffnn-a8", n_rounds=40, sigma_rel=1e-7)
    rho = {r["round"]: r["rho"] for r in recs}
    k = max(r for r, x in rho.items() if x > 10.5)  # seed 0's last round before its jump
    recs = [r for r in recs if (r["round"], r["seed"]) != (k + 1, 0)]
    jump = _claim(compute_claims(dataset(recs)), "transition: largest error jump")[0]
    assert jump.verdict.endswith(f"(1 of 3 seeds: 1.30 decades at rho {math.sqrt(rho[k] * rho[k + 2]):.3g})")


def test_mz_jump_skips_a_round_without_data():
    """|M_z| rises from 0.1 to 0.8 below rho = 4; the round right after the rise has no |M_z| (its
    energy is there): the jump lies between the finite rounds around the gap."""
    ns = n_schedule(8 * 16**2, 0.12, 40)
    k = max(r for r, n in enumerate(ns) if n / 16 > 4)  # the last round before the rise

    def mz(n, seed, rnd):
        return {"m_z": math.nan if rnd == k + 1 else (-1) ** seed * (0.1 if n / 16 > 4 else 0.8)}

    recs = curve_records(
        lambda n, seed, rnd: 1e-4,
        task="tfim2d-4x4-k3.04438-ffnn-a8",
        n0=8 * 16**2,
        n_rounds=40,
        n_spins=16,
        e_ref=-3.2 * 16,
        sigma_rel=1e-7,
        extra=mz,
    )
    claim = _claim(compute_claims(dataset(recs)), "transition: |M_z| jump")[0]
    assert claim.verdict == f"jump between rho {ns[k] / 16:.3g} and {ns[k + 2] / 16:.3g}", claim.verdict
    assert (claim.value, claim.lo, claim.hi) == pytest.approx((0.7, 0.7, 0.7))


def test_below_reference_precision_flag():
    recs = _synthetic_run(controls=False)
    for r in recs:
        r["reference_uncertainty"] = 1e-2 * abs(r["reference_energy"])  # 1% uncertain reference
    ds = dataset(recs)
    ds["reference_uncertainty"] = ("task", [1e-2 * 51.4])
    match = _claim(compute_claims(ds), "matches dense")[0]
    assert match.verdict.startswith("below reference precision")


def test_claims_count_diverged_seeds():
    recs = _synthetic_run(controls=False, n_rounds=20)
    recs = [dict(r, energy=float("nan"), diverged=True) if (r["round"], r["seed"]) == (7, 1) else r for r in recs]
    seeds = _claim(compute_claims(dataset(recs)), "seeds finished")[0]
    assert seeds.value == 1 and seeds.verdict == "marked: round 7: 2/3 (1 diverged)"


def test_claims_cli(tmp_path, capsys):
    path = tmp_path / "r.nc"
    dataset(_synthetic_run(controls=False, n_rounds=30), path)
    assert main(["claims", str(path)]) == 0
    assert "matches dense" in capsys.readouterr().out
    assert main(["claims", str(path), "--markdown"]) == 0
    assert capsys.readouterr().out.startswith("| figure |")
    (tmp_path / "junk.nc").write_text("x")
    assert main(["claims", str(tmp_path / "junk.nc")]) == 2
    assert main(["claims", str(tmp_path / "missing.nc")]) == 2


def test_collapse_across_alpha_is_computed_across_files(tmp_path, capsys):
    """Fig 2's collapse compares widths that ship as separate files: `lthbench claims a.nc b.nc` and the
    reproduction generator compute it across them (same boundaries -> collapse; moved n1 -> none)."""
    paths = {}
    for alpha, x1 in ((2.5, 2.0), (5.0, 2.0), (8.0, 1.4)):
        paths[alpha] = tmp_path / f"a{alpha:g}.nc"
        dataset(
            _synthetic_run(task=f"tfim2d-4x4-k3.04438-ffnn-a{alpha:g}", x1=x1, controls=False),
            paths[alpha],
        )
    assert main(["claims", str(paths[2.5])]) == 0
    assert "collapse across alpha" not in capsys.readouterr().out
    assert main(["claims", str(paths[2.5]), str(paths[5.0]), "--markdown"]) == 0
    out = capsys.readouterr().out
    row = [line for line in out.splitlines() if "collapse across alpha (n1)" in line]
    assert len(row) == 1 and "| collapse (CIs overlap; " in row[0], row
    assert main(["claims", str(paths[2.5]), str(paths[8.0]), "--markdown"]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if "collapse across alpha (n1)" in line]
    assert len(row) == 1 and "| no collapse (" in row[0], row
    assert main(["claims", str(paths[2.5]), str(tmp_path / "missing.nc")]) == 2
    assert capsys.readouterr().out == ""  # the missing file was found before any claim was computed
    text = generate(tmp_path)
    assert "#### Across the datasets" in text and text.count("collapse across alpha (n1)") == 1
    assert main(["report", str(paths[2.5]), str(paths[5.0]), "--out", str(tmp_path / "rep")]) == 0
    report = (tmp_path / "rep" / "claims.txt").read_text()
    assert "# across the 2 files" in report and "collapse (CIs overlap; " in report.split("# across the 2 files")[1]


def test_a_files_own_collapse_is_not_repeated_across_files(tmp_path):
    """A file holding two widths keeps its collapse in its own section; combined with a file of another
    field the across list does not say it again, and with a third width it says the 3-width one."""
    both = tmp_path / "a2.5-a5.nc"
    recs = [
        r for alpha in (2.5, 5.0) for r in _synthetic_run(task=f"tfim2d-4x4-k3.04438-ffnn-a{alpha:g}", controls=False)
    ]
    dataset(recs, both)
    other, third = tmp_path / "k4.nc", tmp_path / "a8.nc"
    dataset(_synthetic_run(task="tfim2d-4x4-k4-ffnn-a5", controls=False), other)
    dataset(_synthetic_run(task="tfim2d-4x4-k3.04438-ffnn-a8", controls=False), third)

    def collapses(claims):
        return [c for c in claims if c.claim == "collapse across alpha (n1)"]

    per_source, across = claims_of_files([str(both), str(other)])
    assert len(collapses(per_source[0])) == 1 and not collapses(per_source[1])
    assert not collapses(across)
    per_source, across = claims_of_files([str(both), str(third)])
    (own,), (joined,) = collapses(per_source[0]), collapses(across)
    assert own.task != joined.task and "a8" in joined.task


def test_collapse_widens_each_boundary_ci_by_one_round():
    """A boundary sits on the rounds' alive counts, so CIs from 3 seeds landing on one round ([23, 26]
    against [28, 32], the shipped kappa = 4 n1) overlap once each is widened to its neighbouring
    rounds; boundaries several rounds apart still do not collapse."""
    grid = [20.0, 23.0, 26.0, 30.0, 34.0]
    assert widened_to_grid((23.0, 26.0), grid) == (20.0, 30.0)
    assert widened_to_grid((20.0, 34.0), grid) == (20.0, 34.0)  # the grid's ends stay
    assert widened_to_grid((23.0, 26.0), ()) == (23.0, 26.0)
    # CI ends come back as 10**log10(n), a hair to either side of n depending on libm: still n's round
    assert widened_to_grid((23.000000000000004, 25.999999999999996), grid) == (20.0, 30.0)

    def summary(task, n1_ci, grid):
        return {
            "params": task_parameters(task),
            "bounds": (n1_ci[0], 60.0),
            "bounds_ci": (n1_ci, (55.0, 62.0)),
            "n_grid": grid,
            "jump_rho": float("nan"),
            "fid_min": float("nan"),
        }

    def n1_verdict(ci_a, grid_a, ci_b, grid_b):
        per_task = {
            ("tfim2d-4x4-k4-ffnn-a2.5-cpu", "m"): summary("tfim2d-4x4-k4-ffnn-a2.5-cpu", ci_a, grid_a),
            ("tfim2d-4x4-k4-ffnn-a5-cpu", "m"): summary("tfim2d-4x4-k4-ffnn-a5-cpu", ci_b, grid_b),
        }
        (claim,) = [c for c in scan_claims(per_task) if c.claim == "collapse across alpha (n1)"]
        return claim.verdict

    grid_a, grid_b = [20.0, 23.0, 26.0, 30.0], [25.0, 28.0, 32.0, 36.0]
    assert n1_verdict((23.0, 26.0), grid_a, (28.0, 32.0), grid_b).startswith("collapse")
    assert n1_verdict((23.0, 26.0), [], (28.0, 32.0), []).startswith("no collapse")  # no grid: raw CIs
    far_b = [60.0, 68.0, 77.0, 88.0]
    assert n1_verdict((23.0, 26.0), grid_a, (68.0, 77.0), far_b).startswith("no collapse")
