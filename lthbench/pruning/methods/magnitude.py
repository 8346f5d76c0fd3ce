"""Magnitude pruning: the paper's IMP score."""

from __future__ import annotations

import jax
import numpy as np

from ..select import ScoreMethod


class Magnitude(ScoreMethod):
    """Iterative magnitude pruning (the paper): remove the smallest |w|."""

    name = "magnitude"

    def scores(self, params, mask, key, context):
        return jax.tree_util.tree_map(lambda w: np.abs(np.asarray(w)), params)
