"""The quick toric-code task end to end (`lthbench run toric-3-ffnn-a8-quick`, with its controls):
under 10 minutes on 2 CPU cores, and the paper's physics (issue #4, "Done means").

Run with `pytest -m slow tests/experiment/test_quick_tc_slow.py`. Set LTHBENCH_QUICK_TC_OUT=/some/dir to keep
the results file and the report figures.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

TASK = "toric-3-ffnn-a8-quick"
METHOD = "magnitude/imp-wr/rewind=trained"
BUDGET_S = 600.0


def imp_physics(ds, task=TASK, method=METHOD, seed=0):
    """The four statements, as numbers: returns a dict the test asserts on (and the report can print)."""
    sel = {"task": task, "method": method, "seed": seed}
    err = ds["rel_error"].sel(sel)
    # the error bar of a relative error: the energy's Monte Carlo error bar over |E_ref|
    bar = ds["energy_sigma"].sel(sel) / np.abs(ds["reference_energy"].sel(task=task))
    rho = ds["rho"].sel(sel)
    imp = err.sel(control="imp").values
    imp_bar = bar.sel(control="imp").values
    imp_rho = rho.sel(control="imp").values
    rounds = ds["round"].values
    have = np.isfinite(imp)
    imp, imp_bar, imp_rho, rounds = imp[have], imp_bar[have], imp_rho[have], rounds[have]
    dense = imp[0]
    # within 3x of the dense error, up to two error bars of the Monte Carlo estimate
    on_plateau = imp - 2 * imp_bar <= 3 * dense
    # the plateau: the leading run of rounds within 3x of dense
    plateau_end = int(np.argmin(on_plateau)) - 1 if not on_plateau.all() else len(imp) - 1
    plateau_rounds = rounds[: plateau_end + 1]
    out = {
        "dense_rel_error": float(dense),
        "plateau_min_rho": float(imp_rho[plateau_end]),
        "last_rel_error": float(imp[-1]),
        "last_rho": float(imp_rho[-1]),
        "reinit_ratio": [],
        "random_vs_imp": None,
    }
    controls = {c: err.sel(control=c) for c in ("reinit", "random-mask") if c in ds["control"].values}
    for r in plateau_rounds:
        if "reinit" in controls:
            v = float(controls["reinit"].sel(round=r))
            if np.isfinite(v):
                # the ratio with each side moved by up to two error bars towards the other
                a, b = v, float(err.sel(control="imp", round=r))
                slack = 2 * (float(bar.sel(control="reinit", round=r)) + float(bar.sel(control="imp", round=r)))
                closest = max(a - slack, min(a, b)) if a > b else min(a + slack, max(a, b))
                out["reinit_ratio"].append((int(r), v / b, closest / b))
    if "random-mask" in controls:
        for r in plateau_rounds[::-1]:
            v = float(controls["random-mask"].sel(round=r))
            if np.isfinite(v):
                out["random_vs_imp"] = (int(r), v, float(err.sel(control="imp", round=r)))
                break
    return out


@pytest.mark.slow
def test_quick_toric_code_run(tmp_path):
    keep = os.environ.get("LTHBENCH_QUICK_TC_OUT")
    out_dir = Path(keep) if keep else tmp_path
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / "quick_tc.nc"
    for stale in (out, Path(f"{out}.cells")):
        if stale.is_dir():
            import shutil

            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "lthbench", "run", TASK, "--seeds", "0", "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=3 * BUDGET_S,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    print(f"\n{TASK}: lthbench run took {elapsed:.0f} s")

    from lthbench.analysis.report import make_report
    from lthbench.results import load_dataset

    ds = load_dataset(out)
    stats = imp_physics(ds)
    print(stats)
    figures = make_report(out, out_dir / "report")
    assert any("filters" in p.name for p in figures)

    # IMP stays within 3x of the dense error (up to two error bars) down to rho <= 20
    assert stats["plateau_min_rho"] <= 20, stats
    # the reinit control tracks IMP (within 3x, up to two error bars each) on the plateau
    assert stats["reinit_ratio"], "no reinit control on the plateau"
    assert all(1 / 3 <= ratio <= 3 for _, _, ratio in stats["reinit_ratio"]), stats
    # the random-mask control is worse than IMP at the sparsest plateau round that has controls
    assert stats["random_vs_imp"] is not None, "no random-mask control on the plateau"
    _, random_err, imp_err = stats["random_vs_imp"]
    assert random_err > imp_err, stats
    # the sparsest rounds approach the product-state energy (-9 of -18: relative error 0.5)
    assert abs(stats["last_rel_error"] - 0.5) < 0.15, stats
    # on 2 CPU cores, controls included
    assert elapsed < BUDGET_S, f"took {elapsed:.0f} s"
