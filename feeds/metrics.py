"""What a poller reports about its feed, as a protocol the application's metrics satisfy.

The feeds package counts polls, errors, retries and observations without importing the
application: whoever builds a poller passes an object with these Prometheus-style families
(``.labels(...).inc()`` / ``.observe()``), such as :class:`waitless.metrics.IngestMetrics`.
"""

from __future__ import annotations

from typing import Any, Protocol


class FeedMetrics(Protocol):
    """Metric families a poller writes; each is labelled by region and feed name first
    (two regions may each have a feed of the same name)."""

    feed_polls: Any  # labels(region, feed, outcome).inc()
    feed_errors: Any  # labels(region, feed, reason).inc()
    feed_retries: Any  # labels(region, feed, reason).inc()
    feed_poll_latency: Any  # labels(region, feed).observe(seconds)
    observations_accepted: Any  # labels(region, feed).inc(count)
    observations_rejected: Any  # labels(region, feed, reason).inc()
