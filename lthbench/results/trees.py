"""Artifacts: Haiku-style nested dicts of arrays <-> the flat name -> array maps an `.npz` holds."""

from __future__ import annotations

from typing import Any

import numpy as np


def flatten_tree(tree: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """Haiku-style nested dicts -> {'module/param': array}. Leaves become numpy arrays."""
    flat: dict[str, np.ndarray] = {}
    if isinstance(tree, dict):
        for key in sorted(tree):
            flat.update(flatten_tree(tree[key], f"{prefix}{key}/"))
        return flat
    flat[prefix.rstrip("/")] = np.asarray(tree)
    return flat


def unflatten_tree(flat: dict[str, np.ndarray]) -> dict:
    """Inverse of flatten_tree for Haiku params: the last '/' separates module from param name.

    Haiku module names contain '/' ('ffnn/~/linear'), so a flat name 'ffnn/~/linear/w' becomes
    {'ffnn/~/linear': {'w': ...}} — Haiku's own two-level layout.
    """
    tree: dict = {}
    for name, value in flat.items():
        module, _, leaf = name.rpartition("/")
        if module:
            tree.setdefault(module, {})[leaf] = value
        else:
            tree[leaf] = value
    return tree


def _host(tree):
    if isinstance(tree, dict):
        return {k: _host(v) for k, v in tree.items()}
    return np.asarray(tree)


def pack_artifacts(artifacts: dict[str, Any]) -> dict[str, np.ndarray]:
    """{kind: tree} -> {'kind::module/param': array} (device arrays copied to the host)."""
    packed = {}
    for kind, tree in artifacts.items():
        if "::" in kind:
            raise ValueError(f"artifact name {kind!r} may not contain '::'")
        for name, arr in flatten_tree(_host(tree)).items():
            packed[f"{kind}::{name}"] = arr
    return packed


def unpack_artifacts(npz) -> dict[str, dict]:
    """The inverse of pack_artifacts, from an opened `np.load` archive."""
    grouped: dict[str, dict[str, np.ndarray]] = {}
    for key in npz.files:
        kind, _, name = key.partition("::")
        grouped.setdefault(kind, {})[name] = npz[key]
    return {kind: unflatten_tree(flat) for kind, flat in grouped.items()}
