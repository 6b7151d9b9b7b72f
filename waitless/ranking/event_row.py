"""Turning one ranking answer into one event-log row (coarsened: no raw coordinates)."""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from waitless.domain.region import Region
from waitless.domain.sites import Site
from waitless.ranking.privacy import age_band, coarse_cell
from waitless.ranking.results import RankAnswer

_ID_BYTES = 16
_ID_BATCH = 256
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)  # UUID version 4, RFC 4122 variant
_random = b""
_offset = 0


def _reset_ids() -> None:
    global _random, _offset
    _random, _offset = b"", 0


# A forked worker must never reuse its parent's random bytes.
os.register_at_fork(after_in_child=_reset_ids)


def new_event_id() -> str:
    """A random version-4 UUID string, as ``str(uuid.uuid4())``, from random bytes read from
    the OS 256 ids at a time (one system call per 256 requests instead of one each)."""
    global _random, _offset
    if _offset >= len(_random):
        _random, _offset = os.urandom(_ID_BYTES * _ID_BATCH), 0
    value = int.from_bytes(_random[_offset:_offset + _ID_BYTES])
    _offset += _ID_BYTES
    h = f"{(value & _VERSION_MASK) | _VERSION_BITS:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# Per region (by identity): which sites have an ED, so a request need not ask each site.
_HAS_ED: dict[int, tuple[Region, tuple[bool, ...]]] = {}


def _nearest_sites(region: Region, travel_seconds: np.ndarray
                   ) -> tuple[Site | None, Site | None, int | None]:
    """As :func:`waitless.ranking.rank.nearest_sites` (the same ``argsort``), in plain Python
    over lists, plus the nearest ED's index (site ids are unique, so it is the one
    ``region.sites.index`` would find)."""
    cached = _HAS_ED.get(id(region))
    if cached is None or cached[0] is not region:
        cached = (region, tuple(site.service("ed") is not None for site in region.sites))
        _HAS_ED[id(region)] = cached
    has_ed = cached[1]
    order = np.argsort(travel_seconds).tolist()
    seconds = travel_seconds.tolist()
    nearest = region.sites[order[0]] if math.isfinite(seconds[order[0]]) else None
    ed_index = next((i for i in order if math.isfinite(seconds[i]) and has_ed[i]), None)
    return nearest, None if ed_index is None else region.sites[ed_index], ed_index


def ranking_event(region: Region, answer: RankAnswer, *, travel_seconds: np.ndarray
                  ) -> dict[str, Any]:
    """The event-log row for one answered ranking.

    Parameters
    ----------
    answer
        The ranking (its request and travel source are recorded, coarsened): a
        :class:`RankAnswer` or the fast path's :class:`~waitless.ranking.fast.FastAnswer`,
        which has the same attributes for this.
    travel_seconds
        Travel time in seconds from the origin to each site, in ``region.sites`` order.
    """
    request = answer.request
    cell, cell_lat, cell_lon = coarse_cell(request.lat, request.lon)
    nearest, nearest_ed, ed_index = _nearest_sites(region, travel_seconds)
    top = answer.results[0] if answer.results else None
    ed_minutes = None
    if nearest_ed is not None:
        ed_minutes = float(travel_seconds[ed_index]) / 60
    return {
        "event_id": new_event_id(),
        "occurred_at": answer.generated_at.isoformat(),
        "region": region.name,
        "origin_cell": cell,
        "origin_lat_coarse": cell_lat,
        "origin_lon_coarse": cell_lon,
        "condition": request.condition,
        "age_band": age_band(request.age_years),
        "mode": request.mode,
        "emergency": answer.emergency is not None,
        "recommended_site": top.site.id if top else None,
        "recommended_kind": top.service.kind if top else None,
        "nearest_site": nearest.id if nearest else None,
        "nearest_kind": nearest.main_service.kind if nearest else None,
        "nearest_ed": nearest_ed.id if nearest_ed else None,
        "estimated_minutes": round(top.total_minutes, 1) if top else None,
        "nearest_ed_minutes": ed_minutes,
        "results_count": len(answer.results),
        "travel_source": answer.travel_source,
        # The ranking's own total for the nearest ED's site (None when not among the results).
        "nearest_ed_total_minutes": next(
            (round(r.total_minutes, 1) for r in answer.results
             if nearest_ed is not None and r.site.id == nearest_ed.id), None),
    }
