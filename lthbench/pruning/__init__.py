"""Pruning: methods (what to remove), controls (what to compare against) and protocols (the IMP loop).

No physics in methods and controls; `run_protocol` glues them to the trainer and the results store.
"""

from .controls import CONTROL_NAMES, make_controls, random_mask_like
from .keys import cell_key, purpose_key
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
from .protocols import DEFAULT_CONTROLS, PROTOCOLS, method_label, parse_rewind, run_protocol

__all__ = [
    "CONTROL_NAMES",
    "DEFAULT_CONTROLS",
    "METHODS",
    "PROTOCOLS",
    "SCOPES",
    "Magnitude",
    "PruneContext",
    "PruningMethod",
    "RandomPruning",
    "SNIP",
    "ScoreMethod",
    "SynFlow",
    "cell_key",
    "check_new_mask",
    "make_controls",
    "method_label",
    "parse_rewind",
    "prune",
    "purpose_key",
    "random_mask_like",
    "register_method",
    "remove_lowest",
    "removal_counts",
    "resolve_method",
    "run_protocol",
]
