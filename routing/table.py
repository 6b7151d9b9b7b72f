"""Graph arrays, nearest-node snapping and the node-to-site travel-time table.

Everything here works on plain arrays (no osmnx), so the synthetic benchmark graph and a
real OSM graph go through exactly the same code.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from routing.distance import EARTH_RADIUS_M

# csgraph ignores zero-weight entries of a sparse matrix, so an edge is never cheaper than this.
MIN_EDGE_SECONDS = 1e-3
# Above this many bytes of float64 distances, Dijkstra runs over the sites in batches.
DIJKSTRA_BATCH_BYTES = 1 << 30


@dataclass(frozen=True)
class GraphArrays:
    """A directed road graph as arrays.

    Attributes
    ----------
    node_lat, node_lon
        Node coordinates in decimal degrees, shape ``(n_nodes,)``.
    csr
        ``n_nodes x n_nodes`` sparse matrix; entry ``(u, v)`` is the fastest edge from u to v
        in seconds.
    node_osmid
        OSM node ids (synthetic graphs use ``arange``).
    """

    node_lat: np.ndarray
    node_lon: np.ndarray
    csr: csr_array
    node_osmid: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.node_lat)


def csr_from_edges(u: np.ndarray, v: np.ndarray, seconds: np.ndarray, n_nodes: int) -> csr_array:
    """Sparse adjacency keeping the MINIMUM of parallel edges (scipy would sum them).

    Self-loops are dropped (they never shorten a path); weights are floored at
    :data:`MIN_EDGE_SECONDS` so no edge vanishes as an implicit zero.
    """
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    seconds = np.maximum(np.asarray(seconds, dtype=np.float64), MIN_EDGE_SECONDS)
    keep = u != v
    u, v, seconds = u[keep], v[keep], seconds[keep]
    order = np.lexsort((seconds, v, u))
    u, v, seconds = u[order], v[order], seconds[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    matrix = csr_array((seconds[first], (u[first], v[first])), shape=(n_nodes, n_nodes))
    matrix.sort_indices()
    return matrix


def unit_xyz_m(lat: np.ndarray | float, lon: np.ndarray | float) -> np.ndarray:
    """Earth-centred coordinates in meters on a sphere, shape ``(n, 3)``.

    Straight-line (chord) distances between them match great-circle distances to well
    under a meter at snapping scales, with no map projection to choose per region.
    """
    phi, lmb = np.radians(np.atleast_1d(lat)), np.radians(np.atleast_1d(lon))
    cos_phi = np.cos(phi)
    return EARTH_RADIUS_M * np.column_stack(
        (cos_phi * np.cos(lmb), cos_phi * np.sin(lmb), np.sin(phi)))


def node_tree(node_lat: np.ndarray, node_lon: np.ndarray) -> cKDTree:
    """KD-tree over the nodes for nearest-node queries in meters."""
    return cKDTree(unit_xyz_m(node_lat, node_lon))


def site_table(csr: csr_array, site_nodes: np.ndarray) -> np.ndarray:
    """Seconds FROM every node TO every site node, shape ``(n_nodes, n_sites)``, float32.

    One Dijkstra per site on the reversed graph; all sites go to scipy in one call unless
    the float64 result would exceed :data:`DIJKSTRA_BATCH_BYTES`. Unreachable is ``inf``.
    """
    reversed_csr = csr.T.tocsr()
    n_nodes, n_sites = csr.shape[0], len(site_nodes)
    table = np.empty((n_nodes, n_sites), dtype=np.float32)
    batch = max(1, DIJKSTRA_BATCH_BYTES // max(1, 8 * n_nodes))
    for start in range(0, n_sites, batch):
        chunk = site_nodes[start:start + batch]
        dist = dijkstra(reversed_csr, directed=True, indices=chunk)
        table[:, start:start + len(chunk)] = np.atleast_2d(dist).T
    return table


def largest_strong_component(arrays: GraphArrays) -> GraphArrays:
    """Keep the largest strongly connected component (every node can reach every other)."""
    _, labels = connected_components(arrays.csr, directed=True, connection="strong")
    keep = labels == np.bincount(labels).argmax()
    if keep.all():
        return arrays
    index = np.flatnonzero(keep)
    sub = arrays.csr[index][:, index].tocsr()
    return GraphArrays(arrays.node_lat[index], arrays.node_lon[index], sub,
                       arrays.node_osmid[index])
