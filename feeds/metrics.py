"""What a poller reports about its feed, as a protocol the application's metrics satisfy.

The feeds package counts polls, errors, retries and observations without importing the
application: whoever builds a poller passes an object with these Prometheus-style families
(``.labels(...).inc()`` / ``.observe()``), such as :class:`waitless.metrics.IngestMetrics`.
"""

from __future__ import annotations

from typing import Any, Protocol


class FeedMetrics(Protocol):
    """Metric families a poller writes; each is labelled by feed name first."""

    feed_polls: Any  # labels(feed, outcome).inc()
    feed_errors: Any  # labels(feed, reason).inc()
    feed_retries: Any  # labels(feed, reason).inc()
    feed_poll_latency: Any  # labels(feed).observe(seconds)
    observations_accepted: Any  # labels(feed).inc(count)
    observations_rejected: Any  # labels(feed, reason).inc()
