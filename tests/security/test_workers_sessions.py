"""Issue #13 item 3: sign-out holds on every worker and across a restart (`serve --workers 2`)."""

from __future__ import annotations

import asyncio

import aiohttp
import redis

from tests.conftest import REDIS_URL
from tests.security.serve_process import serve

TOKEN = "two-worker-session-token"
REPLAYS = 20


async def _login(base: str) -> str:
    async with aiohttp.ClientSession(base) as session, session.post(
            "/commissioners/login", data={"token": TOKEN}, allow_redirects=False) as response:
        assert response.status == 303
        return response.cookies["waitless_commissioner"].value


async def _replay(base: str, cookie: str, count: int = REPLAYS) -> list[tuple[int, str]]:
    """(status, worker pid) of ``count`` CSV downloads with the cookie, a new connection each
    (SO_REUSEPORT spreads them over the workers)."""
    connector = aiohttp.TCPConnector(force_close=True, limit=4)
    async with aiohttp.ClientSession(base, connector=connector,
                                     cookies={"waitless_commissioner": cookie},
                                     headers={"X-WaitLess-Worker": "?"}) as session:
        async def one() -> tuple[int, str]:
            async with session.get("/commissioners/events.csv",
                                   allow_redirects=False) as response:
                await response.read()
                return response.status, response.headers.get("X-WaitLess-Worker", "")
        return list(await asyncio.gather(*(one() for _ in range(count))))


async def _logout(base: str, cookie: str) -> None:
    async with aiohttp.ClientSession(base, cookies={"waitless_commissioner": cookie}) as s, \
            s.post("/commissioners/logout", allow_redirects=False) as response:
        assert response.status == 303


def test_sign_out_holds_on_both_workers_and_after_restart(tmp_path, redis_prefix) -> None:
    prefix = f"{redis_prefix}:sessions"
    env = {"WAITLESS_COMMISSIONER_TOKEN": TOKEN, "WAITLESS_COOKIE_SECURE": "0",
           "WAITLESS_BENCH_ENDPOINTS": "1",  # X-WaitLess-Worker names the worker (asked)
           # Replays of a dead cookie are failed sign-ins: let them all be 401s here.
           "WAITLESS_AUTH_FAILURE_LIMIT": "1000/minute"}
    try:
        with serve(tmp_path, prefix, **env) as base:
            cookie = asyncio.run(_login(base))
            before = asyncio.run(_replay(base, cookie))
            # Signed in on every worker: past authentication (no database here: 503).
            assert {status for status, _ in before} == {503}
            asyncio.run(_logout(base, cookie))
            # The kernel hands a new connection to whichever worker accepts first, which on an
            # idle machine can be the same one many times: replay until both have answered.
            after: list[tuple[int, str]] = []
            while len({pid for _, pid in after}) < 2 and len(after) < 20 * REPLAYS:
                after += asyncio.run(_replay(base, cookie, REPLAYS))
            assert {status for status, _ in after} == {401}
            assert len({pid for _, pid in after}) == 2, "both workers were asked"
        with serve(tmp_path, prefix, **env) as base:
            restarted = asyncio.run(_replay(base, cookie))
            assert [status for status, _ in restarted] == [401] * REPLAYS
    finally:
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(match=f"{prefix}:*"):
            store.delete(key)
        store.close()
