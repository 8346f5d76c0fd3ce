"""One training spread over all local JAX devices: Markov chains (and full-sum basis states) sharded.

`train_sharded(system, ansatz, params, mask, config, key)` is `train(...)` with a `ChainSharding`
placement: a 1-D mesh over the local devices (axis 'chains'); the chain state (spins (C, N), log psi
(C,)) is split along its chain axis, so each device runs C / D chains and draws their samples; in
exact mode the 2^N basis states (spins, diagonal, partner indices) are split along the state axis.
Params, mask and optimiser state are replicated. The compiled program is the same one `train` uses:
XLA's SPMD partitioner follows the input shardings and inserts the reductions (energy means, the SR
Gram matrix), so results match a single-device run to floating-point tolerance (sums in another order).

On CPU, several host devices are made with `XLA_FLAGS=--xla_force_host_platform_device_count=D`, set
before jax is first imported.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ..errors import LthbenchError
from .trainer import train

AXIS = "chains"


@dataclass(frozen=True)
class ChainSharding:
    """Placement of a training on a 1-D device mesh (see `train.train(..., placement=)`)."""

    mesh: Mesh

    @classmethod
    def over(cls, devices=None) -> ChainSharding:
        """Over `devices` (default: every local device)."""
        devices = list(jax.local_devices() if devices is None else devices)
        if not devices:
            raise LthbenchError("no JAX devices to shard over")
        return cls(Mesh(np.asarray(devices), (AXIS,)))

    @property
    def n_devices(self) -> int:
        return int(self.mesh.devices.size)

    def split(self, tree):
        """Leaves split along axis 0 over the mesh (axis 0 must be a multiple of the device count)."""
        sharding = NamedSharding(self.mesh, PartitionSpec(AXIS))
        for leaf in jax.tree_util.tree_leaves(tree):
            if leaf.shape[0] % self.n_devices:
                raise LthbenchError(f"cannot split {leaf.shape[0]} chains/states over {self.n_devices} devices")
        return jax.device_put(tree, sharding)

    def replicate(self, tree):
        """Every leaf copied to every device of the mesh."""
        return jax.device_put(tree, NamedSharding(self.mesh, PartitionSpec()))

    def chain(self, chain):
        """The Markov chain state, split along the chain axis: (C, N) spins and (C,) log psi."""
        return self.split(chain)

    def basis(self, arrays):
        """Full-sum basis arrays (spins (2^N, N), diagonal (2^N,), partners (2^N, M)) split along the
        state axis; the empty placeholders of Monte Carlo mode are replicated."""
        if all(a.shape[0] == 0 for a in arrays):
            return self.replicate(arrays)
        return self.split(arrays)


def train_sharded(system, ansatz, params, mask, config, key, *, devices=None, progress: bool = False):
    """`lthbench.vmc.train` with its chains (or basis states) split over `devices` (default: all local).

    config.n_chains must be a multiple of the device count (Monte Carlo mode). Returns a TrainResult
    (params replicated on the devices; `np.asarray` gives a host copy).
    """
    placement = ChainSharding.over(devices)
    if not config.exact and config.n_chains % placement.n_devices:
        raise LthbenchError(
            f"n_chains ({config.n_chains}) must be a multiple of the device count "
            f"({placement.n_devices}) to shard the chains"
        )
    return train(system, ansatz, params, mask, config, key, progress=progress, placement=placement)
