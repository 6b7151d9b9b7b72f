"""Event rows for the event-log tests."""

import uuid
from datetime import UTC, datetime

from waitless.domain.event_fields import event_row
from waitless.ranking.privacy import coarse_cell


def event(n: int, **changes: object) -> tuple:
    """An event row (``changes``: fields by name to set instead)."""
    cell, lat, lon = coarse_cell(51.2802, 1.0789)
    return event_row({
        "event_id": str(uuid.uuid4()), "occurred_at": datetime(2026, 11, 24, 10, n % 60,
                                                                tzinfo=UTC).isoformat(),
        "region": "kent-medway", "origin_cell": cell, "origin_lat_coarse": lat,
        "origin_lon_coarse": lon, "condition": "sprain_strain", "age_band": "16-64",
        "mode": "drive", "emergency": False, "recommended_site": "RVVKC",
        "recommended_kind": "utc", "nearest_site": "RVVKC", "nearest_kind": "utc",
        "nearest_ed": "RVV01", "estimated_minutes": 60.5 + n, "nearest_ed_minutes": 25.0,
        "results_count": 17, "travel_source": "estimate", **changes,
    })
