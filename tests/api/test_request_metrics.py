"""Request and ranking counts are kept in plain dictionaries and exported when scraped (issue
12): the exposition must read as prometheus_client's own counter and histogram did."""

from __future__ import annotations

from waitless.metrics import Metrics


def _lines(metrics: Metrics) -> list[str]:
    return metrics.render().decode().splitlines()


def test_requests_are_counted_by_route_and_status():
    metrics = Metrics()
    for status in (200, 200, 200, 429, 400):
        metrics.observe_request("rank", status, 0.002)
    metrics.observe_request("sites", 200, 0.002)
    lines = _lines(metrics)
    assert 'waitless_http_requests_total{route="rank",status="200"} 3.0' in lines
    assert 'waitless_http_requests_total{route="rank",status="429"} 1.0' in lines
    assert 'waitless_http_requests_total{route="rank",status="400"} 1.0' in lines
    assert 'waitless_http_requests_total{route="sites",status="200"} 1.0' in lines
    assert "# TYPE waitless_http_requests_total counter" in lines


def test_latency_buckets_are_cumulative_and_a_time_on_a_bound_counts_in_it():
    metrics = Metrics()
    # 0.001 s is a bound ("le" means less than or equal); 0.0007 falls in (0.0005, 0.001];
    # 3 s is past the last bound (2.5 s) and only in +Inf.
    for seconds in (0.0003, 0.0007, 0.001, 0.02, 3.0):
        metrics.observe_request("rank", 200, seconds)
    lines = _lines(metrics)
    expected = {"0.0005": 1, "0.001": 3, "0.0025": 3, "0.005": 3, "0.01": 3, "0.025": 4,
                "0.05": 4, "0.1": 4, "0.25": 4, "0.5": 4, "1.0": 4, "2.5": 4, "+Inf": 5}
    for bound, count in expected.items():
        line = f'waitless_http_request_seconds_bucket{{le="{bound}",route="rank"}} {count}.0'
        assert line in lines, (line, [x for x in lines if "_bucket" in x])
    assert 'waitless_http_request_seconds_count{route="rank"} 5.0' in lines
    total = next(x for x in lines if x.startswith("waitless_http_request_seconds_sum"))
    assert abs(float(total.rsplit(" ", 1)[1]) - 3.0220) < 1e-9
    assert "# TYPE waitless_http_request_seconds histogram" in lines


def test_ranking_outcomes_are_counted():
    metrics = Metrics()
    for outcome in ("ranked", "ranked", "emergency", "outside_coverage"):
        metrics.count_ranking(outcome)
    lines = _lines(metrics)
    assert 'waitless_rankings_total{outcome="ranked"} 2.0' in lines
    assert 'waitless_rankings_total{outcome="emergency"} 1.0' in lines
    assert 'waitless_rankings_total{outcome="outside_coverage"} 1.0' in lines


def test_event_queue_length_is_read_when_scraped(tmp_path):
    from waitless.events.log import EventLog
    from waitless.events.spool import Spool

    metrics = Metrics()
    log = EventLog(None, Spool(tmp_path, max_bytes=1 << 20), metrics=metrics)
    for n in range(3):
        log.record({"event_id": str(n)})
    assert "waitless_event_queue_length 3.0" in _lines(metrics)
    log.record({"event_id": "3"})
    assert "waitless_event_queue_length 4.0" in _lines(metrics)
