"""A claim row (`Claim`) and the thresholds the claims' verdicts use (docs/reproduction.md cites them)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BIC_MIN = 6.0  # "strong" evidence for a plateau (Kass & Raftery)
JUMP_MIN = 0.5  # decades of error
JUMP_RATIO = 5.0
DIP_MIN = 0.02
MZ_JUMP_MIN = 0.2
HEP_TOL = 0.1  # decades: HEP level within 10^0.1 = 1.26x of the product state's error
PAPER_MATCH = (0.05, 0.20)  # "matches dense down to 5-20% of the weights"
CONTROL_FACTOR = 3.0  # a control "comparable" to IMP: ratio CI inside [1/3, 3]
# decades: a heuristic cut for reading n at equal error: an error within 2x of IMP's highest seed-mean
# error lies where IMP's curve flattens towards its HEP level, and n there is barely determined
HEP_MARGIN = 0.3
SHIFT_BOOT_MIN = 0.95  # the equal-error shift gets a CI only when this share of resamples has a value
N_BOOT = 200


@dataclass
class Claim:
    figure: str
    claim: str
    task: str
    quantity: str
    value: float = float("nan")
    lo: float = float("nan")
    hi: float = float("nan")
    ci: str = ""  # how the interval was made
    verdict: str = "undetermined"
    threshold: str = ""
    paper: str = ""
    method: str = ""

    def value_text(self, spec=".3g") -> str:
        if not math.isfinite(self.value):
            return "-"
        if math.isfinite(self.lo) and math.isfinite(self.hi):
            return f"{self.value:{spec}} [{self.lo:{spec}}, {self.hi:{spec}}]"
        return f"{self.value:{spec}}"


def log_err(c) -> np.ndarray:
    """(R, S) log10 |relative error| with diverged seeds as failures; floored at the MC resolution."""
    v = np.abs(c.scored())
    floor = np.sqrt(np.nanmax(c.var)) if c.var.size and np.isfinite(c.var).any() else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log10(np.maximum(v, max(float(floor), 1e-300)))


def boot_columns(s: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, s) int: seed-column resamples with replacement (fixed RNG seed: reproducible CIs)."""
    return np.random.default_rng(seed).integers(0, s, size=(n_boot, s))
