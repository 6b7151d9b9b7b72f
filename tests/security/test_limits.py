"""Request limits: each oversized part of a request gets its own clear 4xx."""

from __future__ import annotations

import asyncio

from tests.security.conftest import CANTERBURY
from waitless.api.request_limits import (
    MAX_FIELD_BYTES,
    MAX_HEADERS,
    MAX_QUERY_BYTES,
    MAX_QUERY_PARAMS,
)


async def raw_exchange(port: int, head: bytes, *, wait_close_s: float | None = None
                       ) -> tuple[bytes, bool]:
    """Send raw bytes; return the first response bytes and whether the server then closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        first = await asyncio.wait_for(reader.read(65536), 10)
        closed = False
        if wait_close_s is not None:
            try:
                closed = await asyncio.wait_for(reader.read(1), wait_close_s) == b""
            except TimeoutError:
                closed = False
        return first, closed
    finally:
        writer.close()


async def test_long_query_string_is_414(make_client) -> None:
    client = await make_client()
    padding = "x" * (MAX_QUERY_BYTES + 1)
    response = await client.get(f"/v1/rank?lat=51.28&lon=1.07&condition={padding}")
    assert response.status == 414
    assert (await response.json())["error"] == "uri_too_long"
    ok = await client.get("/v1/rank", params={**CANTERBURY, "condition": "sprain_strain"})
    assert ok.status == 200


async def test_too_many_query_parameters_is_400(make_client) -> None:
    client = await make_client()
    query = "&".join(f"p{i}=1" for i in range(MAX_QUERY_PARAMS + 1))
    response = await client.get(f"/v1/rank?{query}")
    assert response.status == 400
    assert (await response.json())["error"] == "too_many_parameters"


async def test_oversized_header_and_too_many_headers_are_refused(make_client) -> None:
    client = await make_client()
    port = client.server.port
    big = b"X-Big: " + b"a" * (MAX_FIELD_BYTES + 10) + b"\r\n"
    first, _ = await raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")
    assert first.split(b" ", 2)[1] == b"400"
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(MAX_HEADERS + 5))
    first, _ = await raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert first.split(b" ", 2)[1] == b"400"
    first, _ = await raw_exchange(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")


async def test_body_limits_64_kib_forms_but_uploads_have_their_own(make_client) -> None:
    client = await make_client(commissioner_token="tok", cookie_secure=False)
    response = await client.post("/commissioners/login", data={"token": "a" * 70_000})
    assert response.status == 413
    response = await client.post("/v1/choices", data=b'{"site_id": "' + b"a" * 2000 + b'"}',
                                 headers={"Content-Type": "application/json"})
    assert response.status == 413
    # 100 KiB is past the 64 KiB form limit but within the 4 MiB upload limit: it is read
    # and judged on its content (not an NHS England file), not refused for its size.
    csv = b"a,b\n" + b"1,2\n" * 25_000
    response = await client.post("/v1/stats/nhse", data=csv,
                                 headers={"Authorization": "Bearer tok",
                                          "Content-Type": "text/csv"})
    assert response.status == 400
    response = await client.post("/v1/stats/nhse", data=b"0" * (4 * 1024 * 1024 + 1),
                                 headers={"Authorization": "Bearer tok",
                                          "Content-Type": "text/csv"})
    assert response.status == 413


async def test_idle_keep_alive_connections_are_closed(make_client) -> None:
    client = await make_client(keepalive_seconds=0.5)
    first, closed = await raw_exchange(client.server.port,
                                       b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                                       wait_close_s=5)
    assert first.startswith(b"HTTP/1.1 200")
    assert closed


async def test_the_parameter_limit_still_counts_fields_not_ampersands(make_client) -> None:
    client = await make_client()
    at_limit = "&".join(f"p{i}=1" for i in range(MAX_QUERY_PARAMS - 2))
    # 24 parameters and empty fields: over 24 '&' but not over 24 parameters.
    ok = await client.get(f"/v1/rank?lat=51.2802&lon=1.0789&{at_limit}&&&&")
    assert ok.status == 200
    over = await client.get(f"/v1/rank?lat=51.2802&lon=1.0789&{at_limit}&one=1&two=2")
    assert over.status == 400
    assert (await over.json())["error"] == "too_many_parameters"
