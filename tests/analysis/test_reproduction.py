"""docs/reproduction.md's generated tables: the generator on a synthetic directory, and the check
against the shipped baselines (skipped while none ship)."""

from __future__ import annotations

from pathlib import Path

import pytest
from analysis_synth import curve_records, dataset

from lthbench.analysis.reproduction import BEGIN, END, datasets_in, generate, main
from lthbench.experiment.baselines import BASELINE_DIR

DOC = Path(__file__).resolve().parents[2] / "docs" / "reproduction.md"


def _tiny_dir(tmp_path):
    d = tmp_path / "baselines"
    d.mkdir()
    err = lambda n, s, r: 1e-4 if n > 300 else 0.3  # noqa: E731
    dataset(curve_records(err, n_rounds=20, sigma_rel=1e-6), d / "toric-3-ffnn-a8-quick.nc")
    return d


def test_generator_write_and_check(tmp_path, capsys):
    d = _tiny_dir(tmp_path)
    doc = tmp_path / "doc.md"
    doc.write_text(f"# title\n\nhand-written\n\n{BEGIN}\nold\n{END}\n\nmore text\n")
    assert main(["--dir", str(d), "--check", str(doc)]) == 1  # stale section
    assert main(["--dir", str(d), "--write", str(doc)]) == 0
    text = doc.read_text()
    assert "hand-written" in text and "more text" in text and "| figure |" in text
    assert "toric-3-ffnn-a8-quick.nc" in text
    assert main(["--dir", str(d), "--check", str(doc)]) == 0  # deterministic: regenerating changes nothing
    doc.write_text(text.replace("matches dense", "matches dense!", 1))
    capsys.readouterr()
    assert main(["--dir", str(d), "--check", str(doc)]) == 1
    assert "matches dense!" in capsys.readouterr().out
    assert generate(tmp_path / "empty").startswith("_No datasets")
    (tmp_path / "nomarkers.md").write_text("x")
    assert main(["--dir", str(d), "--check", str(tmp_path / "nomarkers.md")]) == 2


def test_docs_reproduction_matches_shipped_baselines():
    if not datasets_in(BASELINE_DIR):
        pytest.skip(
            f"no shipped baselines in {BASELINE_DIR} yet (issue #12 item 3 has not run them); "
            "the generator itself is tested on a synthetic directory above"
        )
    assert main(["--check", str(DOC)]) == 0, (
        "docs/reproduction.md is stale: python -m lthbench.analysis.reproduction --write docs/reproduction.md"
    )
