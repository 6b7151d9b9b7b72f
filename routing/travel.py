"""Travel times from a prebuilt road-graph table, and the choice of model at start-up."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from routing import io
from routing.coverage import SiteReach
from routing.entries import SiteEntries, origin_seconds
from routing.errors import GraphCacheError, OutsideCoverage
from routing.estimate import EstimateTravel
from routing.filecheck import size_problem
from routing.model import TravelModel
from routing.snap import EdgeSnapper, Snap
from routing.snapcache import edges_digest, load_snapper

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class RoadGraphTravel:
    """Travel model answering from a node-to-site table (see :mod:`routing.io`).

    A query snaps the origin onto its nearest edge(s) (:mod:`routing.snap`), leaves each by
    its head node after the rest of the edge, reads those nodes' rows of the table (which
    already end at each site's own snapped position and leg) and adds the straight-line leg
    origin→edge at ``access_speed_kph`` (:func:`routing.entries.origin_seconds`).

    Attributes
    ----------
    site_ids
        Site ids in the order of returned arrays (the order of the region file at build time).
    mode
        ``"drive"`` or ``"walk"``.
    table
        Seconds from each node to each site, ``(n_nodes, n_sites)`` float32, memory-mapped.
    snapper
        Nearest-edge lookups over the graph's edges (index memory-mapped from ``snap/``).
    entries
        Where each site sits on its edge(s), for origins on the same edge.
    access_speed_kph
        Speed of the origin's access leg in km per hour (the sites' legs are in the table,
        at the speed of the build).
    max_snap_m
        Origins farther than this many meters from every road are outside coverage.
    meta
        The cache's ``meta.json``.
    """

    site_ids: tuple[str, ...]
    mode: str
    table: np.ndarray
    snapper: EdgeSnapper
    entries: SiteEntries
    access_speed_kph: float
    max_snap_m: float
    meta: dict[str, Any]
    source: str = "road_graph"

    @classmethod
    def load(cls, cache_root: Path | str, region_name: str, *, mode: str = "drive",
             expected_sites_hash: str | None = None, own_sites_hash: str | None = None,
             access_speed_kph: float | None = None,
             max_snap_m: float | None = None) -> RoadGraphTravel:
        """Load a cache written by ``waitless graph build``.

        Parameters
        ----------
        cache_root
            Directory holding ``<region_name>/<mode>/``.
        expected_sites_hash
            ``Region.sites_hash()`` of the running region as served (its own sites, then any
            neighbours' border sites); a cache built for other sites is refused rather than
            answering for the wrong list, except as ``own_sites_hash`` allows.
        own_sites_hash
            ``Region.sites_hash()`` of the region's own sites: a cache whose table was built
            for other border sites (or none) is loaded with its own sites' columns only when
            their hash is this one. The model then answers for the own sites alone.
        access_speed_kph, max_snap_m
            Override the values recorded at build time.

        Raises
        ------
        GraphCacheError
            When the cache is missing, unreadable, malformed (``meta.json`` keys, array
            types and shapes), for another region, mode or other sites, a file's size is
            not the one ``meta.json`` recorded (contents are not read: ``waitless graph
            check`` re-hashes them), or its snapping index is damaged (a cache without one
            still loads: the index is built in memory).
        """
        directory = io.mode_dir(cache_root, region_name, mode)
        meta = io.read_meta(directory)
        if (meta["region"], meta["mode"]) != (region_name, mode):
            # A folder copied or renamed to another region or mode would answer for sites
            # and roads it was not built for.
            msg = (f"road-graph cache {directory} holds the {meta['region']} {meta['mode']} "
                   f"cache (its meta.json), not {region_name} {mode}; was the folder copied "
                   f"or renamed? {io.rebuild_hint(directory)}")
            raise GraphCacheError(msg)
        n_columns = meta["n_sites"]
        if expected_sites_hash is not None and meta["sites_hash"] != expected_sites_hash:
            n_own, built_own_hash = io.own_sites(meta)
            if own_sites_hash is None or built_own_hash != own_sites_hash:
                msg = (f"road-graph cache {directory} was built for other sites (hash "
                       f"{meta['sites_hash']}, region now {expected_sites_hash}); rebuild with "
                       f"{rebuild_command(region_name, meta.get('neighbours', ()))}")
                raise GraphCacheError(msg)
            # The own sites are those of the build: their columns are right whatever border
            # sites are served now.
            n_columns = n_own
        try:
            table = np.load(directory / "table.npy", mmap_mode="r")
            coords = np.load(directory / "nodes.npy", mmap_mode="r")
        except (OSError, ValueError) as exc:
            # A file cut short fails to map: say which one and by how much when it is known.
            _refuse_resized(directory, meta)
            msg = f"cannot read road-graph cache {directory}: {exc}; {io.rebuild_hint(directory)}"
            raise GraphCacheError(msg) from exc
        n_nodes, n_sites = meta["n_nodes"], meta["n_sites"]
        # Header checks only (the arrays are mapped, not read): a query indexes rows of the
        # table by node and expects float32 rows laid out contiguously.
        if (table.dtype != np.float32 or table.shape != (n_nodes, n_sites)
                or not table.flags.c_contiguous):
            order = "row-major" if table.flags.c_contiguous else "column-major"
            msg = (f"road-graph cache {directory} is inconsistent with its meta.json: "
                   f"table.npy is {table.dtype} {order} {table.shape}, meta.json says float32 "
                   f"row-major ({n_nodes}, {n_sites}); {io.rebuild_hint(directory)}")
            raise GraphCacheError(msg)
        if coords.dtype != np.float64 or coords.shape != (n_nodes, 2):
            msg = (f"road-graph cache {directory} is inconsistent with its meta.json: "
                   f"nodes.npy is {coords.dtype} {coords.shape}, meta.json says float64 "
                   f"({n_nodes}, 2) latitude, longitude; {io.rebuild_hint(directory)}")
            raise GraphCacheError(msg)
        # The table's rows are the graph's nodes as edges.npz numbers them: the digest of the
        # edges it was computed on (caches from before it recorded none) must be that of the
        # edges here, or the files come from different builds (copied over, or a build of an
        # older version cut short).
        try:
            here = edges_digest(directory)
        except GraphCacheError:
            _refuse_resized(directory, meta)  # an edges.npz cut short: name it, with its size
            raise
        built_on = meta.get("edges_digest")
        if built_on is not None and built_on != here:
            holds = f"edges {here[:12]}" if here else "edges without a digest"
            msg = (f"road-graph cache {directory} mixes builds: table.npy and meta.json were "
                   f"computed on edges {built_on[:12]}, edges.npz holds {holds}; "
                   f"{io.rebuild_hint(directory)}")
            raise GraphCacheError(msg)
        snapper = load_snapper(directory)
        # After the checks above and the snapping index's own (their messages say more): a
        # file of another size is not the one the build wrote, even where it maps (numpy
        # ignores bytes past an array) or is not read here (graph.npz, for --reuse-graph).
        _refuse_resized(directory, meta)
        entries = SiteEntries.from_json(meta["site_entries"])
        if n_columns < n_sites:
            table, entries = table[:, :n_columns], entries.of_first_sites(n_columns)
        n_edges = len(snapper.segments.edge_tail)
        if len(entries.edge) and int(entries.edge.max()) >= n_edges:
            msg = (f"road-graph cache {directory} is inconsistent with its meta.json: a site "
                   f"entry is on edge {int(entries.edge.max())}, edges.npz has {n_edges}; "
                   f"{io.rebuild_hint(directory)}")
            raise GraphCacheError(msg)
        _warn_if_unchecked(directory, meta)
        speed_kph = access_speed_kph or meta["access_speed_kph"]
        return cls(site_ids=tuple(meta["site_ids"][:n_columns]), mode=mode, table=table,
                   snapper=snapper, entries=entries, access_speed_kph=speed_kph,
                   max_snap_m=max_snap_m or meta["max_snap_m"], meta=meta)

    def snap(self, lat: float, lon: float) -> Snap:
        """Where (lat, lon) enters the graph: its nearest edge positions and distances."""
        return self.snapper.snap(lat, lon)

    def travel_seconds(self, lat: float, lon: float) -> np.ndarray:
        """Seconds from (lat, lon) to each site in :attr:`site_ids` order; ``inf`` if unreachable.

        Raises
        ------
        OutsideCoverage
            When the origin is farther than :attr:`max_snap_m` from every road of the graph.
        """
        if not (np.isfinite(lat) and np.isfinite(lon) and -90 <= lat <= 90):
            msg = f"origin ({lat}, {lon}) is not a valid position"
            raise OutsideCoverage(msg)
        snap = self.snap(lat, lon)
        dist_m = snap.nearest_m
        if dist_m > self.max_snap_m:
            msg = (f"origin ({lat:.5f}, {lon:.5f}) is {dist_m / 1000:.1f} km from the nearest "
                   f"road of the {self.meta['region']} {self.mode} graph (limit "
                   f"{self.max_snap_m / 1000:.1f} km): outside the area this service covers")
            raise OutsideCoverage(msg)
        return origin_seconds(snap, self.access_speed_kph, self.snapper.segments, self.table,
                              self.entries)


def rebuild_command(region_name: str, neighbours: Sequence[str]) -> str:
    """The command that recomputes a region's tables for its own and border sites, in
    backquotes (the cached graph reused, no OSM read)."""
    options = "".join(f" --neighbour {name}" for name in neighbours)
    return f"`waitless graph build --region {region_name}{options} --reuse-graph`"


def _refuse_resized(directory: Path, meta: dict[str, Any]) -> None:
    # Sizes only (one stat per file): contents are re-hashed by `waitless graph check`.
    problem = size_problem(directory, meta.get("files", {}))
    if problem is not None:
        msg = (f"road-graph cache {directory} changed since its build: {problem} (a copy cut "
               f"short or a file replaced?); `waitless graph check --region "
               f"{directory.parent.name} --mode {directory.name}` compares every file; "
               f"{io.rebuild_hint(directory)}")
        raise GraphCacheError(msg)


def _warn_if_unchecked(directory: Path, meta: dict[str, Any]) -> None:
    # Caches built before these records keep loading (a service must not fall back to the
    # estimate on upgrade), but the operator is told, once per load, how to get the checks.
    missing = [what for key, what in (("edges_digest", "edges digest"),
                                      ("files", "file sizes and digests")) if key not in meta]
    if missing:
        logger.warning("road-graph cache %s records no %s (built by an older WaitLess): not "
                       "checked at load nor by `waitless graph check`; rebuild it with "
                       "`waitless graph build --region %s --mode %s --reuse-graph` (no OSM "
                       "read) to enable the checks", directory, " and no ".join(missing),
                       directory.parent.name, directory.name)


def settings_not_in_cache(settings: Any, mode: str, meta: dict[str, Any]) -> list[str]:
    """The region's ``[graph]`` values that differ from those a cache was built with.

    A cache answers with the values recorded at build time (``meta.json``), whatever the region
    file says now, and ``sites_hash`` does not cover them: an edited value is ignored until the
    cache is rebuilt. Returns one phrase per difference, saying how to apply it; empty if none.
    """
    differ = []
    table_keys = ("max_snap_m",) if mode == "walk" else ("access_speed_kph", "max_snap_m")
    for key in table_keys:
        now, built = getattr(settings, key), meta.get(key)
        if built is not None and now != built:
            differ.append(f"{key} = {now:g}, the cache {built:g} (`waitless graph build "
                          f"--region {meta.get('region', '<region>')} --reuse-graph` applies it)")
    # Edge speeds (and, walking, the legs too) are in the graph: only a build from OSM applies
    # them.
    edge_key = "walk_speed_kph" if mode == "walk" else "default_speeds_kph"
    built_edges = meta.get("graph", {}).get("key", {}).get(edge_key)
    if built_edges is not None and getattr(settings, edge_key) != built_edges:
        differ.append(f"{edge_key} = {getattr(settings, edge_key)}, the cache {built_edges} "
                      "(a build from the OSM source, without --reuse-graph, applies it)")
    return differ


def load_travel_model(region: Any, cache_root: Path | str = io.DEFAULT_CACHE_ROOT,
                      mode: str = "drive", *, served: Any = None,
                      neighbours: Sequence[str] = ()) -> tuple[TravelModel, str]:
    """The road-graph model when a cache for these exact sites exists, else the estimate.

    Parameters
    ----------
    region
        The region as its file lists it (:class:`waitless.domain.region.Region`).
    served
        The region as served: its own sites, then neighbours' border sites (default:
        ``region``). A table built for exactly these answers for every one of them; a table
        whose own sites are the region's but whose border sites are others (or none) answers
        for the own sites only, and the reason says which command builds the rest.
    neighbours
        Names of the regions served with it, for that command.

    Returns
    -------
    model, reason
        The travel model and one human-readable sentence saying which one and why (for
        start-up logs and ``/readyz``).
    """
    served = region if served is None else served
    try:
        model = RoadGraphTravel.load(cache_root, region.name, mode=mode,
                                     expected_sites_hash=served.sites_hash(),
                                     own_sites_hash=region.sites_hash())
    except GraphCacheError as exc:
        estimate = EstimateTravel.for_sites(
            region.sites, mode=mode,
            max_origin_distance_m=region.ranking.max_origin_distance_km * 1000)
        reason = f"{mode}: using the straight-line estimate because {exc}"
        if "`waitless graph build" not in str(exc):  # the command once, not twice
            reason += (f"; build real travel times with `waitless graph build --region "
                       f"{region.name} --osm-file <extract.osm.pbf>`")
        return estimate, reason
    stale = settings_not_in_cache(region.graph, mode, model.meta)
    if stale:
        logger.warning("region %s [graph] differs from its %s road-graph cache, which keeps the "
                       "values it was built with: %s", region.name, mode, "; ".join(stale))
    graph = model.meta["graph"]
    source = graph["key"]["source"] or {}
    # docs/regions.md: origins farther than max_origin_distance_km from every site get a 422,
    # whichever model answers.
    within = SiteReach.for_sites(
        model, region.sites, max_origin_distance_m=region.ranking.max_origin_distance_km * 1000)
    where = source.get("osm_file") or source.get("place") or source.get("bbox")
    reason = (f"{mode}: road graph of {model.meta['n_nodes']:,} nodes from {where} "
              f"(OSM data {graph.get('osm_timestamp') or 'date unknown'}, table built "
              f"{model.meta['table_built_at']})")
    return within, reason + _border_note(model, region, served, neighbours)


def _border_note(model: RoadGraphTravel, region: Any, served: Any,
                 neighbours: Sequence[str]) -> str:
    """What the reason adds on the border sites served: routed, or estimated and why."""
    n_border = len(served.sites) - len(region.sites)
    missing = len(served.sites) - len(model.site_ids)
    if not n_border:
        return ""
    if not missing:
        return f"; its {n_border} border site(s) of other regions routed too"
    command = rebuild_command(region.name, neighbours)
    if model.meta["n_sites"] == len(model.site_ids):
        return (f"; {missing} border site(s) of other regions: straight-line estimate (the "
                f"table holds the region's own sites only; {command} routes them)")
    # Built for other border sites (a neighbour's sites changed, or other neighbours): those
    # columns are not used, and the operator is told, since every border answer is estimated.
    built_with = ", ".join(model.meta.get("neighbours", ())) or "no neighbour"
    note = (f"{missing} border site(s) of other regions: straight-line estimate, because the "
            f"table's border sites (built with {built_with}) are not those served now; "
            f"rebuild with {command}")
    logger.warning("region %s %s road-graph cache: %s", region.name, model.mode, note)
    return f"; {note}"
