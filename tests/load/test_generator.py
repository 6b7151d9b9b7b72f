"""The load generator itself: schedule, percentiles, bounds, loopback guard."""

import asyncio
import gc
import socket
import time

import numpy as np
import pytest
import uvloop
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given
from hypothesis import strategies as st

from load_tests.generator import LoadPlan, NotLoopback, check_target, run_load, schedule_s
from load_tests.report import latency_svg, markdown, percentile, summarise
from load_tests.scenario import rank_paths, sample_origins
from waitless.api.query import parse_rank_query


async def serve(delay_s: float = 0.0, status: int = 200) -> TestServer:
    async def handler(_: web.Request) -> web.Response:
        if delay_s:
            await asyncio.sleep(delay_s)
        return web.json_response({"ok": True}, status=status)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app)
    await server.start_server()
    return server


def test_schedule_is_evenly_spaced() -> None:
    assert [schedule_s(i, 4.0) for i in range(5)] == [0.0, 0.25, 0.5, 0.75, 1.0]


async def test_sends_the_requested_number_at_the_requested_rate() -> None:
    server = await serve()
    plan = LoadPlan(str(server.make_url("")), rate_per_s=200, duration_s=1.0, warmup_s=0.25)
    result = await run_load(plan, lambda i: f"/x?i={i}")
    await server.close()
    assert result.sent == 250  # warm-up and measured phase together
    assert len(result.samples) == 200  # only the measured phase is reported
    summary = summarise(result)
    assert summary["statuses"] == {"200": 200}
    assert summary["achieved_rate_per_s"] == 200.0
    offsets = [s.scheduled_s for s in result.samples]
    assert offsets[0] == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(np.diff(offsets), 1 / 200)
    # Sent when scheduled, not just scheduled right: a generator sending at half the rate
    # would start the last requests about a second late (the bound is loose on purpose: the
    # machine is shared, but a lag of 0.25 s is 50 requests behind).
    lags = [s.send_lag_s for s in result.samples]
    assert min(lags) >= 0 and max(lags) < 0.25
    assert summary["send_lag_ms"]["max"] == pytest.approx(max(lags) * 1000, abs=1e-3)


async def test_the_collector_is_off_while_sending_and_back_on_after() -> None:
    """The generator's own GC pauses would count as server latency; it must not leave the
    process without a collector though."""
    server = await serve()
    plan = LoadPlan(str(server.make_url("")), rate_per_s=100, duration_s=0.1, warmup_s=0.0)
    seen: list[bool] = []

    def path(i: int) -> str:
        seen.append(gc.isenabled())
        return "/"

    assert gc.isenabled()
    result = await run_load(plan, path)
    await server.close()
    assert len(seen) == result.sent == 10 and not any(seen)
    assert gc.isenabled()


async def test_latency_counts_from_the_scheduled_time_not_the_send() -> None:
    server = await serve(delay_s=0.2)
    plan = LoadPlan(str(server.make_url("")), rate_per_s=50, duration_s=0.4, max_in_flight=5)
    result = await run_load(plan, lambda i: "/")
    await server.close()
    # Five in flight at 50/s: a 0.2 s server can keep up only with 25/s, so the rest are
    # counted as not sent rather than quietly delayed.
    assert result.not_sent > 0
    assert all(s.latency_s >= 0.19 for s in result.samples)


async def test_run_is_bounded_even_when_the_server_never_answers() -> None:
    server = await serve(delay_s=30)
    plan = LoadPlan(str(server.make_url("")), rate_per_s=20, duration_s=0.5, timeout_s=0.5)
    started = time.monotonic()
    result = await run_load(plan, lambda i: "/")
    elapsed = time.monotonic() - started
    await server.close()
    assert elapsed < plan.duration_s + plan.timeout_s + 2.0
    assert {s.status for s in result.samples} == {0}
    assert summarise(result)["statuses"] == {"transport_error": 10}


async def test_errors_are_counted_by_status() -> None:
    server = await serve(status=503)
    plan = LoadPlan(str(server.make_url("")), rate_per_s=100, duration_s=0.2)
    summary = summarise(await run_load(plan, lambda i: "/"))
    await server.close()
    assert summary["statuses"] == {"503": 20}
    assert summary["requests_ok"] == 0
    assert "503" in markdown(summary)


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 99.9) == 100
    assert percentile([7.0], 50) == 7.0
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile(values, 101)


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1, max_size=300),
       st.sampled_from([50.0, 90.0, 99.0, 99.9]))
def test_percentile_matches_numpy_inverted_cdf(values, pct) -> None:
    ordered = sorted(values)
    assert percentile(ordered, pct) == np.percentile(ordered, pct, method="inverted_cdf")


def test_only_loopback_targets_unless_allowed() -> None:
    check_target("http://127.0.0.1:8080")
    check_target("http://localhost:8080")
    with pytest.raises(NotLoopback, match="not a loopback"):
        check_target("http://10.1.2.3:8080")
    check_target("http://10.1.2.3:8080", allow_remote=True)


def test_scenario_is_deterministic_valid_and_spread_over_the_region(kent, fixed_now) -> None:
    paths = rank_paths(kent, 400, seed=3, now=fixed_now)
    assert paths == rank_paths(kent, 400, seed=3, now=fixed_now)
    from urllib.parse import parse_qsl, urlsplit
    conditions = set()
    for path in paths:
        query = dict(parse_qsl(urlsplit(path).query))
        request = parse_rank_query(query, now=fixed_now, tz=kent.timezone)  # never a 400
        conditions.add(request.condition)
    assert len(conditions) > 10
    origins = sample_origins(kent, 2000, seed=1)
    near = {min(kent.sites, key=lambda s: (s.lat - la) ** 2 + (s.lon - lo) ** 2).id
            for la, lo in origins}
    assert near == {s.id for s in kent.sites}


def test_svg_plot_has_one_dot_per_sample() -> None:
    from load_tests.generator import RunResult, Sample
    plan = LoadPlan("http://127.0.0.1", rate_per_s=10, duration_s=1)
    result = RunResult(plan, [Sample(i / 10, 0.001 * (i + 1), 200) for i in range(10)])
    svg = latency_svg(result)
    assert svg.startswith("<svg") and svg.count("<circle") == 10


async def test_connections_are_kept_alive_and_reused() -> None:
    """A connection is opened only when every open one is busy, and carries one request at a
    time. (How many that takes depends on the server's speed, so the bound is the run's own
    peak of requests in flight, not a fixed number: a fixed 5 failed on a loaded machine.)"""
    peers: list[tuple[str, int]] = []
    busy: set[tuple[str, int]] = set()
    overlapped = []

    async def handler(request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername")
        if peer in busy:
            overlapped.append(peer)
        busy.add(peer)
        peers.append(peer)
        await asyncio.sleep(0)  # let other requests in before this one answers
        busy.discard(peer)
        return web.json_response({"path": request.path_qs})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app)
    await server.start_server()
    plan = LoadPlan(str(server.make_url("")), rate_per_s=200, duration_s=0.5)
    result = await run_load(plan, lambda i: f"/x?i={i}")
    await server.close()
    summary = summarise(result)
    assert summary["statuses"] == {"200": 100}
    assert len(peers) == 100 and overlapped == []  # one request at a time per connection
    # A generator opening a connection per request would have opened 100 here, more than
    # its peak in flight unless every request overlapped every other.
    assert len(set(peers)) == summary["connections_opened"] <= summary["peak_in_flight"]


async def test_a_server_closing_each_connection_still_gets_every_request() -> None:
    async def handler(_: web.Request) -> web.Response:
        return web.json_response({"ok": True}, headers={"Connection": "close"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    server = TestServer(app)
    await server.start_server()
    plan = LoadPlan(str(server.make_url("")), rate_per_s=100, duration_s=0.3)
    result = await run_load(plan, lambda i: "/")
    await server.close()
    assert summarise(result)["statuses"] == {"200": 30}


async def test_a_refused_connection_is_a_transport_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    plan = LoadPlan(f"http://127.0.0.1:{port}", rate_per_s=50, duration_s=0.2)
    result = await run_load(plan, lambda i: "/")
    assert summarise(result)["statuses"] == {"transport_error": 10}


def test_latencies_are_not_rounded_to_uvloops_millisecond_clock() -> None:
    """Under uvloop (as `waitless loadtest` runs) loop.time() is libuv's cached clock in whole
    milliseconds: every completion time fell on a 1 ms grid from the start."""
    async def main() -> list[float]:
        server = await serve()
        plan = LoadPlan(str(server.make_url("")), rate_per_s=400, duration_s=0.25, warmup_s=0.0)
        result = await run_load(plan, lambda i: f"/x?i={i}")
        await server.close()
        return [s.scheduled_s + s.latency_s for s in result.samples]

    completions_ms = [t * 1000 for t in uvloop.run(main())]
    assert len(completions_ms) == 100
    off_grid = [t for t in completions_ms if abs(t - round(t)) > 1e-6]
    assert len(off_grid) > len(completions_ms) / 2
