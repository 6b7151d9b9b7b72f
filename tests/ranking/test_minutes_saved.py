"""The stored totals behind "minutes saved" (docs/statistics.md): the ranking orders the sites
from the true origin, the row stores both totals from the cell centre in whole minutes, so a row
can save a negative minute. These build such rows on purpose; the documentation says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from waitless.domain.event_fields import event_fields
from waitless.domain.observation import Observation
from waitless.domain.region import DEFAULT_REGION, load_region
from waitless.ranking.event_row import CentreFigures, ranking_event
from waitless.ranking.privacy import coarse_cell
from waitless.ranking.rank import RankRequest, rank

REGION = load_region(DEFAULT_REGION)
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)  # a Tuesday morning: every service is open
UTC_ONLY, ED_SITE = "RVVKC", "RVV01"  # Canterbury (UTC), Ashford (ED with a UTC)


def _seconds(minutes: dict[str, float]) -> np.ndarray:
    """Travel seconds in region order: the given sites, every other one unreachable."""
    return np.array([minutes[s.id] * 60 if s.id in minutes else np.inf for s in REGION.sites])


def _row(origin: dict[str, float], centre: dict[str, float], waits: dict[str, float]) -> dict:
    """The stored row of a minor condition ranked with these travel minutes and UTC waits."""
    snapshot = {f"{site}/utc": Observation(site, "utc", wait, NOW - timedelta(minutes=2))
                for site, wait in waits.items()}
    request = RankRequest(lat=51.2802, lon=1.0789, depart_at=NOW, condition="sprain_strain")
    answer = rank(REGION, snapshot, request, travel_seconds=_seconds(origin),
                  travel_source="estimate", now=NOW)
    figures = CentreFigures.from_travel(REGION, _seconds(centre))
    return event_fields(ranking_event(REGION, answer, centre=figures,
                                      cell=coarse_cell(request.lat, request.lon)))


def test_a_nearer_ed_from_the_cell_centre_saves_a_negative_minute():
    # From the origin Canterbury is 0.5 min nearer (65.0 against 65.5 min in all); from the
    # cell centre Ashford is: the stored totals are 66 and 65.
    row = _row(origin={UTC_ONLY: 5.0, ED_SITE: 5.5}, centre={UTC_ONLY: 5.6, ED_SITE: 4.9},
               waits={UTC_ONLY: 60.0, ED_SITE: 60.0})
    assert (row["recommended_site"], row["nearest_ed"]) == (UTC_ONLY, ED_SITE)
    assert (row["estimated_minutes"], row["nearest_ed_total_minutes"]) == (66.0, 65.0)
    assert row["nearest_ed_total_minutes"] - row["estimated_minutes"] == -1
    # minor_instead_of_ed counts it: nearest to the centre is the ED site, though the origin
    # is nearer Canterbury.
    assert (row["nearest_site"], row["nearest_kind"], row["recommended_kind"]) == (
        ED_SITE, "ed", "utc")


def test_totals_equal_to_a_tenth_are_ordered_by_travel_and_can_round_apart():
    # No cell effect at all (the centre is the origin): 65.54 and 65.46 minutes both sort as
    # 65.5, the shorter journey first, and round to 66 and 65.
    travel = {UTC_ONLY: 5.5, ED_SITE: 10.46}
    row = _row(origin=travel, centre=travel, waits={UTC_ONLY: 60.04, ED_SITE: 55.0})
    assert row["recommended_site"] == UTC_ONLY
    assert row["nearest_ed_total_minutes"] - row["estimated_minutes"] == -1


def test_the_recommendation_never_loses_when_origin_and_centre_agree():
    # The usual case: with the same travel and totals apart by a tenth or more, the
    # recommendation's stored total is never above the nearest ED's.
    travel = {UTC_ONLY: 5.0, ED_SITE: 12.0}
    for wait in (50.0, 55.0, 56.9, 58.0):
        row = _row(origin=travel, centre=travel, waits={UTC_ONLY: 60.0, ED_SITE: wait})
        saved = row["nearest_ed_total_minutes"] - row["estimated_minutes"]
        assert saved >= 0 if row["recommended_site"] == UTC_ONLY else saved == 0
