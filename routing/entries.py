"""Sites and origins attached to the graph part way along edges (see :mod:`routing.snap`).

A site snapped onto an edge u→v at ``along_s`` seconds from u is reached by driving to u and
on along the edge: the table gets a virtual node per site with an edge from u costing
``along_s`` plus the straight-line leg to the site, and the usual reverse Dijkstra runs from
the virtual nodes. An origin snapped onto an edge at ``along_s`` leaves by the edge's head
after the remaining ``edge_seconds - along_s`` (one-way edges only forward; a two-way road is
two directed edges, both candidates), or reaches a site on the same edge directly when the
site lies ahead of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.sparse import csr_array

from routing.errors import GraphBuildError
from routing.segments import EdgeSegments
from routing.snap import EdgeSnapper, Snap
from routing.table import csr_from_edges, site_table


@dataclass(frozen=True)
class SiteEntries:
    """Where each site is entered from the graph, one row per candidate edge position.

    Attributes
    ----------
    site
        Site index (column of the table).
    edge
        Edge index in :class:`routing.segments.EdgeSegments`.
    along_s
        Seconds from the edge's tail to the site's projection onto it.
    leg_s
        Seconds of the straight-line leg projection → site at the access speed.
    """

    site: np.ndarray
    edge: np.ndarray
    along_s: np.ndarray
    leg_s: np.ndarray

    def to_json(self) -> dict[str, list]:
        """Plain lists for ``meta.json``."""
        return {"site": self.site.tolist(), "edge": self.edge.tolist(),
                "along_s": [round(float(x), 4) for x in self.along_s],
                "leg_s": [round(float(x), 4) for x in self.leg_s]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SiteEntries:
        return cls(np.asarray(data["site"], dtype=np.int64), np.asarray(data["edge"], np.int64),
                   np.asarray(data["along_s"], dtype=np.float64),
                   np.asarray(data["leg_s"], dtype=np.float64))

    def of_first_sites(self, n_sites: int) -> SiteEntries:
        """The entries of sites ``0 .. n_sites - 1`` only (a table's leading columns)."""
        keep = self.site < n_sites
        return SiteEntries(self.site[keep], self.edge[keep], self.along_s[keep],
                           self.leg_s[keep])


def snap_site_entries(snapper: EdgeSnapper, site_ids: Sequence[str], site_lats: np.ndarray,
                      site_lons: np.ndarray, *, max_snap_m: float, access_speed_kph: float
                      ) -> tuple[SiteEntries, np.ndarray]:
    """Entry positions of every site and each site's distance to its nearest edge in meters.

    Raises
    ------
    GraphBuildError
        When a site is farther than ``max_snap_m`` from every edge of the graph.
    """
    snaps = [snapper.snap(float(lat), float(lon)) for lat, lon in
             zip(site_lats, site_lons, strict=True)]
    snap_m = np.array([s.nearest_m for s in snaps])
    far = [f"{sid} ({d / 1000:.1f} km)" for sid, d in zip(site_ids, snap_m, strict=True)
           if d > max_snap_m]
    if far:
        msg = (f"site(s) farther than max_snap_m = {max_snap_m:.0f} m from any road of the "
               f"graph: {', '.join(far)}; is the OSM source the right area, or are the site "
               "coordinates wrong?")
        raise GraphBuildError(msg)
    speed_mps = access_speed_kph / 3.6
    entries = SiteEntries(
        site=np.concatenate([np.full(len(s.edge), i) for i, s in enumerate(snaps)]),
        edge=np.concatenate([s.edge for s in snaps]),
        along_s=np.concatenate([s.along_s for s in snaps]),
        leg_s=np.concatenate([s.dist_m for s in snaps]) / speed_mps)
    return entries, snap_m


def entry_table(csr: csr_array, segments: EdgeSegments, entries: SiteEntries,
                n_sites: int) -> np.ndarray:
    """Seconds FROM every node TO every site's snapped position (leg included).

    Shape ``(n_nodes, n_sites)`` float32, ``inf`` where unreachable.
    """
    n_nodes = csr.shape[0]
    coo = csr.tocoo()
    tails = segments.edge_tail[entries.edge]
    u = np.concatenate([coo.row, tails])
    v = np.concatenate([coo.col, n_nodes + entries.site])
    seconds = np.concatenate([coo.data, entries.along_s + entries.leg_s])
    augmented = csr_from_edges(u, v, seconds, n_nodes + n_sites)
    return site_table(augmented, np.arange(n_nodes, n_nodes + n_sites))[:n_nodes]


def origin_seconds(snap: Snap, access_speed_kph: float, segments: EdgeSegments,
                   table: np.ndarray, entries: SiteEntries | None) -> np.ndarray:
    """Seconds from a snapped origin to every site (``inf`` where unreachable).

    The best over the origin's candidate positions of: access leg + rest of the edge + the
    head node's table row; or, for a site ahead on the same edge, access leg + the stretch of
    edge between them + the site's leg.
    """
    access_s = snap.dist_m / (access_speed_kph / 3.6)
    leave_s = access_s + segments.edge_seconds[snap.edge] - snap.along_s
    rows = np.asarray(table[segments.edge_head[snap.edge]], dtype=np.float64)
    best = (rows + leave_s[:, None]).min(axis=0)
    if entries is not None and len(entries.edge):
        same = snap.edge[:, None] == entries.edge[None, :]
        ahead = same & (entries.along_s[None, :] >= snap.along_s[:, None])
        if ahead.any():
            c, k = np.nonzero(ahead)
            direct = (access_s[c] + entries.along_s[k] - snap.along_s[c] + entries.leg_s[k])
            np.minimum.at(best, entries.site[k], direct)
    return best
