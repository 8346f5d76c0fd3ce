"""The wheel check (slow): a wheel of this checkout, installed with its dependencies into a fresh venv,
runs `lthbench exact tfim2d-4x4-obc-k3.04438` from the shipped reference table and the accuracy gate
(`python -m lthbench.regression`, its reference shipped as package data) from a directory outside the
repository. The work is `.ci/wheel-check`; this test runs it as CI would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
SCRIPT = ROOT / ".ci" / "wheel-check"


def test_wheel_runs_exact_and_the_gate_outside_the_repository(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHON=sys.executable, TMPDIR=str(tmp_path))
    proc = subprocess.run(["bash", str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert '"origin": "table"' in proc.stdout
    assert "accuracy gate: passed" in proc.stdout
