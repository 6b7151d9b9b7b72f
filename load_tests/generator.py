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
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

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


@dataclass(slots=True)
class RunResult:
    plan: LoadPlan
    samples: list[Sample] = field(default_factory=list)
    not_sent: int = 0
    elapsed_s: float = 0.0
    sent: int = 0


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


async def _run_load(plan: LoadPlan, make_path: RequestFactory) -> RunResult:
    result = RunResult(plan=plan)
    total_s = plan.warmup_s + plan.duration_s
    count = min(plan.max_requests, int(total_s * plan.rate_per_s))
    connector = aiohttp.TCPConnector(limit=plan.max_in_flight, force_close=False)
    timeout = aiohttp.ClientTimeout(total=plan.timeout_s)
    in_flight: set[asyncio.Task[None]] = set()
    loop = asyncio.get_running_loop()

    async with aiohttp.ClientSession(plan.base_url, connector=connector,
                                     timeout=timeout) as session:
        start = loop.time()

        async def one(index: int, scheduled: float) -> None:
            status = 0
            try:
                async with session.get(make_path(index)) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                status = 0
            offset = scheduled - plan.warmup_s
            if offset >= 0:
                result.samples.append(Sample(offset, loop.time() - start - scheduled, status))

        for index in range(count):
            scheduled = schedule_s(index, plan.rate_per_s)
            delay = start + scheduled - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(in_flight) >= plan.max_in_flight:
                if scheduled >= plan.warmup_s:
                    result.not_sent += 1
                continue
            task = asyncio.create_task(one(index, scheduled))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
            result.sent += 1
        # Wait for stragglers, but never past the run's time bound plus one timeout.
        deadline = start + total_s + plan.timeout_s
        while in_flight and loop.time() < deadline:
            await asyncio.wait(in_flight, timeout=max(deadline - loop.time(), 0.01))
        for task in in_flight:
            task.cancel()
        result.elapsed_s = loop.time() - start
    result.samples.sort(key=lambda s: s.scheduled_s)
    return result
