"""What /v1/sites says about a feed (docs/feeds.md, "Where health shows")."""

from dataclasses import dataclass
from datetime import UTC, datetime

from feeds.health import FeedHealth
from waitless.api.app import create_app
from waitless.api.status import PUBLIC_REJECTIONS_MAX, public_feed_status
from waitless.live.store import MemoryLiveStore
from waitless.settings import Settings

NOW = datetime(2026, 2, 16, 12, 0, tzinfo=UTC)


def test_public_feed_status_has_every_documented_key_and_no_error_text():
    health = FeedHealth("trust")
    health.record_success(NOW, not_modified=False, circuit="closed")
    health.last_poll_seconds = 0.4213
    health.record_failure("Cannot connect to host trust.example:443", "connection", NOW,
                          circuit="closed")
    public = public_feed_status(health.as_dict())
    assert set(public) == {
        "ok", "circuit", "last_ok_at", "last_payload_at", "newest_observed_at", "last_error",
        "last_error_reason", "last_error_at", "consecutive_failures", "accepted",
        "not_modified", "last_poll_seconds", "errors_by_reason", "rejected_by_reason",
        "rejections", "rejections_total"}
    assert public["last_poll_seconds"] == 0.4213
    assert public["last_error"] == "connection"  # the reason code, not the message
    assert "trust.example" not in str(public)


async def test_v1_sites_shows_last_poll_seconds(aiohttp_client, kent, tmp_path):
    store = MemoryLiveStore()
    health = FeedHealth("trust")
    health.record_success(NOW, not_modified=False, circuit="closed")
    health.last_poll_seconds = 1.25
    await store.put_feed_status(kent.name, "trust", health.as_dict())
    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=kent, live_store=store,
                     clock=lambda: NOW)
    client = await aiohttp_client(app)
    response = await client.get("/v1/sites")
    assert response.status == 200
    assert (await response.json())["feeds"]["trust"]["last_poll_seconds"] == 1.25


@dataclass(frozen=True)
class Rejected:
    site_id: str
    service: str | None
    reason: str
    detail: str


async def test_v1_sites_lists_the_first_rejections_and_counts_them_all(aiohttp_client, kent,
                                                                       tmp_path):
    # One push of 3,000 bad entries made every anonymous /v1/sites answer 787 KB.
    health = FeedHealth("trust")
    site = kent.sites[0].id
    bogus = [Rejected(f"X{i:04d}", "ed", "unknown_site", "not in the region") for i in range(3000)]
    own = [Rejected(site, f"svc{i}", "unknown_service", "no such service") for i in range(80)]
    health.record_payload([], [*bogus, *own], NOW)
    store = MemoryLiveStore()
    await store.put_feed_status(kent.name, "trust", health.as_dict())
    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=kent, live_store=store,
                     clock=lambda: NOW)
    client = await aiohttp_client(app)
    body = await (await client.get("/v1/sites")).json()
    feed = body["feeds"]["trust"]
    assert feed["rejections_total"] == 3080
    assert [r["site_id"] for r in feed["rejections"]] == [
        f"X{i:04d}" for i in range(PUBLIC_REJECTIONS_MAX)]
    assert feed["rejected_by_reason"] == {"unknown_site": 3000, "unknown_service": 80}
    listed = next(s for s in body["sites"] if s["site_id"] == site)
    assert listed["rejections_total"] == 80
    assert [r["service"] for r in listed["rejections"]] == [
        f"svc{i}" for i in range(PUBLIC_REJECTIONS_MAX)]
    assert all(s["rejections_total"] == 0 for s in body["sites"] if s["site_id"] != site)
