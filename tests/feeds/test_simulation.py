from datetime import UTC, datetime, timedelta
from statistics import mean

from feeds.simulation import simulated_wait_minutes
from feeds.simulator import native_document
from waitless.domain.region import Region


def test_same_seed_same_document_other_seed_differs(kent: Region, fixed_now: datetime) -> None:
    first = native_document(kent, seed=7, now=fixed_now)
    again = native_document(kent, seed=7, now=fixed_now)
    other = native_document(kent, seed=8, now=fixed_now)
    assert first == again
    waits = [s["wait_minutes"] for s in first["sites"]]
    assert waits != [s["wait_minutes"] for s in other["sites"]]


def test_one_entry_per_site_service_and_closed_outside_hours(kent: Region) -> None:
    night = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)  # 23:00 GMT
    doc = native_document(kent, seed=1, now=night)
    entries = {(s["site_id"], s["service"]): s for s in doc["sites"]}
    assert len(entries) == sum(len(site.services) for site in kent.sites)
    assert entries[("RVV02", "utc")]["status"] == "closed"  # Buckland 08:00-20:00
    assert entries[("RVV02", "utc")]["wait_minutes"] is None
    assert entries[("RVV01", "ed")]["status"] == "open"
    assert entries[("RVV01", "ed")]["wait_minutes"] > 0


def test_daily_pattern_eds_long_and_peaky_minor_units_short(kent: Region) -> None:
    day = datetime(2026, 11, 24, tzinfo=UTC)
    tz = kent.timezone
    eds = [s.id for s in kent.sites if s.service("ed")]
    utcs = [s.id for s in kent.sites if s.service("utc")]

    def avg(ids, kind, hour):
        return mean(simulated_wait_minutes(3, i, kind, day + timedelta(hours=hour, minutes=m), tz)
                    for i in ids for m in range(0, 60, 10))

    assert avg(eds, "ed", 13) > 2 * avg(utcs, "utc", 13)
    # Longest for arrivals overnight, shortest around 08:00-09:00 (field notes).
    assert avg(eds, "ed", 2) > 1.5 * avg(eds, "ed", 8)
    assert avg(utcs, "utc", 18) > avg(utcs, "utc", 8)
    assert all(simulated_wait_minutes(s, "RVV01", "ed", day + timedelta(minutes=7 * k), tz) >= 0
               for s in range(5) for k in range(200))
