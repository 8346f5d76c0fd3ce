"""Results layer: cell store (atomic, resumable), records -> xarray, netCDF round trip, merge."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import xarray as xr
from records_synth import METHOD, synthetic_record, synthetic_records

from lthbench.errors import LthbenchError
from lthbench.results import (
    CellKey,
    RunStore,
    dataset_to_records,
    flatten_tree,
    load_dataset,
    merge,
    provenance_of,
    records_to_dataset,
    save_dataset,
    unflatten_tree,
)

PROVENANCE = {"lthbench_version": "0.1.0", "args": {"seeds": [0, 1], "quick": True}, "task": {"a": {"b": 1}}}


def test_cell_store_write_read_and_resume(tmp_path):
    out = tmp_path / "results.nc"
    store = RunStore(out)
    key = CellKey("toric-3-ffnn-a8-quick", METHOD, "imp", 0, 0)
    assert not store.has(key)
    params = {"ffnn/~/linear": {"w": np.arange(6.0).reshape(2, 3)}, "ffnn/~/norm": {"scale": np.ones(3)}}
    mask = {"ffnn/~/linear": {"w": np.ones((2, 3), dtype=np.uint8)}, "ffnn/~/norm": {"scale": np.ones(3)}}
    store.write(key, synthetic_record(), {"params": params, "mask": mask, "params_init": params})
    assert store.has(key)
    rec = store.read_record(key)
    assert rec["energy"] == synthetic_record()["energy"]
    assert math.isnan(rec["fidelity_prev"]) and rec["diverged"] == 0.0
    arts = store.read_artifacts(key)
    assert set(arts) == {"params", "mask", "params_init"}
    np.testing.assert_array_equal(arts["params"]["ffnn/~/linear"]["w"], params["ffnn/~/linear"]["w"])
    assert arts["mask"]["ffnn/~/linear"]["w"].dtype == np.uint8
    # a fresh store on the same path sees the finished cell (resume)
    assert RunStore(out).has(key)
    assert [CellKey.from_record(r) for r in RunStore(out).records()] == [key]
    # no temp files left behind
    assert not [p for p in store.cells_dir.iterdir() if p.name.startswith(".")]


def test_record_must_match_key(tmp_path):
    store = RunStore(tmp_path / "r.nc")
    with pytest.raises(ValueError):
        store.write(CellKey("t", METHOD, "imp", 1, 0), synthetic_record(task="t", rnd=2), {})


def test_cell_without_record_is_not_finished(tmp_path):
    store = RunStore(tmp_path / "r.nc")
    key = CellKey("t", "m/x:y", "imp", 0, 0)
    npz = store.cells_dir / f"{key.stem}.npz"
    npz.write_bytes(b"partial")  # a run killed between the artifacts and the record
    assert not store.has(key)
    assert store.records() == []


def test_stems_are_distinct_and_safe():
    a = CellKey("t", "pkg.mod:Name/imp-wr/rewind=init", "imp", 1, 0)
    b = CellKey("t", "pkg.mod:Name/imp-wr/rewind_init", "imp", 1, 0)
    assert a.stem != b.stem
    assert "/" not in a.stem and ":" not in a.stem


def test_flatten_roundtrip():
    tree = {"cnn/~/conv2_d": {"w": np.ones((3, 3, 1, 4))}, "res/~/block_0/~/conv": {"w": np.zeros((3, 3, 4, 4))}}
    flat = flatten_tree(tree)
    assert set(flat) == {"cnn/~/conv2_d/w", "res/~/block_0/~/conv/w"}
    back = unflatten_tree(flat)
    assert back.keys() == tree.keys()


def test_dataset_schema_and_netcdf_roundtrip(tmp_path):
    recs = synthetic_records()
    ds = records_to_dataset(recs, PROVENANCE)
    assert ds["energy"].dims == ("task", "method", "control", "round", "seed")
    assert list(ds["control"].values) == ["imp", "ticket", "reinit", "random-mask"]
    for name in (
        "energy",
        "energy_sigma",
        "variance",
        "rel_error",
        "abs_error_per_spin",
        "v_score",
        "fidelity_prev",
        "fidelity_exact",
        "m_z",
        "m_x",
        "n_alive",
        "density",
        "rho",
        "wall_time",
        "samples_per_s",
        "diverged",
    ):
        assert name in ds and "units" in ds[name].attrs
    assert ds["reference_energy"].sel(task="toric-3-ffnn-a8-quick") == -18.0
    assert str(ds["reference_source"].values[0]).startswith("analytic")
    # missing cells are NaN (controls only at rounds 2 and 4)
    assert np.isnan(ds["energy"].sel(control="ticket", round=1)).all()
    assert json.loads(ds.attrs["provenance_json"]) == json.loads(json.dumps(PROVENANCE))
    for value in ds.attrs.values():
        assert not isinstance(value, (bool, dict))
    path = tmp_path / "ds.nc"
    save_dataset(ds, path)
    back = load_dataset(path)
    xr.testing.assert_identical(ds, back)
    assert provenance_of(back)["args"]["quick"] is True
    # and back to records
    assert len(dataset_to_records(back)) == len(recs)


def test_finalize_merges_and_replaces_atomically(tmp_path):
    out = tmp_path / "results.nc"
    store = RunStore(out)
    for rec in synthetic_records(seeds=(0,)):
        store.write(CellKey.from_record(rec), rec, {})
    ds1 = store.finalize({"run": 1})
    assert ds1.sizes["seed"] == 1
    # a second run into the same file (another task) appends
    store2 = RunStore(out)
    for rec in synthetic_records(seeds=(1,), task="tiny-toric-2"):
        store2.write(CellKey.from_record(rec), rec, {})
    ds2 = store2.finalize({"run": 2})
    assert set(ds2["task"].values) == {"toric-3-ffnn-a8-quick", "tiny-toric-2"}
    assert ds2.sizes["seed"] == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_merge_later_wins_and_keeps_provenance():
    a = records_to_dataset(synthetic_records(seeds=(0,)), {"run": "a"})
    recs_b = synthetic_records(seeds=(0,))
    recs_b[0]["energy"] = -17.0
    b = records_to_dataset(recs_b + synthetic_records(seeds=(0,), method="random/irp-wr/rewind=trained"), {"run": "b"})
    m = merge([a, b])
    assert float(m["energy"].sel({"method": METHOD, "control": "imp", "round": 0, "seed": 0}).item()) == -17.0
    assert m.sizes["method"] == 2
    assert provenance_of(m) == {"merged_from": [{"run": "a"}, {"run": "b"}]}


def test_output_in_missing_directory(tmp_path):
    with pytest.raises(LthbenchError):
        RunStore(tmp_path / "nope" / "results.nc")
    with pytest.raises(LthbenchError):
        load_dataset(tmp_path / "missing.nc")
