"""Feasibility: whether exact diagonalisation (or a DMRG reference) of a system is within reach here,
decided before any allocation (from the system, or from its id alone)."""

from __future__ import annotations

import math
import re

from ..errors import TooLargeForExactError
from ..systems import PauliStringHamiltonian

MAX_ED_SPINS = 30  # hard cap: an even sector of 2^29 float64 Lanczos vectors is already 4.3 GB each
MAX_DMRG_SPINS = 400  # 20 x 20: beyond it the default schedules are far from converged in hours
LANCZOS_NCV = 20  # Krylov vectors kept by ARPACK; sets the memory of a solve
HINT = "use a published reference (reference_data/, `lthbench systems`) or a VMC estimate"

_ID_SIZE_RE = re.compile(r"^tfim[12]d-(?P<dims>\d+(?:x\d+)?)-|^toric-(?P<L>\d+)(?:-|$)")


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (bytes); a conservative 8 GB where it cannot be read."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 8 << 30


def ed_memory_estimate(system: PauliStringHamiltonian, n_vectors: int = 1) -> int:
    """Bytes a ground-space solve needs: ARPACK's Krylov basis and work vectors in the largest sector,
    plus the returned full-basis vectors (2^N x n_vectors float64)."""
    n = system.n_spins - (1 if system.commutes_with_global_flip else 0)
    return (LANCZOS_NCV + 8) * 8 * (1 << n) + 8 * n_vectors * (1 << system.n_spins)


def check_exact_feasible(system: PauliStringHamiltonian, n_vectors: int = 1) -> None:
    """Raise TooLargeForExactError (one line) when ED of `system` is out of reach on this machine."""
    n = system.n_spins
    if n > MAX_ED_SPINS:
        raise TooLargeForExactError(
            f"{system.id} has N={n} spins: too large for exact diagonalisation (N <= {MAX_ED_SPINS}); {HINT}"
        )
    need, have = ed_memory_estimate(system, n_vectors), int(0.8 * available_memory_bytes())
    if need > have:
        raise TooLargeForExactError(
            f"{system.id} has N={n} spins: exact diagonalisation needs ~{need / 2**30:.1f} GiB, "
            f"{have / 2**30:.1f} GiB available; {HINT}"
        )


def spins_in_id(system_id: str) -> int | None:
    """N read from a system id's size field alone (no system is built), or None when the id has no
    parsable size (then `system_from_id` reports the id itself)."""
    m = _ID_SIZE_RE.match(system_id.split("/", 1)[0])
    if not m:
        return None
    if m["L"] is not None:
        return 2 * int(m["L"]) ** 2
    return math.prod(int(n) for n in m["dims"].split("x"))


def check_id_size(system_id: str, method: str = "ed-lanczos") -> None:
    """Raise TooLargeForExactError before any allocation when the id's N is beyond `method`'s reach
    (ED: MAX_ED_SPINS; DMRG: MAX_DMRG_SPINS; closed forms: no limit)."""
    n = spins_in_id(system_id)
    limit = {"ed-lanczos": MAX_ED_SPINS, "dmrg-tenpy": MAX_DMRG_SPINS}.get(method)
    if n is not None and limit is not None and n > limit:
        what = "exact diagonalisation" if method == "ed-lanczos" else "a DMRG reference"
        raise TooLargeForExactError(
            f"{system_id} has N={n} spins: too large for {what} (N <= {limit}); use a published reference "
            "(reference_data/, `lthbench systems`) or a VMC estimate"
        )
