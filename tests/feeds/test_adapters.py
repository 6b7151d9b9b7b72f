"""Each adapter against realistic payloads carrying the documented quirks."""

from datetime import UTC, datetime

import pytest

from feeds.adapters import ADAPTERS, BODY_TYPES, get_adapter
from feeds.adapters._html import read_page
from feeds.errors import FeedParseError
from waitless.domain.observation import Observation


def by_key(observations):
    return {(o.site_id, o.service): o for o in observations}


def test_every_adapter_is_registered_with_a_body_type():
    assert set(ADAPTERS) == {"native", "jsonmap", "htmltable", "hk_ha", "alberta", "ni_arcgis",
                             "bc_push"}
    assert set(BODY_TYPES) == set(ADAPTERS)
    with pytest.raises(ValueError, match="known: alberta, bc_push"):
        get_adapter("csv")


# --- htmltable: the Kent & Medway UTC page --------------------------------------------------

def test_km_utc_page_reads_every_centre(run_feed):
    obs = run_feed("km-utc", "km_utc.html")
    waits = {o.site_id: o.wait_minutes for o in obs}
    assert waits == {"RVV02": 110, "ACH01": 35, "AQM01": None, "RYYC3": 20, "RVVKC": 160,
                     "RWF03": 65, "RVV09": 190, "RVV03": None, "RWFTW": 55, "RYYCH": None,
                     "RVV01": 135}
    assert {o.service for o in obs} == {"utc"}
    # "Last updated: 11:45 on 16 February 2026" is London time (GMT in February)
    assert {o.observed_at for o in obs} == {datetime(2026, 2, 16, 11, 45, tzinfo=UTC)}
    assert all(o.timestamp_from_source for o in obs)
    by_site = {o.site_id: o for o in obs}
    assert by_site["RYYCH"].status == "closed"  # "Closed" in the wait column
    assert by_site["AQM01"].status == "open"  # "No data": open, no figure
    assert by_site["RVV02"].patients_waiting == 14
    assert by_site["AQM01"].patients_waiting is None


def test_km_utc_page_summer_time_and_table_by_index(run_feed, payload):
    body = payload("km_utc.html").replace(b"16 February 2026", b"16 July 2026")
    obs = run_feed("km-utc", "", body=body, table=1)
    assert obs[0].observed_at == datetime(2026, 7, 16, 10, 45, tzinfo=UTC)  # BST


def test_km_utc_page_unmapped_centre_is_passed_through(run_feed, payload):
    body = payload("km_utc.html").replace(b"Herne Bay", b"Whitstable")
    assert "Whitstable" in {o.site_id for o in run_feed("km-utc", "", body=body)}


def test_km_utc_page_without_updated_text_is_an_error(run_feed, payload):
    body = payload("km_utc.html").replace(b"Last updated:", b"Refreshed")
    with pytest.raises(FeedParseError, match="found no updated-at text"):
        run_feed("km-utc", "", body=body)


def test_km_utc_page_without_updated_regex_uses_fetch_time(run_feed, feeds, payload, fetched_at):
    options = {k: v for k, v in feeds["km-utc"].options.items() if k != "updated_regex"}
    obs = get_adapter("htmltable")(payload("km_utc.html"), feed_name="x", fetched_at=fetched_at,
                                   options=options)
    assert {o.observed_at for o in obs} == {fetched_at}
    assert not any(o.timestamp_from_source for o in obs)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"table": "#missing"}, "no table matching '#missing'"),
    ({"table": 7}, "the page has 2 table"),
    ({"wait_column": "Wait now"}, "no column headed 'Wait now'"),
])
def test_km_utc_page_misconfiguration_names_the_problem(run_feed, overrides, message):
    with pytest.raises(FeedParseError, match=message):
        run_feed("km-utc", "km_utc.html", **overrides)


def test_html_reader_handles_omitted_end_tags_and_hidden_script():
    tables, text = read_page("<table><tr><th>A<th>B<tr><td>x<td>1 &amp; 2<br>3</table>"
                             "<script>'<table><tr><td>no</td></tr></table>'</script>")
    assert len(tables) == 1
    assert tables[0].rows == [["A", "B"], ["x", "1 & 2 3"]]
    assert tables[0].has_td == [False, True]
    assert "no" not in text.split()


# --- jsonmap ----------------------------------------------------------------------------------

def test_jsonmap_maps_fields_services_and_local_times(run_feed):
    obs = by_key(run_feed("example-trust", "trust_jsonmap.json"))
    assert set(obs) == {("RWF03", "ed"), ("RWF03", "utc"), ("RWFTW", "ed"), ("RWFTW", "utc")}
    assert obs["RWF03", "ed"].wait_minutes == 297  # "4 hours 57 mins"
    assert obs["RWF03", "utc"].wait_minutes == 314  # "5h 14m"
    assert obs["RWFTW", "utc"].wait_minutes == 0  # "00:00", judged by validation
    assert {o.wait_kind for o in obs.values()} == {"longest"}
    assert obs["RWF03", "ed"].observed_at == datetime(2026, 2, 16, 11, 30, tzinfo=UTC)
    assert obs["RWF03", "ed"].patients_waiting == 23  # "23" as text
    assert obs["RWFTW", "ed"].patients_waiting == 17


def test_jsonmap_document_timestamp_and_missing_path(run_feed, feeds, payload, fetched_at):
    options = {k: v for k, v in feeds["example-trust"].options.items()
               if k != "timestamp_field"}
    options |= {"timestamp_path": "meta.generated", "timestamp_format": "iso"}
    obs = get_adapter("jsonmap")(payload("trust_jsonmap.json"), feed_name="x",
                                 fetched_at=fetched_at, options=options)
    assert {o.observed_at for o in obs} == {datetime(2026, 2, 16, 11, 40, tzinfo=UTC)}
    assert all(o.timestamp_from_source for o in obs)
    with pytest.raises(FeedParseError, match=r"path 'data\.sites' not found"):
        run_feed("example-trust", "trust_jsonmap.json", list_path="data.sites")


def test_jsonmap_without_timestamp_uses_fetch_time(fetched_at):
    body = b'[{"site": "A", "minutes": 12}, {"site": "B"}]'
    obs = get_adapter("jsonmap")(body, feed_name="f", fetched_at=fetched_at,
                                 options={"site_field": "site", "wait_field": "minutes"})
    assert obs == [
        Observation("A", None, 12.0, fetched_at, feed="f", timestamp_from_source=False),
        Observation("B", None, None, fetched_at, feed="f", timestamp_from_source=False),
    ]


def test_jsonmap_bad_option_types_are_parse_errors(fetched_at):
    with pytest.raises(FeedParseError, match="option 'wait_field' is required"):
        get_adapter("jsonmap")(b'[{"s": "A"}]', feed_name="f", fetched_at=fetched_at,
                               options={"site_field": "s"})
    with pytest.raises(FeedParseError, match="option 'sites' has the wrong type"):
        get_adapter("jsonmap")(b'[{"s": "A"}]', feed_name="f", fetched_at=fetched_at,
                               options={"site_field": "s", "wait_field": "w", "sites": ["A"]})
    with pytest.raises(FeedParseError, match="unknown wait kind 'mean'"):
        get_adapter("jsonmap")(b'[{"s": "A", "w": 1}]', feed_name="f", fetched_at=fetched_at,
                               options={"site_field": "s", "wait_field": "w",
                                        "wait_kind": "mean"})


# --- Hong Kong HA -----------------------------------------------------------------------------

def test_hk_aedwtdata2_medians_p95_and_units(run_feed):
    obs = by_key(run_feed("hk-ha", "hk_aedwtdata2.json"))
    kwh_ed, kwh_minor = obs["KWH", "ed"], obs["KWH", "utc"]
    assert (kwh_ed.wait_minutes, kwh_ed.wait_p95_minutes) == (35, 79)
    assert (kwh_minor.wait_minutes, kwh_minor.wait_p95_minutes) == (300, 570)  # 5 h, 9.5 h
    assert obs["AHN", "utc"].wait_minutes == 210  # "3.5 hours"
    assert {o.wait_kind for o in obs.values()} == {"median"}
    # "16/2/2026 1:00PM" Hong Kong time (UTC+8)
    assert {o.observed_at for o in obs.values()} == {datetime(2026, 2, 16, 5, 0, tzinfo=UTC)}
    # "-" is no figure; resuscitation text in t1/t2 does not disturb the t3 figures
    assert (obs["NLT", "ed"].wait_minutes, obs["NLT", "ed"].wait_p95_minutes) == (None, None)
    assert obs["QEH", "ed"].wait_minutes == 48
    # unmapped hospital passed through for validation to report
    assert ("St John Hospital", "ed") in obs


def test_hk_waittime_as_object_and_spaced_am_pm(run_feed):
    obs = by_key(run_feed("hk-ha", "hk_aedwtdata2_object.json"))
    assert set(obs) == {("KWH", "ed"), ("KWH", "utc"), ("QEH", "ed"), ("QEH", "utc")}
    assert obs["QEH", "utc"].observed_at == datetime(2026, 3, 6, 1, 15, tzinfo=UTC)


def test_hk_stream_selection_and_services(run_feed):
    obs = run_feed("hk-ha", "hk_aedwtdata2.json", streams=["minor"], minor_service="")
    assert {o.service for o in obs} == {None}
    assert len(obs) == 6
    with pytest.raises(FeedParseError, match="unknown stream"):
        run_feed("hk-ha", "hk_aedwtdata2.json", streams=["t1"])


def test_hk_older_topwait_is_the_longest_wait(run_feed):
    obs = {o.site_id: o for o in run_feed("hk-ha", "hk_aedwtdata_topwait.json")}
    assert (obs["KWH"].wait_minutes, obs["KWH"].wait_kind) == (180, "lower_bound")
    assert (obs["QEH"].wait_minutes, obs["QEH"].wait_kind) == (720, "lower_bound")
    assert (obs["NLT"].wait_minutes, obs["NLT"].wait_kind) == (60, "longest")
    assert obs["AHN"].wait_minutes is None
    assert obs["KWH"].service is None
    assert obs["KWH"].observed_at == datetime(2026, 2, 16, 15, 45, tzinfo=UTC)  # 11:45PM HK


def test_hk_oldest_format_per_hospital_time_with_fallback(run_feed):
    obs = {o.site_id: o for o in run_feed("hk-ha", "hk_oldest.json")}
    assert obs["KWH"].observed_at == datetime(2026, 2, 16, 5, 0, tzinfo=UTC)
    assert obs["QEH"].observed_at == datetime(2026, 2, 16, 4, 45, tzinfo=UTC)  # timeEn
    assert (obs["KWH"].wait_minutes, obs["KWH"].wait_kind) == (120, "lower_bound")


@pytest.mark.parametrize(("body", "message"), [
    (b'{"waitTime": [], "updateTime": "2026-02-16 13:00"}', "not a Hong Kong"),
    (b'{"updateTime": "16/2/2026 1:00PM"}', "expected 'waitTime'"),
    (b'{"waitTime": [{"t3p50": "5 minutes"}], "updateTime": "16/2/2026 1:00PM"}',
     "missing 'hospName'"),
    (b'{"waitTime": "busy", "updateTime": "16/2/2026 1:00PM"}', "list of hospital objects"),
    (b'{"waitTime": [', "not valid JSON"),
])
def test_hk_structural_problems_are_named(run_feed, body, message):
    with pytest.raises(FeedParseError, match=message):
        run_feed("hk-ha", "", body=body)


# --- Alberta ----------------------------------------------------------------------------------

def test_alberta_unpacks_departments_entities_and_flags(run_feed, fetched_at):
    obs = by_key(run_feed("ahs", "alberta.json"))
    assert obs["FMC", "ed"].wait_minutes == 199  # "3 hr 19 min"
    assert obs["SHC", "ed"].wait_minutes == 165  # packed "[;]" campus, Emergency part
    assert obs["SHC", "utc"].wait_minutes == 55  # ... and its Urgent part
    assert obs["STOL", "ed"].wait_minutes == 100  # "Stollery Children&#39;s Hospital"
    assert obs["UAH", "ed"].wait_minutes == 250  # Category "Emergency" broadcast to both
    assert obs["GNCH", "ed"].wait_minutes == 360  # "&amp;" in the name
    airdrie = obs["ACHC", "utc"]
    assert (airdrie.wait_minutes, airdrie.status) == (None, "unknown")  # "True" as a string
    assert all(o.observed_at == fetched_at and not o.timestamp_from_source
               for o in obs.values())
    assert not any(site == "Red Deer Regional Hospital Centre" for site, _ in obs)  # areas


def test_alberta_packing_mismatch_and_bad_flag(run_feed):
    body = (b'{"Calgary": {"Emergency": [{"Name": "A[;]B[;]C", "WaitTime": "1 hr[;]2 hr",'
            b' "TimesUnavailable": "False"}]}}')
    with pytest.raises(FeedParseError, match="packs 2 values for 3 departments"):
        run_feed("ahs", "", body=body)
    body = b'{"Calgary": {"Emergency": [{"Name": "A", "TimesUnavailable": "yes"}]}}'
    with pytest.raises(FeedParseError, match="must be 'True' or 'False'"):
        run_feed("ahs", "", body=body)


def test_alberta_unknown_category_passes_through(run_feed):
    body = (b'{"Calgary": {"Mental Health": [{"Name": "Foothills Medical Centre", '
            b'"Category": "Mental Health", "WaitTime": "1 hr 0 min", '
            b'"TimesUnavailable": "False"}]}, "Edmonton": {}}')
    assert run_feed("ahs", "", body=body)[0].service == "Mental Health"


# --- Northern Ireland ArcGIS ------------------------------------------------------------------

def test_ni_arcgis_minutes_meaning_status_and_epoch_ms(run_feed, fetched_at):
    obs = {o.site_id: o for o in run_feed("ni", "ni_arcgis.json")}
    assert (obs["ANT"].wait_minutes, obs["ANT"].wait_kind) == (180, "lower_bound")
    assert (obs["CAU"].wait_minutes, obs["CAU"].wait_kind) == (45, "upper_bound")
    assert (obs["LVH"].wait_minutes, obs["LVH"].status) == (None, "closed")
    assert obs["ULS"].wait_minutes == 130  # WaitTimeInt null: from "2 hours 10 mins"
    assert obs["ULS"].observed_at == datetime(2026, 2, 16, 11, 45, tzinfo=UTC)
    assert obs["ANT"].observed_at == datetime(2026, 2, 16, 12, 0, tzinfo=UTC)
    assert (obs["DHH"].observed_at, obs["DHH"].timestamp_from_source) == (fetched_at, False)
    assert obs["DHH"].status == "unknown"


def test_ni_arcgis_error_payload_is_named(run_feed):
    with pytest.raises(FeedParseError, match="ArcGIS error 400: Invalid or missing input"):
        run_feed("ni", "ni_arcgis_error.json")


# --- British Columbia push --------------------------------------------------------------------

def test_bc_push_parses_and_passes_odd_values_through(run_feed, fetched_at):
    obs = {o.site_id: o for o in run_feed("bc", "bc_push.json")}
    assert obs["VGH"] == Observation("VGH", "ed", 42.0, fetched_at, feed="bc",
                                     timestamp_from_source=False)
    assert obs["SPH"].wait_minutes is None
    assert obs["LGH"].wait_minutes == -5  # rejected later as negative_wait
    assert "rch" in obs  # unmapped code


def test_bc_push_token_check(payload):
    from feeds.adapters.bc_push import push_token, token_matches
    token = push_token(payload("bc_push.json"))
    assert token == "s3cret-vgh-token"
    assert token_matches(token, "s3cret-vgh-token")
    assert token_matches(token, ["other", "s3cret-vgh-token"])
    assert not token_matches(token, "s3cret-vgh-tokeN")
    assert not token_matches(token, ["", "s3cret"])
    assert not token_matches(None, "s3cret-vgh-token")
    assert not token_matches("", "")
    assert push_token(b'{"waitTimes": []}') is None
    with pytest.raises(FeedParseError):
        push_token(b'{"token": "x"}')
