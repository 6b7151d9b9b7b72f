"""The regions this process ranks for: one, or several chosen by the origin (issue #18).

With one region nothing changes: it is ranked on its own live snapshot. With several, each is
served *extended* with its neighbours' border sites
(:class:`~waitless.ranking.multiregion.RegionSet`): its own travel models and compiled ranking
state over the extended site list, while live waits and wait histories are read from each
site's home region (every region has one snapshot following its own live-store keys).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from routing.border import WithBorderEstimate
from routing.estimate import EstimateTravel
from routing.model import TravelModel
from routing.travel import load_travel_model
from waitless.domain.observation import Observation
from waitless.domain.region import Region
from waitless.live.snapshot import LiveSnapshot
from waitless.ranking.event_row import CentreFiguresCache
from waitless.ranking.fast import FastRanker
from waitless.ranking.history import PredictionState, ServiceHistory
from waitless.ranking.multiregion import RegionSet, merged_by_site

MODES = ("drive", "walk")


@dataclass(eq=False)
class ServedRegion:
    """One region as this process ranks it.

    Attributes
    ----------
    region
        The region ranked: its own sites, then (with several regions) neighbours' border sites.
    travel
        Travel models by mode, answering for every site of ``region``.
    fast_ranker
        The compiled ranking state over ``region``.
    snapshots
        Region name to its live snapshot: the one region's own, or every served region's.
    predictions
        Region name to the wait histories fed by that region's snapshot.
    site_home
        Site id to the region whose live-store keys hold its waits.
    centre_cache
        Event-row figures from grid-cell centres over ``region``, per cell (issue 12).
    """

    region: Region
    travel: dict[str, TravelModel]
    fast_ranker: FastRanker
    snapshots: Mapping[str, LiveSnapshot]
    predictions: Mapping[str, PredictionState]
    site_home: Mapping[str, str]
    centre_cache: CentreFiguresCache = field(init=False, repr=False)
    # The last merge and the source tables it was made from: the compiled state is reused
    # only while the tables are the same objects, so a merge is made once per reload.
    _merged: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = field(
        default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.centre_cache = CentreFiguresCache(self.region)

    def observations(self) -> Mapping[str, Observation]:
        """Current waits of every site ranked, each from its home region's snapshot."""
        return self._merge("observations", self.snapshots)

    def history(self) -> Mapping[str, ServiceHistory]:
        """Recent readings and fitted wait models of every site ranked, from its home."""
        return self._merge("history", self.predictions)

    def _merge(self, what: str, owners: Mapping[str, Any]) -> Mapping[str, Any]:
        """The ``what`` table of each region's owner (snapshot or predictions), merged by
        site. Every request asks: with one region its own table, with no dictionary built."""
        if len(owners) == 1:
            (only,) = owners.values()
            return getattr(only, what)
        tables = {name: getattr(owner, what) for name, owner in owners.items()}
        sources = tuple(tables.values())
        cached = self._merged.get(what)
        if cached is None or any(a is not b for a, b in zip(cached[0], sources, strict=True)):
            cached = (sources, merged_by_site(tables, self.region, self.site_home))
            self._merged[what] = cached
        return cached[1]


def region_travel(region: Region, own: Region, cache_root: str,
                  neighbours: Sequence[str] = ()) -> tuple[dict[str, TravelModel], str]:
    """Travel models by mode for an extended region, and a note on where the times come from.

    The region's road-graph table is used where one is cached: built with its neighbours
    (``waitless graph build --neighbour``) it routes the border sites too; sites it lacks
    (built for the own sites only, or for border sites other than those served) get the
    straight-line estimate rather than being dropped. Without a table, every site gets the
    estimate.

    Parameters
    ----------
    region
        The extended region (own sites first, then border sites).
    own
        The region as its file lists it.
    cache_root
        Folder holding built road-graph tables.
    neighbours
        Names of the regions served with it (for the rebuild command in the note).
    """
    models: dict[str, TravelModel] = {}
    notes = []
    for mode in MODES:
        model, reason = load_travel_model(own, cache_root, mode=mode, served=region,
                                          neighbours=neighbours)
        if model.source == "estimate":
            model = EstimateTravel.for_sites(
                region.sites, mode=mode,
                max_origin_distance_m=own.ranking.max_origin_distance_km * 1000)
        else:
            model = WithBorderEstimate.for_sites(model, region.sites)
        models[mode] = model
        notes.append(reason)
    return models, "; ".join(notes)


def live_state(regions: Sequence[Region]
               ) -> tuple[dict[str, LiveSnapshot], dict[str, PredictionState]]:
    """Per region: a live snapshot, and the wait histories its readings feed."""
    snapshots = {region.name: LiveSnapshot() for region in regions}
    predictions = {region.name: PredictionState(region.timezone) for region in regions}
    for name, snapshot in snapshots.items():
        snapshot.on_readings.append(predictions[name].add_readings)
    return snapshots, predictions


def served_regions(region_set: RegionSet, cache_root: str
                   ) -> tuple[dict[str, ServedRegion], dict[str, str]]:
    """Every region of ``region_set`` ready to rank, and the travel note of each.

    One live snapshot and one prediction state per region, shared by every extended region
    that ranks its sites; the caller keeps the snapshots following the live store.
    """
    snapshots, predictions = live_state(list(region_set.regions.values()))
    served, notes = {}, {}
    for name, region in region_set.extended.items():
        neighbours = [other for other in region_set.regions if other != name]
        travel, notes[name] = region_travel(region, region_set.regions[name], cache_root,
                                            neighbours)
        served[name] = ServedRegion(region, travel, FastRanker(region), snapshots, predictions,
                                    region_set.site_home)
    return served, notes
