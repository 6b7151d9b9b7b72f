"""A poller's timing rules: retry and backoff numbers, the circuit breaker, ``Retry-After``.

Plain values and arithmetic on seconds; the poller (:mod:`feeds.poller`) applies them with the
clocks it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from waitless.domain.errors import ConfigError
from waitless.domain.region_values import is_number


@dataclass(frozen=True, slots=True)
class PollerSettings:
    """Retry, backoff and circuit-breaker numbers for one feed (seconds, counts).

    Attributes
    ----------
    retries
        Extra attempts within one poll after a timeout, connection error or 5xx.
    retry_base_seconds
        First in-poll retry delay; doubles per retry (capped at half the interval).
    backoff_max_seconds
        Cap on the delay between failed polls (interval x 2^(failures - 1)).
    circuit_open_after
        Failed polls in a row that open the circuit.
    circuit_cooldown_seconds
        How long an open circuit waits before its half-open probe.
    retry_after_max_seconds
        Cap on a server's ``Retry-After``.
    jitter
        Every delay is multiplied by a random factor in ``1 ± jitter``.
    """

    retries: int = 2
    retry_base_seconds: float = 1.0
    backoff_max_seconds: float = 600.0
    circuit_open_after: int = 5
    circuit_cooldown_seconds: float = 300.0
    retry_after_max_seconds: float = 3600.0
    jitter: float = 0.1

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PollerSettings:
        """Settings from a feed's options (only the keys named like the attributes).

        Raises
        ------
        ConfigError
            Naming the option: not a number, negative, a count that is not whole
            (``retries = 2.5``), or a ``jitter`` of 1 or more (delays could reach zero).
        """
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in options:
                whole = f.type in ("int", int)
                value = options[f.name]
                if (not is_number(value) or value < 0
                        or (whole and value != int(value))):
                    kind = "a whole number, 0 or more" if whole else "a non-negative number"
                    msg = f"feed option {f.name!r} must be {kind}, got {value!r}"
                    raise ConfigError(msg)
                values[f.name] = int(value) if whole else float(value)
        if values.get("jitter", 0.0) >= 1:
            msg = f"feed option 'jitter' must be below 1, got {values['jitter']!r}"
            raise ConfigError(msg)
        return cls(**values)


POLLER_OPTIONS: tuple[str, ...] = tuple(f.name for f in fields(PollerSettings))


class CircuitBreaker:
    """closed -> open after ``open_after`` failures -> half_open after ``cooldown_seconds``."""

    def __init__(self, open_after: int, cooldown_seconds: float) -> None:
        self.open_after = max(open_after, 1)
        self.cooldown_seconds = cooldown_seconds
        self.state = "closed"
        self.failures = 0
        self.opened_monotonic: float | None = None

    def allow(self, now_monotonic: float) -> bool:
        """May a request go out now? Moves open to half_open once the cool-down is over."""
        if self.state == "open" and now_monotonic - self.opened_monotonic >= self.cooldown_seconds:
            self.state = "half_open"
        return self.state != "open"

    def seconds_until_probe(self, now_monotonic: float) -> float:
        if self.state != "open":
            return 0.0
        return max(self.opened_monotonic + self.cooldown_seconds - now_monotonic, 0.0)

    def record_success(self) -> None:
        self.state, self.failures, self.opened_monotonic = "closed", 0, None

    def record_failure(self, now_monotonic: float) -> None:
        self.failures += 1
        if self.state == "half_open" or self.failures >= self.open_after:
            self.state, self.opened_monotonic = "open", now_monotonic


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """A ``Retry-After`` header (delta seconds or HTTP date) as seconds from ``now``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)
