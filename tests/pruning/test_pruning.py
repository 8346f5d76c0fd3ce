"""Pruning methods, scopes, the output check, controls and keys (pure: no training)."""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lthbench.errors import LthbenchError
from lthbench.experiment.keys import cell_key, purpose_key, stable_hash
from lthbench.masks import alive_count, full_mask, is_subset, leaf_alive_counts, prunable_leaves
from lthbench.pruning.api import PruneContext
from lthbench.pruning.check import check_new_mask, count_removed, prune
from lthbench.pruning.controls import check_controls, make_controls, random_mask_like
from lthbench.pruning.hparams import parse_method_spec
from lthbench.pruning.methods import SynFlow
from lthbench.pruning.registry import METHODS, method_name, resolve_method
from lthbench.pruning.select import removal_counts, remove_lowest


def tree(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "net/~/embed": {"w": rng.normal(size=(3, 4))},
        "net/~/linear_0": {"w": rng.normal(size=(6, 5)), "b": rng.normal(size=(5,))},
        "net/~/linear_1": {"w": rng.normal(size=(5, 7))},
    }


def setup(seed=0, exclude=("embed",)):
    params = tree(seed)
    prunable = prunable_leaves(params, lambda n, x: n.endswith("/w") and not any(e in n for e in exclude))
    mask = jax.tree_util.tree_map(np.asarray, full_mask(params))
    return params, mask, prunable, PruneContext(prunable=prunable)


def test_removal_counts_are_rint_of_p_alive():
    params, mask, prunable, _ = setup()
    assert removal_counts(mask, prunable, 0.12, "layer") == {
        "net/~/linear_0/w": int(np.rint(0.12 * 30)),
        "net/~/linear_1/w": int(np.rint(0.12 * 35)),
    }
    assert removal_counts(mask, prunable, 0.12, "global") == int(np.rint(0.12 * 65))
    for bad in (0.0, 1.0, -0.1, 1.5):
        with pytest.raises(LthbenchError):
            removal_counts(mask, prunable, bad)
    with pytest.raises(LthbenchError, match="scope"):
        removal_counts(mask, prunable, 0.1, "everything")


def test_magnitude_removes_exactly_k_smallest_per_layer():
    params, mask, prunable, ctx = setup()
    n_remove = removal_counts(mask, prunable, 0.3, "layer")
    new = prune(METHODS["magnitude"], params, mask, n_remove, jax.random.key(0), ctx)
    assert count_removed(new, mask, prunable) == n_remove
    for mod in ("net/~/linear_0", "net/~/linear_1"):
        w, m = np.abs(params[mod]["w"]), new[mod]["w"]
        assert w[m == 0].max() <= w[m == 1].min()  # the removed ones are the smallest of their layer
    # non-prunable leaves (bias, excluded embedding) untouched
    assert np.all(new["net/~/linear_0"]["b"] == 1) and np.all(new["net/~/embed"]["w"] == 1)
    # a second round only removes alive weights and again exactly k
    n2 = removal_counts(new, prunable, 0.3, "layer")
    newer = prune(METHODS["magnitude"], params, new, n2, jax.random.key(1), ctx)
    assert is_subset(newer, new) and count_removed(newer, new, prunable) == n2


def test_magnitude_global_scope_exact_k_and_ties_deterministic():
    params, mask, prunable, ctx = setup()
    # all weights tied: ties go to the first leaf (flattening order), then the lowest flat index
    tied = jax.tree_util.tree_map(lambda x: np.ones_like(x), params)
    new = prune(METHODS["magnitude"], tied, mask, 33, jax.random.key(0), ctx)
    assert sum(count_removed(new, mask, prunable).values()) == 33
    assert np.all(new["net/~/linear_0"]["w"] == 0)  # 30 weights, first in order
    np.testing.assert_array_equal(new["net/~/linear_1"]["w"].reshape(-1)[:3], 0)
    assert np.count_nonzero(new["net/~/linear_1"]["w"] == 0) == 3
    # ties in layer scope: lowest flat index first, identical on a second call
    n_remove = {"net/~/linear_0/w": 4, "net/~/linear_1/w": 0}
    a = prune(METHODS["magnitude"], tied, mask, n_remove, jax.random.key(0), ctx)
    b = prune(METHODS["magnitude"], tied, mask, n_remove, jax.random.key(5), ctx)
    np.testing.assert_array_equal(a["net/~/linear_0"]["w"].reshape(-1)[:4], 0)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(np.array_equal, a, b))
    # global on real values: the removed weights are the globally smallest among the included leaves
    new = prune(METHODS["magnitude"], params, mask, 20, jax.random.key(0), ctx)
    dead = np.concatenate([np.abs(params[m]["w"])[new[m]["w"] == 0] for m in ("net/~/linear_0", "net/~/linear_1")])
    live = np.concatenate([np.abs(params[m]["w"])[new[m]["w"] == 1] for m in ("net/~/linear_0", "net/~/linear_1")])
    assert dead.size == 20 and dead.max() <= live.min()


def test_remove_lowest_rejects_impossible_counts():
    params, mask, prunable, _ = setup()
    with pytest.raises(LthbenchError):
        remove_lowest(params, mask, {"net/~/linear_0/w": 31}, prunable)
    with pytest.raises(LthbenchError):
        remove_lowest(params, mask, {"net/~/embed/w": 1}, prunable)
    with pytest.raises(LthbenchError):
        remove_lowest(params, mask, 66, prunable)


@pytest.mark.parametrize("name", ["random", "snip", "synflow"])
def test_baselines_remove_exactly_k(name):
    params, mask, prunable, _ = setup()
    grad = tree(1)

    def log_psi(p, s):  # a two-layer ReLU net on the 6 inputs of linear_0
        h = jax.nn.relu(s @ p["net/~/linear_0"]["w"] + p["net/~/linear_0"]["b"])
        return jnp.sum(jax.nn.relu(h @ p["net/~/linear_1"]["w"]), axis=-1)

    ctx = PruneContext(prunable=prunable, grad=grad, log_psi=log_psi, n_spins=6)
    for scope in ("layer", "global"):
        n_remove = removal_counts(mask, prunable, 0.4, scope)
        new = prune(METHODS[name], params, mask, n_remove, jax.random.key(3), ctx)
        removed = count_removed(new, mask, prunable)
        assert (removed == n_remove) if scope == "layer" else (sum(removed.values()) == n_remove)


def test_snip_scores_are_w_times_grad():
    params, mask, prunable, _ = setup()
    grad = jax.tree_util.tree_map(lambda x: 1.0 / x, params)  # |w * g| = 1 everywhere: ties by index
    grad["net/~/linear_0"]["w"][0, 0] = 0.0  # ... except one weight with zero sensitivity
    ctx = PruneContext(prunable=prunable, grad=grad)
    new = prune(METHODS["snip"], params, mask, {"net/~/linear_0/w": 1}, jax.random.key(0), ctx)
    assert new["net/~/linear_0"]["w"][0, 0] == 0 and np.count_nonzero(new["net/~/linear_0"]["w"] == 0) == 1
    with pytest.raises(LthbenchError, match="gradient"):
        prune(METHODS["snip"], params, mask, 1, jax.random.key(0), PruneContext(prunable=prunable))


def test_synflow_on_single_relu_layer_equals_magnitude():
    # log psi = sum_j relu(sum_i W_ij s_i): with |W| and all-ones input, dR/dW = 1, so score = |W|.
    params, mask, prunable, _ = setup()
    params = {"net/~/linear_0": {"w": params["net/~/linear_0"]["w"]}}
    mask = {"net/~/linear_0": {"w": np.ones((6, 5))}}
    prunable = {"net/~/linear_0": {"w": True}}

    def log_psi(p, s):
        return jnp.sum(jax.nn.relu(s @ p["net/~/linear_0"]["w"]), axis=-1)

    ctx = PruneContext(prunable=prunable, log_psi=log_psi, n_spins=6)
    a = prune(SynFlow(iterations=4), params, mask, {"net/~/linear_0/w": 11}, jax.random.key(0), ctx)
    b = prune(METHODS["magnitude"], params, mask, {"net/~/linear_0/w": 11}, jax.random.key(0), ctx)
    np.testing.assert_array_equal(a["net/~/linear_0"]["w"], b["net/~/linear_0"]["w"])


def test_check_new_mask_rejects_invalid_outputs():
    params, mask, prunable, ctx = setup()
    n_remove = {"net/~/linear_0/w": 2, "net/~/linear_1/w": 0}
    good = prune(METHODS["magnitude"], params, mask, n_remove, jax.random.key(0), ctx)
    # resurrection: a weight pruned before comes back
    revived = jax.tree_util.tree_map(np.array, good)
    revived["net/~/linear_0"]["w"][:] = 1
    revived["net/~/linear_0"]["w"].reshape(-1)[-1] = 0
    revived["net/~/linear_0"]["w"].reshape(-1)[-2] = 0
    with pytest.raises(LthbenchError, match="revived"):
        check_new_mask(revived, good, {"net/~/linear_0/w": 0, "net/~/linear_1/w": 0}, prunable)
    wrong_shape = jax.tree_util.tree_map(np.array, mask)
    wrong_shape["net/~/linear_1"]["w"] = np.ones((7, 5))
    with pytest.raises(LthbenchError, match="shapes"):
        check_new_mask(wrong_shape, mask, n_remove, prunable)
    with pytest.raises(LthbenchError, match="structure"):
        check_new_mask({"a": np.ones(3)}, mask, n_remove, prunable)
    halves = jax.tree_util.tree_map(lambda m: m * 0.5, mask)
    with pytest.raises(LthbenchError, match="0 and 1"):
        check_new_mask(halves, mask, n_remove, prunable)
    with pytest.raises(LthbenchError, match="expected exactly 2"):
        check_new_mask(mask, mask, n_remove, prunable)
    with pytest.raises(LthbenchError, match="expected exactly 5"):
        check_new_mask(good, mask, 5, prunable)
    bias_cut = jax.tree_util.tree_map(np.array, good)
    bias_cut["net/~/linear_0"]["b"][0] = 0
    with pytest.raises(LthbenchError, match="non-prunable"):
        check_new_mask(bias_cut, mask, n_remove, prunable)


def test_resolve_method_by_name_import_path_and_errors():
    assert resolve_method("magnitude") is METHODS["magnitude"]
    m = resolve_method("lthbench.pruning.methods:Magnitude")
    assert callable(m) and method_name(m) == "magnitude"
    assert resolve_method("lthbench.pruning.select:remove_lowest") is remove_lowest
    for bad, msg in [
        ("nope", "unknown pruning method"),
        ("no_such_module_xyz:F", "cannot import"),
        ("lthbench.pruning.methods:Nope", "no attribute"),
        ("lthbench.pruning.api:SCOPES", "not callable"),
    ]:
        with pytest.raises(LthbenchError, match=msg) as info:
            resolve_method(bad)
        assert "\n" not in str(info.value)


def test_random_mask_control_preserves_per_layer_alive_counts():
    params, mask, prunable, ctx = setup()
    imp = prune(METHODS["magnitude"], params, mask, removal_counts(mask, prunable, 0.5), jax.random.key(0), ctx)

    class FakeAnsatz:
        def init(self, key):
            return jax.tree_util.tree_map(lambda x: np.asarray(jax.random.normal(key, np.shape(x))), params)

    controls = make_controls(FakeAnsatz(), prunable)
    m_rand, theta = controls["random-mask"](imp, params, tree(9), jax.random.key(4))
    assert leaf_alive_counts(m_rand, prunable) == leaf_alive_counts(imp, prunable)
    assert not all(
        np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(m_rand), jax.tree_util.tree_leaves(imp))
    )
    np.testing.assert_array_equal(m_rand["net/~/linear_0"]["b"], 1)
    np.testing.assert_array_equal(
        theta["net/~/linear_0"]["w"], params["net/~/linear_0"]["w"] * m_rand["net/~/linear_0"]["w"]
    )
    # ticket: original init under the IMP mask
    m_t, theta_t = controls["ticket"](imp, params, tree(9), jax.random.key(4))
    assert m_t is imp
    np.testing.assert_array_equal(
        theta_t["net/~/linear_1"]["w"], params["net/~/linear_1"]["w"] * imp["net/~/linear_1"]["w"]
    )
    # reinit: fresh init (depends on the key) under the IMP mask
    m_r, theta_r = controls["reinit"](imp, params, tree(9), jax.random.key(4))
    fresh = FakeAnsatz().init(jax.random.key(4))
    np.testing.assert_array_equal(
        theta_r["net/~/linear_1"]["w"], fresh["net/~/linear_1"]["w"] * imp["net/~/linear_1"]["w"]
    )
    assert alive_count(m_r, prunable) == alive_count(imp, prunable)
    with pytest.raises(LthbenchError, match="unknown control"):
        check_controls(("ticket", "lucky"))


def test_random_mask_like_depends_only_on_key():
    params, mask, prunable, _ = setup()
    half = random_mask_like(mask, prunable, jax.random.key(1))  # full -> full
    assert leaf_alive_counts(half, prunable) == leaf_alive_counts(mask, prunable)
    pruned = prune(METHODS["random"], params, mask, 30, jax.random.key(2), PruneContext(prunable=prunable))
    a = random_mask_like(pruned, prunable, jax.random.key(7))
    b = random_mask_like(pruned, prunable, jax.random.key(7))
    assert leaf_alive_counts(a, prunable) == leaf_alive_counts(pruned, prunable)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(np.array_equal, a, b))


def test_cell_keys_are_stable_and_distinct():
    k = cell_key("tiny-tfim-3x3", "magnitude/imp-wr/rewind=trained", "imp", 2, 0)
    again = cell_key("tiny-tfim-3x3", "magnitude/imp-wr/rewind=trained", "imp", 2, 0)
    np.testing.assert_array_equal(jax.random.key_data(k), jax.random.key_data(again))
    others = [
        cell_key("tiny-tfim-3x3", "magnitude/imp-wr/rewind=trained", "imp", 3, 0),
        cell_key("tiny-tfim-3x3", "magnitude/imp-wr/rewind=trained", "imp", 2, 1),
        cell_key("tiny-tfim-3x3", "magnitude/imp-wr/rewind=trained", "ticket", 2, 0),
        cell_key("tiny-tfim-3x3", "random/irp-wr/rewind=trained", "imp", 2, 0),
        cell_key("tiny-toric-2", "magnitude/imp-wr/rewind=trained", "imp", 2, 0),
        purpose_key(k, "train"),
    ]
    datas = {tuple(np.asarray(jax.random.key_data(x)).tolist()) for x in [k] + others}
    assert len(datas) == len(others) + 1
    assert stable_hash("ticket") == zlib.crc32(b"ticket")  # process-independent (unlike hash())


def test_synflow_equals_magnitude_on_the_tiny_tasks_ffnn():
    """The documented coincidence on the real ansatz: FFNN (relu, no bias) -> identical masks."""
    from lthbench.experiment import get_task
    from lthbench.nets import make_ansatz
    from lthbench.systems import system_from_id

    task = get_task("tiny-tfim-3x3")
    system = system_from_id(task.system_id)
    ansatz = make_ansatz(task.net, system, **task.hyper)
    params = jax.tree_util.tree_map(np.asarray, ansatz.init(jax.random.key(3)))
    prunable = prunable_leaves(params, ansatz.is_prunable)
    mask = jax.tree_util.tree_map(np.asarray, full_mask(params))
    ctx = PruneContext(prunable=prunable, log_psi=ansatz.log_psi, n_spins=system.n_spins)
    for _ in range(3):
        n_remove = removal_counts(mask, prunable, 0.3, "layer")
        a = prune(SynFlow(), params, mask, n_remove, jax.random.key(0), ctx)
        b = prune(METHODS["magnitude"], params, mask, n_remove, jax.random.key(0), ctx)
        for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
            np.testing.assert_array_equal(x, y)
        mask = a


def test_method_specs_with_hyperparameters():
    assert parse_method_spec("synflow[iterations=20]") == ("synflow", {"iterations": 20})
    assert parse_method_spec("pkg.mod:Name[b=true, a=0.5,c=word]") == (
        "pkg.mod:Name",
        {"a": 0.5, "b": True, "c": "word"},
    )
    assert parse_method_spec("magnitude") == ("magnitude", {})
    m = resolve_method("synflow[iterations=20]")
    assert isinstance(m, SynFlow) and m.iterations == 20 and m is not METHODS["synflow"]
    assert resolve_method("synflow") is METHODS["synflow"]
    # labels: sorted, canonical, defaults dropped; the same for the spec and for the object
    assert method_name("synflow[iterations=20]") == method_name(m) == "synflow[iterations=20]"
    assert method_name("synflow[iterations=10]") == "synflow"
    assert (
        method_name("lthbench.pruning.methods:SynFlow[iterations=3]")
        == "lthbench.pruning.methods:SynFlow[iterations=3]"
    )
    for bad, msg in [
        ("synflow[iterations=20.5]", "must be int"),
        ("synflow[depth=2]", "valid: iterations"),
        ("magnitude[x=1]", "valid: none"),
        ("synflow[iterations=1,iterations=2]", "twice"),
        ("synflow[iterations]", "key=value"),
        ("synflow[iterations=0]", ">= 1"),
        (":Name", "package.module:Name"),
    ]:
        with pytest.raises(LthbenchError, match=msg) as info:
            resolve_method(bad)
        assert "\n" not in str(info.value)


def scaled_magnitude(params, mask, n_remove, key, context, *, power: float = 1.0):
    scores = jax.tree_util.tree_map(lambda w: np.abs(np.asarray(w)) ** power, params)
    return remove_lowest(scores, mask, n_remove, context.prunable)


def test_function_methods_take_keyword_hyperparameters():
    spec = f"{__name__}:scaled_magnitude[power=2]"
    m = resolve_method(spec)
    assert m.keywords == {"power": 2.0}
    assert method_name(m) == f"{__name__}:scaled_magnitude[power=2.0]"
    assert method_name(spec) == f"{__name__}:scaled_magnitude[power=2.0]"
    params, mask, prunable, ctx = setup()
    n_remove = removal_counts(mask, prunable, 0.3, "layer")
    a = prune(m, params, mask, n_remove, jax.random.key(0), ctx)
    b = prune(METHODS["magnitude"], params, mask, n_remove, jax.random.key(0), ctx)
    for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
        np.testing.assert_array_equal(x, y)  # |w|^2 orders like |w|


def test_methods_get_read_only_copies():
    params, mask, prunable, ctx = setup()
    seen = {}

    def peek(p, m, n_remove, key, context):
        seen["writeable"] = [leaf.flags.writeable for leaf in jax.tree_util.tree_leaves((p, m))]
        p["net/~/linear_0"]["w"] = np.zeros((6, 5))  # replacing a leaf of the copy is allowed...
        return METHODS["magnitude"](p, m, n_remove, key, context)

    before = np.array(params["net/~/linear_0"]["w"])
    prune(peek, params, mask, removal_counts(mask, prunable, 0.3), jax.random.key(0), ctx)
    assert not any(seen["writeable"])
    np.testing.assert_array_equal(params["net/~/linear_0"]["w"], before)  # ...and leaves the caller's intact
