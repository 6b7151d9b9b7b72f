from datetime import UTC, datetime

import orjson
import pytest

from feeds.adapters import get_adapter
from feeds.adapters.native import parse
from feeds.errors import FeedParseError
from feeds.validate import validate_observations


def doc(**site_overrides) -> bytes:
    site = {"site_id": "RVV01", "service": "ed", "wait_minutes": 185, "patients_waiting": 31,
            "observed_at": "2026-11-24T10:15:00Z", "status": "open", **site_overrides}
    return orjson.dumps({"generated_at": "2026-11-24T10:16:00+00:00", "sites": [site]})


def test_native_document_becomes_observations() -> None:
    (obs,) = parse(doc(), feed_name="trust")
    assert obs.site_id == "RVV01" and obs.service == "ed"
    assert obs.wait_minutes == 185.0 and obs.patients_waiting == 31
    assert obs.observed_at == datetime(2026, 11, 24, 10, 15, tzinfo=UTC)
    assert obs.feed == "trust" and obs.status == "open"


def test_service_is_optional_and_wait_may_be_null() -> None:
    site = {"site_id": "RYYC7", "wait_minutes": None, "patients_waiting": None,
            "observed_at": "2026-11-24T10:15:00+00:00", "status": "closed"}
    body = orjson.dumps({"generated_at": "2026-11-24T10:16:00Z", "sites": [site]})
    (obs,) = get_adapter("native")(body, feed_name="x", fetched_at=None, options={})
    assert obs.service is None and obs.wait_minutes is None and obs.status == "closed"


@pytest.mark.parametrize(("body", "message"), [
    (b"<html>502 Bad Gateway</html>", "not valid JSON"),
    (b'{"sites": []}', "generated_at"),
    (b'{"generated_at": "2026-11-24T10:00:00Z"}', "'sites' list"),
    (doc(wait_minutes="45 mins"), "wait_minutes"),
    (doc(service="a&e"), "service"),
    (doc(observed_at="2026-11-24T10:15:00"), "no UTC offset"),
    (doc(observed_at="yesterday"), "not an ISO-8601"),
    (doc(status="busy"), "status"),
    (doc(site_id=""), "site_id"),
    (doc(patients_waiting=2.5), "patients_waiting"),
])
def test_malformed_documents_name_the_problem(body: bytes, message: str) -> None:
    with pytest.raises(FeedParseError, match=message):
        parse(body, feed_name="x")


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match=r"unknown feed format 'xml'.*native"):
        get_adapter("xml")


def test_sites_option_maps_publisher_codes_and_ignore_sites_skips(region) -> None:
    sites = [{"site_id": code, "service": "ed", "wait_minutes": 40,
              "observed_at": "2026-11-24T10:15:00Z", "status": "open"}
             for code in ("MAIDSTONE", "ELSEWHERE", "RWFTW", "NOWHERE")]
    body = orjson.dumps({"generated_at": "2026-11-24T10:16:00Z", "sites": sites})
    options = {"sites": {"MAIDSTONE": "RWF03"}, "ignore_sites": ["ELSEWHERE"]}
    obs = parse(body, feed_name="x", options=options)
    # Mapped, skipped, a region id as published, an unmapped code kept for validation.
    assert [o.site_id for o in obs] == ["RWF03", "RWFTW", "NOWHERE"]
    result = validate_observations(obs, region=region,
                                   now=datetime(2026, 11, 24, 10, 20, tzinfo=UTC))
    assert [o.site_id for o in result.accepted] == ["RWF03", "RWFTW"]
    assert [(r.site_id, r.reason) for r in result.rejected] == [("NOWHERE", "unknown_site")]


def test_a_mistyped_sites_option_refuses_the_payload() -> None:
    with pytest.raises(FeedParseError, match="option 'sites' has the wrong type"):
        parse(doc(), feed_name="x", options={"sites": ["RVV01"]})
