"""A bad value in one entry costs that entry only, with a reason (docs/feeds.md, "Adapters
split the work"): jsonmap and htmltable pass such values through for validation to reject."""

from datetime import UTC, datetime

import orjson
import pytest

from feeds.adapters import get_adapter
from feeds.errors import FeedParseError
from feeds.validate import validate_observations

NOW = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)
TRUST = {"site_field": "name", "wait_field": "wait", "service_field": "type",
         "service_map": {"A&E": "ed"}, "sites": {"Maidstone": "RWF03"}}


def jsonmap(entries, **options):
    return get_adapter("jsonmap")(orjson.dumps(entries), feed_name="trust", fetched_at=NOW,
                                  options={**TRUST, **options})


def outcome(observations, region):
    result = validate_observations(observations, region=region, now=NOW)
    return ([(o.site_id, o.service) for o in result.accepted],
            [(r.site_id, r.service, r.reason) for r in result.rejected])


def test_jsonmap_unmapped_service_rejects_that_entry_only(region):
    obs = jsonmap([{"name": "Maidstone", "type": "A&E", "wait": 40},
                   {"name": "Maidstone", "type": "UTC", "wait": 20},  # a kind, any case
                   {"name": "Maidstone", "type": "Walk-in Centre", "wait": 15}])
    assert [o.service for o in obs] == ["ed", "utc", "Walk-in Centre"]
    accepted, rejected = outcome(obs, region)
    assert accepted == [("RWF03", "ed"), ("RWF03", "utc")]
    assert rejected == [("RWF03", "Walk-in Centre", "unknown_service")]


def test_jsonmap_service_map_to_a_non_kind_is_a_configuration_error():
    with pytest.raises(FeedParseError, match="'service_map' maps 'A&E' to 'emergency'"):
        jsonmap([{"name": "Maidstone", "type": "A&E", "wait": 40}],
                service_map={"A&E": "emergency"})
