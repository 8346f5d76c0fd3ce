"""Report figures and method comparison, on synthetic records (no training)."""

from __future__ import annotations

import numpy as np
import pytest
from records_synth import METHOD, synthetic_record

from lthbench.analysis.compare import compare
from lthbench.analysis.compare_format import format_comparison
from lthbench.analysis.curve_stats import curve, dense_level
from lthbench.analysis.filters import surviving_filters
from lthbench.analysis.report import make_report
from lthbench.errors import LthbenchError
from lthbench.results import CellKey, RunStore


def _toric_store(path, seeds=(0, 1, 2), method=METHOD, shift=0.0):
    """A synthetic toric-3 run with artifacts: first-layer (18, 144) kernel, pruned by 30% per round."""
    store = RunStore(path)
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(18, 144))
    for seed in seeds:
        mask = np.ones_like(w0)
        for rnd in range(5):
            if rnd:
                alive = np.flatnonzero(mask)
                k = int(round(0.3 * alive.size))
                order = np.argsort(np.abs(w0.ravel()[alive]), kind="stable")
                mask.ravel()[alive[order[:k]]] = 0
            n_alive = int(mask.sum())
            err = 0.01 * (1 + rnd) + shift + 0.001 * seed
            rec = synthetic_record(
                method=method,
                rnd=rnd,
                seed=seed,
                n_alive=n_alive,
                rho=n_alive / 18,
                energy=-18 + 18 * err,
                density=n_alive / mask.size,
                rel_error=err,
                abs_error_per_spin=err,
                fidelity_prev=np.nan if rnd == 0 else 0.9,
                m_z=0.1 * rnd,
            )
            params = {"ffnn/~/linear": {"w": w0 * mask}}
            arts = {"params": params, "mask": {"ffnn/~/linear": {"w": mask.copy()}}}
            store.write(CellKey.from_record(rec), rec, arts)
            if rnd in (2, 4):
                for control, factor in (("ticket", 1.0), ("reinit", 1.2), ("random-mask", 5.0)):
                    crec = dict(
                        rec,
                        control=control,
                        rel_error=err * factor,
                        abs_error_per_spin=err * factor,
                        energy=-18 + 18 * err * factor,
                    )
                    store.write(CellKey.from_record(crec), crec, arts)
    return store


def test_report_writes_the_paper_figures(tmp_path):
    out = tmp_path / "results.nc"
    store = _toric_store(out)
    store.finalize({"test": 1})
    paths = make_report(out, tmp_path / "figs")
    names = {p.name for p in paths}
    stem = "toric-3-ffnn-a8-quick"
    for suffix in ("error", "observables"):
        assert f"{stem}__{suffix}.png" in names
    assert any("filters_round" in n for n in names)
    assert "claims.txt" in names
    for p in paths:
        if p.suffix == ".png":
            assert p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG"


def test_report_errors(tmp_path):
    with pytest.raises(LthbenchError):
        make_report(tmp_path / "missing.nc", tmp_path / "figs")
    out = tmp_path / "r.nc"
    _toric_store(out, seeds=(0,)).finalize({})
    with pytest.raises(LthbenchError):
        make_report(out, tmp_path / "no" / "such" / "dir")


def test_curves_and_filters(tmp_path):
    out = tmp_path / "r.nc"
    ds = _toric_store(out).finalize({})
    c = curve(ds, "toric-3-ffnn-a8-quick", METHOD, "imp")
    assert list(c.rounds) == [0, 1, 2, 3, 4] and (c.n_seeds == 3).all()
    assert np.all(c.lo <= c.mean) and np.all(c.mean <= c.hi)
    assert np.all(np.diff(c.n_alive) < 0)
    assert dense_level(ds, "toric-3-ffnn-a8-quick", METHOD) == pytest.approx(0.011)
    ticket = curve(ds, "toric-3-ffnn-a8-quick", METHOD, "ticket")
    assert list(ticket.rounds) == [2, 4]
    w = np.zeros((18, 4))
    w[[0, 1, 2, 7], 1] = [1, -1, 1, 1]
    w[3, 3] = 0.5
    filters = surviving_filters({"l": {"w": w}}, None, 18)
    assert filters.shape == (2, 18) and np.count_nonzero(filters[0]) == 4


def test_compare_two_files(tmp_path, capsys):
    a = tmp_path / "a.nc"
    b = tmp_path / "b.nc"
    _toric_store(a).finalize({"run": "a"})
    _toric_store(b, method="random/irp-wr/rewind=trained", shift=0.05).finalize({"run": "b"})
    result = compare([a, b])
    assert len(result.points) == 5
    assert result.points[0].verdict == "dense (not tested)"
    assert all(p.verdict == "B worse" for p in result.points[1:])
    assert result.points[0].method_a == METHOD and result.points[0].method_b == "random/irp-wr/rewind=trained"
    table = format_comparison(result)
    assert "p Holm" in table and "B / A" in table
    # same method label in both files: compared as two methods, identical: never significant
    same = compare([a, a])
    assert len(same.points) == 5 and all(p.verdict in ("not significant", "dense (not tested)") for p in same.points)
    # one method only: nothing to compare
    assert compare([a]).points == []


def test_compare_cli(tmp_path, capsys):
    from lthbench.cli import main

    a = tmp_path / "a.nc"
    b = tmp_path / "b.nc"
    _toric_store(a).finalize({})
    _toric_store(b, method="snip/imp-wr/rewind=init", shift=0.001).finalize({})
    assert main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "snip/imp-wr/rewind=init" in out
    assert main(["compare", str(tmp_path / "missing.nc")]) == 2
    assert main(["report", str(a), "--out", str(tmp_path / "figs")]) == 0
    assert (tmp_path / "figs").is_dir()


def test_report_overlays_methods_and_scans(tmp_path):
    from analysis_synth import curve_records, dataset

    def err(n, seed, rnd):
        return 1e-4 * (1 + (300 / n) ** 2) * (1 + 0.05 * seed)

    recs = []
    for L in (4, 5):
        task = f"tfim2d-{L}x{L}-k3.04438-ffnn-a8"
        kw = dict(task=task, n0=8 * L**4, n_rounds=10, n_spins=L * L, e_ref=-3.2 * L * L, sigma_rel=1e-6)
        recs += curve_records(err, **kw)
        recs += curve_records(
            lambda n, s, r: 2 * err(n, s, r), method="mine/imp-wr/rewind=trained", **kw, diverged={(5, 1)}
        )
    ds = dataset(recs)
    paths = make_report(ds, tmp_path / "figs", claims=False)
    names = sorted(p.name for p in paths)
    # one error figure per task holding both methods, plus the size-scan overlay
    assert names == [
        "scan__L__tfim_3.04438_ffnn_8.0.png",
        "tfim2d-4x4-k3.04438-ffnn-a8__error.png",
        "tfim2d-4x4-k3.04438-ffnn-a8__observables.png",
        "tfim2d-5x5-k3.04438-ffnn-a8__error.png",
        "tfim2d-5x5-k3.04438-ffnn-a8__observables.png",
    ]
    c = curve(ds, "tfim2d-4x4-k3.04438-ffnn-a8", "mine/imp-wr/rewind=trained", "imp")
    assert c.n_diverged == 1 and c.short[5] and not c.short[4]


def test_report_missing_reference_warns(tmp_path):
    from analysis_synth import curve_records, dataset

    ds = dataset(curve_records(lambda n, s, r: 1e-3, n_rounds=5, e_ref=float("nan")))
    ds["reference_energy"][:] = np.nan
    with pytest.warns(UserWarning, match="no reference energy"):
        paths = make_report(ds, tmp_path / "figs", claims=False)
    assert [p.name for p in paths] == ["toric-3-ffnn-a8-quick__observables.png"]


def test_report_input_checks(tmp_path, capsys):
    import xarray as xr

    from lthbench.cli import main

    out = tmp_path / "r.nc"
    _toric_store(out, seeds=(0,)).finalize({})
    afile = tmp_path / "afile.png"
    afile.write_text("x")
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("t", np.arange(3.0))}).to_netcdf(foreign, engine="h5netcdf")
    for argv, needle in (
        (["report", str(out), "--out", str(afile)], "is a file"),
        (["report", str(foreign), "--out", str(tmp_path / "f")], "not an lthbench results file"),
        (["claims", str(foreign)], "not an lthbench results file"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err
