"""Turning one ranking answer into one event-log row (coarsened: no raw coordinates)."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from waitless.domain.region import Region
from waitless.ranking.privacy import age_band, coarse_cell
from waitless.ranking.rank import nearest_sites
from waitless.ranking.results import RankAnswer


def ranking_event(region: Region, answer: RankAnswer, *, travel_seconds: np.ndarray
                  ) -> dict[str, Any]:
    """The event-log row for one answered ranking.

    Parameters
    ----------
    answer
        The ranking (its request and travel source are recorded, coarsened).
    travel_seconds
        Travel time in seconds from the origin to each site, in ``region.sites`` order.
    """
    request = answer.request
    cell, cell_lat, cell_lon = coarse_cell(request.lat, request.lon)
    nearest, nearest_ed = nearest_sites(region, travel_seconds)
    top = answer.results[0] if answer.results else None
    ed_minutes = None
    if nearest_ed is not None:
        ed_minutes = float(travel_seconds[region.sites.index(nearest_ed)]) / 60
    return {
        "event_id": str(uuid.uuid4()),
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
