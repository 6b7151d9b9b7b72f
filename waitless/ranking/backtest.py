"""Replaying simulator history to measure the arrival-wait predictor against "the wait now".

For every open site service, a simulated history is sampled every ``history_step_minutes``
(only while the service is open, as a feed would report it), starting ``HISTORY_DAYS``
before the evaluated period. Every ``anchor_step_minutes`` of the period, a patient asks with
a travel time drawn uniformly from 10-60 minutes; the predictor sees only readings up to the
anchor, and its p50 and p90 are compared with the simulated wait at arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from feeds.simulation import simulated_wait_minutes
from waitless.domain.errors import ConfigError
from waitless.domain.region import Region
from waitless.ranking.predict import HISTORY_DAYS, fit_model, predict

TRAVEL_MINUTES_RANGE = (10, 60)
REFIT_HOURS = 6


@dataclass(frozen=True, slots=True)
class BacktestResult:
    """Errors in minutes over all evaluated (anchor, service) pairs."""

    cases: int
    predictor_mae_minutes: float
    baseline_mae_minutes: float
    predictor_bias_minutes: float
    baseline_bias_minutes: float
    p90_coverage: float
    by_kind: dict[str, dict[str, float]]

    def as_dict(self) -> dict:
        return {
            "cases": self.cases,
            "predictor_mae_minutes": round(self.predictor_mae_minutes, 2),
            "baseline_mae_minutes": round(self.baseline_mae_minutes, 2),
            "improvement": round(1 - self.predictor_mae_minutes / self.baseline_mae_minutes, 3),
            "predictor_bias_minutes": round(self.predictor_bias_minutes, 2),
            "baseline_bias_minutes": round(self.baseline_bias_minutes, 2),
            "p90_coverage": round(self.p90_coverage, 3),
            "by_kind": self.by_kind,
        }


def _open_history(region: Region, site_id: str, service, seed: int, start: datetime,
                  end: datetime, step_minutes: int) -> tuple[np.ndarray, np.ndarray]:
    times, waits = [], []
    at = start
    while at <= end:
        if service.hours.is_open(at, region.timezone):
            times.append(at.timestamp())
            waits.append(simulated_wait_minutes(seed, site_id, service.kind, at,
                                                region.timezone))
        at += timedelta(minutes=step_minutes)
    return np.array(times), np.array(waits)


def backtest(region: Region, *, seed: int, start: datetime, days: float,
             anchor_step_minutes: int = 15, history_step_minutes: int = 5) -> BacktestResult:
    """Predictor vs the naive "wait now" over ``days`` from ``start`` (aware datetime)."""
    rng = np.random.default_rng(seed)
    end = start + timedelta(days=days)
    rows: list[tuple[str, float, float, float, float]] = []  # kind, actual, now, p50, p90
    for site in region.sites:
        for service in site.services:
            epoch_s, waits = _open_history(
                region, site.id, service, seed, start - timedelta(days=HISTORY_DAYS),
                end + timedelta(minutes=TRAVEL_MINUTES_RANGE[1]), history_step_minutes)
            if epoch_s.size == 0:
                continue
            model, fitted_at = None, None
            anchor = start
            while anchor < end:
                now_s = anchor.timestamp()
                travel = float(rng.uniform(*TRAVEL_MINUTES_RANGE))
                arrival = anchor + timedelta(minutes=travel)
                if (service.hours.is_open(anchor, region.timezone)
                        and service.hours.is_open(arrival, region.timezone)):
                    if fitted_at is None or anchor - fitted_at >= timedelta(hours=REFIT_HOURS):
                        model, fitted_at = fit_model(epoch_s, waits, now_s, region.timezone), anchor
                    made = predict(model, epoch_s, waits, now_s, travel, region.timezone)
                    i = np.searchsorted(epoch_s, now_s, side="right") - 1
                    if made is not None and i >= 0:
                        actual = simulated_wait_minutes(seed, site.id, service.kind, arrival,
                                                        region.timezone)
                        rows.append((service.kind, actual, float(waits[i]), made.p50_minutes,
                                     made.p90_minutes))
                anchor += timedelta(minutes=anchor_step_minutes)
    if not rows:
        msg = "no open service in the backtest period"
        raise ConfigError(msg)
    kinds = np.array([r[0] for r in rows])
    actual, now, p50, p90 = (np.array([r[k] for r in rows]) for k in range(1, 5))
    by_kind = {
        str(kind): {"cases": int(np.sum(kinds == kind)),
               "predictor_mae_minutes": round(float(np.mean(np.abs(p50 - actual)[kinds == kind])),
                                              2),
               "baseline_mae_minutes": round(float(np.mean(np.abs(now - actual)[kinds == kind])),
                                             2),
               "p90_coverage": round(float(np.mean((actual <= p90)[kinds == kind])), 3)}
        for kind in sorted(set(kinds))
    }
    return BacktestResult(
        cases=len(rows),
        predictor_mae_minutes=float(np.mean(np.abs(p50 - actual))),
        baseline_mae_minutes=float(np.mean(np.abs(now - actual))),
        predictor_bias_minutes=float(np.mean(p50 - actual)),
        baseline_bias_minutes=float(np.mean(now - actual)),
        p90_coverage=float(np.mean(actual <= p90)),
        by_kind=by_kind,
    )
