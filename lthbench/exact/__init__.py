"""Exact ground states, closed forms, and the shipped table of reference energies.

Layers, each usable alone (one module each):

* `sectors`: the Hamiltonian as "diagonal + XOR flips" on the full space or a Z2 sector of the global
  spin flip P = prod_i X_i (when H commutes with it); `feasibility`: size and memory checks before any
  allocation.
* `operators`: `sparse_hamiltonian` (scipy CSR) and `hamiltonian_operator` (matrix-free scipy
  LinearOperator, a jitted JAX kernel) on vectors indexed by the operator's basis codes.
* `ground`: `ground_energy`, `ground_space`, `solve_ground_level` (Lanczos, degeneracy detection).
  `closed_forms`: free-fermion TFIM chains and the pure toric code, as independent checks.
* `rows` (the `Reference` record, published rows, row ids), `compute` (one row by ED, closed form or
  DMRG), `references` (the shipped table `data/references.nc`: I/O and `reference_energy`),
  `regenerate` (rebuilding it), `render` (its markdown, `reference_data/README.md`).
* `dmrg` / `dmrg_fit` / `dmrg_checkpoint`: DMRG references with physics-tenpy (optional), their
  stages and extrapolation, and the checkpoint a long run resumes from.

Energies are in the Hamiltonian's unit (`system.energy_unit`: J for the TFIM).
"""

from .closed_forms import analytic_ground_level, tfim_chain_free_fermion_energy
from .compute import compute_reference, versions_json
from .feasibility import (
    LANCZOS_NCV,
    MAX_DMRG_SPINS,
    MAX_ED_SPINS,
    check_exact_feasible,
    check_id_size,
    ed_memory_estimate,
    spins_in_id,
)
from .ground import (
    DEGENERACY_TOL,
    DENSE_MAX_DIM,
    LANCZOS_TOL,
    GroundLevel,
    ProductCounter,
    ground_energy,
    ground_space,
    has_unique_ground_state,
    is_stoquastic,
    solve_ground_level,
)
from .operators import SPARSE_MAX_NNZ, hamiltonian_operator, sparse_hamiltonian
from .references import (
    DATA_DIR,
    DEFAULT_TABLE_PATH,
    check_table_out,
    dataset_to_references,
    load_reference_table,
    reference_energy,
    references_for,
    references_to_dataset,
    table_references,
)
from .regenerate import (
    checkout_readme_path,
    merge_into_table,
    merged_rows,
    regenerate_reference_table,
    write_reference_table,
)
from .render import render_markdown
from .rows import (
    METHOD_ALIASES,
    METHODS,
    PAPER,
    REGENERATE_COMMAND,
    ROW_TAGS,
    VARBENCH,
    Reference,
    computed_row_ids,
    dmrg_row_ids,
    published_rows,
    row_id_for,
    split_row_id,
)
from .sectors import SECTORS, embed_sector_vectors, sector_bits, sector_diagonal, sector_flips

__all__ = [
    "DATA_DIR",
    "DEFAULT_TABLE_PATH",
    "DEGENERACY_TOL",
    "DENSE_MAX_DIM",
    "LANCZOS_NCV",
    "LANCZOS_TOL",
    "MAX_DMRG_SPINS",
    "MAX_ED_SPINS",
    "METHODS",
    "METHOD_ALIASES",
    "PAPER",
    "REGENERATE_COMMAND",
    "ROW_TAGS",
    "SECTORS",
    "SPARSE_MAX_NNZ",
    "VARBENCH",
    "GroundLevel",
    "ProductCounter",
    "Reference",
    "analytic_ground_level",
    "check_exact_feasible",
    "check_id_size",
    "check_table_out",
    "checkout_readme_path",
    "compute_reference",
    "computed_row_ids",
    "dataset_to_references",
    "dmrg_row_ids",
    "ed_memory_estimate",
    "embed_sector_vectors",
    "ground_energy",
    "ground_space",
    "hamiltonian_operator",
    "has_unique_ground_state",
    "is_stoquastic",
    "load_reference_table",
    "merge_into_table",
    "merged_rows",
    "published_rows",
    "reference_energy",
    "references_for",
    "references_to_dataset",
    "regenerate_reference_table",
    "render_markdown",
    "row_id_for",
    "sector_bits",
    "sector_diagonal",
    "sector_flips",
    "solve_ground_level",
    "sparse_hamiltonian",
    "spins_in_id",
    "split_row_id",
    "table_references",
    "tfim_chain_free_fermion_energy",
    "versions_json",
    "write_reference_table",
]
