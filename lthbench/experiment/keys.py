"""PRNG keys of a cell, derived from what the cell *is*, never from the order cells run in.

A cell is (task id, method label, control, round, seed). Its key folds a stable 32-bit hash of each
part (zlib.crc32 of the part's string form) into `jax.random.key(0)`; every random draw inside the cell
(the pruning method, the fresh init of the reinit control, the random mask, the trainer, the fidelity
estimate) folds in a further purpose string. So any cell can be rerun alone, in any process, in any
order, and draw the same numbers.
"""

from __future__ import annotations

import zlib

import jax

# The method label of the dense network's key: round 0 does not depend on the pruning method, so every
# method (and every rewind target) of one (task, seed) starts from the same dense net (paired comparisons).
DENSE = "dense"


def stable_hash(part) -> int:
    """A 32-bit hash of str(part) that is the same in every process (unlike Python's hash())."""
    return zlib.crc32(str(part).encode("utf-8")) & 0xFFFFFFFF


def fold(key, *parts):
    """key with the stable hash of every part folded in, in order."""
    for part in parts:
        key = jax.random.fold_in(key, stable_hash(part))
    return key


def cell_key(task_id: str, method_label: str, control: str, round: int, seed: int):
    """The root key of one cell: jax.random.key(0) folded with (task, method, control, round, seed)."""
    return fold(jax.random.key(0), task_id, method_label, control, int(round), int(seed))


def purpose_key(key, purpose: str):
    """A sub-key of a cell key for one use ('init', 'prune', 'train', 'fidelity', ...)."""
    return fold(key, purpose)
