"""A sign-out Redis refuses says when to try again, like every other Redis outage answer.

Sign-outs are written to Redis. When that write fails (Redis refusing writes, e.g. at its
memory limit with ``noeviction``, or gone between the session check and the write) the page
said "Signing out failed; try again in a moment" with 503 and no ``Retry-After``; every other
live-store 503 (the dashboard's outage page, the sign-in page, rankings, pushes) has 30.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from redis.exceptions import ResponseError

from waitless.api.auth import REVOKED, SESSION_COOKIE

TOKEN = "sign-out-outage-token-0123"


async def test_a_failed_sign_out_has_retry_after(make_client) -> None:
    client = await make_client(commissioner_token=TOKEN, cookie_secure=False)
    signed_in = await client.post("/commissioners/login", data={"token": TOKEN},
                                  allow_redirects=False)
    morsel = SimpleCookie(signed_in.headers["Set-Cookie"])[SESSION_COOKIE]

    async def refused(session_id: str, expires_unix: float) -> None:
        msg = "OOM command not allowed when used memory > 'maxmemory'."
        raise ResponseError(msg)

    client.server.app[REVOKED].revoke = refused
    response = await client.post("/commissioners/logout", allow_redirects=False,
                                 headers={"Cookie": f"{SESSION_COOKIE}={morsel.value}"})
    assert response.status == 503
    assert "Signing out failed" in await response.text()
    # Before: no Retry-After.
    assert response.headers.get("Retry-After") == "30"
