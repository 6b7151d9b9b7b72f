"""The region file's ``[load_aware]`` table: load-aware ranking (issue #17, ``docs/herding.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from waitless.domain.errors import WaitlessError
from waitless.domain.region_values import is_number

DEFAULT_MINUTES_PER_PATIENT = {"ed": 9.0, "utc": 6.0, "miu": 7.0}
# (lowest, highest) of each duration, in the unit its name gives. Unbounded, a window of
# 1e6 days ended start-up with OverflowError (no date that far back); a longer horizon has
# no use (it is also the longest trip counted) and makes every sync read back more hours;
# a period below 0.1 s is a busy loop, above a day (or 10 min for the sync) no sharing.
RANGES: dict[str, tuple[float, float]] = {
    "follow_window_days": (0, 366),
    "horizon_minutes": (0, 1440),
    "max_adjustment_minutes": (0, 1440),
    "sync_seconds": (0.1, 600),
    "follow_refresh_seconds": (1, 86400),
}


@dataclass(frozen=True, slots=True)
class LoadAwareSettings:
    """The region's ``[load_aware]`` table.

    Attributes
    ----------
    enabled
        Whether rankings add the adjustment (off unless the simulation shows it never hurts).
    follow_rate
        Share (0-1) of answers whose first result the patient goes to, as assumed before
        recorded choices say otherwise: the prior mean of the observed follow rate and its
        fallback (``docs/herding.md``, "The observed follow rate").
    follow_window_days
        The observed follow rate counts the answers of this many recent days, days.
    follow_min_choices
        Recorded choices (linked to an answer in the window) needed before the observed rate
        replaces ``follow_rate``.
    follow_prior_answers
        Weight of ``follow_rate`` in the observed rate, in answers: it counts as this many
        answers followed at that rate (a Beta prior).
    follow_refresh_seconds
        How often each API worker recomputes the observed follow rate, seconds.
    minutes_per_patient
        Per service kind, minutes one more queued patient adds, when the feed gives no
        queue length to derive it from.
    horizon_minutes
        How long a sent patient is remembered after their expected arrival is due, minutes;
        also the longest trip counted.
    max_adjustment_minutes
        Upper bound on the adjustment, in minutes.
    sync_seconds
        How often API workers share their counts, seconds (see :mod:`waitless.api.load_sync`).
    """

    enabled: bool = False
    follow_rate: float = 0.5
    follow_window_days: float = 7.0
    follow_min_choices: int = 30
    follow_prior_answers: float = 10.0
    follow_refresh_seconds: float = 60.0
    minutes_per_patient: dict[str, float] = field(
        default_factory=lambda: dict(DEFAULT_MINUTES_PER_PATIENT))
    horizon_minutes: float = 240.0
    max_adjustment_minutes: float = 240.0
    sync_seconds: float = 2.0


def parse_load_aware(raw: Mapping[str, Any] | None, *,
                     error: type[WaitlessError]) -> LoadAwareSettings:
    """Validate a ``[load_aware]`` table (``None`` or empty: defaults, adjustment off).

    Raises
    ------
    error
        On unknown keys or values out of range, naming the key.
    """
    raw = dict(raw or {})
    known = {f.name for f in fields(LoadAwareSettings)}
    unknown = sorted(set(raw) - known)
    if unknown:
        msg = f"[load_aware]: unknown key(s) {', '.join(unknown)}; known: {sorted(known)}"
        raise error(msg)
    given = raw.pop("minutes_per_patient", {})
    if not isinstance(given, dict):
        raise error("[load_aware]: minutes_per_patient must be a table")
    per_patient = {**DEFAULT_MINUTES_PER_PATIENT, **given}
    if set(per_patient) - set(DEFAULT_MINUTES_PER_PATIENT) or not all(
            is_number(v) and v > 0 for v in per_patient.values()):
        msg = "[load_aware]: minutes_per_patient needs positive numbers for ed, utc, miu"
        raise error(msg)
    settings = LoadAwareSettings(minutes_per_patient={k: float(v) for k, v in per_patient.items()},
                                 **raw)
    if not isinstance(settings.enabled, bool):
        raise error("[load_aware]: enabled must be true or false")
    if not (is_number(settings.follow_rate) and 0 <= settings.follow_rate <= 1):
        raise error("[load_aware]: follow_rate must be between 0 and 1")
    for name, (lowest, highest) in RANGES.items():
        value = getattr(settings, name)
        # lowest 0 is excluded (a zero period or window means nothing), any other included.
        if not (is_number(value) and (value > 0 if lowest == 0 else value >= lowest)
                and value <= highest):
            above = "above 0" if lowest == 0 else f"at least {lowest:g}"
            msg = (f"[load_aware]: {name} must be a finite number {above}, at most "
                   f"{highest:g}, not {value!r}")
            raise error(msg)
    if not (isinstance(settings.follow_min_choices, int)
            and not isinstance(settings.follow_min_choices, bool)
            and settings.follow_min_choices >= 1):
        raise error("[load_aware]: follow_min_choices must be a whole number, at least 1")
    if not (is_number(settings.follow_prior_answers) and settings.follow_prior_answers >= 0):
        raise error("[load_aware]: follow_prior_answers must be a number of answers, 0 or more")
    return settings

