"""Pruning: methods (what to remove) and controls (what to compare against). No physics here;
`lthbench.experiment.run_protocol` glues them to the trainer and the results store.

api (the method protocol and its types), select (scores -> mask), check (a method's signature and
output), hparams (hyperparameters and the 'name[k=v]' label grammar), registry (names, import paths),
methods/ (the built-ins, one per module), controls (ticket, reinit, random-mask).
"""

from .api import SCOPES, NRemove, PruneContext, PruningMethod, PyTree, named_leaves, prunable_names, requirements
from .check import check_new_mask, check_scores, check_signature, count_removed, prune, read_only
from .controls import CONTROL_NAMES, make_controls, random_mask_like
from .hparams import format_value, hyperparameters, method_kwargs, method_target, parse_method_spec, qualified_name
from .methods import SNIP, Magnitude, RandomPruning, SynFlow
from .registry import METHODS, method_name, register_method, resolve_method
from .select import ScoreMethod, removal_counts, remove_lowest

__all__ = [
    "CONTROL_NAMES",
    "METHODS",
    "SCOPES",
    "SNIP",
    "Magnitude",
    "NRemove",
    "PruneContext",
    "PruningMethod",
    "PyTree",
    "RandomPruning",
    "ScoreMethod",
    "SynFlow",
    "check_new_mask",
    "check_scores",
    "check_signature",
    "count_removed",
    "format_value",
    "hyperparameters",
    "make_controls",
    "method_kwargs",
    "method_name",
    "method_target",
    "named_leaves",
    "parse_method_spec",
    "prunable_names",
    "prune",
    "qualified_name",
    "random_mask_like",
    "read_only",
    "register_method",
    "removal_counts",
    "remove_lowest",
    "requirements",
    "resolve_method",
]
