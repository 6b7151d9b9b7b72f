"""An open-loop load generator.

Requests are sent on a fixed schedule (constant arrival rate) whatever the server does, and
each latency is measured from the request's *scheduled* time, not from when a free
connection let it go. A closed loop (send the next request when the last one answers) slows
down with the server and hides queueing: coordinated omission. Runs are bounded by request
count and by wall time, and stop by themselves.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httptools

RequestFactory = Callable[[int], str]  # request number -> path with query


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """What to send.

    Attributes
    ----------
    base_url
        Target, e.g. ``http://127.0.0.1:8080``.
    rate_per_s
        Requested arrival rate, requests per second.
    duration_s
        Measured phase length in seconds (after warm-up).
    warmup_s
        Warm-up phase in seconds; its requests are sent but not reported.
    max_requests
        Hard cap on requests sent (both phases).
    max_in_flight
        Cap on concurrent requests; a request due while the cap is reached is counted as
        ``not_sent`` (and its lateness is not hidden by waiting).
    timeout_s
        Per-request timeout in seconds.
    """

    base_url: str
    rate_per_s: float
    duration_s: float
    warmup_s: float = 0.0
    max_requests: int = 1_000_000
    max_in_flight: int = 2_000
    timeout_s: float = 10.0


@dataclass(slots=True)
class Sample:
    scheduled_s: float  # seconds since the measured phase began
    latency_s: float    # from scheduled send time to full response
    status: int         # HTTP status, 0 for a transport error or timeout
    # How late the generator itself started the request, seconds (included in latency_s):
    # a generator that falls behind its schedule shows here, not as a lower request rate.
    send_lag_s: float = 0.0


@dataclass(slots=True)
class RunResult:
    plan: LoadPlan
    samples: list[Sample] = field(default_factory=list)
    not_sent: int = 0
    elapsed_s: float = 0.0
    sent: int = 0
    # Connections opened, and the most requests in flight at once: the generator opens a
    # connection only when every open one is busy, so the first never exceeds the second.
    connections_opened: int = 0
    peak_in_flight: int = 0


class NotLoopback(ValueError):
    """The target is not on this machine and remote targets were not allowed."""


def check_target(base_url: str, *, allow_remote: bool = False) -> None:
    """Refuse targets off this machine unless ``allow_remote``."""
    host = urlsplit(base_url).hostname or ""
    if allow_remote:
        return
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except socket.gaierror as exc:
        msg = f"cannot resolve {host!r}: {exc}"
        raise NotLoopback(msg) from exc
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        msg = (f"{host} is not a loopback address; load tests target this machine only "
               "unless --allow-remote is given")
        raise NotLoopback(msg)


def schedule_s(index: int, rate_per_s: float) -> float:
    """Scheduled send time of request ``index``, in seconds from the start."""
    return index / rate_per_s


async def run_load(plan: LoadPlan, make_path: RequestFactory) -> RunResult:
    """Send requests on the plan's schedule and collect one sample per measured request.

    The cyclic garbage collector is off while sending: its full passes over the growing list
    of samples paused this process for tens of milliseconds, and an open-loop generator
    counts its own pauses as the server's latency.
    """
    gc.collect()
    gc.disable()
    try:
        return await _run_load(plan, make_path)
    finally:
        gc.enable()


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection carrying one request at a time (no pipelining).

    Responses are parsed by httptools (llhttp, the parser uvicorn uses) and their bodies
    dropped; ``done(connection, status)`` is called once per request, with status 0 for a
    transport error or a malformed answer.
    """

    def __init__(self, done: Callable[[_Connection, int], None]) -> None:
        self._done = done
        self._parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.busy_since: float | None = None  # clock time the request in flight was sent
        self.scheduled = 0.0  # its scheduled time, seconds from the start
        self.started = 0.0  # clock time the last request was started (kept after it ends)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, request: bytes, scheduled: float, now: float) -> None:
        self.scheduled, self.busy_since, self.started = scheduled, now, now
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.fail()

    def on_message_complete(self) -> None:  # httptools callback
        status = self._parser.get_status_code()
        keep = self._parser.should_keep_alive()
        self.busy_since = None
        if not keep:
            self.close()
        self._done(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.busy_since is not None:
            self.busy_since = None
            self._done(self, 0)
        self.transport = None

    def fail(self) -> None:
        """End the request in flight as a transport error and drop the connection."""
        if self.busy_since is not None:
            self.busy_since = None
            self.close()
            self._done(self, 0)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None

    @property
    def usable(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()


async def _run_load(plan: LoadPlan, make_path: RequestFactory) -> RunResult:
    # A lean client: aiohttp's cost ~75 µs of CPU per request here, as much as the server
    # under test on the same two cores, and at half the server's saturation the two together
    # overloaded the machine; this one costs ~28 µs (docs/benchmarks.md).
    result = RunResult(plan=plan)
    total_s = plan.warmup_s + plan.duration_s
    count = min(plan.max_requests, int(total_s * plan.rate_per_s))
    loop = asyncio.get_running_loop()
    # Not loop.time(): uvloop's is libuv's cached clock, whole milliseconds as of the start of
    # the loop's turn, which put every response time on a 1 ms grid: latencies to ±1 ms.
    clock = time.perf_counter
    target = urlsplit(plan.base_url)
    host = target.hostname or "127.0.0.1"
    port = target.port or (443 if target.scheme == "https" else 80)
    ssl_context = ssl.create_default_context() if target.scheme == "https" else None
    prefix = target.path.rstrip("/")
    host_header = target.netloc.rsplit("@", 1)[-1]
    idle: list[_Connection] = []
    open_connections: set[_Connection] = set()
    in_flight = 0
    drained = asyncio.Event()
    start = clock()

    def done(connection: _Connection, status: int) -> None:
        nonlocal in_flight
        in_flight -= 1
        offset = connection.scheduled - plan.warmup_s
        if offset >= 0:
            result.samples.append(Sample(
                offset, clock() - start - connection.scheduled, status,
                send_lag_s=connection.started - start - connection.scheduled))
        if connection.usable:
            idle.append(connection)
        else:
            open_connections.discard(connection)
        if in_flight == 0:
            drained.set()

    async def connect_and_send(request: bytes, scheduled: float) -> None:
        connection = _Connection(done)
        connection.scheduled = scheduled
        connection.busy_since = connection.started = clock()
        result.connections_opened += 1
        try:
            await asyncio.wait_for(loop.create_connection(
                lambda: connection, host, port, ssl=ssl_context), plan.timeout_s)
        except (OSError, TimeoutError):
            connection.busy_since = None
            done(connection, 0)
            return
        open_connections.add(connection)
        connection.send(request, scheduled, connection.busy_since)

    async def expire() -> None:
        # Requests past the timeout end as transport errors (status 0); their connections
        # are dropped.
        while True:
            await asyncio.sleep(min(0.1, plan.timeout_s / 4))
            limit = clock() - plan.timeout_s
            for connection in list(open_connections):
                if connection.busy_since is not None and connection.busy_since <= limit:
                    connection.fail()

    connecting: set[asyncio.Task[None]] = set()
    expiry = asyncio.create_task(expire())
    try:
        for index in range(count):
            scheduled = schedule_s(index, plan.rate_per_s)
            delay = start + scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            if in_flight >= plan.max_in_flight:
                if scheduled >= plan.warmup_s:
                    result.not_sent += 1
                continue
            request = (f"GET {prefix}{make_path(index)} HTTP/1.1\r\nHost: {host_header}\r\n"
                       "Accept: */*\r\nUser-Agent: waitless-loadtest\r\n\r\n").encode()
            in_flight += 1
            result.peak_in_flight = max(result.peak_in_flight, in_flight)
            drained.clear()
            result.sent += 1
            while idle and not idle[-1].usable:
                open_connections.discard(idle.pop())
            if idle:
                idle.pop().send(request, scheduled, clock())
            else:
                task = asyncio.create_task(connect_and_send(request, scheduled))
                connecting.add(task)
                task.add_done_callback(connecting.discard)
        # Wait for stragglers, but never past the run's time bound plus one timeout.
        deadline = start + total_s + plan.timeout_s
        if in_flight:
            with suppress(TimeoutError):
                await asyncio.wait_for(drained.wait(), max(deadline - clock(), 0.01))
        result.elapsed_s = clock() - start
    finally:
        expiry.cancel()
        for task in connecting:
            task.cancel()
        for connection in open_connections:
            connection.close()
    result.samples.sort(key=lambda s: s.scheduled_s)
    return result
