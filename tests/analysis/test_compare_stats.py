"""The comparison's error model: calibration on null data, power, the spurious case, real differences,
divergence accounting and the command's input checks. Synthetic data only (no training)."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_synth import TASK, curve_records, dataset
from scipy import stats as sps

from lthbench.analysis.area import loglog_area
from lthbench.analysis.compare import compare
from lthbench.analysis.compare_format import format_comparison
from lthbench.analysis.dense_match import matches_dense
from lthbench.analysis.stats import (
    holm,
    inflate_sigma,
    paired_difference,
    random_effects,
    ratio_estimate,
    simulate_paired,
    welch_mc,
)
from lthbench.cli import main

OTHER = "mine/imp-wr/rewind=trained"
N_NULL = 20_000  # trials per null configuration


def _pair(tmp_path, err_a, err_b, *, sigma_rel=0.0, diverged_b=(), n_rounds=12, seeds=(0, 1, 2), files=False):
    """Two in-memory datasets (A, B), or with files=True two netCDF files."""
    a = dataset(curve_records(err_a, sigma_rel=sigma_rel, n_rounds=n_rounds, seeds=seeds))
    b = dataset(
        curve_records(err_b, method=OTHER, sigma_rel=sigma_rel, n_rounds=n_rounds, seeds=seeds, diverged=diverged_b)
    )
    if files:
        from lthbench.results import save_dataset

        save_dataset(a, tmp_path / "a.nc")
        save_dataset(b, tmp_path / "b.nc")
        return tmp_path / "a.nc", tmp_path / "b.nc"
    return a, b


# ---------------------------------------------------------------------------------------------------
# The spurious case: 2.6e-6 vs 7.9e-6 relative errors with sigma/|E0| = 5e-6 and 3 seeds


SPURIOUS_A = (2.5e-6, 2.6e-6, 2.7e-6)
SPURIOUS_B = (7.8e-6, 7.9e-6, 8.0e-6)


def test_spurious_case_is_not_significant():
    sigma2 = np.full(3, 5e-6) ** 2
    # an unpaired Welch test on the seed values alone calls it significant (the old behaviour) ...
    assert sps.ttest_ind(SPURIOUS_A, SPURIOUS_B, equal_var=False).pvalue < 0.05
    # ... the MC error bars say the difference (5.3e-6) is within the noise of the means (4.1e-6)
    est = paired_difference(SPURIOUS_A, sigma2, SPURIOUS_B, sigma2)
    assert est.value == pytest.approx(5.3e-6)
    assert est.p > 0.2 and est.lo < 0 < est.hi
    ratio = ratio_estimate(SPURIOUS_A, sigma2, SPURIOUS_B, sigma2)
    assert ratio.value == pytest.approx(7.9 / 2.6) and ratio.hi == np.inf  # A is not resolved above 0


def test_spurious_case_through_compare(tmp_path):
    def err_a(n, seed, rnd):
        return 4e-6 if rnd == 0 else SPURIOUS_A[seed]

    def err_b(n, seed, rnd):
        return 4e-6 if rnd == 0 else SPURIOUS_B[seed]

    a, b = _pair(tmp_path, err_a, err_b, sigma_rel=5e-6)
    result = compare([a, b])
    tested = [p for p in result.points if not p.dense]
    assert len(tested) == 12
    assert all(p.verdict == "not significant" for p in tested), [p.verdict for p in tested]
    assert result.points[0].verdict == "dense (not tested)" and np.isnan(result.points[0].p)
    # without the MC error bars the same numbers would be "significant"
    a0, b0 = _pair(tmp_path, err_a, err_b, sigma_rel=0.0)
    assert all(p.verdict == "B worse" for p in compare([a0, b0]).points if not p.dense)


# ---------------------------------------------------------------------------------------------------
# Calibration and power (vectorised simulation of the paired test)


@pytest.mark.parametrize("k", [2, 3, 5])
@pytest.mark.parametrize("tau", [0.0, 0.3, 1.0, 3.0, 10.0])
@pytest.mark.parametrize("heterogeneous", [False, True])
def test_false_positive_rate_on_null_data(k, tau, heterogeneous):
    """20,000 null trials per setting: seed scatter tau and MC sigma (equal, or 0.3..3 across seeds)."""
    rng = np.random.default_rng(1000 * k + int(10 * tau) + heterogeneous)
    sigma = np.linspace(0.3, 3.0, k) if heterogeneous else 1.0
    r = simulate_paired(N_NULL, k, delta=0.0, tau=tau, sigma=sigma, rng=rng)
    fpr = float(np.mean(r["p"] < 0.05))
    assert fpr <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / N_NULL), fpr


def test_holm_keeps_the_familywise_rate_across_densities():
    """20 densities x 5,000 null trials: P(any Holm-adjusted p < 0.05) <= 5%."""
    rng = np.random.default_rng(7)
    r = simulate_paired(5_000 * 20, 3, delta=0.0, tau=1.0, sigma=1.0, rng=rng)
    p = r["p"].reshape(5_000, 20)
    any_hit = np.array([np.any(holm(row) < 0.05) for row in p])
    assert any_hit.mean() <= 0.05


POWER = {  # (k seeds, delta in units of the per-cell MC sigma, tau = 0.5 sigma) -> expected power
    (3, 4.0): 0.53,
    (3, 6.0): 0.91,
    (5, 4.0): 0.99,
}


@pytest.mark.parametrize("k,delta", list(POWER))
def test_power_at_stated_effect_sizes(k, delta):
    rng = np.random.default_rng(11)
    r = simulate_paired(N_NULL, k, delta=delta, tau=0.5, sigma=1.0, rng=rng)
    power = float(np.mean(r["p"] < 0.05))
    assert power == pytest.approx(POWER[(k, delta)], abs=0.02)


def test_random_effects_edge_cases():
    r = random_effects(np.array([1.0, np.nan, 3.0]), np.zeros(3))
    assert r["k"] == 2 and r["delta"] == 2.0
    one = random_effects(np.array([1.0, np.nan]), np.zeros(2))
    assert one["k"] == 1 and np.isnan(one["p"])
    same = random_effects(np.zeros(3), np.zeros(3))
    assert same["p"] == 1.0


# ---------------------------------------------------------------------------------------------------
# Real differences come out significant with the right direction


def _lep_curve(level):
    def err(n, seed, rnd):
        return level * (1 + 0.05 * seed) * (1 + (300 / n) ** 2)

    return err


def test_large_shift_is_significant_with_direction(tmp_path):
    """A method that keeps the wrong weights (10x the error at every density) is "B worse"; swapped,
    "B better"."""
    good, bad = _lep_curve(1e-4), _lep_curve(1e-3)
    a, b = _pair(tmp_path, good, lambda n, s, r: good(n, s, r) if r == 0 else bad(n, s, r), sigma_rel=1e-6)
    result = compare([a, b])
    tested = [p for p in result.points if not p.dense]
    assert tested and all(p.verdict == "B worse" for p in tested)
    assert all(p.ratio.lo > 5 for p in tested)
    area = [s for s in result.summaries if s.method == OTHER][0].area
    assert area.lo > 0  # B's curve lies above A's in log-log
    swapped = compare([b, a])
    assert all(p.verdict == "B better" for p in swapped.points if not p.dense)
    text = format_comparison(result)
    assert "B worse" in text and "p Holm" in text and "dense (not tested)" in text


def test_same_method_new_seeds_not_significant(tmp_path):
    rng = np.random.default_rng(3)
    noise = {s: rng.normal(0, 0.05, 40) for s in range(6)}

    def err(n, seed, rnd):
        return 1e-4 * (1 + (300 / n) ** 2) * (1 + noise[seed][rnd])

    a = dataset(curve_records(err, seeds=(0, 1, 2), sigma_rel=2e-6))
    b = dataset(curve_records(err, seeds=(3, 4, 5), sigma_rel=2e-6, method=OTHER))
    # different seeds cannot be paired: tested unpaired, and the same method is never "significant"
    result = compare([a, b])
    tested = [p for p in result.points if not p.dense]
    assert tested and all(not p.paired and p.verdict == "not significant" for p in tested)
    assert "(unpaired)" in format_comparison(result)


@pytest.mark.parametrize("tau", [0.0, 1.0, 10.0])
def test_unpaired_false_positive_rate(tau):
    """20,000 null trials of 3 vs 3 seeds with seed scatter tau and MC sigma 1 (0.3..3 on B)."""
    rng = np.random.default_rng(int(tau) + 50)
    sig_b = np.linspace(0.3, 3.0, 3)
    a = tau * rng.standard_normal((N_NULL, 3)) + rng.standard_normal((N_NULL, 3))
    b = tau * rng.standard_normal((N_NULL, 3)) + sig_b * rng.standard_normal((N_NULL, 3))
    r = welch_mc(a, np.ones(3), b, sig_b**2)
    fpr = float(np.mean(r["p"] < 0.05))
    assert fpr <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / N_NULL), fpr


def test_baseline_shipped(tmp_path, monkeypatch):
    """--baseline shipped reads lthbench.experiment.baselines' directory: a rerun of the baseline with new seeds is
    "not significant" at every density; a 10x worse method is "B worse"."""
    import lthbench.experiment.baselines as baselines

    rng = np.random.default_rng(8)
    noise = rng.normal(0, 0.05, (6, 40))

    def err(n, seed, rnd):
        return 1e-4 * (1 + (300 / n) ** 2) * (1 + noise[seed, rnd])

    shipped = tmp_path / "shipped"
    shipped.mkdir()
    dataset(curve_records(err, seeds=(0, 1, 2), sigma_rel=2e-6), shipped / f"{TASK}.nc")
    monkeypatch.setattr(baselines, "BASELINE_DIR", shipped)
    rerun = dataset(curve_records(err, seeds=(3, 4, 5), sigma_rel=2e-6))
    result = compare([rerun], baseline="shipped")
    tested = [p for p in result.points if not p.dense]
    assert tested and all(p.verdict == "not significant" for p in tested)
    assert all(p.method_a.endswith("[shipped]") for p in result.points)
    worse = dataset(curve_records(lambda n, s, r: 10 * err(n, s, r), seeds=(0, 1, 2), sigma_rel=2e-6, method=OTHER))
    assert all(p.verdict == "B worse" for p in compare([worse], baseline="shipped").points if not p.dense)


# ---------------------------------------------------------------------------------------------------
# Divergence, chain diagnostics, matching dense, area


def test_diverged_seed_counts_as_failure(tmp_path):
    good = _lep_curve(1e-4)
    a, b = _pair(tmp_path, good, good, sigma_rel=1e-7, diverged_b={(5, 1), (6, 1), (7, 1)})
    result = compare([a, b])
    p5 = [p for p in result.points if p.round_a == 5][0]
    assert p5.seeds_b == "2/3 (1 div)" and p5.short
    assert p5.mean_b.value > 0.3  # the failure is counted (relative error 1), not averaged away
    summary = [s for s in result.summaries if s.method == OTHER][0]
    assert summary.match.round <= 4  # B stops matching dense where it diverged
    assert "*" in format_comparison(result)


def test_stuck_chain_widens_sigma():
    sigma = np.array([1e-6, 1e-6, 1e-6])
    err = np.array([1e-4, 1e-4, 1e-4])
    widened, bad = inflate_sigma(
        sigma, err, acceptance=np.array([0.3, 0.0, np.nan]), r_hat=np.array([1.5, 1.0, np.nan])
    )
    assert np.all(widened >= sigma)
    assert widened[0] >= 1e-4 and widened[1] >= 1e-4 and widened[2] == 1e-6
    assert list(bad) == [True, True, False]


def test_compare_uses_diagnostics_when_present(tmp_path):
    good, bad = _lep_curve(1e-4), _lep_curve(1.5e-4)
    a, b = _pair(tmp_path, good, lambda n, s, r: good(n, s, r) if r == 0 else bad(n, s, r), sigma_rel=1e-7)
    assert all(p.verdict == "B worse" for p in compare([a, b]).points if not p.dense)
    b = b.copy()
    b["acceptance"] = b["energy"] * 0 + 0.0  # every chain of B stuck
    result = compare([a, b])
    assert "acceptance" in result.notes[0]
    assert all(p.verdict == "not significant" for p in result.points if not p.dense)


def test_matches_dense_and_area():
    density = 0.88 ** np.arange(20)
    base = 1e-4 * np.ones((20, 3)) * np.array([1.0, 1.1, 0.9])
    err = base.copy()
    err[12:] *= 10  # fails from round 12
    m = matches_dense(density, err, np.zeros_like(err), np.zeros_like(err, bool))
    assert m.round == 11 and m.density == pytest.approx(0.88**11)
    assert m.lo <= m.density <= m.hi
    flat = matches_dense(density, base, np.zeros_like(err), np.zeros_like(err, bool))
    assert flat.round == 19
    failed = np.zeros_like(err, bool)
    failed[5, 0] = True
    assert matches_dense(density, base, np.zeros_like(err), failed).round == 4
    n = 1000 * density
    area = loglog_area(n, base, n, base * 10)
    assert area == pytest.approx(np.full(3, np.log10(n[0] / n[-1])))


def test_holm_values():
    p = holm([0.01, 0.04, 0.03, np.nan])
    assert p[:3] == pytest.approx([0.03, 0.06, 0.06]) and np.isnan(p[3])


# ---------------------------------------------------------------------------------------------------
# Baseline selection and input checks


def test_baseline_option(tmp_path, capsys):
    good = _lep_curve(1e-4)
    a, b = _pair(tmp_path, good, good, sigma_rel=1e-6, files=True)
    result = compare([a, b], baseline=OTHER)
    assert {p.method_a for p in result.points} == {OTHER}
    assert main(["compare", str(a), str(b), "--baseline", "nope"]) == 2
    assert "not a method" in capsys.readouterr().err
    assert main(["compare", str(a), "--baseline", "shipped"]) == 2
    assert "no shipped baseline" in capsys.readouterr().err


def test_compare_input_checks(tmp_path, capsys):
    import xarray as xr

    a, b = _pair(tmp_path, _lep_curve(1e-4), _lep_curve(1e-4), files=True)
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(foreign, engine="h5netcdf")
    junk = tmp_path / "junk.nc"
    junk.write_text("not a netcdf")
    for argv, needle in (
        (["compare", str(foreign)], "not an lthbench results file"),
        (["compare", str(junk)], "is not an lthbench results file"),
        (["compare", str(a), str(b), "--metric", "n_alive"], "not a metric"),
        (["compare", str(a), str(b), "--tolerance", "nan"], "tolerance"),
        (["compare", str(a), str(b), "--alpha", "-1"], "alpha"),
    ):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err
    assert main(["compare", str(a), str(b), "--metric", "abs_m_z"]) == 0


def test_below_reference_precision_is_flagged(tmp_path):
    good = _lep_curve(1e-5)
    a, b = _pair(tmp_path, good, good, sigma_rel=1e-7)
    a = a.copy()
    a["reference_uncertainty"] = ("task", [1e-3 * 18.0])  # the reference is only good to 1e-3
    result = compare([a, b])
    assert all(p.below_reference for p in result.points)
    assert "below reference precision" in format_comparison(result)
    assert not any(p.below_reference for p in compare([_pair(tmp_path, good, good)[0], b]).points)
