"""Random pruning (IRP): uniform scores, one PRNG stream per leaf."""

from __future__ import annotations

import jax
import numpy as np

from ..select import ScoreMethod


class RandomPruning(ScoreMethod):
    """Remove uniformly random alive weights (IRP)."""

    name = "random"

    def scores(self, params, mask, key, context):
        leaves, treedef = jax.tree_util.tree_flatten(params)
        out = [np.asarray(jax.random.uniform(jax.random.fold_in(key, i), np.shape(w))) for i, w in enumerate(leaves)]
        return jax.tree_util.tree_unflatten(treedef, out)
