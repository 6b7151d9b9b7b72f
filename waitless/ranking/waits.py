"""The wait a ranking uses for one site service: as reported, penalised, assumed or predicted.

Pure functions over data, but for one memo: the forecast for a service is made once per
``FORECAST_BUCKET_SECONDS`` and latest reading and kept on its
:class:`~waitless.ranking.history.ServiceHistory` (the ranking's own prediction state), so every
request in the same few seconds shares it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from waitless.domain.observation import Observation
from waitless.domain.region import Region
from waitless.domain.validation_settings import ValidationSettings
from waitless.ranking.history import ServiceHistory
from waitless.ranking.predict import (
    EMPTY_MODEL,
    P90_FALLBACK_RATIO,
    Forecast,
    Prediction,
    confidence,
    forecast,
    predict_from,
)

# Beyond these a reported wait is a data fault, not a queue (East Kent showed 72-hour UTC
# waits for a day in 2024): it is shown as implausible and the assumed wait is ranked instead.
# A second line of defence behind feed validation, so it shares validation's default bounds.
IMPLAUSIBLE_WAIT_MINUTES = dict(ValidationSettings().max_wait_minutes)
FUTURE_TOLERANCE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    reported_minutes: float | None
    predicted_minutes: float
    status: str  # live | stale | unavailable | implausible
    observed_at: datetime | None
    age_minutes: float | None
    kind: str | None  # what the reported number means
    patients_waiting: int | None


def estimate_wait(region: Region, kind: str, obs: Observation | None,
                  now: datetime) -> WaitEstimate:
    """The wait used for ranking one site service, honest about age and absence.

    A live figure is used as reported. A stale figure (older than the region's limit) is
    used with a penalty added. No figure at all means the region's assumed wait for the
    kind, labelled ``unavailable``.
    """
    settings = region.ranking
    assumed = float(settings.assumed_wait_minutes[kind])
    if obs is None or obs.wait_minutes is None:
        return WaitEstimate(None, assumed, "unavailable",
                            obs.observed_at if obs else None,
                            (now - obs.observed_at).total_seconds() / 60 if obs else None,
                            None, obs.patients_waiting if obs else None)
    if (obs.wait_minutes > IMPLAUSIBLE_WAIT_MINUTES[kind] or obs.wait_minutes < 0
            or obs.observed_at > now + FUTURE_TOLERANCE):
        return WaitEstimate(obs.wait_minutes, assumed, "implausible", obs.observed_at,
                            (now - obs.observed_at).total_seconds() / 60, obs.wait_kind,
                            obs.patients_waiting)
    age_minutes = max((now - obs.observed_at).total_seconds() / 60, 0.0)
    if age_minutes > settings.stale_after_minutes:
        return WaitEstimate(obs.wait_minutes, obs.wait_minutes + settings.stale_penalty_minutes,
                            "stale", obs.observed_at, age_minutes, obs.wait_kind,
                            obs.patients_waiting)
    return WaitEstimate(obs.wait_minutes, obs.wait_minutes, "live", obs.observed_at,
                        age_minutes, obs.wait_kind, obs.patients_waiting)


@dataclass(frozen=True, slots=True)
class ArrivalWait:
    """The wait a patient should expect on arrival, and how much to trust it."""

    p50_minutes: float
    p90_minutes: float | None
    method: str  # seasonal | trend | now | stale_penalty | assumed
    confidence: str  # high | medium | low


def arrival_wait(region: Region, wait: WaitEstimate, obs: Observation | None,
                 history: ServiceHistory | None, now: datetime, arrival: datetime
                 ) -> ArrivalWait:
    """Predicted wait at ``arrival`` from the service's history; stale or missing figures
    keep :func:`estimate_wait`'s honest fallback (penalty or assumed wait, no p90)."""
    if wait.status == "stale":
        return ArrivalWait(wait.predicted_minutes, None, "stale_penalty", "low")
    if wait.status != "live" or obs is None or obs.wait_minutes is None:
        return ArrivalWait(wait.predicted_minutes, None, "assumed", "low")
    model = history.model if history is not None else EMPTY_MODEL
    horizon_minutes = max((arrival - now).total_seconds() / 60, 0.0)
    base = _forecast(region, obs, history, now)
    if base is None:  # the live reading is the only one and lies ahead of ``now``
        made = Prediction(obs.wait_minutes, obs.wait_minutes * P90_FALLBACK_RATIO, "now")
    else:
        made = predict_from(model, base, horizon_minutes, region.timezone)
    return ArrivalWait(made.p50_minutes, made.p90_minutes, made.method,
                       confidence(wait.status, wait.age_minutes, made, model))


# Forecasts are shared by requests within this many seconds of each other.
FORECAST_BUCKET_SECONDS = 5


def _forecast(region: Region, obs: Observation, history: ServiceHistory | None,
              now: datetime) -> Forecast | None:
    """The service's forecast at ``now``, made once per time bucket and latest reading."""
    observed_s = obs.observed_at.timestamp()
    bucket = int(now.timestamp() // FORECAST_BUCKET_SECONDS)
    if history is not None and history.forecast_key == (bucket, observed_s):
        return history.forecast
    epoch_s = history.epoch_s if history is not None else np.empty(0)
    waits = history.wait_minutes if history is not None else np.empty(0)
    if not epoch_s.size or observed_s > epoch_s[-1]:
        epoch_s = np.append(epoch_s, observed_s)
        waits = np.append(waits, obs.wait_minutes)
    model = history.model if history is not None else EMPTY_MODEL
    made = forecast(epoch_s, waits, bucket * FORECAST_BUCKET_SECONDS, region.timezone,
                    model.profile)
    if history is not None:
        history.forecast_key, history.forecast = (bucket, observed_s), made
    return made
