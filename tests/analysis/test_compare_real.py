"""`compare` on real trainings: a method that prunes the LARGEST weights against magnitude pruning.

Both run the same tiny exact-mode TFIM task with the same seeds (so they share each seed's dense net);
removing the largest weights must come out significantly worse, with the right direction (issue #18).
"""

from __future__ import annotations

import jax
import numpy as np

from lthbench.analysis.compare import compare
from lthbench.experiment import get_task, run_protocol
from lthbench.pruning import ScoreMethod
from lthbench.results import RunStore


class LargestFirst(ScoreMethod):
    """Anti-magnitude: removes the alive weights of largest |w| first."""

    name = "largest-first"

    def scores(self, params, mask, key, context):
        return jax.tree_util.tree_map(lambda w: -np.abs(np.asarray(w)), params)


def test_pruning_the_largest_weights_is_significantly_worse(tmp_path):
    task = get_task("tiny-tfim-3x3")
    out = str(tmp_path / "both.nc")
    store = RunStore(out)
    for method in ("magnitude", LargestFirst()):
        for seed in (0, 1, 2):
            run_protocol(task, method=method, controls=(), seed=seed, store=store, progress=False)
    store.finalize({})
    cmp = compare([out], baseline="magnitude/imp-wr/rewind=trained")
    tested = [p for p in cmp.points if not p.dense]
    assert tested, cmp.points
    verdicts = {p.verdict for p in tested}
    assert "B worse" in verdicts, [(p.verdict, p.p_holm, p.ratio.value) for p in tested]
    assert "B better" not in verdicts
    worse = [p for p in tested if p.verdict == "B worse"]
    assert all(p.diff.value > 0 and p.ratio.value > 1 for p in worse)
