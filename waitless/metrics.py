"""Prometheus metrics, one registry per process-level component (no global registry).

Feed metrics come in two kinds. Counters and the poll-latency histogram are counted where the
poll or push happens (the ingesting process). Ages, last-success times and circuit state are
read at scrape time from the feed statuses and observations in the API's live snapshots, one
per region served (:class:`FeedStateCollector`), so they are right whether the ingestor runs
in-process or writes to Redis from another process. Every feed and site series carries the
``region``: two regions may each name a feed alike, and their series must stay apart.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from itertools import accumulate
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.utils import floatToGoString

__all__ = ["CONTENT_TYPE_LATEST", "IngestMetrics", "Metrics"]

_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_LAG_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
_POLL_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
CIRCUIT_STATES = ("closed", "half_open", "open")
# One region's state as the collector reads it: (feed statuses, current observations by key).
RegionFeedState = tuple[Mapping[str, Mapping[str, Any]], Mapping[str, Any]]
# What the state collector reads: (every served region's state by region name, now).
FeedState = tuple[Mapping[str, RegionFeedState], datetime]


class IngestMetrics:
    """What a process that polls feeds counts (``waitless ingest``), in its own registry.

    Only these: an ingestor that also exported the API's families showed as one more API
    process on every dashboard (a snapshot age of 0, an empty spool, no events written).
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # Every feed series names its region: two regions may each have a feed of the same
        # name, and their ingestors' series must not add up as one feed in an alert.
        self.feed_polls = Counter(
            "waitless_feed_polls_total", "Feed polls by outcome", ["region", "feed", "outcome"],
            registry=r)
        self.feed_errors = Counter(
            "waitless_feed_errors_total", "Feed poll failures by reason",
            ["region", "feed", "reason"], registry=r)
        self.feed_poll_latency = Histogram(
            "waitless_feed_poll_seconds", "Feed poll time (fetch, retries, parse, validate, "
            "store) in seconds", ["region", "feed"], buckets=_POLL_BUCKETS_S, registry=r)
        self.feed_retries = Counter(
            "waitless_feed_retries_total", "In-poll retries after transient errors",
            ["region", "feed", "reason"], registry=r)
        self.observations_rejected = Counter(
            "waitless_observations_rejected_total", "Observations kept out of the live store",
            ["region", "feed", "reason"], registry=r)
        self.observations_accepted = Counter(
            "waitless_observations_accepted_total", "Observations written to the live store",
            ["region", "feed"], registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class Metrics(IngestMetrics):
    """Every metric the API exports: the feed counters (pushes are taken by the API, and polls
    too when it runs the pollers itself, as ``waitless dev`` does) and the API's own."""

    def __init__(self) -> None:
        super().__init__()
        r = self.registry
        # Requests, their handling time and ranking outcomes: counted on every request.
        self.requests = RequestCounts()
        r.register(self.requests)
        self.loop_lag = Histogram(
            "waitless_event_loop_lag_seconds", "How much later than asked the worker's event "
            "loop ran a 100 ms timer, in seconds: what every request in the worker waited "
            "then", buckets=_LAG_BUCKETS_S, registry=r)
        self.snapshot_age = Gauge(
            "waitless_live_snapshot_age_seconds",
            "Seconds since the API last loaded the live snapshot", registry=r)
        self.snapshot_reload_errors = Counter(
            "waitless_live_snapshot_errors_total",
            "Failed live snapshot reloads", registry=r)
        self.site_wait_age = Gauge(
            "waitless_site_wait_age_seconds", "Age of the wait figure used per site service",
            ["region", "site", "service"], registry=r)
        self.events_written = Counter(
            "waitless_events_written_total", "Events written to PostgreSQL", registry=r)
        self.events_spooled = Counter(
            "waitless_events_spooled_total", "Events written to the local spool", registry=r)
        self.events_dropped = Counter(
            "waitless_events_dropped_total",
            "Events dropped because the spool, or for refused events the quarantine, was full",
            registry=r)
        self.events_quarantined = Counter(
            "waitless_events_quarantined_total",
            "Events PostgreSQL refused for their data, and unreadable spool lines, kept in the "
            "spool's quarantine instead of the event log", ["reason"], registry=r)
        self.events_quarantine_pruned = Counter(
            "waitless_events_quarantine_pruned_total",
            "Quarantined events and unreadable spool lines this process deleted from its "
            "spool's quarantine past the retention period", registry=r)
        self.events_quarantine_prune_failures = Counter(
            "waitless_events_quarantine_prune_failures_total",
            "Prunes of the spool's quarantine that failed (a permission, a disk error): its "
            "event rows then outlive the retention period until one succeeds", registry=r)
        self.spool_bytes = Gauge(
            "waitless_event_spool_bytes", "Bytes waiting in the event spool", registry=r)
        self.event_queue = Gauge(
            "waitless_event_queue_length", "Events queued in memory for the writer", registry=r)
        # Load-aware ranking (docs/herding.md): set only where it is enabled.
        self.follow_rate = Gauge(
            "waitless_load_aware_follow_rate",
            "Share of answers whose first result is followed, as load-aware ranking uses it; "
            "source: observed (from recorded choices) or prior (the region setting)",
            ["region", "source"], registry=r)
        self.follow_sample = Gauge(
            "waitless_load_aware_follow_sample",
            "What the follow rate rests on, over its window: ranked answers, answers with a "
            "recorded choice, answers whose choice was their first result", ["region", "count"],
            registry=r)
        self.load_sync_skipped = Counter(
            "waitless_load_aware_sync_skipped_total",
            "Load-aware counts left out of a sync with Redis: refused (a count Redis would not "
            "add, sent again next sync) or malformed (a field read back that is not a count, "
            "skipped); once per sync while the cause remains", ["region", "reason"], registry=r)

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its handling time."""
        self.requests.observe(route, status, seconds)

    def count_ranking(self, outcome: str) -> None:
        """Count one ranking answer by outcome (``ranked``, ``emergency``, ...)."""
        self.requests.count_ranking(outcome)

    def watch_feeds(self, source: Callable[[], FeedState],
                    feeds: Mapping[str, Sequence[str]] | None = None) -> None:
        """Export feed and site-service ages and circuit state from ``source`` at scrape.

        ``feeds`` names each served region's feeds (by region name): each is exported as
        configured whether or not it ever reported, so an alert can find one that never
        succeeded.
        """
        self.registry.register(FeedStateCollector(source, feeds))


class RequestCounts:
    """``waitless_http_requests_total``, ``waitless_http_request_seconds`` and
    ``waitless_rankings_total``, counted in plain dictionaries and turned into metric families
    when scraped.

    prometheus_client's labelled counter and histogram take a lock on every count; a request
    made three such calls, which cost a worker more than its whole rate-limit and CORS checks
    (issue 12). Everything here runs on the event loop's thread, so plain counts are exact.
    """

    def __init__(self, buckets_s: tuple[float, ...] = _LATENCY_BUCKETS_S) -> None:
        self.buckets_s = buckets_s
        self.answered: dict[tuple[str, int], int] = {}  # (route, status) -> requests
        self.latency: dict[str, list[int]] = {}  # route -> requests per bucket, +Inf last
        self.latency_sum_s: dict[str, float] = {}
        self.rankings: dict[str, int] = {}  # outcome -> answers

    def observe(self, route: str, status: int, seconds: float) -> None:
        key = (route, status)
        self.answered[key] = self.answered.get(key, 0) + 1
        counts = self.latency.get(route)
        if counts is None:
            counts = self.latency[route] = [0] * (len(self.buckets_s) + 1)
            self.latency_sum_s[route] = 0.0
        counts[bisect_left(self.buckets_s, seconds)] += 1  # "le": the first bound >= seconds
        self.latency_sum_s[route] += seconds

    def count_ranking(self, outcome: str) -> None:
        self.rankings[outcome] = self.rankings.get(outcome, 0) + 1

    def describe(self) -> list[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        yield from self._families()

    def _families(self) -> Iterator[Metric]:
        answered = CounterMetricFamily("waitless_http_requests", "HTTP requests answered",
                                       labels=["route", "status"])
        for (route, status), n in sorted(self.answered.items()):
            answered.add_metric([route, str(status)], float(n))
        yield answered
        latency = HistogramMetricFamily("waitless_http_request_seconds",
                                        "HTTP request handling time in seconds",
                                        labels=["route"])
        bounds = [floatToGoString(b) for b in self.buckets_s] + ["+Inf"]
        for route, counts in sorted(self.latency.items()):
            cumulative = list(accumulate(counts))
            latency.add_metric([route], list(zip(bounds, map(float, cumulative), strict=True)),
                               self.latency_sum_s[route])
        yield latency
        rankings = CounterMetricFamily("waitless_rankings", "Ranking answers by outcome",
                                       labels=["outcome"])
        for outcome, n in sorted(self.rankings.items()):
            rankings.add_metric([outcome], float(n))
        yield rankings


def _timestamp(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


class FeedStateCollector:
    """Gauges computed at scrape time from the live snapshots (see the module docstring)."""

    def __init__(self, source: Callable[[], FeedState],
                 feeds: Mapping[str, Sequence[str]] | None = None) -> None:
        self._source = source
        self._feeds = {region: tuple(names) for region, names in (feeds or {}).items()}

    def describe(self) -> list[Metric]:
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        regions, now = self._source()
        yield from self._families(regions, now)

    def _families(self, regions: Mapping[str, RegionFeedState] | None = None,
                  now: datetime | None = None) -> Iterator[Metric]:
        configured = GaugeMetricFamily(
            "waitless_feed_configured",
            "1 for each feed of every served region file, polled or pushed, whether or not it "
            "has reported: a feed here without a last-success time has never succeeded",
            labels=["region", "feed"])
        for region, feeds in sorted(self._feeds.items()):
            for feed in feeds:
                configured.add_metric([region, feed], 1)
        last_ok = GaugeMetricFamily(
            "waitless_feed_last_success_timestamp_seconds",
            "Unix time of the feed's last successful poll or push", labels=["region", "feed"])
        age = GaugeMetricFamily(
            "waitless_feed_last_success_age_seconds",
            "Seconds since the feed's last successful poll or push", labels=["region", "feed"])
        circuit = GaugeMetricFamily(
            "waitless_feed_circuit_state",
            "1 for the feed's current circuit-breaker state", labels=["region", "feed", "state"])
        failures = GaugeMetricFamily(
            "waitless_feed_consecutive_failures", "Failed polls in a row",
            labels=["region", "feed"])
        held = GaugeMetricFamily(
            "waitless_feed_rejections_current",
            "Site services whose latest value from the feed was rejected, by reason",
            labels=["region", "feed", "reason"])
        site_time = GaugeMetricFamily(
            "waitless_site_last_good_timestamp_seconds",
            "Unix time the site service's last good value was observed", labels=[
                "region", "feed", "site", "service"])
        site_age = GaugeMetricFamily(
            "waitless_site_last_good_age_seconds",
            "Age of the site service's last good value, by its observed_at",
            labels=["region", "feed", "site", "service"])
        for region, (statuses, observations) in sorted((regions or {}).items()):
            for feed, status in sorted(statuses.items()):
                ok_at = _timestamp(status.get("last_ok_at"))
                if ok_at is not None:
                    last_ok.add_metric([region, feed], ok_at)
                    age.add_metric([region, feed], now.timestamp() - ok_at)
                for state in CIRCUIT_STATES:
                    circuit.add_metric([region, feed, state],
                                       float(status.get("circuit") == state))
                failures.add_metric([region, feed], status.get("consecutive_failures", 0))
                reasons: dict[str, int] = {}
                for rejection in status.get("rejections", []):
                    reasons[rejection["reason"]] = reasons.get(rejection["reason"], 0) + 1
                for reason, count in sorted(reasons.items()):
                    held.add_metric([region, feed, reason], count)
            for obs in observations.values():
                labels = [region, obs.feed, obs.site_id, obs.service or ""]
                site_time.add_metric(labels, obs.observed_at.timestamp())
                site_age.add_metric(labels, (now - obs.observed_at).total_seconds())
        yield from (configured, last_ok, age, circuit, failures, held, site_time, site_age)
