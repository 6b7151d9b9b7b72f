"""Issue 15 without a browser: the words, ranges, ages, map and error pages of the patient page."""

from __future__ import annotations

import math

import pytest

from waitless.api.app import create_app
from waitless.api.page import age_in_years
from waitless.api.page_map import HEIGHT_PX, WIDTH_PX, answer_map
from waitless.api.page_view import ago_text, range_text
from waitless.settings import Settings

from .conftest import CANTERBURY, seeded_store

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(("low", "high", "text"), [
    (47.0, 58.0, "45–60 minutes"),        # rounded outwards, so the prediction is inside
    (45.0, 60.0, "45–60 minutes"),
    (52.0, None, "50 minutes"),
    (2.0, 3.0, "5 minutes"),
    (112.0, 141.0, "1 hr 50 min to 2 hr 25 min"),
])
def test_total_is_a_range_rounded_outwards_to_five_minutes(low, high, text) -> None:
    assert range_text(low, high) == text


@pytest.mark.parametrize(("minutes", "text"), [
    (0.2, "updated just now"), (1.0, "updated 1 minute ago"), (3.4, "updated 3 minutes ago"),
    (125.0, "updated 2 hr 5 min ago"), (None, "no recent update")])
def test_age_of_a_figure_in_plain_words(minutes, text) -> None:
    assert ago_text(minutes) == text


@pytest.mark.parametrize(("typed", "years"), [
    ("6 months", 0.5), ("18m", 1.5), ("3 mo", 0.25), ("2", 2.0), ("2 years", 2.0),
    ("40y", 40.0), ("0", 0.0), ("1.5", 1.5), (" 9 Months ", 0.75)])
def test_ages_in_months_or_years(typed, years) -> None:
    assert math.isclose(float(age_in_years(typed)), years, rel_tol=1e-3)


@pytest.mark.parametrize("typed", ["11.9999 months", "0.99999", "0.99996 years"])
def test_an_age_under_one_stays_under_one(typed) -> None:
    # Rounded to 4 significant figures these read "1", and a baby was shown minor injury units.
    assert float(age_in_years(typed)) < 1


@pytest.mark.parametrize("typed", ["six months", "-1", "6 weeks", "abc", "6 months 2"])
def test_unreadable_ages_are_refused(typed) -> None:
    assert age_in_years(typed) is None


def test_map_puts_the_patient_and_options_inside_with_north_up(kent) -> None:
    options = [{"site_id": s.id, "name": s.name, "lat": s.lat, "lon": s.lon}
               for s in (kent.site("RVVKC"), kent.site("RYYC3"), kent.site("RVV09"))]
    drawn = answer_map(kent, CANTERBURY, options)
    points = [drawn["you"], *(o["xy"] for o in drawn["options"])]
    assert all(0 <= x <= WIDTH_PX and 0 <= y <= HEIGHT_PX for x, y in points)
    # Margate (QEQM) is north-east of Canterbury: right of and above the patient.
    margate = drawn["options"][2]["xy"]
    assert margate[0] > drawn["you"][0] and margate[1] < drawn["you"][1]
    # Distances keep their proportions: Herne Bay is nearer than Margate on the map too.
    def dist(p):
        return math.dist(p, drawn["you"])
    assert dist(drawn["options"][1]["xy"]) < dist(margate)
    assert [o["number"] for o in drawn["options"]] == [1, 2, 3]
    assert 40 <= drawn["scale_px"] <= WIDTH_PX


async def test_answer_page_shows_contact_similar_options_and_the_map(page_client, kent) -> None:
    response = await page_client.get("/", params={"place": "Canterbury"})
    html = await response.text()
    best = kent.site("RVVKC").contact
    assert best.address in html.replace("&#39;", "'") and best.postcode in html
    assert f'href="{best.phone_tel}"' in html and "Phone number not known" not in html
    assert 'id="map"' in html and "<svg" in html and "<script" not in html.split("</main>")[0]
    assert "Last updated 10:30" in html
    api = await (await page_client.get("/v1/rank", params={
        "lat": "51.28022", "lon": "1.07890"})).json()
    totals = [r["total_minutes"] for r in api["results"]]
    similar = sum(1 for t in totals[1:] if t - totals[0] <= max(10, 0.1 * totals[0]))
    assert html.count('class="waitless-result waitless-option"') == len(totals) - 1
    if similar:
        assert "Similar total time" in html


async def test_walking_far_says_what_was_left_out(page_client) -> None:
    html = await (await page_client.get("/", params={"lat": "51.28022", "lon": "1.07890",
                                                     "mode": "walk", "age": "6 months"})).text()
    api = await (await page_client.get("/v1/rank", params={
        "lat": "51.28022", "lon": "1.07890", "mode": "walk", "age": "0.5"})).json()
    far = api.get("omitted_far_sites", 0)
    left_out = html.split('id="left-out"')[1].split("</div>")[0]
    assert far > 0  # walking from Canterbury, most of Kent is beyond the walking limit
    assert f"{far} places were left out as too far to walk" in left_out
    too_young = [e for e in api["excluded"] if e["reason"] == "below_min_age"]
    assert ("not listed because of the problem or age you gave" in left_out) == bool(too_young)
    best = api["results"][0]
    if best["travel_minutes"] > 45:
        assert "Consider a bus, taxi or lift" in left_out
    # The left-out note comes before the list of options (when there are others), near the answer.
    if 'class="waitless-result' in html:
        assert html.index('id="left-out"') < html.index('class="waitless-result')


@pytest.mark.parametrize(("params", "message"), [
    ({"lat": "abc", "lon": "1.0"}, "We could not read your location"),
    ({"place": "CT1", "age": "six months"}, "in months for a baby or toddler"),
    ({"place": "", "lat": "", "lon": ""}, "Enter a town or postcode, or use your location."),
])
async def test_errors_speak_to_people_not_programs(page_client, params, message) -> None:
    response = await page_client.get("/", params=params)
    html = await response.text()
    assert response.status == 400 and message in html
    assert "must be a number" not in html and "There is a problem" in html


async def test_browsers_get_html_error_pages_and_programs_keep_json(page_client) -> None:
    page = await page_client.get("/nowhere", headers=BROWSER)
    assert page.status == 404 and page.content_type == "text/html"
    assert "Page not found" in await page.text()
    wrong_method = await page_client.post("/", headers=BROWSER)
    assert wrong_method.status == 405 and wrong_method.content_type == "text/html"
    assert "GET" in wrong_method.headers["Allow"]
    for path, headers in (("/nowhere", {}), ("/nowhere", {"Accept": "application/json"}),
                          ("/v1/nowhere", BROWSER)):
        response = await page_client.get(path, headers=headers)
        assert response.status == 404 and (await response.json())["error"] == "not_found"


@pytest.mark.parametrize("path", ["/how-it-works", "/privacy", "/accessibility"])
async def test_footer_pages_exist_and_every_page_links_them(page_client, path) -> None:
    response = await page_client.get(path)
    assert response.status == 200
    html = await response.text()
    for link in ("/how-it-works", "/privacy", "/accessibility"):
        assert f'href="{link}"' in html


async def test_the_privacy_notice_says_no_cookie_and_the_retention_set(
        aiohttp_client, kent, fixed_now, tmp_path) -> None:
    # Load-aware ranking is off here, so the page sets no cookie; the period is the setting's
    # (WAITLESS_EVENT_RETENTION_DAYS), not a fixed 400 days.
    app = create_app(Settings(spool_dir=str(tmp_path / "spool"), event_retention_days=90),
                     region=kent, live_store=await seeded_store(kent, fixed_now),
                     clock=lambda: fixed_now)
    notice = await (await (await aiohttp_client(app)).get("/privacy")).text()
    assert "do not use cookies" in notice and "waitless_sent" not in notice
    assert "kept for up to 90 days" in notice


async def test_app_manifest_and_service_worker_are_served(page_client) -> None:
    manifest = await page_client.get("/static/manifest.webmanifest")
    assert manifest.status == 200
    body = await manifest.json(content_type=None)
    assert body["start_url"] == "/" and body["display"] == "standalone"
    worker = await page_client.get("/sw.js")
    assert worker.status == 200 and "javascript" in worker.headers["Content-Type"]
    assert "caches.open" in await worker.text()


def test_tiles_are_off_by_default_and_cover_the_map_when_turned_on(kent) -> None:
    options = [{"site_id": "RVVKC", "name": "K&C", "lat": 51.26659, "lon": 1.08710}]
    assert answer_map(kent, CANTERBURY, options)["tiles"] == []
    drawn = answer_map(kent, CANTERBURY, options,
                       tile_url="https://tiles.example.org/{z}/{x}/{y}.png")
    tiles = drawn["tiles"]
    assert tiles and all(t["href"].startswith("https://tiles.example.org/") for t in tiles)
    # Together the tiles cover the whole drawing (no blank edge), and the patient's tile
    # is the one the standard slippy-map formula gives for their coordinates.
    assert min(t["x"] for t in tiles) <= 0 and min(t["y"] for t in tiles) <= 0
    assert max(t["x"] + t["width"] for t in tiles) >= WIDTH_PX
    assert max(t["y"] + t["height"] for t in tiles) >= HEIGHT_PX
    x, y = drawn["you"]
    under = [t for t in tiles if t["x"] <= x <= t["x"] + t["width"]
             and t["y"] <= y <= t["y"] + t["height"]]
    zoom, col, row = (int(p) for p in under[0]["href"].removesuffix(".png").split("/")[-3:])
    lat, lon = CANTERBURY
    n = 2 ** zoom
    assert col == int((lon + 180) / 360 * n)
    assert row == int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


async def test_an_operator_tile_layer_is_allowed_by_the_page_csp(kent, fixed_now, tmp_path,
                                                                 aiohttp_client) -> None:
    from waitless.api.app import create_app
    from waitless.settings import Settings

    from .conftest import seeded_store
    store = await seeded_store(kent, fixed_now)
    settings = Settings(spool_dir=str(tmp_path / "spool"),
                        map_tile_url="https://tiles.example.org/{z}/{x}/{y}.png",
                        map_attribution="© Example contributors")
    client = await aiohttp_client(create_app(settings, region=kent, live_store=store,
                                             clock=lambda: fixed_now))
    response = await client.get("/", params={"place": "CT1"})
    html = await response.text()
    assert '<image href="https://tiles.example.org/' in html
    assert "Map tiles: © Example contributors." in html
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://tiles.example.org;" in csp
    assert "script-src 'self';" in csp  # nothing else loosened
    plain = await client.get("/")  # no map on the form: the policy stays closed
    assert "tiles.example.org" not in plain.headers["Content-Security-Policy"]


async def test_by_default_the_map_asks_no_third_party(page_client) -> None:
    response = await page_client.get("/", params={"place": "CT1"})
    html = await response.text()
    assert "<image" not in html
    assert "img-src 'self' data:;" in response.headers["Content-Security-Policy"]


def test_tile_url_setting_must_be_https_with_placeholders() -> None:
    from waitless.domain.errors import ConfigError
    from waitless.settings import settings_from_env
    good = "https://tiles.example.org/{z}/{x}/{y}.png"
    assert settings_from_env({"WAITLESS_MAP_TILE_URL": good}).map_tile_url == good
    assert settings_from_env({}).map_tile_url is None
    for bad in ("http://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org/"):
        with pytest.raises(ConfigError, match="WAITLESS_MAP_TILE_URL"):
            settings_from_env({"WAITLESS_MAP_TILE_URL": bad})


async def test_a_bug_is_a_friendly_500_page_for_browsers_and_json_for_programs(
        kent, fixed_now, tmp_path, aiohttp_client) -> None:
    from waitless.api.app import create_app
    from waitless.settings import Settings

    from .conftest import seeded_store

    async def broken(request):
        raise RuntimeError("a bug")

    app = create_app(Settings(spool_dir=str(tmp_path / "spool")), region=kent,
                     live_store=await seeded_store(kent, fixed_now), clock=lambda: fixed_now)
    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)
    page = await client.get("/broken", headers=BROWSER)
    assert page.status == 500 and page.content_type == "text/html"
    html = await page.text()
    assert "Sorry, there is a problem with the service" in html and "a bug" not in html
    api = await client.get("/broken")
    assert api.status == 500 and (await api.json())["error"] == "internal_error"
