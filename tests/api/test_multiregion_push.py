"""Push feeds of every region served together, not only the primary's.

Before, ``POST /v1/feeds/{feed}/observations`` looked the feed up in the primary region only:
a push to the second region's feed was a 401 (as for an unknown feed) and nothing reached its
live-store keys. Now a push goes to the region declaring the feed, is validated with that
region's sites and settings and written under its keys; push feed names must be unique across
the regions served (the path and ``WAITLESS_PUSH_TOKENS`` name a feed by name alone).

Real Redis (live store); the regions are tests/api/regions/border-*.toml with push feeds added.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.conftest import eventually
from waitless.api import keys
from waitless.api.app import create_app
from waitless.domain.errors import RegionError
from waitless.domain.region import load_region
from waitless.live.redis_store import RedisLiveStore
from waitless.settings import settings_from_env

REGIONS_DIR = Path(__file__).parent / "regions"
# Push feeds (native format, no url) of each region.
FEEDS = {"border-north": "north-push", "border-south": "south-push"}
TOKENS = "north-push=north-token,south-push=south-token"
DEEP_SOUTH = {"lat": "50.62", "lon": "0.50"}  # answered by border-south; TSB02 is 2 km away
# South's own body limit, bytes (North keeps the default 2 MB).
SOUTH_LIMIT = "\n[validation]\nmax_body_bytes = 1000\n"


def region_file(tmp_path: Path, name: str, *feeds: str, extra: str = "") -> str:
    text = (REGIONS_DIR / f"{name}.toml").read_text() + extra
    text += "".join(f'\n[[feeds]]\nname = "{feed}"\nformat = "native"\n' for feed in feeds)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture
async def store(redis_store_factory: Callable[[], RedisLiveStore]
                ) -> AsyncIterator[RedisLiveStore]:
    live = redis_store_factory()
    yield live
    await live.close()


@pytest.fixture
async def two_regions(aiohttp_client, store: RedisLiveStore, fixed_now: datetime,
                      tmp_path: Path):
    paths = ",".join(region_file(tmp_path, name, feed,
                                 extra=SOUTH_LIMIT if name == "border-south" else "")
                     for name, feed in FEEDS.items())
    settings = settings_from_env({"WAITLESS_REGIONS": paths, "WAITLESS_PUSH_TOKENS": TOKENS})
    settings = settings.with_overrides(spool_dir=str(tmp_path / "spool"), rate_limit=None,
                                       graph_cache=str(tmp_path / "no-graphs"),
                                       snapshot_refresh_seconds=0.1)
    app = create_app(settings, live_store=store, clock=lambda: fixed_now)
    return app, await aiohttp_client(app)


def native(now: datetime, waits: dict[str, float]) -> bytes:
    observed = (now - timedelta(minutes=3)).isoformat()
    return orjson.dumps({"generated_at": observed, "sites": [
        {"site_id": site, "service": "utc", "wait_minutes": minutes, "status": "open",
         "observed_at": observed} for site, minutes in waits.items()]})


async def push(client, feed: str, body: bytes, token: str) -> tuple[int, Any]:
    response = await client.post(f"/v1/feeds/{feed}/observations", data=body, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    return response.status, await response.json()


async def stored(store: RedisLiveStore) -> dict[str, dict[str, tuple[float | None, str]]]:
    """Region name -> ``site/service`` -> (wait, feed), as the live store holds them."""
    return {region: {key: (obs.wait_minutes, obs.feed)
                     for key, obs in (await store.current(region)).items()}
            for region in FEEDS}


async def test_a_push_to_the_second_regions_feed_reaches_its_sites_and_rankings(
        two_regions, store: RedisLiveStore, fixed_now: datetime) -> None:
    _, client = two_regions
    status, answer = await push(client, "south-push", native(fixed_now, {"TSB02": 7.0}),
                                "south-token")
    # Before: 401 unauthorized, and nothing under either region's keys.
    assert (status, answer) == (200, {"feed": "south-push", "accepted": 1, "rejected": []})
    assert await stored(store) == {"border-north": {},
                                   "border-south": {"TSB02/utc": (7.0, "south-push")}}

    async def listed():  # the API sees the store at its next snapshot reload
        body = await (await client.get("/v1/sites")).json()
        listing = {s["site_id"]: (s["region"], s["services"][0]["wait_minutes"])
                   for s in body["sites"]}
        return listing if listing["TSB02"] == ("border-south", 7.0) else None

    listing = await eventually(listed, what="the pushed wait in /v1/sites")
    assert listing["TNB01"] == ("border-north", None)  # nothing pushed for North
    body = await (await client.get("/v1/rank", params=DEEP_SOUTH)).json()
    assert body["region"] == "border-south"
    first = body["results"][0]
    assert (first["site_id"], first["wait_minutes"], first["wait_status"]) == (
        "TSB02", 7.0, "live")


async def test_a_site_of_another_region_is_rejected_per_value(
        two_regions, store: RedisLiveStore, fixed_now: datetime) -> None:
    """South's feed names North's TNB01: refused as an unknown site, as any site not in the
    feed's own region file (a border site is ranked by South, but is not South's to report)."""
    _, client = two_regions
    status, answer = await push(client, "south-push",
                                native(fixed_now, {"TSB01": 12.0, "TNB01": 30.0}),
                                "south-token")
    assert status == 200 and answer["accepted"] == 1
    assert [(r["site_id"], r["reason"]) for r in answer["rejected"]] == [
        ("TNB01", "unknown_site")]
    assert await stored(store) == {"border-north": {},
                                   "border-south": {"TSB01/utc": (12.0, "south-push")}}


async def test_a_token_of_one_regions_feed_cannot_push_to_anothers(
        two_regions, store: RedisLiveStore, fixed_now: datetime) -> None:
    app, client = two_regions
    for feed, token, site in (("south-push", "north-token", "TSB01"),
                              ("north-push", "south-token", "TNB01")):
        status, answer = await push(client, feed, native(fixed_now, {site: 5.0}), token)
        assert (status, answer["error"]) == (401, "unauthorized")
    assert await stored(store) == {"border-north": {}, "border-south": {}}
    refused = {(s.labels["region"], s.labels["feed"]): s.value
               for family in app[keys.METRICS].registry.collect() for s in family.samples
               if s.name == "waitless_feed_errors_total"
               and s.labels["reason"] == "unauthorized"}
    assert refused == {("border-north", "north-push"): 1.0, ("border-south", "south-push"): 1.0}


async def test_readyz_and_metrics_name_the_feeds_region(
        two_regions, fixed_now: datetime) -> None:
    _, client = two_regions
    status, _ = await push(client, "south-push", native(fixed_now, {"TSB01": 12.0}),
                           "south-token")
    assert status == 200

    async def south_feeds():
        body = await (await client.get("/readyz")).json()
        feeds = body["regions"]["border-south"]["feeds"]
        return feeds if feeds["south-push"]["reported"] else None

    feeds = await eventually(south_feeds, what="the push's status in /readyz")
    assert feeds["south-push"]["ok"] and feeds["south-push"]["last_ok_at"] == (
        fixed_now.isoformat())
    metrics = await (await client.get("/metrics")).text()
    for line in ('waitless_feed_polls_total{feed="south-push",outcome="push",'
                 'region="border-south"} 1.0',
                 'waitless_observations_accepted_total{feed="south-push",'
                 'region="border-south"} 1.0'):
        assert line in metrics
    assert 'feed="south-push",region="border-north"' not in metrics


async def test_the_feeds_own_region_limits_its_body(
        two_regions, store: RedisLiveStore, fixed_now: datetime) -> None:
    """The same 1.6 kB body: over South's 1000 bytes, within North's 2 MB."""
    app, client = two_regions
    body = native(fixed_now, {"TNB01": 20.0} | {f"PAD{i:02}": 5.0 for i in range(12)})
    assert 1000 < len(body) < 2000
    assert (await push(client, "south-push", body, "south-token"))[0] == 413
    status, answer = await push(client, "north-push", body, "north-token")
    assert status == 200 and answer["accepted"] == 1
    assert {r["reason"] for r in answer["rejected"]} == {"unknown_site"}  # the 12 made up
    assert len(answer["rejected"]) == 12
    assert await stored(store) == {"border-north": {"TNB01/utc": (20.0, "north-push")},
                                   "border-south": {}}
    oversized = [(s.labels["region"], s.labels["feed"]) for family in
                 app[keys.METRICS].registry.collect() for s in family.samples
                 if s.name == "waitless_feed_errors_total" and s.labels["reason"] == "oversized"]
    assert oversized == [("border-south", "south-push")]


def test_a_push_feed_name_in_two_regions_is_refused_at_start_up(tmp_path: Path) -> None:
    """Which trust's token a ``trust=...`` entry was, and whose keys a push to ``trust`` would
    write, could not be told: refused once, before anything is served (exit status 2 from
    ``waitless serve``, as for a site id in two files)."""
    north = region_file(tmp_path, "border-north", "trust")
    south = region_file(tmp_path, "border-south", "trust")
    settings = settings_from_env({"WAITLESS_REGIONS": f"{north},{south}"}).with_overrides(
        spool_dir=str(tmp_path / "spool"), graph_cache=str(tmp_path / "no-graphs"))
    with pytest.raises(RegionError) as caught:
        create_app(settings, regions=[load_region(north), load_region(south)])
    assert str(caught.value) == (
        "push feed names must be unique across the regions served: trust in both "
        f"border-north ({Path(north).resolve()}) and border-south ({Path(south).resolve()})")


def test_a_token_naming_no_push_feed_served_here_is_named_at_start_up(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A typo in WAITLESS_PUSH_TOKENS made every push of that trust a 401, with no other sign."""
    paths = ",".join(region_file(tmp_path, name, feed) for name, feed in FEEDS.items())
    tokens = f"{TOKENS},sotuh-push=secret-one,elsewhere=secret-two,sotuh-push=secret-three"
    settings = settings_from_env({"WAITLESS_REGIONS": paths, "WAITLESS_PUSH_TOKENS": tokens})
    with caplog.at_level("WARNING", logger="waitless.api.app"):
        create_app(settings.with_overrides(spool_dir=str(tmp_path / "spool")))
    (line,) = [r.getMessage() for r in caplog.records if "WAITLESS_PUSH_TOKENS" in r.getMessage()]
    assert line.startswith("WAITLESS_PUSH_TOKENS names sotuh-push, elsewhere, not a push feed")
    assert "(push feeds: north-push, south-push)" in line
    assert "secret" not in caplog.text
