"""Pruning: methods (what to remove) and controls (what to compare against). No physics here;
`lthbench.experiment.run_protocol` glues them to the trainer and the results store.
"""

from .controls import CONTROL_NAMES, make_controls, random_mask_like
from .methods import (
    METHODS,
    SCOPES,
    SNIP,
    Magnitude,
    PruneContext,
    PruningMethod,
    RandomPruning,
    ScoreMethod,
    SynFlow,
    check_new_mask,
    prune,
    register_method,
    removal_counts,
    remove_lowest,
    resolve_method,
)

__all__ = [
    "CONTROL_NAMES",
    "METHODS",
    "SCOPES",
    "Magnitude",
    "PruneContext",
    "PruningMethod",
    "RandomPruning",
    "SNIP",
    "ScoreMethod",
    "SynFlow",
    "check_new_mask",
    "make_controls",
    "prune",
    "random_mask_like",
    "register_method",
    "remove_lowest",
    "removal_counts",
    "resolve_method",
]
