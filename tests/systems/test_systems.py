"""The operator objects against Hamiltonians built independently from Pauli matrices (Kronecker
products), and `connected()` against every non-zero of the sparse matrix (property-based)."""

from functools import cache, reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lthbench  # noqa: F401  (enables x64)
from lthbench.exact import hamiltonian_operator, sparse_hamiltonian
from lthbench.systems import system_from_id, tfim, toric
from lthbench.systems.lattice import square_bonds, torus_plaquettes, torus_stars

# One of every system kind: chains and square lattices, open and periodic, toric code with and
# without fields (small enough for a dense Kronecker-product Hamiltonian).
SMALL_IDS = [
    "tfim1d-7-obc-k0.7",
    "tfim1d-6-pbc-k1.3-J-0.5",
    "tfim2d-3x3-obc-k3.04438",
    "tfim2d-2x4-pbc-k0.4",
    "toric-2",
    "toric-2-hx0.3-hz0.2",
]
# Larger systems for the connected()-vs-sparse-matrix property (sparse only, no dense matrix).
PROPERTY_IDS = SMALL_IDS + ["tfim2d-4x4-obc-k2", "tfim1d-16-pbc-k1", "toric-3-hx0.2", "tfim2d-3x5-pbc-k3.04438"]

_X = np.array([[0.0, 1.0], [1.0, 0.0]])
_Z = np.diag([1.0, -1.0])
_I = np.eye(2)


def _pauli_string(op, sites, n):
    """Dense 2^n x 2^n product of `op` on `sites` (site 0 the leftmost Kronecker factor = MSB)."""
    return reduce(np.kron, [op if i in sites else _I for i in range(n)])


def _dense_tfim(shape, kappa, J, pbc):
    """H = -J sum_<ij> Z_i Z_j - kappa sum_i X_i from Kronecker products, bonds enumerated here."""
    n = int(np.prod(shape))
    coords = list(np.ndindex(*shape))
    index = {c: k for k, c in enumerate(coords)}
    bonds = set()
    for c in coords:
        for axis in range(len(shape)):
            d = list(c)
            d[axis] += 1
            if d[axis] == shape[axis]:
                if not pbc or shape[axis] < 3:
                    continue
                d[axis] = 0
            bonds.add(tuple(sorted((index[c], index[tuple(d)]))))
    H = np.zeros((2**n, 2**n))
    for i, j in bonds:
        H -= J * _pauli_string(_Z, {i, j}, n)
    for i in range(n):
        H -= kappa * _pauli_string(_X, {i}, n)
    return H


def _dense_toric(L, hx, hz):
    n = 2 * L * L
    H = np.zeros((2**n, 2**n))
    for star in torus_stars(L):
        H -= _pauli_string(_X, set(star), n)
    for plaquette in torus_plaquettes(L):
        H -= _pauli_string(_Z, set(plaquette), n)
    for i in range(n):
        H -= hx * _pauli_string(_X, {i}, n) + hz * _pauli_string(_Z, {i}, n)
    return H


@cache
def _dense(system_id):
    system = system_from_id(system_id)
    p = system.params
    if system.kind == "tfim":
        return _dense_tfim(system.lattice_shape, p["kappa"], p["J"], p["pbc"])
    return _dense_toric(p["L"], p["hx"], p["hz"])


@pytest.mark.parametrize("system_id", SMALL_IDS)
def test_sparse_matrix_equals_kronecker_hamiltonian(system_id):
    system = system_from_id(system_id)
    H = sparse_hamiltonian(system).toarray()
    np.testing.assert_allclose(H, _dense(system_id), atol=1e-13, rtol=0)


@pytest.mark.parametrize("system_id", SMALL_IDS)
def test_matrix_free_operator_equals_sparse_matrix(system_id):
    system = system_from_id(system_id)
    x = np.random.default_rng(0).normal(size=2**system.n_spins)
    np.testing.assert_allclose(
        hamiltonian_operator(system).matvec(x), sparse_hamiltonian(system) @ x, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("system_id", ["tfim2d-3x3-obc-k1.5", "tfim1d-6-pbc-k0.5", "toric-2"])
@pytest.mark.parametrize("sector", ["even", "odd"])
def test_sector_block_is_the_projected_hamiltonian(system_id, sector):
    """The Z2 block equals B^T H B for the symmetrised basis B that `embed_sector_vectors` builds."""
    from lthbench.exact import embed_sector_vectors, sector_bits

    system = system_from_id(system_id)
    basis = embed_sector_vectors(np.eye(1 << sector_bits(system, sector)), system, sector)
    np.testing.assert_allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-14)
    block = sparse_hamiltonian(system, sector).toarray()
    np.testing.assert_allclose(block, basis.T @ _dense(system_id) @ basis, atol=1e-12)
    op = hamiltonian_operator(system, sector)
    x = np.random.default_rng(1).normal(size=block.shape[0])
    np.testing.assert_allclose(op.matvec(x), block @ x, atol=1e-12)


@cache
def _csr(system_id):
    return sparse_hamiltonian(system_from_id(system_id)).tocsc()


@pytest.mark.parametrize("system_id", PROPERTY_IDS)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_connected_reproduces_every_nonzero_of_the_column(system_id, data):
    """For a random configuration s, {(s', <s'|H|s>)} from connected() equals column s of H."""
    system = system_from_id(system_id)
    n = system.n_spins
    code = data.draw(st.integers(0, 2**n - 1))
    spins = system.spins_of_codes(np.array([code]))
    partners, elements = (np.asarray(a)[0] for a in system.connected(spins))
    summed = {}
    for partner, value in zip(system.codes_of_spins(partners).tolist(), elements.tolist()):
        summed[partner] = summed.get(partner, 0.0) + value
    got = {k: v for k, v in summed.items() if abs(v) > 1e-14}
    column = _csr(system_id)[:, code]
    expected = dict(zip(column.indices.tolist(), column.data.tolist()))
    expected = {k: v for k, v in expected.items() if abs(v) > 1e-14}
    assert got.keys() == expected.keys()
    for k in got:
        assert got[k] == pytest.approx(expected[k], rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("system_id", SMALL_IDS + ["tfim2d-10x10-obc-k3.04438", "toric-3-hx0.2"])
def test_uniform_state_energy(system_id):
    """<+...+|H|+...+>: -kappa N for the TFIM, -L^2 - hx N for the toric code, and (small N) the
    Rayleigh quotient of the dense Hamiltonian."""
    system = system_from_id(system_id)
    p, n = system.params, system.n_spins
    closed = -p["kappa"] * n if system.kind == "tfim" else -(p["L"] ** 2) - p["hx"] * n
    assert system.uniform_state_energy() == pytest.approx(closed, rel=1e-12)
    if n <= 12:
        plus = np.full(2**n, 2.0 ** (-n / 2))
        assert plus @ _dense(system_id) @ plus == pytest.approx(closed, rel=1e-9)


def test_lattice_counts():
    """Open L x L square lattice: 2 L (L - 1) bonds; torus: L^2 stars and plaquettes of 4 edges,
    every edge in exactly 2 stars and 2 plaquettes."""
    assert len(square_bonds(4, 4, pbc=False)) == 24
    assert len(square_bonds(10, 10, pbc=False)) == 180
    assert len(square_bonds(4, 4, pbc=True)) == 32
    for L in (2, 3, 4):
        stars, plaquettes = np.asarray(torus_stars(L)), np.asarray(torus_plaquettes(L))
        assert stars.shape == plaquettes.shape == (L * L, 4)
        for groups in (stars, plaquettes):
            assert np.all(np.bincount(groups.ravel(), minlength=2 * L * L) == 2)
        assert tfim((L, L), 1.0).n_spins == L * L and toric(L).n_spins == 2 * L * L


def test_every_star_commutes_with_every_plaquette():
    """A star and a plaquette share 0 or 2 edges (so A_v and B_p commute): the toric code's geometry."""
    for L in (2, 3, 4):
        for star in torus_stars(L):
            for plaquette in torus_plaquettes(L):
                assert len(set(star) & set(plaquette)) % 2 == 0


@pytest.mark.parametrize(
    "bad",
    [
        "tfim2d-4x4-obc",
        "tfim3d-4x4x4-obc-k1",
        "tfim2d-4-obc-k1",
        "tfim2d--4x4-obc-k1",
        "tfim1d-0-obc-k1",
        "tfim2d-4x4-obc-knan",
        "tfim2d-4x4-obc-kinf",
        "toric-1",
        "toric-3-hxnan",
        "ising-4",
    ],
)
def test_bad_system_ids_raise_one_line_errors(bad):
    from lthbench.errors import LthbenchError

    with pytest.raises(LthbenchError) as info:
        system_from_id(bad)
    assert "\n" not in str(info.value)


def test_ids_round_trip():
    for system_id in PROPERTY_IDS + ["tfim2d-10x10-obc-k3.04438", "toric-3"]:
        assert system_from_id(system_id).id == system_id
