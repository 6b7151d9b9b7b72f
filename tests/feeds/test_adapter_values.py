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


@pytest.mark.parametrize(("published", "count"), [
    (7, 7), ("12", 12), (" 9 ", 9), (4.0, 4), (None, None), ("", None), ("-", None),
    ("N/A", None), ("No data", None),
])
def test_jsonmap_patient_counts_and_published_absences(published, count):
    (obs,) = jsonmap([{"name": "Maidstone", "type": "A&E", "wait": 40, "waiting": published}],
                     patients_field="waiting")
    assert obs.patients_waiting == count


@pytest.mark.parametrize("published", ["-3", -3, 3.5, "lots", "²", True, [2]])
def test_jsonmap_a_count_that_is_not_one_rejects_that_entry(region, published):
    obs = jsonmap([{"name": "Maidstone", "type": "A&E", "wait": 40, "waiting": 12},
                   {"name": "Maidstone", "type": "UTC", "wait": 20, "waiting": published}],
                  patients_field="waiting")
    assert obs[1].patients_waiting == published  # passed on as published, not made null
    accepted, rejected = outcome(obs, region)
    assert accepted == [("RWF03", "ed")]
    assert rejected == [("RWF03", "utc", "invalid_field")]


def test_jsonmap_entry_without_the_patients_field_has_no_count(region):
    obs = jsonmap([{"name": "Maidstone", "type": "A&E", "wait": 40}],
                  patients_field="queue.waiting")
    assert obs[0].patients_waiting is None
    assert outcome(obs, region) == ([("RWF03", "ed")], [])


def test_htmltable_a_count_that_is_not_one_rejects_that_row(run_feed, payload, region):
    page = payload("km_utc.html").replace(b"<td>14</td>", b"<td>-3</td>").replace(
        b"<td>6</td>", b"<td>3.5</td>")
    obs = {o.site_id: o for o in run_feed("km-utc", "", body=page)}
    assert (obs["RVV02"].patients_waiting, obs["ACH01"].patients_waiting) == ("-3", "3.5")
    assert obs["AQM01"].patients_waiting is None  # "-": no count published
    assert obs["RVV03"].patients_waiting is None  # an empty cell
    accepted, rejected = outcome(list(obs.values()), region)
    assert sorted(rejected) == [("ACH01", "utc", "invalid_field"),
                                ("RVV02", "utc", "invalid_field")]
    assert len(accepted) == 9


def test_jsonmap_status_words_it_does_not_know_keep_the_wait_as_unknown(region):
    obs = jsonmap([{"name": "Maidstone", "type": "A&E", "wait": 40, "state": "Shut"},
                   {"name": "Maidstone", "type": "UTC", "wait": 20, "state": "Diverting"},
                   {"name": "Maidstone", "type": "MIU", "wait": 5, "state": "OPEN"}],
                  status_field="state", status_map={"Shut": "closed"})
    assert [(o.status, o.wait_minutes) for o in obs] == [
        ("closed", 40), ("unknown", 20), ("open", 5)]
