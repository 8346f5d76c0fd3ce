"""Synthetic result records (the quick toric-code task's shape) for the results and report tests."""

from __future__ import annotations

METHOD = "magnitude/imp-wr/rewind=trained"


def synthetic_record(task="toric-3-ffnn-a8-quick", method=METHOD, control="imp", rnd=0, seed=0, **over):
    n_spins = 18
    n_prunable = 2592
    n_alive = int(round(n_prunable * 0.7**rnd))
    e_ref = -18.0
    energy = e_ref * (1 - 0.01 * (1 + rnd) ** 1.5) - 0.001 * seed
    rec = {
        "task": task,
        "method": method,
        "control": control,
        "round": rnd,
        "seed": seed,
        "n_alive": n_alive,
        "n_prunable": n_prunable,
        "density": n_alive / n_prunable,
        "rho": n_alive / n_spins,
        "energy": energy,
        "energy_sigma": 0.0,
        "variance": 0.1 / (1 + rnd),
        "rel_error": abs(energy - e_ref) / abs(e_ref),
        "abs_error_per_spin": abs(energy - e_ref) / n_spins,
        "v_score": n_spins * 0.1 / energy**2,
        "fidelity_prev": None if rnd == 0 else 0.99,
        "fidelity_exact": 0.98,
        "m_z": 0.0,
        "m_x": 0.5,
        "wall_time": 1.5,
        "samples_per_s": 1e5,
        "diverged": False,
        "reference_energy": e_ref,
        "reference_source": "analytic: -2 L^2",
        "n_spins": n_spins,
    }
    rec.update(over)
    return rec


def synthetic_records(seeds=(0, 1), rounds=4, task="toric-3-ffnn-a8-quick", method=METHOD):
    recs = []
    for seed in seeds:
        for rnd in range(rounds + 1):
            recs.append(synthetic_record(task, method, "imp", rnd, seed))
            if rnd in (2, rounds):
                for control in ("ticket", "reinit", "random-mask"):
                    recs.append(synthetic_record(task, method, control, rnd, seed))
    return recs
