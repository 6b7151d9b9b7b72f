"""Turning one ranking answer into one event-log row (coarsened: no raw coordinates).

Every stored figure that depends on where the patient is (nearest site, nearest ED, minutes)
is worked out from the centre of the patient's grid cell, not from the origin: two patients in
one cell get identical figures, so a row tells nothing finer than the cell (issue #13: minutes
from the origin, stored to a fraction, located origins within metres). Minutes are whole.
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np

from waitless.domain.region import Region
from waitless.ranking.privacy import age_band, coarse_cell
from waitless.ranking.rank import nearest_sites
from waitless.ranking.results import RankAnswer


def _whole_minutes(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(round(value))


def ranking_event(region: Region, answer: RankAnswer, *,
                  centre_travel_seconds: np.ndarray | None) -> dict[str, Any]:
    """The event-log row for one answered ranking.

    Parameters
    ----------
    answer
        The ranking (its request and travel source are recorded, coarsened).
    centre_travel_seconds
        Travel time in seconds from the centre of the origin's grid cell to each site, in
        ``region.sites`` order; ``None`` when the centre is outside the travel model's
        coverage (the location-derived figures are then not stored).
    """
    request = answer.request
    cell, cell_lat, cell_lon = coarse_cell(request.lat, request.lon)
    travel = (np.full(len(region.sites), np.inf) if centre_travel_seconds is None
              else centre_travel_seconds)
    nearest, nearest_ed = nearest_sites(region, travel)
    top = answer.results[0] if answer.results else None

    def total_from_centre(site_id: str) -> float | None:
        # The predicted wait at arrival plus the travel from the cell centre, whole minutes.
        row = next((r for r in answer.results if r.site.id == site_id), None)
        if row is None:
            return None
        index = next(i for i, s in enumerate(region.sites) if s.id == site_id)
        return _whole_minutes(float(travel[index]) / 60 + row.expected.p50_minutes)

    ed_minutes = None
    if nearest_ed is not None:
        ed_minutes = _whole_minutes(float(travel[region.sites.index(nearest_ed)]) / 60)
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
        "estimated_minutes": total_from_centre(top.site.id) if top else None,
        "nearest_ed_minutes": ed_minutes,
        "results_count": len(answer.results),
        "travel_source": answer.travel_source,
        # The nearest ED's total, like estimated_minutes (None when not among the results).
        "nearest_ed_total_minutes": (total_from_centre(nearest_ed.id)
                                     if nearest_ed is not None else None),
    }
