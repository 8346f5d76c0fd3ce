"""`lthbench bench`: the throughput figures as a netCDF dataset with provenance; bad input exits 2."""

from __future__ import annotations

import json
import math

from lthbench.cli import main
from lthbench.results import load_dataset


def test_bench_cli_writes_figures_with_provenance(tmp_path, capsys):
    out = tmp_path / "bench.nc"
    rc = main(
        [
            "bench",
            "--suite",
            "tiny",
            "--kernels",
            "sweep,local_energy_fast,exact_step",
            "--repeats",
            "1",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    ds = load_dataset(out, other_titles=("lthbench throughput",))
    case = "tfim2d-3x3-obc-k3.04438/ffnn-a1/b64"
    assert list(ds["case"].values) == [case]
    for kernel, configurations in [("sweep", 64), ("local_energy_fast", 64), ("exact_step", 512)]:
        cell = ds.sel(case=case, kernel=kernel)
        assert float(cell["seconds"]) > 0 and float(cell["configurations"]) == configurations
        assert math.isclose(float(cell["samples_per_s"]) * float(cell["seconds"]), configurations, rel_tol=1e-9)
    assert math.isnan(float(ds.sel(case=case, kernel="train_step")["seconds"]))  # not asked for
    prov = json.loads(ds.attrs["provenance_json"])
    assert ds.attrs["backend"] == prov["backend"] and prov["args"]["suite"] == "tiny"
    assert prov["git_commit"] and prov["versions"]["jax"]
    assert "samples/s" in capsys.readouterr().out


def test_bench_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "b.nc"
    assert main(["bench", "--suite", "tiny", "--kernels", "sweep,warp", "--out", str(out)]) == 2
    assert main(["bench", "--suite", "huge", "--out", str(out)]) == 2
    assert main(["bench", "--suite", "tiny", "--out", str(tmp_path / "missing" / "b.nc")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("lthbench bench: error:") for line in err)
    assert not out.exists()
