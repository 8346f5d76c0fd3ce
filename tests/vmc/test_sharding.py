"""Multi-device training (`lthbench.vmc.sharding.train_sharded`) on 2 host CPU devices matches the
single-device `train`. JAX fixes its device count when first imported, so the check runs in a fresh
subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=2 set before jax is imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import dataclasses, json
import jax, numpy as np
import lthbench
from lthbench.masks import to_numpy
from lthbench.nets import make_ansatz
from lthbench.systems import system_from_id
from lthbench.experiment import get_task
from lthbench.vmc import sharding, train
from lthbench.vmc.sharding import train_sharded

task = get_task("tiny-tfim-3x3")
system = system_from_id(task.system_id)
ansatz = make_ansatz(task.net, system, **task.hyper)
params = to_numpy(ansatz.init(jax.random.key(3)))
out = {"n_devices": len(jax.devices()), "chain_shards": []}
placed_chain = sharding.ChainSharding.chain

def spy(self, chain):  # record how the chain state is laid out on the devices
    placed = placed_chain(self, chain)
    out["chain_shards"].append(sorted([s.device.id] + list(s.data.shape) for s in placed.spins.addressable_shards))
    return placed

sharding.ChainSharding.chain = spy
for mode in ("mc", "exact"):
    config = task.train_config(20)
    if mode == "mc":
        config = dataclasses.replace(config, exact=False, n_samples=128, n_chains=16, n_burn_in=10, n_eval_steps=2)
    a = train(system, ansatz, params, None, config, jax.random.key(7))
    b = train_sharded(system, ansatz, params, None, config, jax.random.key(7))
    leaves = lambda r: [np.asarray(x).tolist() for x in jax.tree_util.tree_leaves(r.params)]
    out[mode] = {"single": {"energy": a.energy, "sigma": a.energy_sigma, "history": a.energy_history.tolist(),
                            "params": leaves(a)},
                 "sharded": {"energy": b.energy, "sigma": b.energy_sigma, "history": b.energy_history.tolist(),
                             "params": leaves(b)},
                 "params_devices": len(jax.tree_util.tree_leaves(b.params)[0].sharding.device_set)}
print("RESULT " + json.dumps(out))
"""


@pytest.mark.slow  # a subprocess with two host devices compiles everything again (~60 s on 2 cores)
def test_sharded_training_on_two_host_devices_matches_single_device(tmp_path):
    script = tmp_path / "shard_check.py"
    script.write_text(SCRIPT)
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    out = json.loads(line[len("RESULT ") :])
    assert out["n_devices"] == 2
    # both trainings placed the 16 chains as 8 per device (devices 0 and 1)
    assert out["chain_shards"] == [[[0, 8, 9], [1, 8, 9]]] * 2
    for mode in ("mc", "exact"):
        single, sharded = out[mode]["single"], out[mode]["sharded"]
        assert out[mode]["params_devices"] == 2  # the result lives on both devices
        assert len(single["history"]) == len(sharded["history"]) == 20
        np.testing.assert_allclose(sharded["history"], single["history"], rtol=1e-10)
        np.testing.assert_allclose(sharded["energy"], single["energy"], rtol=1e-10)
        np.testing.assert_allclose(sharded["sigma"], single["sigma"], rtol=1e-8, atol=1e-14)
        for x, y in zip(sharded["params"], single["params"]):
            np.testing.assert_allclose(x, y, rtol=1e-9, atol=1e-12)
        assert single["history"][-1] < single["history"][0]  # it trained
