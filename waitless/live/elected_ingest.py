"""``waitless ingest`` with leader election: replicas for availability, one active poller set.

Every replica runs :func:`run_elected_ingest`. The one holding the region's lease
(:mod:`waitless.live.leader`) runs the feed pollers and writes through a
:class:`~waitless.live.fenced_store.FencedRedisLiveStore`; the others poll nothing and
retry the lease every third of its length. Each replica can serve ``/metrics`` (leadership,
fencing token, feed counters) and ``/healthz`` on a small port of its own for Prometheus and
the kubelet.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Sequence
from contextlib import suppress

import aiohttp
from aiohttp import web

from waitless.domain.region import FeedConfig, Region
from waitless.live.fenced_store import FencedRedisLiveStore
from waitless.live.ingest import build_pollers
from waitless.live.leader import LeaderElector, LeaderMetrics, cancel_and_wait
from waitless.live.redis_url import redis_from_url
from waitless.metrics import CONTENT_TYPE_LATEST, IngestMetrics

logger = logging.getLogger(__name__)


def metrics_app(metrics: IngestMetrics, elector: LeaderElector) -> web.Application:
    """``/metrics`` for Prometheus; ``/healthz`` answers 200 on leader and standby alike."""

    async def render(_: web.Request) -> web.Response:
        return web.Response(body=metrics.render(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def health(_: web.Request) -> web.Response:
        role = "leader" if elector.lease_value else "standby"
        return web.json_response({"status": "ok", "role": role, "region": elector.region,
                                  "identity": elector.identity})

    app = web.Application()
    app.router.add_get("/metrics", render)
    app.router.add_get("/healthz", health)
    return app


def check_lease_against_feeds(lease_seconds: float, feeds: Sequence[FeedConfig]) -> None:
    """Warn when a standby could not take over within two poll intervals of the fastest feed.

    Take-over needs at most the lease plus one standby retry (a third of the lease).
    """
    polled = [f.interval_seconds for f in feeds if f.url]
    if polled and lease_seconds * 4 / 3 > 2 * min(polled):
        logger.warning("leader lease %g s is too long for a %g s feed interval: take-over may "
                       "take more than two intervals (set WAITLESS_LEADER_LEASE_SECONDS to at "
                       "most %g)", lease_seconds, min(polled), 1.5 * min(polled))


async def run_elected_ingest(region: Region, feeds: Sequence[FeedConfig], *, redis_url: str,
                             prefix: str, lease_seconds: float,
                             metrics_host: str = "0.0.0.0",  # scraped over the pod network
                             metrics_port: int | None = None,
                             identity: str | None = None) -> None:
    """Stand for the region's lease and ingest while holding it, until cancelled.

    Parameters
    ----------
    region, feeds
        The region and the feeds to poll (URLs already overridden for the deployment).
    redis_url, prefix
        The live store.
    lease_seconds
        Lease length in seconds; a standby takes over within about 4/3 of it.
    metrics_host, metrics_port
        Where to serve ``/metrics`` and ``/healthz`` (no server when the port is ``None``).
    identity
        Name shown in the lease and logs (default ``host:pid``).
    """
    # Kubernetes stops a pod with SIGTERM: release the lease so a standby takes over at once.
    # The cancellation is repeated until clean-up starts, because one landing mid-command can
    # be lost inside redis-py (see waitless.live.leader.cancel_and_wait).
    main_task = asyncio.current_task()
    cleaning_up = asyncio.Event()

    async def stop() -> None:
        while main_task is not None and not main_task.done() and not cleaning_up.is_set():
            main_task.cancel()
            await asyncio.wait({main_task}, timeout=0.2)

    stoppers: set[asyncio.Task[None]] = set()

    def on_signal() -> None:
        task = asyncio.create_task(stop())
        stoppers.add(task)
        task.add_done_callback(stoppers.discard)

    if main_task is not None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError):
                asyncio.get_running_loop().add_signal_handler(signum, on_signal)
    client = redis_from_url(redis_url, socket_timeout=5, socket_connect_timeout=2,
                               health_check_interval=15)
    metrics = IngestMetrics()  # not the API's families: this process answers no request
    leader_metrics = LeaderMetrics(metrics.registry)
    elector = LeaderElector(client, prefix=prefix, region=region.name,
                            lease_seconds=lease_seconds, identity=identity,
                            metrics=leader_metrics)

    def refused(where: str) -> None:
        leader_metrics.refused_writes.labels(region.name, where).inc()
        elector.stand_down(f"a write was refused ({where})")

    store = FencedRedisLiveStore(client, prefix=prefix, lease_key=elector.lease_key,
                                 lease_value=lambda: elector.lease_value, on_refused=refused)
    check_lease_against_feeds(lease_seconds, feeds)
    runner: web.AppRunner | None = None
    if metrics_port is not None:
        runner = web.AppRunner(metrics_app(metrics, elector), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, metrics_host, metrics_port).start()
        logger.info("ingest metrics on http://%s:%d/metrics", metrics_host, metrics_port)

    async with aiohttp.ClientSession() as session:
        async def lead() -> None:
            # Fresh pollers per term: they load the last good values the previous leader left.
            pollers = build_pollers(region, store, session, metrics=metrics, feeds=feeds)
            logger.info("ingesting %d feeds for %s", len(pollers), region.name)
            tasks = [asyncio.create_task(p.run(), name=f"poll:{p.feed.name}") for p in pollers]
            try:
                # Pollers never return; with no polled feed, hold the lease and do nothing.
                await asyncio.gather(*tasks, asyncio.Event().wait())
            finally:
                # Shielded: stopping every poller must finish even if we are cancelled again.
                await asyncio.shield(asyncio.gather(*(cancel_and_wait(t) for t in tasks)))

        try:
            await elector.run(lead)
        finally:
            cleaning_up.set()
            with suppress(Exception):
                await asyncio.shield(elector.release())
            if runner is not None:
                await runner.cleanup()
            await client.aclose()
