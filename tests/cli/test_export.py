"""`lthbench export --format varbench`: rows in the V-score benchmark's table format."""

import pytest

from lthbench.cli import main
from lthbench.cli.export_cmd import varbench_file_name
from lthbench.results import records_to_dataset, save_dataset
from lthbench.systems import system_from_id

VARBENCH_HEADER = "| Energy | Sigma | Energy Variance | DOF | Einf | Method | Reference |"


def _record(rnd, energy, n_alive, control="imp"):
    return {
        "task": "tiny-tfim-3x3",
        "method": "magnitude/imp-wr/rewind=trained",
        "control": control,
        "round": rnd,
        "seed": 0,
        "energy": energy,
        "energy_sigma": 1e-3,
        "variance": 0.05 * (rnd + 1),
        "n_alive": n_alive,
        "reference_energy": -28.455559567670,
        "n_spins": 9,
        "diverged": 0,
    }


def _results(tmp_path):
    path = tmp_path / "r.nc"
    save_dataset(
        records_to_dataset(
            [_record(0, -28.45, 81), _record(1, -28.44, 71), _record(1, -28.0, 71, control="random-mask")]
        ),
        path,
    )
    return path


def test_varbench_file_names_follow_its_convention():
    assert varbench_file_name(system_from_id("tfim2d-6x6-pbc-k3")) == "TFIsing/square_36_P_3.md"
    assert varbench_file_name(system_from_id("tfim2d-10x10-obc-k3.04438")) == "TFIsing/square_100_O_3.04438.md"
    assert varbench_file_name(system_from_id("tfim1d-32-pbc-k0.5")) == "TFIsing/chain_32_P_0.5.md"


def test_export_writes_one_row_per_cell(tmp_path, capsys):
    assert main(["export", "--format", "varbench", str(_results(tmp_path))]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "<!-- varbench file: TFIsing/square_9_O_3.04438.md -->"
    assert lines[1] == VARBENCH_HEADER
    rows = [line.split("|")[1:-1] for line in lines[3:]]
    assert len(rows) == 2  # the control is left out by default
    energy, sigma, var, dof, einf, method, ref = (c.strip() for c in rows[0])
    assert float(energy) == -28.45 and float(sigma) == 1e-3 and float(var) == 0.05 and dof == "9" and einf == "0"
    assert "dense" in method and "81 parameters" in method and ref.startswith("lthbench ")
    assert "round 1" in rows[1][5] and "71 parameters" in rows[1][5]


def test_export_to_a_directory_and_with_controls(tmp_path, capsys):
    out = tmp_path / "vb"
    assert main(["export", "--format", "varbench", str(_results(tmp_path)), "--out", str(out), "--controls"]) == 0
    text = (out / "TFIsing" / "square_9_O_3.04438.md").read_text().splitlines()
    assert text[0] == VARBENCH_HEADER and len(text) == 5 and any("random-mask" in t for t in text)


def test_export_bad_input_is_one_line_exit_2(capsys, tmp_path):
    assert main(["export", "--format", "varbench", str(tmp_path / "missing.nc")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("lthbench export: error:") and "\n" not in err
    with pytest.raises(SystemExit) as info:
        main(["export", "--format", "other", "x.nc"])
    assert info.value.code == 2
