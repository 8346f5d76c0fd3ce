"""Report figures and method comparison, on synthetic records (no training)."""

from __future__ import annotations

import numpy as np
import pytest

from lthbench.compare import compare, format_table, seed_stats, welch_p
from lthbench.errors import LthbenchError
from lthbench.report import curve, dense_level, make_report, surviving_filters
from lthbench.results import CellKey, RunStore, records_to_dataset, save_dataset

from test_results import METHOD, synthetic_record


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
            rec = synthetic_record(method=method, rnd=rnd, seed=seed, n_alive=n_alive, rho=n_alive / 18,
                                   density=n_alive / mask.size, rel_error=err, abs_error_per_spin=err,
                                   fidelity_prev=np.nan if rnd == 0 else 0.9, m_z=0.1 * rnd)
            params = {"ffnn/~/linear": {"w": w0 * mask}}
            arts = {"params": params, "mask": {"ffnn/~/linear": {"w": mask.copy()}}}
            store.write(CellKey.from_record(rec), rec, arts)
            if rnd in (2, 4):
                for control, factor in (("ticket", 1.0), ("reinit", 1.2), ("random-mask", 5.0)):
                    crec = dict(rec, control=control, rel_error=err * factor, abs_error_per_spin=err * factor)
                    store.write(CellKey.from_record(crec), crec, arts)
    return store


def test_report_writes_the_paper_figures(tmp_path):
    out = tmp_path / "results.nc"
    store = _toric_store(out)
    store.finalize({"test": 1})
    paths = make_report(out, tmp_path / "figs")
    names = {p.name for p in paths}
    stem = "toric-3-ffnn-a8-quick__magnitude_imp-wr_rewind_trained"
    for suffix in ("rel_error", "abs_error_per_spin", "fidelity_mz"):
        assert f"{stem}__{suffix}.png" in names
    assert any("filters_round" in n for n in names)
    for p in paths:
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
    assert np.all(np.diff(c.n_alive) < 0)
    assert dense_level(ds, "toric-3-ffnn-a8-quick", METHOD) == pytest.approx(0.011)
    ticket = curve(ds, "toric-3-ffnn-a8-quick", METHOD, "ticket")
    assert list(ticket.rounds) == [2, 4]
    w = np.zeros((18, 4))
    w[[0, 1, 2, 7], 1] = [1, -1, 1, 1]
    w[3, 3] = 0.5
    filters = surviving_filters({"l": {"w": w}}, None, 18)
    assert filters.shape == (2, 18) and np.count_nonzero(filters[0]) == 4


def test_seed_statistics():
    s = seed_stats([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and s.half_width == pytest.approx(4.302652729911275 * 1 / np.sqrt(3))
    assert np.isnan(seed_stats([1.0]).half_width)
    assert welch_p([1, 1.1, 0.9], [5, 5.1, 4.9]) < 0.01
    assert welch_p([1, 1.1, 0.9], [1, 1.1, 0.9]) == pytest.approx(1.0)
    assert np.isnan(welch_p([1.0], [2.0, 3.0]))


def test_compare_two_files(tmp_path, capsys):
    a = tmp_path / "a.nc"
    b = tmp_path / "b.nc"
    _toric_store(a).finalize({"run": "a"})
    _toric_store(b, method="random/irp-wr/rewind=trained", shift=0.05).finalize({"run": "b"})
    rows = compare([a, b])
    assert len(rows) == 5
    assert all(r.significant == "yes" for r in rows)
    assert rows[0].method_a == METHOD and rows[0].method_b == "random/irp-wr/rewind=trained"
    table = format_table(rows)
    assert "p (Welch)" in table and "±" in table
    # same method label in both files: compared as two methods
    rows_same = compare([a, a])
    assert len(rows_same) == 5 and all(r.significant == "no" for r in rows_same)
    # one method only: nothing to compare
    assert compare([a]) == []


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
