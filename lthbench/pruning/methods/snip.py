"""SNIP: connection sensitivity with the energy gradient."""

from __future__ import annotations

import jax
import numpy as np

from ...errors import LthbenchError
from ..select import ScoreMethod


class SNIP(ScoreMethod):
    """Connection sensitivity |w * dE/dw| (Lee et al. 2019), with the energy gradient at the current params."""

    name = "snip"
    requires = ("grad",)

    def scores(self, params, mask, key, context):
        if context.grad is None:
            raise LthbenchError("SNIP needs the energy gradient in context.grad")
        return jax.tree_util.tree_map(lambda w, g: np.abs(np.asarray(w) * np.asarray(g)), params, context.grad)
