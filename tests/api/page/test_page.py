"""The patient page and /v1/places (no browser), and the safety controls behind them."""

import numpy as np
import pytest

from tests.ranking.test_ranking import REGION_TOML, ask, ids
from waitless.api.answer_json import answer_json
from waitless.api.keys import EVENT_LOG
from waitless.domain.conditions import CONDITIONS
from waitless.domain.event_fields import event_fields
from waitless.ranking.rank import RankRequest, rank

from .conftest import CANTERBURY


async def test_page_without_location_is_just_the_form(page_client) -> None:
    response = await page_client.get("/")
    assert response.status == 200
    html = await response.text()
    assert '<form method="get" action="/"' in html and 'id="results"' not in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "<script>" not in html and "style=" not in html  # nothing inline (CSP)


async def test_page_ranks_in_the_same_order_as_the_api(page_client) -> None:
    html = await (await page_client.get("/", params={"place": "ct1 3ng"})).text()
    shown = [chunk.split('"', 1)[0] for chunk in html.split('data-site-id="')[1:]]
    api = await (await page_client.get("/v1/rank", params={"lat": "51.27719",
                                                            "lon": "1.08733"})).json()
    assert shown == [r["site_id"] for r in api["results"]]
    assert "From CT1, by car" in html
    # A full postcode is looked up as its district, and the page says so.
    assert "We do not look up full postcodes" in html and "the CT1 area" in html


async def test_page_logs_the_decision_like_the_api(page_client) -> None:
    log = page_client.app[EVENT_LOG]
    await log.flush()
    before = log.spool.event_count()
    html = await (await page_client.get("/", params={"lat": str(CANTERBURY[0]),
                                                     "lon": str(CANTERBURY[1])})).text()
    await log.flush()
    segments = log.spool.segments()
    assert log.spool.event_count() == before + 1
    event = event_fields(log.spool.read(segments[-1])[-1])
    first_shown = html.split('data-site-id="')[1].split('"', 1)[0]
    assert event["recommended_site"] == first_shown and event["emergency"] is False
    metrics = await (await page_client.get("/metrics")).text()
    assert 'waitless_rankings_total{outcome="ranked"} 1.0' in metrics


async def test_a_typed_place_replaces_a_kept_device_location(page_client) -> None:
    # Without JavaScript nothing clears the hidden lat/lon a located answer keeps in its
    # "Change search" form, which says "Type a town or postcode to search somewhere else".
    def shown(html: str) -> list[str]:
        return [chunk.split('"', 1)[0] for chunk in html.split('data-site-id="')[1:]]

    typed = await (await page_client.get("/", params={"place": "Gravesend"})).text()
    both = await (await page_client.get("/", params={
        "place": "Gravesend", "lat": str(CANTERBURY[0]), "lon": str(CANTERBURY[1])})).text()
    assert "From Gravesend, by car" in both and "From your location" not in both
    assert shown(both) == shown(typed)


async def test_unknown_place_is_a_clear_error(page_client) -> None:
    response = await page_client.get("/", params={"place": "Atlantis"})
    assert response.status == 400
    html = await response.text()
    assert "There is a problem" in html and "could not find &#34;Atlantis&#34;" in html
    places = await page_client.get("/v1/places", params={"q": "Atlantis"})
    assert places.status == 400
    assert (await places.json())["error"] == "unknown_place"
    good = await (await page_client.get("/v1/places", params={"q": "CT1 3NG"})).json()
    assert good["name"] == "CT1" and good["kind"] == "district"


async def test_red_flag_on_the_page_is_999_without_ranking(page_client) -> None:
    html = await (await page_client.get("/", params={"place": "CT1",
                                                     "condition": "chest_pain"})).text()
    assert "Call 999 now" in html and "data-site-id" not in html


async def test_results_show_age_kind_confidence_and_directions(page_client) -> None:
    html = await (await page_client.get("/", params={"place": "Canterbury"})).text()
    assert "The site&#39;s estimated wait" in html and "updated 2 minutes ago" in html
    assert "9 in 10 patients wait less than" in html
    assert "confidence" in html
    assert ("https://www.google.com/maps/dir/?api=1&amp;destination=51.26659%2C1.0871"
            "&amp;travelmode=driving") in html


@pytest.mark.parametrize("code", sorted(c for c, v in CONDITIONS.items() if v.red_flag))
def test_every_red_flag_yields_999_and_never_a_ranking(code) -> None:
    import tomllib

    from waitless.domain.region import parse_region
    region = parse_region(tomllib.loads(REGION_TOML))
    for age in (None, 0.5, 40):
        answer = ask(region, condition=code, age_years=age)
        assert answer["results"] == [] and answer["emergency"]["call"] == "999"


def test_no_condition_sends_a_patient_to_a_unit_that_cannot_treat_it(kent) -> None:
    request_base = {"lat": 51.28, "lon": 1.08}
    from datetime import UTC, datetime
    now = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    travel = np.full(len(kent.sites), 900.0)
    for code, condition in CONDITIONS.items():
        for age in (0.5, 5, 40):
            request = RankRequest(**request_base, depart_at=now, condition=code, age_years=age)
            answer = answer_json(rank(kent, {}, request, travel_seconds=travel,
                                      travel_source="estimate", now=now))
            for result in answer["results"]:
                service = kent.site(result["site_id"]).service(result["kind"])
                assert code in service.treats and result["kind"] in condition.treated_by
                assert age >= service.min_age_years
                if age < 1:
                    assert result["kind"] != "miu"


def test_under_ones_never_get_an_miu_in_kent(kent) -> None:
    from datetime import UTC, datetime
    now = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    travel = np.full(len(kent.sites), 900.0)
    request = RankRequest(lat=51.28, lon=1.08, depart_at=now, age_years=0.9)
    answer = answer_json(rank(kent, {}, request, travel_seconds=travel,
                              travel_source="estimate", now=now))
    assert all(r["kind"] != "miu" for r in answer["results"])
    assert "miu" in {s.kind for site in kent.sites for s in site.services}
    assert ids(answer)


def test_implausible_waits_are_flagged_and_never_ranked_as_fresh() -> None:
    import tomllib
    from datetime import timedelta

    from tests.ranking.test_ranking import LIVE, NOW, snap
    from waitless.domain.region import parse_region
    region = parse_region(tomllib.loads(REGION_TOML))
    bad = snap(("UTC1", "utc", 72 * 60))  # the 2024 East Kent 72-hour figure
    answer = ask(region, snapshot={**LIVE, **bad})
    result = {r["site_id"]: r for r in answer["results"]}["UTC1"]
    assert result["wait_status"] == "implausible" and result["confidence"] == "low"
    assert result["predicted_wait_minutes"] == 120.0  # the region's assumed UTC wait
    assert result["wait_minutes"] == 4320.0  # shown, labelled, not ranked
    future = {"UTC1/utc": LIVE["UTC1/utc"].__class__("UTC1", "utc", 5.0,
                                                       NOW + timedelta(hours=2))}
    assert {r["site_id"]: r for r in ask(region, snapshot={**LIVE, **future})["results"]}[
        "UTC1"]["wait_status"] == "implausible"


async def test_page_and_vendored_assets_are_sent_compressed(page_client) -> None:
    import gzip

    from waitless.api.render import STATIC_DIR
    vendor = STATIC_DIR / "vendor" / "nhsuk-frontend"
    for name in ("nhsuk-frontend.min.css", "nhsuk-frontend.min.js"):
        # The pre-compressed copy must be the current file, or browsers get a stale one.
        assert gzip.decompress((vendor / f"{name}.gz").read_bytes()) == (vendor / name).read_bytes()
        response = await page_client.get(f"/static/vendor/nhsuk-frontend/{name}",
                                         headers={"Accept-Encoding": "gzip"})
        assert response.headers["Content-Encoding"] == "gzip"
        assert (await response.read()) == (vendor / name).read_bytes()  # decoded by the client
    page = await page_client.get("/", params={"place": "CT1"},
                                 headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip" and 'id="answer"' in await page.text()
