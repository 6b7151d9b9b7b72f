"""The ingestor's /metrics carries what the ingestor measures, and nothing of the API's."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REDIS_URL, eventually, free_port
from waitless.domain.region import FeedConfig, Region
from waitless.live.elected_ingest import run_elected_ingest

# Feed counters (the leader polls) and the leader election's own metrics.
INGEST_FAMILIES = {
    "waitless_feed_polls", "waitless_feed_errors", "waitless_feed_poll_seconds",
    "waitless_feed_retries", "waitless_observations_rejected",
    "waitless_observations_accepted", "waitless_ingest_leader", "waitless_ingest_fencing_token",
    "waitless_ingest_leadership_changes", "waitless_ingest_writes_refused"}


async def test_the_ingestor_exports_no_api_metrics(kent: Region, redis_prefix: str) -> None:
    """An ingestor once exported the API's families too, several as samples: a snapshot age of
    0, an empty spool, no events written or dropped, an event-loop lag histogram it never
    fills; a dashboard or alert over every scraped pod counted the ingestors among the APIs."""
    port = free_port()
    # A feed nobody answers: the leader polls it and counts the failure.
    feed = FeedConfig("nowhere", "native", f"http://127.0.0.1:{free_port()}/v1/feed",
                      interval_seconds=30, timeout_seconds=1)
    task = asyncio.create_task(run_elected_ingest(
        kent, [feed], redis_url=REDIS_URL, prefix=f"{redis_prefix}:ingestmetrics",
        lease_seconds=3, metrics_host="127.0.0.1", metrics_port=port))
    try:
        async with aiohttp.ClientSession() as session:
            async def scrape() -> str | None:
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                        text = await response.text()
                        # The failed poll, counted under the ingestor's region.
                        polled = ('waitless_feed_polls_total{feed="nowhere",outcome="error",'
                                  'region="kent-medway"}')
                        return text if polled in text else None
                return None

            text = await eventually(scrape, what="the ingestor's first poll in /metrics")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    # prometheus_client writes each counter's creation time as its own "<name>_created" gauge.
    families = {family.name for family in text_string_to_metric_families(text)
                if not family.name.endswith("_created")}
    assert families == INGEST_FAMILIES
    assert 'waitless_ingest_leader{region="kent-medway"} 1.0' in text
