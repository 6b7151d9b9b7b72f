"""A deterministic model of waiting times for the feed simulator.

Shape, from ``shared/reference/field-notes.md``: ED arrivals peak late morning with a second
weekday peak around 18:00 and a trough 03:00-05:00; waits are longest for arrivals late in the
evening and overnight and shortest around 08:00-09:00; Monday is the busiest day. UTC and MIU
queues are short, empty at opening and build through the day. Noise is smooth value noise on
ten-minute knots, seeded, so the same seed and instant always give the same wait.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from zoneinfo import ZoneInfo

BASE_WAIT_MINUTES = {"ed": 190.0, "utc": 55.0, "miu": 35.0}
MINUTES_PER_PATIENT = {"ed": 9.0, "utc": 6.0, "miu": 7.0}
NOISE_AMPLITUDE = 0.22
NOISE_KNOT_MINUTES = 10

# Multiplier on the base wait by local hour of day.
_ED_HOURLY = (1.25, 1.3, 1.3, 1.25, 1.15, 1.0, 0.85, 0.7, 0.6, 0.62, 0.72, 0.84,
              0.95, 1.0, 1.05, 1.1, 1.12, 1.15, 1.2, 1.2, 1.2, 1.22, 1.25, 1.25)
_MINOR_HOURLY = (0.8, 0.75, 0.7, 0.65, 0.6, 0.55, 0.5, 0.45, 0.35, 0.55, 0.8, 0.95,
                 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.3, 1.3, 1.2, 1.0, 0.9, 0.85)
# Monday busiest, weekends a little quieter.
_WEEKDAY_FACTOR = (1.12, 1.03, 1.0, 1.0, 1.02, 0.95, 0.93)


def _unit_hash(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _value_noise(seed: int, key: str, epoch_minutes: float) -> float:
    """Smooth noise in [-1, 1], interpolated between seeded knots."""
    knot, frac = divmod(epoch_minutes / NOISE_KNOT_MINUTES, 1.0)
    a = _unit_hash(seed, key, int(knot)) * 2 - 1
    b = _unit_hash(seed, key, int(knot) + 1) * 2 - 1
    smooth = (1 - math.cos(math.pi * frac)) / 2
    return a + (b - a) * smooth


def site_factor(seed: int, site_id: str, kind: str) -> float:
    """How busy a site service is relative to its kind's base, in [0.7, 1.4)."""
    return 0.7 + 0.7 * _unit_hash(seed, "site", site_id, kind)


def simulated_wait_minutes(seed: int, site_id: str, kind: str, at: datetime,
                           tz: ZoneInfo) -> float:
    """The simulated wait in minutes at instant ``at`` for one site service.

    Parameters
    ----------
    seed
        Simulation seed; the same seed and instant give the same wait.
    site_id, kind
        The site service (``kind`` is ``"ed"``, ``"utc"`` or ``"miu"``).
    at
        A timezone-aware instant.
    tz
        The region's timezone (the daily pattern follows local wall-clock time).
    """
    local = at.astimezone(tz)
    hour_pos = local.hour + local.minute / 60
    hourly = _ED_HOURLY if kind == "ed" else _MINOR_HOURLY
    lo = hourly[int(hour_pos) % 24]
    hi = hourly[(int(hour_pos) + 1) % 24]
    shape = lo + (hi - lo) * (hour_pos % 1)
    epoch_minutes = at.timestamp() / 60
    noise = _value_noise(seed, f"{site_id}/{kind}", epoch_minutes)
    wait = (BASE_WAIT_MINUTES[kind] * site_factor(seed, site_id, kind) * shape
            * _WEEKDAY_FACTOR[local.weekday()] * (1 + NOISE_AMPLITUDE * noise))
    return round(max(wait, 0.0), 1)


def simulated_patients_waiting(wait_minutes: float, kind: str) -> int:
    """A patient count consistent with the wait (queue length = wait / service time)."""
    return max(0, round(wait_minutes / MINUTES_PER_PATIENT[kind]))
