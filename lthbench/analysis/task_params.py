"""What the analysis needs to know of a task beyond its dataset: model, size, field, net, width."""

from __future__ import annotations

import re

from ..errors import LthbenchError
from ..experiment import get_task


def task_parameters(task: str) -> dict:
    """What the analysis needs to know of a task beyond the dataset: model, L, kappa, net tag, alpha.

    From the task registry when the id is registered, else parsed from the id; unknown fields are None.
    """
    system_id = task
    try:
        spec = get_task(task)
        system_id = spec.system_id
        hyper = dict(spec.net_hyper)
        net = spec.net
    except LthbenchError:
        hyper, net = {}, None
    out = {"model": None, "L": None, "kappa": None, "net": net, "alpha": hyper.get("alpha")}
    m = re.search(r"tfim2d-(\d+)x(\d+)", system_id)
    if m:
        out["model"], out["L"] = "tfim", int(m.group(1))
        k = re.search(r"-k([0-9.]+)", system_id)
        out["kappa"] = float(k.group(1).rstrip(".")) if k else None
    m = re.search(r"toric-(\d+)", system_id)
    if m:
        out["model"], out["L"] = "toric", int(m.group(1))
    if out["alpha"] is None:
        a = re.search(r"-a([0-9.]+)", task)
        out["alpha"] = float(a.group(1).rstrip(".")) if a else None
    if out["net"] is None:
        n = re.search(r"-(ffnn|rbm|cnn|rescnn)", task)
        out["net"] = n.group(1) if n else None
    return out


def product_state_energy(task: str, n_spins: float) -> float:
    """Exact energy of the uniform state |+...+> (the empty network): -kappa N (TFIM), -L^2 (toric)."""
    p = task_parameters(task)
    if p["model"] == "tfim" and p["kappa"] is not None:
        return -p["kappa"] * n_spins
    if p["model"] == "toric" and p["L"] is not None:
        return -float(p["L"] ** 2)
    return float("nan")
