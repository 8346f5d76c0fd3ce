"""Two user-defined pruning methods, to run through lthbench's protocols, controls and metrics.

    lthbench run tiny-tfim-3x3 --method examples.custom_method:LayerBalancedMagnitude --out custom.nc
    lthbench run tiny-tfim-3x3 --method examples.custom_method:taylor --out taylor.nc

(from the repository root; any importable module works: `mypackage.pruning:MyMethod`).

A pruning method is a callable

    method(params, mask, n_remove, key, context) -> new_mask

params and mask are Haiku-style pytrees ({'module': {'w': array}}); n_remove is a dict
{'module/param': k} (layer-wise scope: remove exactly k alive weights from that leaf) or an int (global
scope: exactly k in total over the prunable leaves); key is a JAX PRNG key derived from the cell (same
numbers on every rerun); context is a `lthbench.pruning.PruneContext` with `prunable` (which leaves
may be pruned) and, if the method lists them in `requires`, `grad` (the energy gradient at params) and
`log_psi` (the ansatz). The suite checks the new mask: same shapes, 0/1 values, no pruned weight
revived, non-prunable leaves untouched, exactly the requested number removed.

The easiest way is to subclass `ScoreMethod` and say how important each weight is: the suite removes
the alive weights with the lowest scores, exactly k of them, ties broken deterministically.
"""

from __future__ import annotations

import jax
import numpy as np

from lthbench.pruning import ScoreMethod, remove_lowest


class LayerBalancedMagnitude(ScoreMethod):
    """Magnitude relative to the RMS of the layer's alive weights.

    In layer-wise scope this is plain magnitude pruning; in global scope (one threshold over several
    layers, as for the ResCNN) it stops layers with small weights from being emptied first.
    """

    name = "layer-balanced-magnitude"

    def scores(self, params, mask, key, context):
        def balanced(w, m):
            w, alive = np.abs(np.asarray(w)), np.asarray(m) != 0
            rms = np.sqrt(np.mean(w[alive] ** 2)) if alive.any() else 1.0
            return w / (rms if rms > 0 else 1.0)

        return jax.tree_util.tree_map(balanced, params, mask)


def taylor(params, mask, n_remove, key, context):
    """First-order Taylor pruning, written as a plain function.

    Setting w to 0 changes the energy by about -w dE/dw, so remove the weights whose removal raises
    the energy least: the lowest scores -w * dE/dw.
    """
    scores = jax.tree_util.tree_map(lambda w, g: -np.asarray(w) * np.asarray(g), params, context.grad)
    return remove_lowest(scores, mask, n_remove, context.prunable)


taylor.requires = ("grad",)  # ask the protocol for the energy gradient in context.grad
