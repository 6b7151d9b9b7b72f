"""The event log deletes its own quarantine's files once they pass the retention period.

``waitless events prune`` reaches only the quarantine under its own ``WAITLESS_SPOOL_DIR``.
Where each API process has a spool of its own (a Kubernetes pod's ``emptyDir``, which the
CronJob's pod does not mount), nothing else deletes these event rows (docs/privacy.md). So each
event log prunes the quarantine it writes to when it starts, then at most once every
``prune_period_seconds`` by its own clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from waitless.events.quarantine import PrunedQuarantine, Quarantine, prune_quarantine
from waitless.metrics import Metrics
from waitless.settings import EVENT_RETENTION_DAYS

logger = logging.getLogger(__name__)
# Retention is counted in days: pruning hourly keeps a file at most an hour past it, for a
# directory scan an hour.
PRUNE_PERIOD_SECONDS = 3600.0

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, aware, in UTC."""
    return datetime.now(UTC)


async def prune_expired(quarantine: Quarantine, *, now: datetime, retention_days: int,
                        metrics: Metrics) -> PrunedQuarantine:
    """Delete the quarantine files kept before ``now`` less ``retention_days``; count and log
    what went.

    Runs in a thread (it reads and deletes files). Never raises: the caller is the event
    log's writer, which must outlive a failed prune (tried again the next period).

    Parameters
    ----------
    quarantine
        The event log's quarantine.
    now
        The time now.
    retention_days
        How long event rows are kept, in days (``WAITLESS_EVENT_RETENTION_DAYS``).
    metrics
        Where ``waitless_events_quarantine_pruned_total`` counts the records deleted and
        ``waitless_events_quarantine_prune_failures_total`` the prunes that failed or left a
        file past retention.

    Returns
    -------
    PrunedQuarantine
        Files and records deleted (none when the prune failed).
    """
    cutoff = now - timedelta(days=retention_days)
    try:
        pruned = await asyncio.to_thread(prune_quarantine, quarantine.directory,
                                         older_than=cutoff)
    except Exception:
        # Counted as well as logged: rows past retention staying on disk is a privacy matter
        # an operator must hear about (alert WaitLessQuarantinePruneFailing).
        metrics.events_quarantine_prune_failures.inc()
        logger.exception("event log: pruning quarantine %s failed", quarantine.directory)
        return PrunedQuarantine(0, 0)
    if pruned.left:  # each named in a warning; the others were pruned
        metrics.events_quarantine_prune_failures.inc()
    if pruned.files:
        metrics.events_quarantine_pruned.inc(pruned.records)
        logger.info("event log: deleted %d quarantined events and unreadable lines (%d files) "
                    "kept before %s, past the %d-day retention, from %s", pruned.records,
                    pruned.files, f"{cutoff:%Y-%m-%d %H:%M %Z}", retention_days,
                    quarantine.directory)
    return pruned


class QuarantineRetention:
    """When an event log prunes its quarantine: at its start, then at most once a period.

    Parameters
    ----------
    retention_days
        Quarantine files kept longer than this are deleted, in days.
    prune_period_seconds
        At most one prune this often, in seconds by ``clock``.
    clock
        Source of "now", aware (the app's clock; tests move it).
    """

    def __init__(self, retention_days: int = EVENT_RETENTION_DAYS, *,
                 prune_period_seconds: float = PRUNE_PERIOD_SECONDS,
                 clock: Clock = utc_now) -> None:
        self.retention_days = retention_days
        self.prune_period_seconds = prune_period_seconds
        self.clock = clock
        self.pruned_at: datetime | None = None  # the last prune, by ``clock``; None: none yet

    def due(self, now: datetime) -> bool:
        """Whether a prune is due at ``now``."""
        if self.pruned_at is None:
            return True
        elapsed_seconds = (now - self.pruned_at).total_seconds()
        # A clock set back (by an operator, or a replayed one) must not hold pruning off until
        # it has caught up with the last prune: that could be days.
        return elapsed_seconds < 0 or elapsed_seconds >= self.prune_period_seconds

    async def prune_if_due(self, quarantine: Quarantine, metrics: Metrics) -> PrunedQuarantine:
        """Prune ``quarantine`` (:func:`prune_expired`) if due; never raises.

        Returns
        -------
        PrunedQuarantine
            Files and records deleted (none when not due).
        """
        now = self.clock()
        if not self.due(now):
            return PrunedQuarantine(0, 0)
        self.pruned_at = now
        return await prune_expired(quarantine, now=now, retention_days=self.retention_days,
                                   metrics=metrics)
