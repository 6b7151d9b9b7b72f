"""A database outage's 503 says when to ask again; a database not configured does not.

``/v1/choices`` (the patient page's "I went here") and ``/v1/stats/*`` answered a PostgreSQL
that does not answer with 503 ``database_unavailable`` and no ``Retry-After``, where a live
store outage's 503 has ``Retry-After: 30``. Without a database configured the same 503 stays
without it: asking again changes nothing.
"""

from __future__ import annotations

from waitless.api import keys

DEAD_DATABASE = "postgresql://postgres@127.0.0.1:1/waitless"
TOKEN = "database-outage-token-0123"


async def test_a_database_outage_has_retry_after(make_client) -> None:
    client = await make_client(database_url=DEAD_DATABASE, commissioner_token=TOKEN)
    site_id = (await (await client.get("/v1/sites")).json())["sites"][0]["site_id"]
    for path in ("/v1/choices", "/v1/stats/events"):
        # Past the pause after the last attempt, and within it (no connect tried).
        for retry_at in (0.0, float("inf")):
            client.app[keys.DATABASE]._retry_at = retry_at
            if path == "/v1/choices":
                response = await client.post(path, json={"site_id": site_id})
            else:
                response = await client.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status == 503, path
            assert (await response.json())["error"] == "database_unavailable"
            # Before: no Retry-After.
            assert response.headers.get("Retry-After") == "30", (path, retry_at)


async def test_no_database_configured_has_no_retry_after(make_client) -> None:
    client = await make_client()
    site_id = (await (await client.get("/v1/sites")).json())["sites"][0]["site_id"]
    response = await client.post("/v1/choices", json={"site_id": site_id})
    assert response.status == 503
    assert "Retry-After" not in response.headers
