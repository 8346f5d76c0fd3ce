"""Lattice geometry: sites, bonds, and the edges, stars and plaquettes of a torus.

Pure numpy, no physics. Site and edge numberings here are the single source of truth for the
ordering of spins everywhere else in the suite (networks reshape with it, figures draw with it).
"""

from __future__ import annotations

import numpy as np


def chain_bonds(length: int, pbc: bool) -> np.ndarray:
    """Nearest-neighbour bonds of a chain of `length` sites, as an (n_bonds, 2) int array.

    With pbc the closing bond (length-1, 0) is added when length > 2 (for length 2 it would double
    the only bond).
    """
    bonds = [(i, i + 1) for i in range(length - 1)]
    if pbc and length > 2:
        bonds.append((length - 1, 0))
    return np.asarray(bonds, dtype=np.int64).reshape(-1, 2)


def square_site(x: int, y: int, ly: int) -> int:
    """Index of site (x, y) on an Lx x Ly square lattice: row-major, so spins.reshape(Lx, Ly) is the lattice."""
    return x * ly + y


def square_bonds(lx: int, ly: int, pbc: bool) -> np.ndarray:
    """Nearest-neighbour bonds of an lx x ly square lattice, (n_bonds, 2) int array, row-major sites.

    Open boundaries give lx*(ly-1) + (lx-1)*ly bonds. Periodic wrap bonds are added only along a side
    longer than 2, so no bond is ever counted twice.
    """
    bonds = []
    for x in range(lx):
        for y in range(ly):
            i = square_site(x, y, ly)
            if y + 1 < ly:
                bonds.append((i, square_site(x, y + 1, ly)))
            elif pbc and ly > 2:
                bonds.append((i, square_site(x, 0, ly)))
            if x + 1 < lx:
                bonds.append((i, square_site(x + 1, y, ly)))
            elif pbc and lx > 2:
                bonds.append((i, square_site(0, y, ly)))
    return np.asarray(bonds, dtype=np.int64).reshape(-1, 2)


# Torus edges. Vertex (x, y), x, y in [0, L). Edge 2*(x*L + y) is the horizontal edge from (x, y) to
# (x+1, y); edge 2*(x*L + y) + 1 is the vertical edge from (x, y) to (x, y+1). 2 L^2 edges in all.


def torus_h_edge(x: int, y: int, size: int) -> int:
    """Index of the horizontal edge leaving vertex (x, y) towards (x+1, y) on a size x size torus."""
    return 2 * ((x % size) * size + (y % size))


def torus_v_edge(x: int, y: int, size: int) -> int:
    """Index of the vertical edge leaving vertex (x, y) towards (x, y+1) on a size x size torus."""
    return 2 * ((x % size) * size + (y % size)) + 1


def torus_stars(size: int) -> np.ndarray:
    """The 4 edges touching each vertex, (size**2, 4) int array, vertex (x, y) at row x*size + y."""
    stars = []
    for x in range(size):
        for y in range(size):
            stars.append(
                (
                    torus_h_edge(x, y, size),
                    torus_h_edge(x - 1, y, size),
                    torus_v_edge(x, y, size),
                    torus_v_edge(x, y - 1, size),
                )
            )
    return np.asarray(stars, dtype=np.int64)


def torus_plaquettes(size: int) -> np.ndarray:
    """The 4 edges around each plaquette, (size**2, 4) int array.

    Plaquette (x, y) has corners (x, y), (x+1, y), (x+1, y+1), (x, y+1): bottom h(x, y), top h(x, y+1),
    left v(x, y), right v(x+1, y).
    """
    plaquettes = []
    for x in range(size):
        for y in range(size):
            plaquettes.append(
                (
                    torus_h_edge(x, y, size),
                    torus_h_edge(x, y + 1, size),
                    torus_v_edge(x, y, size),
                    torus_v_edge(x + 1, y, size),
                )
            )
    return np.asarray(plaquettes, dtype=np.int64)


def torus_edge_midpoints(size: int) -> np.ndarray:
    """(2*size**2, 2) float array of edge midpoints in lattice units, for drawing filters on the torus."""
    points = np.zeros((2 * size * size, 2))
    for x in range(size):
        for y in range(size):
            points[torus_h_edge(x, y, size)] = (x + 0.5, y)
            points[torus_v_edge(x, y, size)] = (x, y + 0.5)
    return points


def index_sets_to_masks(index_sets, n_sites: int) -> np.ndarray:
    """Turn a list of site-index tuples into an (n_sets, n_sites) uint8 0/1 matrix (row k marks set k)."""
    index_sets = [tuple(int(i) for i in s) for s in index_sets]
    masks = np.zeros((len(index_sets), n_sites), dtype=np.uint8)
    for k, s in enumerate(index_sets):
        if len(set(s)) != len(s):
            raise ValueError(f"index set {s} repeats a site")
        masks[k, list(s)] = 1
    return masks
