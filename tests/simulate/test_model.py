"""The region model: calibration against the shared facts, repeatability, the measures."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from tests.conftest import shared_path
from waitless.domain.region import load_region
from waitless.simulate import calibration as cal
from waitless.simulate import metrics
from waitless.simulate.model import SAMPLE_MINUTES, run
from waitless.simulate.scenario import build_scenario, draw_patients


@pytest.fixture(scope="module")
def scenario():
    return build_scenario(load_region("kent-medway"))


def test_attendance_constants_match_the_nhs_england_file():
    path = shared_path("data", "nhse-ae-monthly", "September-2025-Csv-7hjr2.csv")
    with path.open(encoding="utf-8-sig") as f:
        rows = {r["Org Code"].strip(): r for r in csv.DictReader(f)}
    for org, (type1, other) in cal.ATTENDANCES_SEP_2025.items():
        assert int(rows[org]["A&E attendances Type 1"]) == type1, org
        assert int(rows[org]["A&E attendances Other A&E Department"]) == other, org


def test_daily_pattern_follows_the_field_notes():
    hourly = cal.HOURLY_FACTOR
    assert math.isclose(sum(hourly), 24)
    assert 0.57 <= sum(hourly[9:18]) / 24 <= 0.63  # ~60% of arrivals 09:00-18:00
    assert min(hourly) == min(hourly[3:6]) and 0.25 <= min(hourly) <= 0.35  # trough 03-05
    assert max(hourly) in hourly[10:13]  # peak late morning
    assert math.isclose(cal.WEEKDAY_FACTOR[0] / 7, 0.16, abs_tol=0.005)  # Monday ~16%


def test_demand_reproduces_the_region_s_attendances(scenario):
    expected = sum(t1 + other for t1, other in cal.ATTENDANCES_SEP_2025.values()) / 30
    assert math.isclose(scenario.origin_daily.sum(), expected, rel_tol=1e-9)
    patients = draw_patients(scenario, seed=1, days=7)
    per_day = patients.depart_minutes.size / 7
    assert abs(per_day - expected) / expected < 0.03
    # Staffed when open, closed otherwise; every service has someone on duty some time.
    assert ((scenario.servers_by_hour > 0) == scenario.open_slots[:, 2::4]).all()


def test_same_seed_same_run_and_the_real_ranking_moves_patients(scenario):
    patients = draw_patients(scenario, seed=3, days=2)
    kwargs = {"policy": "live", "uptake": 0.3, "compliance": 0.7, "days": 1}
    first = run(scenario, patients, **kwargs)
    again = run(scenario, patients, **kwargs)
    assert np.array_equal(first.total_minutes, again.total_minutes)
    assert np.array_equal(first.wait_series, again.wait_series)
    other = run(scenario, draw_patients(scenario, seed=4, days=2), **kwargs)
    assert not np.array_equal(first.total_minutes[:100], other.total_minutes[:100])
    nearest = run(scenario, patients, **{**kwargs, "policy": "nearest"})
    assert nearest.users.sum() == 0
    # About 30% asked; most who asked followed; answers moved minors out of EDs.
    share = first.users.mean()
    assert 0.27 < share < 0.33
    assert 0.6 < first.followed.sum() / first.users.sum() < 0.8
    assert first.at_ed[first.minor].mean() < nearest.at_ed[nearest.minor].mean()
    assert not np.isnan(first.total_minutes).any()


def test_oscillation_measures_fast_swings_not_the_daily_trend():
    t = np.arange(0, 2 * 1440, SAMPLE_MINUTES)
    swing = 20 * np.sin(2 * np.pi * t / 60)  # a one-hour cycle, amplitude 20 minutes
    trend = 60 + 40 * np.sin(2 * np.pi * t / 1440)
    series = np.vstack([trend, trend + swing])
    assert metrics.oscillation_minutes(series, [0]) < 1.0  # 2% of the daily swing leaks
    assert math.isclose(metrics.oscillation_minutes(series, [1]), 20 / math.sqrt(2),
                        rel_tol=0.03)


def test_summary_intervals_and_paired_differences():
    rows = [{"policy": p, "uptake": 0.3, "seed": s, "mean_minutes": m, "p90_minutes": m * 2,
             "minor_at_ed_share": 0.2, "oscillation_minutes": 5.0}
            for p, s, m in (("live", 1, 30.0), ("live", 2, 34.0), ("load-aware", 1, 29.0),
                            ("load-aware", 2, 33.0))]
    by_policy = {e["policy"]: e for e in metrics.summarise(rows)}
    assert by_policy["live"]["mean_minutes"] == 32.0
    # t(0.975, 1 df) x sd 2.83 / sqrt 2 = 12.706 x 2
    assert math.isclose(by_policy["live"]["mean_minutes_ci"], 12.706 * 2, rel_tol=1e-3)
    assert by_policy["load-aware"]["mean_minutes_vs_live"] == -1.0
    assert by_policy["load-aware"]["mean_minutes_vs_live_ci"] == 0.0
    assert "| 0.3 | load-aware | 31.0 ± 25.4 |" in metrics.table(metrics.summarise(rows))


@pytest.mark.parametrize(("seeds", "t975"), [(2, 12.706), (5, 2.776), (11, 2.228),
                                             (12, 2.201), (30, 2.045)])
def test_intervals_use_student_t_for_any_number_of_seeds(seeds: int, t975: float):
    # Values alternating 0, 2: sd known exactly, so half-width / (sd / sqrt n) is the quantile.
    values = [float(2 * (i % 2)) for i in range(seeds)]
    mean, half = metrics.interval(values)
    quantile = half / (float(np.std(values, ddof=1)) / math.sqrt(seeds))
    # Before: 1.96 from 12 seeds on (12 seeds: 11 % too narrow).
    assert math.isclose(quantile, t975, rel_tol=2e-4)
    assert mean == pytest.approx(2 * (seeds // 2) / seeds)
