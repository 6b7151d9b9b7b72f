"""The issue's "minimal pipeline" server (load_tests.minimal_rank_server): what it answers."""

from __future__ import annotations

import orjson

from load_tests.minimal_rank_server import minimal_answer, site_pieces
from routing.estimate import EstimateTravel
from waitless.domain.region import DEFAULT_REGION, load_region


def _body(region, waits: dict[str, float]) -> bytes:
    """A /v1/rank-like body: one result per site that has a wait, with extra fields."""
    return orjson.dumps({"results": [
        {"site_id": s.id, "name": s.name, "predicted_wait_minutes": waits[s.id],
         "travel_minutes": 999.0, "total_minutes": 999.0}
        for s in region.sites if s.id in waits]})


def test_answer_orders_sites_by_travel_plus_wait_and_keeps_the_pieces() -> None:
    region = load_region(DEFAULT_REGION)
    ids = tuple(s.id for s in region.sites)
    waits = {site_id: float(10 * i) for i, site_id in enumerate(ids[:-1])}  # last: no result
    pieces, wait_list = site_pieces(_body(region, waits), ids)
    estimate = EstimateTravel.for_sites(region.sites)
    lat, lon = 51.2802, 1.0789

    results = orjson.loads(minimal_answer(lat, lon, estimate, pieces, wait_list))["results"]

    seconds = dict(zip(ids, estimate.travel_seconds(lat, lon).tolist(), strict=True))
    totals = {i: seconds[i] / 60 + waits.get(i, 0.0) for i in ids}
    assert [r["site_id"] for r in results] == sorted(ids, key=totals.__getitem__)
    for r in results:
        assert r["travel_minutes"] == round(seconds[r["site_id"]] / 60, 1)
        assert r["total_minutes"] == round(totals[r["site_id"]], 1)
        if r["site_id"] in waits:  # the body's other fields ride along unchanged
            assert r["name"] == region.site(r["site_id"]).name
            assert r["predicted_wait_minutes"] == waits[r["site_id"]]
        else:
            assert set(r) == {"site_id", "travel_minutes", "total_minutes"}
