"""/v1/stats/shift and /v1/stats/nhse: authentication, values, all-or-nothing uploads."""

from __future__ import annotations

import asyncpg
import jsonschema
import pytest
from aiohttp import FormData

from tests.api.commissioners.conftest import MONTHLY_FILES, TOKEN, auth, nhse_path
from waitless.stats.config import stats_config
from waitless.stats.england import comparison_statistics

SHIFT = {"orgs": "RVV,RYY", "baseline": "2025-04..2025-06", "period": "2025-07..2025-09"}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/stats/shift"), ("GET", "/v1/stats/events"), ("POST", "/v1/stats/nhse")])
async def test_without_a_configured_token_every_stats_endpoint_is_503(
        aiohttp_client, make_app, db, method, path) -> None:
    client = await aiohttp_client(await make_app(db, commissioner_token=None))
    for headers in ({}, auth(), auth("")):
        response = await client.request(method, path, params=SHIFT, headers=headers)
        assert response.status == 503
        body = await response.json()
        assert body["error"] == "not_configured"
        assert "WAITLESS_COMMISSIONER_TOKEN" in body["message"]
    page = await client.get("/commissioners")
    assert page.status == 503 and "WAITLESS_COMMISSIONER_TOKEN" in await page.text()


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/stats/shift"), ("GET", "/v1/stats/events"), ("POST", "/v1/stats/nhse")])
async def test_missing_or_wrong_token_is_401_with_www_authenticate(
        aiohttp_client, make_app, db, method, path) -> None:
    client = await aiohttp_client(await make_app(db))
    for headers in ({}, auth("wrong"), auth(TOKEN + "x"), auth(TOKEN[:-1]),
                    {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}):
        response = await client.request(method, path, params=SHIFT, headers=headers)
        assert response.status == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert (await response.json())["error"] == "unauthorized"


async def _upload_raw(client, name: str) -> dict:
    path = nhse_path(name)
    response = await client.post("/v1/stats/nhse", params={"name": name},
                                 data=path.read_bytes(),
                                 headers={**auth(), "Content-Type": "text/csv"})
    assert response.status == 200, await response.text()
    return await response.json()


async def test_shift_endpoint_equals_the_library_on_the_uploaded_files(
        aiohttp_client, make_app, db, kent) -> None:
    client = await aiohttp_client(await make_app(db))
    actions = [(await _upload_raw(client, name))["imported"][0] for name in MONTHLY_FILES]
    assert [a["action"] for a in actions] == ["imported"] * 6
    assert [a["month"] for a in actions] == [f"2025-{m:02d}" for m in range(4, 10)]
    response = await client.get("/v1/stats/shift", params=SHIFT, headers=auth())
    assert response.status == 200
    body = await response.json()
    conn = await asyncpg.connect(db)
    try:
        expected = await comparison_statistics(conn, stats_config(kent), ["RVV", "RYY"],
                                               SHIFT["baseline"], SHIFT["period"])
        default_group = await comparison_statistics(conn, stats_config(kent), None,
                                                    SHIFT["baseline"], SHIFT["period"])
    finally:
        await conn.close()
    assert body == expected
    # The figures recorded in docs/statistics.md.
    assert body["baseline"]["type1"] == 36971 and body["baseline"]["other"] == 67580
    assert body["shift_pp"] == pytest.approx(-3.53, abs=0.005)
    # Herne Bay (DJV01) starts reporting in July as RYY's other attendances fall: withheld.
    assert body["rating"] is None
    assert body["rating_withheld_reason"].startswith(
        "DJV01 began reporting in July 2025 with 2,265 attendances while RYY's other "
        "attendances fell by 3,098")
    assert body["suggested_orgs"] == ["RVV", "RYY", "DJV01"]
    # The answer is the one /openapi.json documents, new fields included.
    spec = await (await client.get("/openapi.json")).json()
    schema = spec["paths"]["/v1/stats/shift"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    jsonschema.validate(body, schema)
    assert {"by_org", "england", "did_pp", "did_ci95_pp", "shift_ci95_pp_monthly",
            "rating_withheld_reason"} <= set(schema["required"])
    assert [o["org"] for o in body["by_org"]] == ["RVV", "RYY"]
    assert body["did_pp"] == pytest.approx(body["shift_pp"] - body["england"]["shift_pp"])
    whole = await (await client.get("/v1/stats/shift", headers=auth(), params={
        "baseline": SHIFT["baseline"], "period": SHIFT["period"]})).json()
    assert whole == default_group
    assert len(whole["orgs"]) == 8 and whole["shift_pp"] == pytest.approx(-0.65, abs=0.005)


@pytest.mark.parametrize(("params", "error", "text"), [
    ({"baseline": "2025-04..2025-06"}, "bad_request", "period is required"),
    ({**SHIFT, "baseline": "April"}, "bad_request", "bad month"),
    ({**SHIFT, "orgs": "XYZ"}, "bad_request", "not providers"),
    ({**SHIFT, "baseline": "2025-07..2025-09", "period": "2025-04..2025-06"}, "bad_request",
     "must end before"),
    ({**SHIFT, "baseline": "2019-01..2019-03"}, "no_data", "no attendances imported"),
])
async def test_bad_shift_input_is_400_json(aiohttp_client, make_app, db, params, error,
                                           text) -> None:
    client = await aiohttp_client(await make_app(db))
    await _upload_raw(client, MONTHLY_FILES[0])
    response = await client.get("/v1/stats/shift", params=params, headers=auth())
    assert response.status == 400
    body = await response.json()
    assert body["error"] == error and text in body["message"]


async def _month_state(dsn: str) -> list[tuple]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT month, sha256, imported_at FROM nhse_ae_import"
                                " ORDER BY month")
        count = await conn.fetchval("SELECT count(*) FROM nhse_ae_monthly")
    finally:
        await conn.close()
    return [tuple(r) for r in rows] + [("rows", count)]


def _multipart(*names: str, extra: tuple[str, bytes] | None = None) -> FormData:
    form = FormData()
    for name in names:
        form.add_field("file", nhse_path(name).read_bytes(), filename=name,
                       content_type="text/csv")
    if extra:
        form.add_field("file", extra[1], filename=extra[0], content_type="text/csv")
    return form


async def test_multipart_upload_is_idempotent(aiohttp_client, make_app, db) -> None:
    client = await aiohttp_client(await make_app(db))
    first = await client.post("/v1/stats/nhse", data=_multipart(*MONTHLY_FILES[:3]),
                              headers=auth())
    assert first.status == 200
    assert [i["action"] for i in (await first.json())["imported"]] == ["imported"] * 3
    state = await _month_state(db)
    assert len(state) == 4 and state[-1][1] > 3 * 100
    again = await client.post("/v1/stats/nhse", data=_multipart(*MONTHLY_FILES[:3]),
                              headers=auth())
    body = await again.json()
    assert [i["action"] for i in body["imported"]] == ["unchanged"] * 3
    assert [i["source_name"] for i in body["imported"]] == list(MONTHLY_FILES[:3])
    assert await _month_state(db) == state  # same rows, same import times: nothing rewritten


async def test_a_non_nhs_csv_rejects_the_whole_upload(aiohttp_client, make_app, db) -> None:
    client = await aiohttp_client(await make_app(db))
    tidy = nhse_path("kent-trusts-2016-2019-tidy.csv")
    before = await _month_state(db)
    response = await client.post(
        "/v1/stats/nhse", headers=auth(),
        data=_multipart(MONTHLY_FILES[0], extra=(tidy.name, tidy.read_bytes())))
    assert response.status == 400
    body = await response.json()
    assert body["error"] == "bad_request"
    assert "not an NHS England monthly A&E provider CSV" in body["message"]
    assert tidy.name in body["message"]
    assert await _month_state(db) == before  # the valid April file was not imported either
    garbage = await client.post("/v1/stats/nhse", data=b"\x00\x01binary", headers={
        **auth(), "Content-Type": "text/csv"})
    assert garbage.status == 400 and "binary" in (await garbage.json())["message"]
    wrong_type = await client.post("/v1/stats/nhse", json={"a": 1}, headers=auth())
    assert wrong_type.status == 400 and "text/csv" in (await wrong_type.json())["message"]


async def test_upload_over_the_size_limit_is_413(aiohttp_client, make_app, db) -> None:
    from waitless.api.stats_handlers import UPLOAD_MAX_BYTES
    client = await aiohttp_client(await make_app(db))
    big = b"Period,Org Code\n" + b"x" * UPLOAD_MAX_BYTES

    async def chunks():
        for start in range(0, len(big), 65536):
            yield big[start:start + 65536]

    for data in (big, chunks()):  # with and without a Content-Length
        response = await client.post("/v1/stats/nhse", data=data,
                                     headers={**auth(), "Content-Type": "text/csv"})
        assert response.status == 413
        assert (await response.json())["error"] == "payload_too_large"
    assert await _month_state(db) == [("rows", 0)]
