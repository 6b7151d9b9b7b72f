"""The compiled ranking state: everything a ranking needs that does not depend on the origin.

Built from the region, the live snapshot, the prediction state and an instant ``now``; it stays
valid for later instants until the snapshot or the prediction state is replaced, or the clock
crosses a boundary that changes any answer (the forecast bucket, a wait turning stale, an age
rounding to the next 0.1 minute, ...). :func:`waitless.ranking.fast.rank_json` answers requests
from it; :func:`waitless.ranking.rank.rank` stays the reference it must agree with exactly.

Per site service it holds: eligibility (conditions treated, minimum age), the opening-hours
table, whether the feed reports it closed, the wait as estimated now, how to predict the wait at
any arrival (a constant, or the shared forecast), and the JSON bytes of every part of a result
that does not depend on the origin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import orjson

from waitless.domain.observation import Observation
from waitless.domain.region import Region
from waitless.domain.sites import Service
from waitless.ranking.compiled_hours import (
    US,
    HoursTable,
    OffsetTable,
    abs_us,
    compile_hours,
    compile_offsets,
)
from waitless.ranking.history import ServiceHistory
from waitless.ranking.predict import (
    EMPTY_MODEL,
    P90_FALLBACK_RATIO,
    Forecast,
    Prediction,
    WaitModel,
    confidence,
)
from waitless.ranking.results import EXCLUSION_REASONS
from waitless.ranking.waits import (
    FORECAST_BUCKET_SECONDS,
    FUTURE_TOLERANCE,
    ArrivalWait,
    WaitEstimate,
    _forecast,
    estimate_wait,
)

_KIND_PREFERENCE = {"utc": 0, "miu": 0, "ed": 1}
# Stay this far (microseconds) on the safe side of every boundary computed in floats.
_SAFETY_US = 1_000
_HIGH_CONFIDENCE_AGE_MINUTES = 15  # as waitless.ranking.predict.confidence


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(slots=True)
class CompiledService:
    """One site service, compiled."""

    site_index: int
    service: Service
    preference: int
    table: HoursTable | None        # None: open round the clock
    reported_closed: bool
    wait: WaitEstimate
    fixed: ArrivalWait | None       # the wait at arrival when it does not depend on arrival
    forecast: Forecast | None = None
    model: WaitModel = EMPTY_MODEL
    p90_horizons: tuple[int, ...] = ()
    p90_factors: tuple[float, ...] = ()
    head_json: bytes = b""          # '{"site_id":...,"open":true,"open_until":'
    wait_json: bytes = b""          # ',"hours_verified":...,"predicted_wait_minutes":'
    # head + open_until + open_24h + wait JSON per (closing, open_24h) seen by requests.
    prefixes: dict[tuple[int, bool], bytes] = field(default_factory=dict)

    def expected(self, horizon_minutes: float, tz: ZoneInfo
                 ) -> tuple[float, float | None, str, str]:
        """(p50, p90, method, confidence) of the wait at an arrival ``horizon_minutes`` after
        now, as :func:`waitless.ranking.waits.arrival_wait` computes them."""
        fixed = self.fixed
        if fixed is not None:
            return fixed.p50_minutes, fixed.p90_minutes, fixed.method, fixed.confidence
        p50, method = self.forecast.p50_at(horizon_minutes, tz, self.model.profile)
        if self.p90_horizons:
            k = len(self.p90_horizons) - 1
            for i, h in enumerate(self.p90_horizons):  # the first horizon at or past arrival
                if h >= horizon_minutes:
                    k = i
                    break
            p90 = (p50 + 1) * self.p90_factors[k] - 1
        else:
            p90 = p50 * P90_FALLBACK_RATIO
        p90 = max(p90, p50)
        width = p90 - p50
        wait = self.wait
        if (wait.age_minutes <= _HIGH_CONFIDENCE_AGE_MINUTES and method == "seasonal"
                and self.p90_horizons and width <= max(15.0, 0.35 * p50)):
            level = "high"
        else:
            level = "medium"
        return p50, p90, method, level


@dataclass(slots=True)
class CompiledRegion:
    """What depends on the region and the calendar only: hours tables, static JSON pieces."""

    region: Region
    around: date
    tables: dict[tuple[int, str], HoursTable | None]
    offsets: OffsetTable
    excluded_json: dict[tuple[int, str], bytes]
    heads: dict[tuple[int, str], bytes]
    margin_us: int             # the region's closing margin, microseconds
    core: object = None        # offsets and tables as the compiled loop reads them (ranking.core)


def compile_region(region: Region, around: date) -> CompiledRegion:
    tz = region.timezone
    tables = {(i, s.kind): compile_hours(s.hours, tz, around)
              for i, site in enumerate(region.sites) for s in site.services}
    excluded = {(i, reason): orjson.dumps({"site_id": site.id, "name": site.name,
                                           "reason": reason, "detail": detail})
                for i, site in enumerate(region.sites)
                for reason, detail in EXCLUSION_REASONS.items()}
    heads = {(i, s.kind): _head_json(region, i, s)
             for i, site in enumerate(region.sites) for s in site.services}
    margin_us = timedelta(minutes=region.ranking.closing_margin_minutes) // US
    return CompiledRegion(region, around, tables, compile_offsets(tz, around), excluded, heads,
                          margin_us)


@dataclass(slots=True)
class CompiledState:
    """The compiled ranking state for one snapshot and forecast bucket: valid for ``now`` in
    ``[from_us, until_us)`` (absolute microseconds). Sites are compiled when a request first
    needs them and recompiled when ``now`` leaves their own window (a wait turning stale, its
    age rounding to the next 0.1 minute), so a 500-site region only compiles the sites
    requests reach."""

    static: CompiledRegion
    observations: Mapping[str, Observation]
    history: Mapping[str, ServiceHistory] | None
    from_us: int
    until_us: int
    sites: list[list[CompiledService] | None]
    site_from_us: list[int]
    site_until_us: list[int]
    # Per site, ``sites`` as the compiled loop reads them (waitless.ranking.core); reset with them.
    cores: list[list | None]

    def site(self, index: int, now: datetime, now_us: int) -> list[CompiledService]:
        """The compiled services of site ``index``, valid at ``now``."""
        services = self.sites[index]
        if (services is None or now_us < self.site_from_us[index]
                or now_us >= self.site_until_us[index]):
            services, until_us = compile_site(self, index, now, now_us)
            self.sites[index] = services
            self.cores[index] = None
            self.site_from_us[index], self.site_until_us[index] = now_us, until_us
        return services


def _head_json(region: Region, site_index: int, service: Service) -> bytes:
    site = region.sites[site_index]
    head = orjson.dumps({"site_id": site.id, "name": site.name, "town": site.town,
                         "lat": site.lat, "lon": site.lon, "kind": service.kind, "open": True})
    return head[:-1] + b',"open_until":'


def _wait_json(service: Service, wait: WaitEstimate) -> bytes:
    part = orjson.dumps({
        "hours_verified": service.hours_verified,
        "wait_minutes": _round(wait.reported_minutes),
        "wait_kind": wait.kind,
        "wait_observed_at": wait.observed_at.isoformat() if wait.observed_at else None,
        "wait_age_minutes": _round(wait.age_minutes),
        "wait_status": wait.status,
        "patients_waiting": wait.patients_waiting,
    })
    return b"," + part[1:-1] + b',"predicted_wait_minutes":'


class _Boundaries:
    """The earliest instant after ``now`` at which a compiled value would change."""

    def __init__(self, now_us: int) -> None:
        self.now_us = now_us
        self.until_us = now_us + 86_400_000_000

    def at(self, moment_us: float) -> None:
        """A value flips at ``moment_us`` (computed in floats: keep a safety margin)."""
        if moment_us > self.now_us - _SAFETY_US:
            self.until_us = min(self.until_us, int(moment_us) - _SAFETY_US)


def _observation_boundaries(bounds: _Boundaries, region: Region, obs: Observation,
                            wait: WaitEstimate) -> None:
    observed_us = abs_us(obs.observed_at)
    minute_us = 60_000_000
    settings = region.ranking
    bounds.at(observed_us + settings.stale_after_minutes * minute_us)   # fresh / stale
    bounds.at(observed_us + _HIGH_CONFIDENCE_AGE_MINUTES * minute_us)   # confidence
    bounds.at(observed_us - FUTURE_TOLERANCE // US)                     # implausible (future)
    if wait.age_minutes is not None:  # the displayed age rounds to the next 0.1 minute
        bounds.at(observed_us + (round(wait.age_minutes, 1) + 0.05) * minute_us)


def _p90_table(model: WaitModel) -> tuple[tuple[int, ...], tuple[float, ...]]:
    horizons = tuple(sorted(model.log_residual_q90))
    # As waitless.ranking.predict.predict_from: never narrower than p50, np.exp as there.
    factors = tuple(float(np.exp(max(model.log_residual_q90[h], 0.0))) for h in horizons)
    return horizons, factors


def compile_state(static: CompiledRegion, observations: Mapping[str, Observation],
                  history: Mapping[str, ServiceHistory] | None, now: datetime) -> CompiledState:
    """The state for ``now``'s forecast bucket; sites are compiled on first use."""
    now_us = abs_us(now)
    bucket = int(now.timestamp() // FORECAST_BUCKET_SECONDS)
    bounds = _Boundaries(now_us)
    bounds.at((bucket + 1) * FORECAST_BUCKET_SECONDS * 1_000_000)
    n = len(static.region.sites)
    return CompiledState(static, observations, history, now_us, bounds.until_us,
                         [None] * n, [0] * n, [0] * n, [None] * n)


def compile_site(state: CompiledState, index: int, now: datetime, now_us: int
                 ) -> tuple[list[CompiledService], int]:
    """One site's services compiled at ``now``, and until when (microseconds) they hold."""
    static = state.static
    region = static.region
    site = region.sites[index]
    bounds = _Boundaries(now_us)
    stale_after = region.ranking.stale_after_minutes
    compiled: list[CompiledService] = []
    for service in site.services:
        key = f"{site.id}/{service.kind}"
        obs = state.observations.get(key)
        wait = estimate_wait(region, service.kind, obs, now)
        closed = (obs is not None and obs.status == "closed"
                  and (now - obs.observed_at).total_seconds() / 60 <= stale_after)
        item = CompiledService(index, service, _KIND_PREFERENCE[service.kind],
                               static.tables[(index, service.kind)], closed, wait, None)
        if obs is not None:
            _observation_boundaries(bounds, region, obs, wait)
        _compile_expected(item, region, obs, (state.history or {}).get(key), now)
        item.head_json = static.heads[(index, service.kind)]
        item.wait_json = _wait_json(service, wait)
        compiled.append(item)
    return compiled, bounds.until_us


def _compile_expected(item: CompiledService, region: Region, obs: Observation | None,
                      history: ServiceHistory | None, now: datetime) -> None:
    """As :func:`waitless.ranking.waits.arrival_wait`, with the arrival left open."""
    wait = item.wait
    if wait.status == "stale":
        item.fixed = ArrivalWait(wait.predicted_minutes, None, "stale_penalty", "low")
        return
    if wait.status != "live" or obs is None or obs.wait_minutes is None:
        item.fixed = ArrivalWait(wait.predicted_minutes, None, "assumed", "low")
        return
    model = history.model if history is not None else EMPTY_MODEL
    base = _forecast(region, obs, history, now)
    if base is None:  # the live reading is the only one and lies ahead of ``now``
        made = Prediction(obs.wait_minutes, obs.wait_minutes * P90_FALLBACK_RATIO, "now")
        item.fixed = ArrivalWait(made.p50_minutes, made.p90_minutes, made.method,
                                 confidence(wait.status, wait.age_minutes, made, model))
        return
    item.forecast, item.model = base, model
    item.p90_horizons, item.p90_factors = _p90_table(model)
