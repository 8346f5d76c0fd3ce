"""Synthetic results datasets in the lthbench schema for the analysis tests (no training).

`curve_records` makes one (task, method, control) curve: per round n = rint(n0 * (1 - p)^round) alive
weights, a relative error from `err(n, seed)` (signed; E = E_ref + err |E_ref|), an MC error bar
`sigma_rel` |E_ref|, optional extra per-cell fields, and the diverged cells given.
"""

from __future__ import annotations

import numpy as np

from lthbench.results import records_to_dataset, save_dataset

METHOD = "magnitude/imp-wr/rewind=trained"
TASK = "toric-3-ffnn-a8-quick"


def n_schedule(n0: int, p: float, rounds: int) -> np.ndarray:
    n = [n0]
    for _ in range(rounds):
        n.append(n[-1] - int(np.rint(p * n[-1])))
    return np.asarray(n, dtype=float)


def curve_records(
    err,
    *,
    task=TASK,
    method=METHOD,
    control="imp",
    seeds=(0, 1, 2),
    rounds=None,
    n0=2592,
    p=0.12,
    n_rounds=30,
    e_ref=-18.0,
    n_spins=18,
    sigma_rel=0.0,
    diverged=(),
    extra=None,
    ref_unc=None,
):
    """Records of one curve. err(n, seed, round) -> signed relative error; extra(n, seed, round) -> dict."""
    ns = n_schedule(n0, p, n_rounds)
    rounds = range(n_rounds + 1) if rounds is None else rounds
    recs = []
    for seed in seeds:
        for rnd in rounds:
            n = ns[rnd]
            e = float(err(n, seed, rnd))
            div = (rnd, seed) in diverged
            energy = float("nan") if div else e_ref + e * abs(e_ref)
            rec = {
                "task": task,
                "method": method,
                "control": control,
                "round": int(rnd),
                "seed": int(seed),
                "n_alive": n,
                "n_prunable": float(n0),
                "density": n / n0,
                "rho": n / n_spins,
                "energy": energy,
                "energy_sigma": sigma_rel * abs(e_ref),
                "variance": 0.1,
                "rel_error": abs(energy - e_ref) / abs(e_ref),
                "abs_error_per_spin": abs(energy - e_ref) / n_spins,
                "v_score": 0.0,
                "fidelity_prev": None if rnd == 0 else 0.99,
                "fidelity_exact": None,
                "m_z": 0.0,
                "m_x": 0.5,
                "wall_time": 1.0,
                "samples_per_s": 1e5,
                "diverged": div,
                "reference_energy": e_ref,
                "reference_source": "synthetic",
                "n_spins": n_spins,
            }
            if ref_unc is not None:
                rec["reference_uncertainty"] = ref_unc
            if extra is not None:
                rec.update(extra(n, seed, rnd))
            recs.append(rec)
    return recs


def dataset(records, path=None):
    ds = records_to_dataset(records, {"synthetic": True})
    if path is not None:
        save_dataset(ds, path)
    return ds
