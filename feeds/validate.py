"""Validation before anything reaches the live store: pure functions over data.

Checks on the body before parsing are in :mod:`feeds.body`; this module checks the parsed
observations::

    validate_observations(observations, *, region, now, last_good=(), settings=None)
        -> ValidationResult(accepted, rejected)

Settings come from the region file's ``[validation]`` table (``region.validation``); the
staleness limit is ``[ranking] stale_after_minutes``. Every rejection carries a stable,
machine-readable ``reason`` from :data:`REASONS` (documented in ``docs/feeds.md``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from waitless.domain.observation import SITE_STATUSES, WAIT_KINDS, Observation
from waitless.domain.region import Region
from waitless.domain.region_values import is_number
from waitless.domain.validation_settings import ValidationSettings

REASONS: dict[str, str] = {
    "unknown_site": "the site id is not in the region (map the source's name in `sites`)",
    "unknown_service": "the site does not offer that service",
    "duplicate_site": "the payload reports the same site and service more than once",
    "invalid_field": "status, wait kind, timestamp or patient count is not a valid value",
    "not_numeric": "the wait is not a finite number",
    "negative_wait": "the wait is below zero",
    "implausible_high": "the wait is above max_wait_minutes for the service",
    "implausible_low": "the wait is below min_wait_minutes for the service",
    "suspicious_zero": "a zero wait right after a busy figure",
    "sudden_jump": "the wait moved too far, too fast, from the last good figure",
    "future_timestamp": "observed_at is later than now plus the clock-skew allowance",
    "stale": "observed_at is older than the staleness limit",
    "older_than_last_good": "observed_at is before the last good figure's",
}
@dataclass(frozen=True, slots=True)
class Rejection:
    site_id: str
    service: str | None
    reason: str
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"site_id": self.site_id, "service": self.service, "reason": self.reason,
                "detail": self.detail}


@dataclass(frozen=True, slots=True)
class ValidationResult:
    accepted: list[Observation]
    rejected: list[Rejection]


def validate_observations(observations: Iterable[Observation], *, region: Region,
                          now: datetime, last_good: Iterable[Observation] = (),
                          settings: ValidationSettings | None = None) -> ValidationResult:
    """Split a parsed payload into accepted observations and rejections.

    Parameters
    ----------
    observations
        One payload's observations, as an adapter returned them.
    region
        Sites and the services they offer.
    now
        The current time (timezone-aware).
    last_good
        The latest accepted observation per site and service, if any (for jump, zero and
        ordering checks); omit for offline checks.
    settings
        Limits; ``region.validation`` when omitted.

    Returns
    -------
    ``ValidationResult(accepted, rejected)``; each input ends up in exactly one list, in
    input order. A ``None`` wait (no figure published) is accepted when the rest is valid.
    """
    settings = settings or region.validation
    items = list(observations)
    history = {}
    for previous in last_good:
        kind = _service_kind(region, previous)
        if kind is not None:
            history[(previous.site_id, kind)] = previous
    kinds = [_service_kind(region, obs) for obs in items]
    counts = Counter((obs.site_id, kind) for obs, kind in zip(items, kinds, strict=True)
                     if kind is not None)
    accepted, rejected = [], []
    for obs, kind in zip(items, kinds, strict=True):
        problem = _problem(obs, kind, region, now, settings, history, counts)
        if problem is None:
            accepted.append(obs)
        else:
            rejected.append(Rejection(obs.site_id, obs.service, *problem))
    return ValidationResult(accepted, rejected)


def _service_kind(region: Region, obs: Observation) -> str | None:
    site = region.site(obs.site_id) if isinstance(obs.site_id, str) else None
    if site is None:
        return None
    service = site.service(obs.service) if obs.service is None or isinstance(
        obs.service, str) else None
    return service.kind if service is not None else None


def _problem(obs: Observation, kind: str | None, region: Region, now: datetime,
             settings: ValidationSettings, history: dict[tuple[str, str], Observation],
             counts: Counter[tuple[str, str]]) -> tuple[str, str] | None:
    site = region.site(obs.site_id) if isinstance(obs.site_id, str) else None
    if site is None:
        return "unknown_site", f"{obs.site_id!r} is not a site of region {region.name}"
    if kind is None:
        offered = ", ".join(s.kind for s in site.services)
        return "unknown_service", f"{site.id} offers {offered}, not {obs.service!r}"
    if counts[(obs.site_id, kind)] > 1:
        return "duplicate_site", f"{site.id}/{kind} appears {counts[(obs.site_id, kind)]} times"
    field_problem = _field_problem(obs)
    if field_problem:
        return "invalid_field", field_problem
    age_minutes = (now - obs.observed_at).total_seconds() / 60
    if -age_minutes > settings.clock_skew_minutes:
        return "future_timestamp", f"observed_at {obs.observed_at.isoformat()} is " \
            f"{-age_minutes:.0f} min ahead of now"
    if age_minutes > settings.stale_after_minutes:
        return "stale", f"observed_at is {age_minutes:.0f} min old " \
            f"(limit {settings.stale_after_minutes:g})"
    previous = history.get((obs.site_id, kind))
    if previous is not None and obs.observed_at < previous.observed_at:
        return "older_than_last_good", f"observed_at is before the last good " \
            f"{previous.observed_at.isoformat()}"
    for value in (obs.wait_minutes, obs.wait_p95_minutes):
        value_problem = _value_problem(value, kind, settings)
        if value_problem:
            return value_problem
    if obs.wait_minutes is None or previous is None or not is_number(previous.wait_minutes):
        return None
    return _history_problem(obs.wait_minutes, obs.observed_at, previous, settings)


def _field_problem(obs: Observation) -> str | None:
    if obs.status not in SITE_STATUSES:
        return f"status {obs.status!r} is not one of {', '.join(SITE_STATUSES)}"
    if obs.wait_kind not in WAIT_KINDS:
        return f"wait_kind {obs.wait_kind!r} is not one of {', '.join(WAIT_KINDS)}"
    if not isinstance(obs.observed_at, datetime) or obs.observed_at.tzinfo is None:
        return f"observed_at {obs.observed_at!r} is not a timezone-aware time"
    patients = obs.patients_waiting
    if patients is not None and (isinstance(patients, bool) or not isinstance(patients, int)
                                 or patients < 0):
        return f"patients_waiting {patients!r} is not a count of patients (0 or more)"
    if (is_number(obs.wait_minutes) and is_number(obs.wait_p95_minutes)
            and obs.wait_p95_minutes < obs.wait_minutes):
        return f"p95 {obs.wait_p95_minutes:g} min is below the median {obs.wait_minutes:g} min"
    return None


def _value_problem(value: Any, kind: str, settings: ValidationSettings) -> tuple[str, str] | None:
    if value is None:
        return None
    if not is_number(value):
        return "not_numeric", f"wait {value!r} is not a number of minutes"
    if value < 0:
        return "negative_wait", f"wait {value:g} min is negative"
    high = settings.max_wait_minutes.get(kind, math.inf)
    if value > high:
        return "implausible_high", f"wait {value:g} min at a {kind} is above {high:g} min"
    low = settings.min_wait_minutes.get(kind, 0.0)
    if value < low:
        return "implausible_low", f"wait {value:g} min at a {kind} is below {low:g} min"
    return None


def _history_problem(wait_minutes: float, observed_at: datetime, previous: Observation,
                     settings: ValidationSettings) -> tuple[str, str] | None:
    gap = observed_at - previous.observed_at
    before = float(previous.wait_minutes)
    if (wait_minutes == 0 and before >= settings.zero_suspect_after_minutes
            and gap <= timedelta(minutes=settings.stale_after_minutes)):
        return "suspicious_zero", f"0 min right after {before:g} min " \
            f"({gap.total_seconds() / 60:.0f} min earlier)"
    if gap > timedelta(minutes=settings.jump_window_minutes):
        return None
    low, high = sorted((wait_minutes, before))
    if high - low > settings.jump_floor_minutes and high > settings.jump_factor * max(low, 1.0):
        return "sudden_jump", f"{before:g} -> {wait_minutes:g} min within " \
            f"{gap.total_seconds() / 60:.0f} min (factor {settings.jump_factor:g}, " \
            f"floor {settings.jump_floor_minutes:g} min)"
    return None
