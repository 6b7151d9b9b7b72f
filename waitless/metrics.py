"""Prometheus metrics, one registry per process-level component (no global registry).

Feed metrics come in two kinds. Counters and the poll-latency histogram are counted where the
poll or push happens (the ingesting process). Ages, last-success times and circuit state are
read at scrape time from the feed statuses and observations in the API's live snapshot
(:class:`FeedStateCollector`), so they are right whether the ingestor runs in-process or
writes to Redis from another process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_POLL_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
CIRCUIT_STATES = ("closed", "half_open", "open")
# What the state collector reads: (feed statuses, current observations by key, now).
FeedState = tuple[Mapping[str, Mapping[str, Any]], Mapping[str, Any], datetime]


class Metrics:
    """Every metric WaitLess exports, registered in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # Labelled children of the per-request metrics, kept: on the ranking path a labels()
        # call (validation, a lock, a dict) cost more than the count itself (issue 12).
        self._children: dict[tuple[Any, ...], Any] = {}
        self.http_requests = Counter(
            "waitless_http_requests_total", "HTTP requests answered",
            ["route", "status"], registry=r)
        self.http_latency = Histogram(
            "waitless_http_request_seconds", "HTTP request handling time in seconds",
            ["route"], buckets=_LATENCY_BUCKETS_S, registry=r)
        self.rankings = Counter(
            "waitless_rankings_total", "Ranking answers by outcome", ["outcome"], registry=r)
        self.snapshot_age = Gauge(
            "waitless_live_snapshot_age_seconds",
            "Seconds since the API last loaded the live snapshot", registry=r)
        self.snapshot_reload_errors = Counter(
            "waitless_live_snapshot_errors_total",
            "Failed live snapshot reloads", registry=r)
        self.feed_polls = Counter(
            "waitless_feed_polls_total", "Feed polls by outcome", ["feed", "outcome"],
            registry=r)
        self.feed_errors = Counter(
            "waitless_feed_errors_total", "Feed poll failures by reason", ["feed", "reason"],
            registry=r)
        self.feed_poll_latency = Histogram(
            "waitless_feed_poll_seconds", "Feed poll time (fetch, retries, parse, validate, "
            "store) in seconds", ["feed"], buckets=_POLL_BUCKETS_S, registry=r)
        self.feed_retries = Counter(
            "waitless_feed_retries_total", "In-poll retries after transient errors",
            ["feed", "reason"], registry=r)
        self.observations_rejected = Counter(
            "waitless_observations_rejected_total", "Observations kept out of the live store",
            ["feed", "reason"], registry=r)
        self.observations_accepted = Counter(
            "waitless_observations_accepted_total", "Observations written to the live store",
            ["feed"], registry=r)
        self.site_wait_age = Gauge(
            "waitless_site_wait_age_seconds", "Age of the wait figure used per site service",
            ["site", "service"], registry=r)
        self.events_written = Counter(
            "waitless_events_written_total", "Events written to PostgreSQL", registry=r)
        self.events_spooled = Counter(
            "waitless_events_spooled_total", "Events written to the local spool", registry=r)
        self.events_dropped = Counter(
            "waitless_events_dropped_total",
            "Events dropped because the spool was full", registry=r)
        self.spool_bytes = Gauge(
            "waitless_event_spool_bytes", "Bytes waiting in the event spool", registry=r)
        self.event_queue = Gauge(
            "waitless_event_queue_length", "Events queued in memory for the writer", registry=r)
        # Load-aware ranking (docs/herding.md): set only where it is enabled.
        self.follow_rate = Gauge(
            "waitless_load_aware_follow_rate",
            "Share of answers whose first result is followed, as load-aware ranking uses it; "
            "source: observed (from recorded choices) or prior (the region setting)",
            ["source"], registry=r)
        self.follow_sample = Gauge(
            "waitless_load_aware_follow_sample",
            "What the follow rate rests on, over its window: ranked answers, answers with a "
            "recorded choice, answers whose choice was their first result", ["count"],
            registry=r)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its handling time."""
        key = ("http", route, status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (self.http_requests.labels(route, str(status)),
                                              self.http_latency.labels(route))
        children[0].inc()
        children[1].observe(seconds)

    def count_ranking(self, outcome: str) -> None:
        """Count one ranking answer by outcome (``ranked``, ``emergency``, ...)."""
        key = ("ranking", outcome)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.rankings.labels(outcome)
        child.inc()

    def watch_feeds(self, source: Callable[[], FeedState]) -> None:
        """Export feed and site-service ages and circuit state from ``source`` at scrape."""
        self.registry.register(FeedStateCollector(source))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _timestamp(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


class FeedStateCollector:
    """Gauges computed at scrape time from the live snapshot (see the module docstring)."""

    def __init__(self, source: Callable[[], FeedState]) -> None:
        self._source = source

    def describe(self) -> list[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        statuses, observations, now = self._source()
        yield from self._families(statuses, observations, now)

    @staticmethod
    def _families(statuses: Mapping[str, Mapping[str, Any]] | None = None,
                  observations: Mapping[str, Any] | None = None,
                  now: datetime | None = None) -> Iterator[Metric]:
        last_ok = GaugeMetricFamily(
            "waitless_feed_last_success_timestamp_seconds",
            "Unix time of the feed's last successful poll or push", labels=["feed"])
        age = GaugeMetricFamily(
            "waitless_feed_last_success_age_seconds",
            "Seconds since the feed's last successful poll or push", labels=["feed"])
        circuit = GaugeMetricFamily(
            "waitless_feed_circuit_state",
            "1 for the feed's current circuit-breaker state", labels=["feed", "state"])
        failures = GaugeMetricFamily(
            "waitless_feed_consecutive_failures", "Failed polls in a row", labels=["feed"])
        held = GaugeMetricFamily(
            "waitless_feed_rejections_current",
            "Site services whose latest value from the feed was rejected, by reason",
            labels=["feed", "reason"])
        site_time = GaugeMetricFamily(
            "waitless_site_last_good_timestamp_seconds",
            "Unix time the site service's last good value was observed", labels=[
                "feed", "site", "service"])
        site_age = GaugeMetricFamily(
            "waitless_site_last_good_age_seconds",
            "Age of the site service's last good value, by its observed_at",
            labels=["feed", "site", "service"])
        for feed, status in sorted((statuses or {}).items()):
            ok_at = _timestamp(status.get("last_ok_at"))
            if ok_at is not None:
                last_ok.add_metric([feed], ok_at)
                age.add_metric([feed], now.timestamp() - ok_at)
            for state in CIRCUIT_STATES:
                circuit.add_metric([feed, state], float(status.get("circuit") == state))
            failures.add_metric([feed], status.get("consecutive_failures", 0))
            reasons: dict[str, int] = {}
            for rejection in status.get("rejections", []):
                reasons[rejection["reason"]] = reasons.get(rejection["reason"], 0) + 1
            for reason, count in sorted(reasons.items()):
                held.add_metric([feed, reason], count)
        for obs in (observations or {}).values():
            labels = [obs.feed, obs.site_id, obs.service or ""]
            site_time.add_metric(labels, obs.observed_at.timestamp())
            site_age.add_metric(labels, (now - obs.observed_at).total_seconds())
        yield from (last_ok, age, circuit, failures, held, site_time, site_age)
