"""Prometheus metrics, one registry per process-level component (no global registry)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class Metrics:
    """Every metric WaitLess exports, registered in its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
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
            "waitless_feed_poll_seconds", "Feed fetch-and-parse time in seconds", ["feed"],
            registry=r)
        self.feed_last_success = Gauge(
            "waitless_feed_last_success_timestamp_seconds",
            "Unix time of the last successful poll", ["feed"], registry=r)
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

    def render(self) -> bytes:
        return generate_latest(self.registry)
