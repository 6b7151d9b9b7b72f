"""Property tests on every adapter: only FeedParseError escapes, nothing implausible is accepted."""

import math
import re
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.adapters import get_adapter
from feeds.errors import FeedParseError
from feeds.validate import validate_observations
from waitless.domain.observation import Observation
from waitless.domain.region import load_region

FIXTURES = Path(__file__).resolve().parent / "fixtures"
REGION = load_region(str(FIXTURES / "region-feeds-test.toml"))
FEEDS = {f.name: f for f in REGION.feeds}
FETCHED_AT = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)
JSON_FIXTURES = {"example-trust": "trust_jsonmap.json", "hk-ha": "hk_aedwtdata2.json",
                 "ahs": "alberta.json", "ni": "ni_arcgis.json", "bc": "bc_push.json"}
SETTINGS = REGION.validation

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**9, 10**9)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
    | st.sampled_from(["4320 minutes", "-5 minutes", "72 hours", "00:00", "No data", "N/A",
                       "3 hr 19 min", "Over 3 hours", "9.5 hours", "1e309", "NaN"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)

fuzz = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def run(feed_name: str, body: bytes) -> list[Observation] | None:
    """Parse; None when the adapter refused the payload with FeedParseError (allowed)."""
    feed = FEEDS[feed_name]
    try:
        observations = get_adapter(feed.format)(body, feed_name=feed.name, fetched_at=FETCHED_AT,
                                                options=feed.options)
    except FeedParseError:
        return None
    assert isinstance(observations, list)
    assert all(isinstance(o, Observation) for o in observations)
    return observations


def assert_only_plausible_accepted(observations: list[Observation]) -> None:
    result = validate_observations(observations, region=REGION, now=FETCHED_AT,
                                   settings=SETTINGS)
    for obs in result.accepted:
        site = REGION.site(obs.site_id)
        assert site is not None and site.service(obs.service) is not None
        if obs.wait_minutes is None:
            continue
        assert isinstance(obs.wait_minutes, int | float) and not isinstance(obs.wait_minutes, bool)
        assert math.isfinite(obs.wait_minutes)
        kind = site.service(obs.service).kind
        low, high = SETTINGS.min_wait_minutes[kind], SETTINGS.max_wait_minutes[kind]
        assert low <= obs.wait_minutes <= high


def _leaves(doc, path=()):
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield from _leaves(value, (*path, index))
    else:
        yield path


def _replace(doc, path, value):
    if not path:
        return value
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    copy[path[0]] = _replace(doc[path[0]], path[1:], value)
    return copy


@pytest.mark.parametrize("feed_name", sorted(FEEDS))
@fuzz
@given(body=st.binary(max_size=600))
def test_arbitrary_bytes_never_escape_as_anything_but_parse_errors(feed_name, body) -> None:
    observations = run(feed_name, body)
    if observations is not None:
        assert_only_plausible_accepted(observations)


@pytest.mark.parametrize("feed_name", sorted(JSON_FIXTURES))
@fuzz
@given(data=st.data())
def test_mutated_real_payloads_never_let_an_implausible_value_through(feed_name, data) -> None:
    doc = orjson.loads((FIXTURES / JSON_FIXTURES[feed_name]).read_bytes())
    leaves = list(_leaves(doc))
    for _ in range(data.draw(st.integers(1, 4))):
        path = data.draw(st.sampled_from(leaves))
        doc = _replace(doc, path, data.draw(json_values))
    body = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY) if doc is not None else b"null"
    observations = run(feed_name, body)
    if observations is not None:
        assert_only_plausible_accepted(observations)


@fuzz
@given(data=st.data())
def test_mutated_html_table_cells(data) -> None:
    html = (FIXTURES / "km_utc.html").read_text()
    cells = list(re.finditer(r"<td[^>]*>(.*?)</td>", html, flags=re.S))
    for _ in range(data.draw(st.integers(1, 4))):
        cell = data.draw(st.sampled_from(cells))
        text = data.draw(st.text(max_size=30) | st.sampled_from(
            ["4320 mins", "72 hours", "-10 minutes", "00:00", "", "<b>5h 14m</b>", "&amp;"]))
        html = html.replace(cell.group(0), cell.group(0).replace(cell.group(1), text, 1), 1)
    observations = run("km-utc", html.encode())
    if observations is not None:
        assert_only_plausible_accepted(observations)


def test_the_72_hour_incident_is_rejected_after_parsing() -> None:
    observations = run("example-trust", (FIXTURES / "trust_jsonmap.json").read_bytes())
    assert observations  # the untouched fixture parses
    forged = [Observation(o.site_id, o.service, 4320.0, o.observed_at, feed=o.feed)
              for o in observations]
    result = validate_observations(forged, region=REGION, now=FETCHED_AT, settings=SETTINGS)
    assert not any(o.wait_minutes == 4320.0 for o in result.accepted)
