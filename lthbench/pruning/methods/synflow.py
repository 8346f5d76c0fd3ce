"""SynFlow: iterative synaptic flow, data-free."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ...errors import LthbenchError
from ..api import NRemove, named_leaves, prunable_names
from ..select import ScoreMethod, remove_lowest


class SynFlow(ScoreMethod):
    """Iterative synaptic flow (Tanaka et al. 2020), data-free.

    R(theta) = sum log_psi(|theta| * mask, all-ones input); score = |theta * dR/dtheta|. The k removals
    of one round are spread over `iterations` re-scorings with an exponential schedule (the last one
    lands exactly on k per layer, or in total for global scope).

    On a single-layer FFNN (`ffnn`: log psi = sum_j relu(sum_i W_ij s_i), no bias) SynFlow *is*
    magnitude pruning: with |W| and the all-ones input every pre-activation is positive, so
    dR/dW_ij = 1 and the score is |W_ij|; every iteration removes the lowest |W| (ties alike), so the
    masks equal magnitude's (tests/pruning/test_pruning.py checks it). On the FFNN tasks the four baselines
    are therefore three; SynFlow differs from magnitude on the RBM (log cosh, biases), CNN and ResCNN.

    Hyperparameter: iterations (int >= 1, default 10), e.g. `--method 'synflow[iterations=20]'`.
    """

    name = "synflow"
    requires = ("log_psi",)

    def __init__(self, iterations: int = 10):
        if isinstance(iterations, bool) or int(iterations) != iterations or int(iterations) < 1:
            raise LthbenchError(f"synflow iterations must be an integer >= 1, got {iterations!r}")
        self.iterations = int(iterations)

    def scores(self, params, mask, key, context):
        if context.log_psi is None or context.n_spins is None:
            raise LthbenchError("SynFlow needs context.log_psi and context.n_spins")
        log_psi = context.log_psi
        ones = jnp.ones((1, int(context.n_spins)))

        def flow(theta):
            return jnp.sum(log_psi(theta, ones.astype(jax.tree_util.tree_leaves(theta)[0].dtype)))

        lin = jax.tree_util.tree_map(
            lambda w, m: jnp.abs(jnp.asarray(w)) * jnp.asarray(m, jnp.asarray(w).dtype), params, mask
        )
        grad = jax.grad(flow)(lin)
        return jax.tree_util.tree_map(lambda w, g: np.abs(np.asarray(w * g)), lin, grad)

    def _schedule(self, alive: int, k: int, t: int) -> int:
        """Cumulative removals after iteration t of T (exponential; exactly k after the last)."""
        keep = (alive - k) / alive if alive else 1.0
        return int(np.rint(alive - alive * keep ** (t / self.iterations))) if t < self.iterations else k

    def _steps(self, mask, n_remove: NRemove, prunable) -> list[NRemove]:
        """The removals of each of the `iterations` re-scorings: differences of the cumulative schedule."""
        alive0 = {n: int(np.count_nonzero(np.asarray(m))) for n, m in named_leaves(mask)}
        total0 = sum(alive0[n] for n in prunable_names(prunable))
        ts = range(1, self.iterations + 1)
        if isinstance(n_remove, dict):
            done = dict.fromkeys(n_remove, 0)
            steps: list[NRemove] = []
            for t in ts:
                target = {n: self._schedule(alive0[n], k, t) for n, k in n_remove.items()}
                steps.append({n: target[n] - done[n] for n in n_remove})
                done = target
            return steps
        cumulative = [0] + [self._schedule(total0, int(n_remove), t) for t in ts]
        return [b - a for a, b in zip(cumulative, cumulative[1:])]

    def __call__(self, params, mask, n_remove, key, context):
        current = mask
        for step in self._steps(mask, n_remove, context.prunable):
            if (sum(step.values()) if isinstance(step, dict) else step) > 0:
                current = remove_lowest(self.scores(params, current, key, context), current, step, context.prunable)
        return current

    def __repr__(self):
        return f"SynFlow(iterations={self.iterations})"
