"""Shared test helpers. Importing lthbench enables float64 (x64) for every test module.

Fixtures:
    cli     cli(*argv) -> (exit code, stdout, stderr) of `lthbench argv...` run in this process
Plain helpers live in tests/support/ (on the path via pyproject's `pythonpath`): analysis_synth
(synthetic curves and datasets), records_synth (synthetic result records).
"""

from __future__ import annotations

import pytest

import lthbench  # noqa: F401  (x64)
from lthbench.cli import main


@pytest.fixture
def cli(capsys):
    """cli(*argv) -> (exit code, stdout, stderr) of `lthbench argv...` (arguments str()-ed)."""

    def run(*argv):
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
