"""Exact diagonalisation against closed forms and dense eigensolvers, the shipped reference table
against a fresh computation, and the `lthbench exact` / `systems` command lines."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import lthbench  # noqa: F401  (enables x64)
from lthbench import exact
from lthbench.cli import exact_cmd, main
from lthbench.errors import TooLargeForExactError
from lthbench.exact import compute as exact_compute
from lthbench.exact import regenerate as exact_regenerate
from lthbench.systems import system_from_id, tfim, toric


@pytest.mark.parametrize("L", [5, 8, 13])
@pytest.mark.parametrize("kappa", [0.3, 1.0, 2.5])
@pytest.mark.parametrize("pbc", [True, False])
def test_ed_equals_free_fermions_on_chains(L, kappa, pbc):
    system = tfim((L,), kappa, J=1.0, pbc=pbc)
    closed = exact.tfim_chain_free_fermion_energy(L, kappa, 1.0, pbc=pbc)
    assert exact.ground_energy(system) == pytest.approx(closed, rel=1e-9)


@pytest.mark.parametrize("J", [0.6, -0.8])
def test_free_fermions_with_other_couplings(J):
    """J != 1 and an antiferromagnetic (even) ring: still the same spectrum up to a gauge."""
    for pbc in (True, False):
        system = tfim((10,), 1.7, J=J, pbc=pbc)
        closed = exact.tfim_chain_free_fermion_energy(10, 1.7, J, pbc=pbc)
        assert exact.ground_energy(system) == pytest.approx(closed, rel=1e-9)


def test_free_fermions_match_the_dense_spectrum():
    """The closed form against numpy's dense eigvalsh of the sparse matrix (no Lanczos involved)."""
    for L, kappa, pbc in ((6, 0.9, True), (7, 1.3, False), (8, 3.0, True)):
        H = exact.sparse_hamiltonian(tfim((L,), kappa, pbc=pbc)).toarray()
        assert np.linalg.eigvalsh(H)[0] == pytest.approx(
            exact.tfim_chain_free_fermion_energy(L, kappa, pbc=pbc), rel=1e-12
        )


@pytest.mark.parametrize("L", [2, 3])
def test_pure_toric_code_ground_level(L):
    """E0 = -2 L^2, four-fold degenerate on the torus; the four vectors are orthonormal eigenvectors."""
    system = toric(L)
    energies, vectors = exact.ground_space(system)
    assert energies.shape == (4,)
    np.testing.assert_allclose(energies, -2 * L * L, rtol=1e-9)
    assert exact.ground_energy(system) == pytest.approx(-2 * L * L, rel=1e-9)
    assert vectors.shape == (2 ** (2 * L * L), 4)
    np.testing.assert_allclose(vectors.T @ vectors, np.eye(4), atol=1e-10)
    H = exact.sparse_hamiltonian(system)
    np.testing.assert_allclose(H @ vectors, -2 * L * L * vectors, atol=1e-8)
    assert exact.analytic_ground_level(system) == (-2.0 * L * L, 4)


def test_ground_space_against_dense_eigh():
    """Energies and the projector onto the lowest level agree with a dense diagonalisation."""
    for system in (tfim((3, 3), 1.2), toric(2, hx=0.3), tfim((2, 4), 0.0)):
        energies, vectors = exact.ground_space(system)
        values, dense_vectors = np.linalg.eigh(exact.sparse_hamiltonian(system).toarray())
        d = int(np.sum(values <= values[0] + 1e-8 * max(1, abs(values[0]))))
        assert energies.shape == (d,)
        np.testing.assert_allclose(energies, values[:d], rtol=1e-10)
        np.testing.assert_allclose(vectors @ vectors.T, dense_vectors[:, :d] @ dense_vectors[:, :d].T, atol=1e-8)
    # kappa = 0: the two ferromagnetic states, one in each Z2 sector.
    assert exact.ground_space(tfim((2, 4), 0.0))[0].shape == (2,)


def test_product_state_is_above_the_ground_state():
    """|+...+> is variational: its energy (-kappa N, -L^2) lies above E0, and equals E0 only where exact."""
    for system in (tfim((3, 3), 3.04438), toric(2)):
        assert system.uniform_state_energy() > exact.ground_energy(system)
    assert tfim((3, 3), 3.04438).uniform_state_energy() == pytest.approx(-3.04438 * 9, rel=1e-12)
    assert toric(3).uniform_state_energy() == pytest.approx(-9.0, rel=1e-12)
    # kappa large, no coupling: the product state is the exact ground state.
    assert exact.ground_energy(tfim((3, 3), 2.0, J=0.0)) == pytest.approx(-18.0, rel=1e-12)


def test_too_large_for_ed_is_a_clear_error():
    with pytest.raises(TooLargeForExactError) as info:
        exact.ground_energy(system_from_id("tfim2d-5x8-obc-k1"))
    msg = str(info.value)
    assert "N=40" in msg and "too large" in msg and "published" in msg and "\n" not in msg


# ----------------------------------------------------------------------------------------------
# The shipped table


def _table_rows():
    return exact.table_references()


def test_table_holds_the_required_rows():
    rows = {r.row_id: r for r in _table_rows()}
    for k in ("0.1", "1", "2", "3.04438", "4", "5", "6"):
        assert f"tfim2d-4x4-obc-k{k}/ed" in rows
    assert rows["tfim2d-5x5-obc-k3.04438/ed"].n_spins == 25
    for L in (16, 20):
        for bc in ("pbc", "obc"):
            assert f"tfim1d-{L}-{bc}-k1/ed" in rows and f"tfim1d-{L}-{bc}-k1/analytic" in rows
    for L in (2, 3):
        assert rows[f"toric-{L}/ed"].degeneracy == 4
        assert f"toric-{L}-hx0.2/ed" in rows
    assert rows["tfim2d-10x10-obc-k3.04438/dmrg"].energy == -321.0980007876571
    assert rows["tfim2d-10x10-obc-k3.04438/nqs"].energy_per_spin == pytest.approx(-3.211395417101927, rel=1e-15)
    published = {
        0.1: -180.14327137818287,
        1: -194.44212670669265,
        2: -239.0234337701538,
        4: -411.94084029073827,
        5: -509.3311469812418,
        6: -607.6855556865164,
    }
    for kappa, energy in published.items():
        row = rows[f"tfim2d-10x10-obc-k{kappa}/nqs"]
        assert row.energy == energy and row.method == "published-nqs" and row.source
    for row in rows.values():
        assert row.method in exact.METHODS and row.source and math.isfinite(row.energy)
        assert row.energy_per_spin == pytest.approx(row.energy / row.n_spins, rel=1e-14)
        if row.method in ("ed-lanczos", "analytic"):
            assert json.loads(row.versions)["lthbench"]


CHEAP_ROWS = [r for r in exact.computed_row_ids() if system_from_id(exact.split_row_id(r)[0]).n_spins <= 20]


@pytest.mark.parametrize("row_id", CHEAP_ROWS)
def test_shipped_row_matches_a_fresh_computation(row_id):
    shipped = exact.references_for(row_id)
    assert len(shipped) == 1
    system_id, method = exact.split_row_id(row_id)
    fresh = exact.compute_reference(system_id, method)
    assert fresh.energy == pytest.approx(shipped[0].energy, rel=1e-9)
    assert fresh.degeneracy == shipped[0].degeneracy
    assert fresh.tolerance <= 1e-9 * abs(fresh.energy)


def test_analytic_and_ed_rows_agree():
    rows = {r.row_id: r for r in _table_rows()}
    for row_id, row in rows.items():
        if row.method == "analytic":
            ed = rows.get(row_id.replace("/analytic", "/ed"))
            assert ed is not None and ed.energy == pytest.approx(row.energy, rel=1e-9)


def test_reference_energy_prefers_the_best_row_and_computes_the_rest():
    assert exact.reference_energy("toric-3").method == "analytic"
    assert exact.reference_energy("tfim2d-10x10-obc-k3.04438").method == "dmrg-tenpy"  # ours ranks above the paper's
    assert exact.reference_energy("tfim2d-10x10-obc-k3.04438/nqs").method == "published-nqs"
    computed = exact.reference_energy("tfim2d-3x3-obc-k0.5")
    assert computed.method == "ed-lanczos" and "computed now" in computed.notes
    assert computed.energy == pytest.approx(
        np.linalg.eigvalsh(exact.sparse_hamiltonian(tfim((3, 3), 0.5)).toarray())[0], rel=1e-10
    )
    with pytest.raises(TooLargeForExactError):
        exact.reference_energy("tfim2d-6x7-obc-k1")


def test_table_round_trips_through_netcdf(tmp_path):
    rows = _table_rows()
    ds = exact.references_to_dataset(rows)
    path = tmp_path / "t.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    # json.dumps spells NaN the same on both sides (a dataclass == would say nan != nan).
    assert [json.dumps(r.as_dict()) for r in exact.table_references(path)] == [json.dumps(r.as_dict()) for r in rows]


# ----------------------------------------------------------------------------------------------
# Command line


def test_exact_json_prints_the_table_energy(capsys):
    assert main(["exact", "tfim2d-4x4-obc-k3.04438", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["origin"] == "table" and out["method"] == "ed-lanczos" and out["n_spins"] == 16
    assert out["energy"] == pytest.approx(exact.ground_energy(system_from_id("tfim2d-4x4-obc-k3.04438")), rel=1e-10)


def test_exact_computes_systems_outside_the_table(capsys):
    assert main(["exact", "tfim1d-9-pbc-k0.8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["origin"] == "computed"
    assert out["energy"] == pytest.approx(exact.tfim_chain_free_fermion_energy(9, 0.8), rel=1e-9)


@pytest.mark.parametrize(
    "argv",
    [
        ["exact", "no-such-system"],
        ["exact", "tfim2d--4x4-obc-k1"],
        ["exact", "tfim2d-4x4-obc-knan"],
        ["exact", "tfim2d-5x8-obc-k3.04438"],
        ["exact", "toric-3/dmrg"],
        ["exact"],
    ],
)
def test_exact_bad_input_is_one_line_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lthbench exact: error:") and "\n" not in err and "Traceback" not in err


def test_exact_too_large_from_a_real_process():
    proc = subprocess.run(
        [sys.executable, "-m", "lthbench", "exact", "tfim2d-5x8-obc-k1"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "N=40" in proc.stderr
    assert proc.stdout == ""


def test_systems_lists_every_system_of_the_table(capsys):
    assert main(["systems", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {r["id"] for r in listed} == {r.system_id for r in _table_rows()}
    best = {r["id"]: r["method"] for r in listed}
    assert best["toric-3"] == "analytic" and best["tfim2d-10x10-obc-k3.04438"] == "dmrg-tenpy"


# ----------------------------------------------------------------------------------------------
# Checks before cost (issue 16), progress, uncertainty


def _forbid(monkeypatch, target, name):
    def boom(*args, **kwargs):
        raise AssertionError(f"{name} was called before the check")

    monkeypatch.setattr(target, name, boom)


def test_huge_chain_fails_its_size_check_before_building_anything(monkeypatch, capsys):
    _forbid(monkeypatch, exact_cmd, "system_from_id")
    _forbid(monkeypatch, exact_compute, "system_from_id")
    assert main(["exact", "tfim1d-100000-obc-k1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "N=100000" in err and "too large" in err and "\n" not in err
    assert exact.spins_in_id("tfim2d-6x7-obc-k1") == 42 and exact.spins_in_id("toric-3-hx0.2") == 18
    assert exact.spins_in_id("nonsense") is None


def test_huge_chain_from_a_real_process_is_fast_and_small():
    """Under a 3 GiB address-space limit (ulimit -v): building the 100,000-site system would not fit."""
    cmd = f"ulimit -v {3 << 20}; exec {sys.executable} -m lthbench exact tfim1d-100000-obc-k1"
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "N=100000" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("bad", ["no-such-dir/refs.nc", "refs.txt", "."])
def test_regenerate_checks_out_before_recomputing(bad, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)
    _forbid(monkeypatch, exact_cmd, "compute_reference")
    _forbid(monkeypatch, exact_regenerate, "compute_reference")
    assert main(["exact", "--regenerate", "--out", bad]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lthbench exact: error: --out") and "\n" not in err


def test_regenerate_refuses_to_overwrite_a_foreign_file(monkeypatch, capsys, tmp_path):
    foreign = tmp_path / "results.nc"
    foreign.write_bytes(b"not a netCDF file")
    _forbid(monkeypatch, exact_cmd, "compute_reference")
    _forbid(monkeypatch, exact_regenerate, "compute_reference")
    assert main(["exact", "--regenerate", "--method", "ed", "tfim2d-2x2-obc-k1", "--out", str(foreign)]) == 2
    assert "not a reference table" in capsys.readouterr().err
    assert foreign.read_bytes() == b"not a netCDF file"


def test_regenerate_named_rows_merge_into_a_copy(tmp_path, capsys):
    out = tmp_path / "refs.nc"
    assert (
        main(["exact", "--regenerate", "--method", "ed", "tfim2d-3x3-obc-k0.5", "--out", str(out), "--no-progress"])
        == 0
    )
    rows = {r.row_id: r for r in exact.table_references(out)}
    assert {r.row_id for r in exact.table_references()} <= set(rows)
    row = rows["tfim2d-3x3-obc-k0.5/ed"]
    assert row.energy == pytest.approx(
        np.linalg.eigvalsh(exact.sparse_hamiltonian(tfim((3, 3), 0.5)).toarray())[0], rel=1e-10
    )
    assert row.uncertainty == row.tolerance and row.uncertainty < 1e-9


def test_lanczos_progress_lines():
    import io

    stream = io.StringIO()
    counter = exact.ProductCounter("test", stream, every=0.0)
    op = counter.wrap(exact.hamiltonian_operator(tfim((3, 3), 1.0), "even"))
    for _ in range(3):
        op.matvec(np.ones(op.shape[0]))
    lines = stream.getvalue().strip().splitlines()
    assert counter.count == 3 and len(lines) == 3 and "3 Lanczos products" in lines[-1]


def test_every_row_states_its_uncertainty():
    for row in _table_rows():
        if row.method != "published-nqs" or row.system_id == "tfim2d-10x10-obc-k3.04438":
            assert math.isfinite(row.uncertainty) and row.uncertainty > 0, row.row_id
        if row.method in ("ed-lanczos", "analytic"):
            assert row.uncertainty <= 1e-9 * abs(row.energy)


def test_old_tables_without_uncertainty_still_load(tmp_path):
    ds = exact.references_to_dataset(_table_rows()).drop_vars(["uncertainty", "details"])
    path = tmp_path / "old.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    rows = exact.table_references(path)
    assert all(r.uncertainty == r.tolerance or (math.isnan(r.uncertainty) and math.isnan(r.tolerance)) for r in rows)


def test_systems_shows_method_and_uncertainty(capsys):
    assert main(["systems"]) == 0
    out = capsys.readouterr().out
    assert "uncertainty" in out.splitlines()[0] and "rel. unc." in out.splitlines()[0]
    assert main(["systems", "--json"]) == 0
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert listed["tfim2d-4x4-obc-k3.04438"]["uncertainty"] < 1e-9


def test_records_say_which_row_scored_them():
    """The record fields a protocol cell gets from its reference, and their round trip through a results file."""
    from lthbench.experiment.metrics import reference
    from lthbench.results import dataset_to_records, records_to_dataset

    energy, source, uncertainty, method = reference("tfim2d-6x6-obc-k3.04438")
    row = exact.references_for("tfim2d-6x6-obc-k3.04438")[0]
    assert (energy, uncertainty, method) == (row.energy, row.uncertainty, "dmrg-tenpy")
    assert source.startswith("tfim2d-6x6-obc-k3.04438/dmrg-tenpy: ")
    rec = {
        "task": "t",
        "method": "m",
        "control": "imp",
        "round": 0,
        "seed": 0,
        "energy": -115.0,
        "n_alive": 1,
        "reference_energy": energy,
        "reference_source": source,
        "reference_uncertainty": uncertainty,
        "reference_method": method,
        "n_spins": 36,
    }
    back = dataset_to_records(records_to_dataset([rec]))[0]
    assert back["reference_uncertainty"] == uncertainty and back["reference_method"] == "dmrg-tenpy"
    old = records_to_dataset([rec]).drop_vars(["reference_uncertainty", "reference_method"])
    back = dataset_to_records(old)[0]  # files written before these variables existed
    assert math.isnan(back["reference_uncertainty"]) and back["reference_method"] == ""


def test_dmrg_rows_meet_their_targets():
    """Shipped DMRG rows state their stages and a finite uncertainty; 6 x 6 meets the issue's 1e-9
    relative, 7 x 7 and 8 x 8 its 1e-7; 9 x 9 and 10 x 10 ship (the best a few hours allow) and 10 x 10
    agrees with the paper's DMRG (bond dimension up to 3000) within its stated uncertainty; the 5 x 5
    ED rows exist at all seven of the paper's fields."""
    rows = {r.row_id: r for r in _table_rows()}
    for L, target in ((6, 1e-9), (7, 1e-7), (8, 1e-7), (9, 1e-6), (10, 1e-6)):
        row = rows[f"tfim2d-{L}x{L}-obc-k3.04438/dmrg-tenpy"]
        assert row.uncertainty / abs(row.energy) <= target
    ours, paper = rows["tfim2d-10x10-obc-k3.04438/dmrg-tenpy"], rows["tfim2d-10x10-obc-k3.04438/dmrg"]
    assert abs(ours.energy - paper.energy) <= ours.uncertainty
    for row in rows.values():
        if row.method == "dmrg-tenpy":
            details = json.loads(row.details)
            stages = details["stages"]
            assert [s["chi"] for s in stages] == details["schedule"] and len(stages) >= 2
            assert stages[-1]["energy"] >= row.energy  # the extrapolation lies below the variational energy
            assert 0 < row.uncertainty < abs(stages[-1]["energy"] - stages[-2]["energy"]) + 1e-9 * abs(row.energy)
            assert row.energy_per_spin == pytest.approx(row.energy / row.n_spins, rel=1e-14)
    for k in ("0.1", "1", "2", "3.04438", "4", "5", "6"):
        assert rows[f"tfim2d-5x5-obc-k{k}/ed"].uncertainty <= 1e-11 * 100
