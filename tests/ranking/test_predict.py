"""The arrival-wait predictor: beats "the wait now" on simulator data, honest p90 and confidence."""

import argparse
from datetime import UTC, datetime, timedelta

import numpy as np
import orjson
import pytest

from waitless.api.answer_json import answer_json
from waitless.domain.observation import Observation
from waitless.domain.region import Region
from waitless.ranking import cli as predict_cli
from waitless.ranking.backtest import backtest
from waitless.ranking.history import extend_history, refit_models
from waitless.ranking.predict import fit_model, minute_of_day, predict
from waitless.ranking.rank import RankRequest, rank

START = datetime(2026, 11, 16, tzinfo=UTC)


def test_predictor_beats_the_wait_now_on_simulator_data(kent: Region) -> None:
    result = backtest(kent, seed=3, start=START, days=1)
    assert result.cases > 1000
    # Same run, same cases: the predictor's mean absolute error is clearly lower.
    assert result.predictor_mae_minutes < 0.92 * result.baseline_mae_minutes
    for kind, figures in result.by_kind.items():
        assert figures["predictor_mae_minutes"] < figures["baseline_mae_minutes"], kind
    assert 0.82 <= result.p90_coverage <= 0.97


def test_backtest_command_prints_the_figures(kent: Region, capsys) -> None:
    parser = argparse.ArgumentParser()
    predict_cli.register(parser.add_subparsers())
    args = parser.parse_args(["predict", "backtest", "--region", "kent-medway", "--days", "0.25",
                              "--seed", "4", "--start", "2026-11-17T08:00:00+00:00"])
    assert args.func(args) == 0
    out = orjson.loads(capsys.readouterr().out)
    direct = backtest(kent, seed=4, start=datetime(2026, 11, 17, 8, tzinfo=UTC), days=0.25)
    assert out["cases"] == direct.cases
    assert out["predictor_mae_minutes"] == round(direct.predictor_mae_minutes, 2)


def test_rising_queue_is_predicted_higher_than_now() -> None:
    # A queue climbing 1 minute per minute for an hour, without a day of history: the
    # damped trend forecasts above the last reading, which a rolling average would not.
    now = START.timestamp()
    times = now - np.arange(60, -1, -1) * 60.0
    waits = np.linspace(40, 100, times.size)
    tz = START.tzinfo
    made = predict(fit_model(times, waits, now, tz), times, waits, now, 30, tz)
    assert made.method == "trend"
    assert made.p50_minutes == pytest.approx(100 + 0.5 * 30, abs=1)
    assert made.p90_minutes >= made.p50_minutes


def test_minute_of_day_follows_daylight_saving(kent: Region) -> None:
    summer = datetime(2026, 7, 1, 11, 0, tzinfo=UTC).timestamp()
    winter = datetime(2026, 12, 1, 11, 0, tzinfo=UTC).timestamp()
    assert list(minute_of_day(np.array([summer, winter]), kent.timezone)) == [720.0, 660.0]


def test_ranking_uses_history_for_p50_and_p90_and_keeps_stale_honest(kent: Region) -> None:
    now = START + timedelta(days=2, hours=10)
    history = []
    for minute in range(0, 2 * 24 * 60, 5):
        at = now - timedelta(minutes=2 * 24 * 60 - minute)
        wait = 60 + 30 * np.sin(2 * np.pi * minute / 1440)
        history.append(Observation("RVVKC", "utc", float(wait), at))
    snapshot_history = refit_models(extend_history({}, history), kent.timezone, max_refits=None)
    current = {"RVVKC/utc": history[-1],
               "RVV01/utc": Observation("RVV01", "utc", 100.0, now - timedelta(hours=3))}
    request = RankRequest(lat=51.2802, lon=1.0789, depart_at=now)
    travel = np.full(len(kent.sites), 1200.0)
    answer = answer_json(rank(kent, current, request, travel_seconds=travel,
                              travel_source="estimate", now=now, history=snapshot_history))
    by_id = {r["site_id"]: r for r in answer["results"]}
    live = by_id["RVVKC"]
    assert live["prediction_method"] == "seasonal"
    assert live["predicted_wait_minutes"] != live["wait_minutes"]
    assert live["predicted_wait_p90_minutes"] >= live["predicted_wait_minutes"]
    assert live["total_minutes"] == pytest.approx(20 + live["predicted_wait_minutes"], abs=0.11)
    stale = by_id["RVV01"]  # its UTC reading 3 hours old: penalty, no p90, low confidence
    assert stale["wait_status"] == "stale" and stale["confidence"] == "low"
    assert stale["predicted_wait_minutes"] == 130.0
    assert stale["predicted_wait_p90_minutes"] is None
    missing = by_id["RVV09"]
    assert missing["wait_status"] == "unavailable" and missing["confidence"] == "low"


def test_scalar_profile_lookup_matches_the_array_version() -> None:
    import math

    import numpy as np

    from waitless.ranking.predict import _profile_at_scalar, profile_at
    rng = np.random.default_rng(3)
    profile = rng.uniform(0.3, 1.7, 48)
    profile[[0, 1, 2, 30]] = np.nan
    for minute in np.linspace(0, 1439.9, 500):
        expected = float(profile_at(profile, np.array([minute]))[0])
        got = _profile_at_scalar(profile, float(minute))
        assert (math.isnan(expected) and math.isnan(got)) or got == expected
