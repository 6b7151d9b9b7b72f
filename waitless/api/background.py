"""What the service's background loops share: when to run, and one log line per outage.

Three loops run beside the request path in every worker: the rate limit's and load-aware
ranking's count sharing through Redis (:mod:`~waitless.api.rate_limits`,
:mod:`~waitless.api.load_sync`) and the observed follow rate read from PostgreSQL. Each runs
every few seconds and goes on alone when its server does not answer, so each would otherwise
log a warning per round of an outage.
"""

from __future__ import annotations

import logging

# Past the period boundary, so that the other workers' counts written at the boundary are in.
_AFTER_BOUNDARY_S = 0.02


def seconds_to_next_period(period_s: float, now_s: float) -> float:
    """Seconds from ``now_s`` (epoch seconds) to just after the next multiple of ``period_s``.

    Workers that sleep this long run their rounds at the same moments, so each reads what the
    others have just written rather than what they wrote a period earlier.
    """
    return period_s - now_s % period_s + _AFTER_BOUNDARY_S


class OutageLog:
    """Logs when a background job starts failing (a warning) and when it works again (an
    info line): one pair per outage, not a line per failed round."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.failing = False

    def failed(self, message: str, *args: object) -> None:
        if not self.failing:
            self.logger.warning(message, *args)
        self.failing = True

    def recovered(self, message: str, *args: object) -> None:
        if self.failing:
            self.logger.info(message, *args)
        self.failing = False
