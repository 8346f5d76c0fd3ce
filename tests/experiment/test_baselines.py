"""Shipped baselines: the regenerate -> pack -> read -> rerun pipeline on a tiny task (in a temporary
directory, never the shipped one), the command line, and (slow) the shipped files against today's engine."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import lthbench.vmc
from lthbench.analysis.claims import compute_claims
from lthbench.analysis.report import make_report
from lthbench.cli import main
from lthbench.errors import LthbenchError
from lthbench.experiment import baselines, get_task, list_tasks
from lthbench.provenance import cpu_features
from lthbench.results import (
    CellKey,
    RunStore,
    dataset_to_records,
    flatten_tree,
    load_dataset,
    provenance_of,
    save_dataset,
)

ROOT = Path(__file__).resolve().parents[2]
TINY = "tiny-toric-2"  # a toric-code task: its baseline keeps the IMP weights of every round too


@pytest.fixture(scope="module")
def tiny_baseline(tmp_path_factory):
    pytest.importorskip("lthbench.vmc")
    root = tmp_path_factory.mktemp("baselines")
    out, work = root / "out", root / "work"
    out.mkdir()
    path = baselines.regenerate(TINY, [0, 1], out_dir=out, work_dir=work)
    return path, work


def test_regenerated_file_holds_records_masks_and_round0_nets(tiny_baseline):
    path, work = tiny_baseline
    task = get_task(TINY)
    label = baselines.baseline_label()
    assert path.name == f"{TINY}.nc" and path.parent.name == "out"
    ds = load_dataset(path)
    assert ds.attrs["baselines_version"] == baselines.BASELINES_VERSION
    store = RunStore(work / f"{TINY}.nc", create=False)
    want = {CellKey.from_record(r): r for r in store.records()}
    got = {CellKey.from_record(r): r for r in dataset_to_records(ds)}
    assert set(got) == set(want)
    controls = {k.control for k in got}
    assert controls == {"imp", "ticket", "reinit", "random-mask"}
    assert {k.round for k in got if k.control == "ticket"} == set(task.control_rounds())
    for key, rec in got.items():
        assert rec["energy"] == want[key]["energy"] and rec["n_alive"] == want[key]["n_alive"]
    arts = baselines.load_artifacts(path)
    for seed in (0, 1):
        for rnd in range(task.last_round() + 1):
            cell = store.read_artifacts(CellKey(TINY, label, "imp", rnd, seed))
            mask = baselines.artifact_tree(arts, "mask", seed, rnd)
            params = baselines.artifact_tree(arts, "params", seed, rnd)
            for module, leaves in cell["mask"].items():
                for leaf, value in leaves.items():
                    np.testing.assert_array_equal(mask[module][leaf], value)
                    np.testing.assert_array_equal(params[module][leaf], cell["params"][module][leaf])
            n_alive = sum(int(np.count_nonzero(v)) for leaves in mask.values() for v in leaves.values())
            assert n_alive == got[CellKey(TINY, label, "imp", rnd, seed)]["n_alive"]
        dense = store.read_artifacts(CellKey(TINY, label, "imp", 0, seed))
        for kind, name in (("init", "params_init"), ("trained", "params")):
            tree = baselines.artifact_tree(arts, kind, seed)
            for module, leaves in dense[name].items():
                for leaf, value in leaves.items():
                    np.testing.assert_array_equal(tree[module][leaf], value)


def test_regenerate_resumes_without_training(tiny_baseline, monkeypatch):
    path, work = tiny_baseline
    before = load_dataset(path)

    def no_training(*args, **kwargs):
        raise AssertionError("a finished cell was trained again")

    monkeypatch.setattr(lthbench.vmc, "train", no_training)
    again = baselines.regenerate(TINY, [0, 1], out_dir=path.parent, work_dir=work)
    assert again == path
    np.testing.assert_array_equal(load_dataset(path)["energy"].values, before["energy"].values)


def no_training(*args, **kwargs):
    raise AssertionError("a finished seed was trained again")


def test_regenerate_resumes_from_seed_packs_alone(tiny_baseline, tmp_path, monkeypatch):
    """A new machine holds only the committed seed packs, no work store: the baseline is joined from
    them without any training, record for record and array for array the file made in one go."""
    path, work = tiny_baseline
    packs, out = tmp_path / "packs", tmp_path / "out"
    packs.mkdir()
    out.mkdir()
    for seed in (0, 1):
        shutil.copy(baselines.seed_pack_path(work, TINY, seed), packs)
    monkeypatch.setattr(lthbench.vmc, "train", no_training)
    again = baselines.regenerate(TINY, [0, 1], out_dir=out, work_dir=tmp_path / "new-work", packs_dir=packs)
    want, got = load_dataset(path), load_dataset(again)
    for name in ("energy", "energy_sigma", "n_alive", "rel_error", "fidelity_exact"):
        np.testing.assert_array_equal(got[name].values, want[name].values)
    assert baselines.load_artifacts(again).equals(baselines.load_artifacts(path))
    assert [p["seeds"] for p in provenance_of(got)["seed_packs"]] == [[0], [1]]
    # each pack names the CPU's vector instruction sets: a float32 net's last bits depend on them
    assert [p["cpu_features"] for p in provenance_of(got)["seed_packs"]] == [cpu_features()] * 2
    assert "avx" in cpu_features() or "sse4" in cpu_features()


def test_a_seed_pack_of_another_chain_or_seed_is_refused(tiny_baseline, tmp_path, monkeypatch):
    """Nothing is silently reused: a pack whose fingerprint is not today's chain's (another task spec,
    label or engine), or a pack filed under another seed, stops the run with a one-line error."""
    path, work = tiny_baseline
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(lthbench.vmc, "train", no_training)
    stale = tmp_path / "stale"
    stale.mkdir()
    ds = load_dataset(baselines.seed_pack_path(work, TINY, 0))
    ds["fingerprint"].values[:] = "0" * 64
    save_dataset(ds, baselines.seed_pack_path(stale, TINY, 0))
    with pytest.raises(LthbenchError, match="made by another chain"):
        baselines.regenerate(TINY, [0], out_dir=out, work_dir=tmp_path / "w1", packs_dir=stale)
    misfiled = tmp_path / "misfiled"
    misfiled.mkdir()
    shutil.copy(baselines.seed_pack_path(work, TINY, 0), baselines.seed_pack_path(misfiled, TINY, 1))
    with pytest.raises(LthbenchError, match="does not hold seed 1"):
        baselines.regenerate(TINY, [1], out_dir=out, work_dir=tmp_path / "w2", packs_dir=misfiled)
    assert not (out / f"{TINY}.nc").exists()


def test_a_baseline_file_serves_its_artifacts_like_the_run_store(tiny_baseline, tmp_path):
    """A shipped file has no cells next to it: the claims and the filter figures read its artifacts
    group, which gives cell for cell the masks and weights the run stored (and no control's)."""
    path, work = tiny_baseline
    store = RunStore(work / f"{TINY}.nc", create=False)
    served = baselines.artifacts_next_to(path)
    assert isinstance(served, baselines.BaselineArtifacts)
    label = baselines.baseline_label()
    for seed in (0, 1):
        for rnd in range(get_task(TINY).last_round() + 1):
            key = CellKey(TINY, label, "imp", rnd, seed)
            want, got = store.read_artifacts(key), served.read_artifacts(key)
            for kind in ("mask", "params") + (("params_init",) if rnd == 0 else ()):
                w, g = flatten_tree(want[kind]), flatten_tree(got[kind])
                assert sorted(w) == sorted(g), (key, kind)
                for leaf in w:
                    np.testing.assert_array_equal(g[leaf], w[leaf])
    assert not served.has(CellKey(TINY, label, "ticket", 1, 0))
    (claim,) = [c for c in compute_claims(str(path)) if c.claim == "odd-parity filters"]
    assert "no masks/params artifacts" not in claim.verdict, claim.verdict
    written = make_report(str(path), tmp_path / "report")
    assert any("__filters_round" in p.name for p in written)


def test_rerun_cell_reproduces_the_shipped_round(tiny_baseline, tmp_path):
    """The slow drift check's machinery: round 1 rerun from the file's round-0 nets, same numbers."""
    path, _ = tiny_baseline
    shipped, new = baselines.rerun_cell(path, TINY, 1, tmp_path)
    assert new["n_alive"] == shipped["n_alive"]
    assert new["energy"] == pytest.approx(shipped["energy"], rel=1e-10, abs=1e-12)
    assert baselines.energies_agree(shipped, new)
    assert not baselines.energies_agree(shipped, {**new, "energy": new["energy"] + 1.0, "energy_sigma": 0.0})


def test_cli_lists_and_regenerates_into_a_directory(tiny_baseline, tmp_path, capsys):
    path, work = tiny_baseline
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["baselines", "--out-dir", str(empty)]) == 0
    assert "no baseline datasets ship yet" in capsys.readouterr().out
    assert (
        main(
            [
                "baselines",
                "--out-dir",
                str(empty),
                "--regenerate",
                TINY,
                "--seeds",
                "0",
                "--work",
                str(work),
                "--no-progress",
            ]
        )
        == 0
    )
    assert (empty / f"{TINY}.nc").is_file()
    capsys.readouterr()
    assert main(["baselines", "--out-dir", str(empty)]) == 0
    out = capsys.readouterr().out
    assert TINY in out and f"version {baselines.BASELINES_VERSION}" in out and "seeds 0 " in out


def test_cli_user_errors_are_one_line_before_any_work(tmp_path, capsys):
    work = tmp_path / "work"
    for argv in (
        ["--regenerate", "no-such-task"],
        ["--regenerate", "tiny-tfim-3x3", "--seeds", "x"],
        ["--regenerate", "tiny-tfim-3x3", "--out-dir", str(tmp_path / "missing")],
        ["--regenerate", "tiny-tfim-3x3", "--packs", str(tmp_path / "missing")],
    ):
        assert main(["baselines", "--work", str(work), *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error:" in err
    assert not work.exists()


def test_family_is_the_cpu_tasks():
    ids = baselines.family_task_ids("all-cpu")
    assert ids and all(i.endswith("-cpu") for i in ids)
    assert set(ids) == {t.id for t in list_tasks() if t.id.endswith("-cpu")}
    with pytest.raises(LthbenchError):
        baselines.family_task_ids("everything")
    assert baselines.baseline_controls(get_task("toric-3-ffnn-a8-cpu")) == ("ticket", "reinit", "random-mask")
    assert baselines.baseline_controls(get_task("toric-3-ffnn-a16-cpu")) == ()
    assert baselines.keeps_round_weights(get_task("toric-3-ffnn-a8-cpu"))
    assert not baselines.keeps_round_weights(get_task("tfim2d-4x4-k3.04438-ffnn-a5-cpu"))


def test_version_changelog_citation_and_pointer():
    yaml = pytest.importorskip("yaml")
    changelog = (baselines.BASELINE_DIR / "CHANGELOG.md").read_text()
    assert f"## {baselines.BASELINES_VERSION}" in changelog
    assert "lthbench/data/baselines" in (ROOT / "reference_data" / "baselines" / "README.md").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["title"] and cff["authors"]
    assert "2505.22734" in str(cff["preferred-citation"])


# One task per figure of the CPU-scale family (issue 12): the first shipped one is rerun.
FAMILIES = {
    "Fig. 1": ["tfim2d-4x4-k3.04438-ffnn-a5-cpu", "tfim2d-4x4-k3.04438-cnn-cpu"],
    "Fig. 2": ["tfim2d-4x4-k1-ffnn-a1-cpu", "tfim2d-4x4-k3.04438-ffnn-a1-cpu"],
    "Fig. 3": ["tfim2d-4x4-k3.04438-ffnn-a8-cpu", "tfim2d-5x5-k3.04438-ffnn-a8-cpu"],
    "Fig. 4": ["toric-3-ffnn-a4-cpu", "toric-3-ffnn-a8-cpu"],
}


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_shipped_baseline_matches_todays_engine(family, tmp_path):
    """Rerun IMP round 1 (seed 0) of one shipped task per figure; its energy must agree with the shipped
    record within 4 combined Monte Carlo sigmas, so the baselines cannot drift from the engine."""
    shipped = [t for t in FAMILIES[family] if (baselines.BASELINE_DIR / f"{t}.nc").is_file()]
    if not shipped:
        pytest.skip(
            f"no shipped baseline of {family} yet ({', '.join(FAMILIES[family])}); "
            "`lthbench baselines --regenerate all-cpu` makes them"
        )
    task_id = shipped[0]
    old, new = baselines.rerun_cell(baselines.shipped_baseline_path(task_id), task_id, 0, tmp_path)
    assert new["n_alive"] == old["n_alive"], task_id
    assert baselines.energies_agree(old, new), (task_id, old["energy"], new["energy"])


def test_baseline_chain_fingerprints_are_pinned():
    """The fingerprint of every CPU-scale baseline chain is pinned: the baseline runs resume across
    sessions and code moves, and a changed fingerprint refuses the resume (a refactor that changes
    one, e.g. by moving a built-in method or nesting the TaskSpec, must be deliberate and bump the
    baselines' version). Regenerate the pins only together with the baselines."""
    import json

    from lthbench.experiment import chain_fingerprint

    pinned = json.loads((Path(__file__).with_name("baseline_fingerprints.json")).read_text())
    assert sorted(pinned) == sorted(baselines.family_task_ids("all-cpu"))
    for task_id, want in pinned.items():
        _, label, identity, got = chain_fingerprint(
            get_task(task_id),
            baselines.BASELINE_METHOD,
            baselines.BASELINE_PROTOCOL,
            baselines.BASELINE_REWIND,
            compute_reference=False,
        )
        assert identity["reference"], task_id  # scored against a table row, never a fresh computation
        assert got == want, f"{task_id}: baseline fingerprint changed ({label})"


def test_regenerate_holds_the_work_store_lock(tmp_path):
    """`lthbench baselines --regenerate` writes its work store under the store's lock, as `lthbench run`
    does: a second regenerate of the same work directory is refused before any training."""
    out, work = tmp_path / "out", tmp_path / "work"
    out.mkdir()
    work.mkdir()
    with RunStore(work / f"{TINY}.nc").lock():
        with pytest.raises(LthbenchError, match="is being written"):
            baselines.regenerate(TINY, [0], out_dir=out, work_dir=work)
