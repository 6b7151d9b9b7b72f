"""Parsing NHS England monthly A&E provider CSVs: real files and the ways a file can be wrong."""

from __future__ import annotations

import datetime as dt

import pytest

from waitless.domain.errors import WaitlessError
from waitless.stats.errors import NhseFormatError
from waitless.stats.nhse import parse_provider_csv

HEADER = (
    "Period,Org Code,Parent Org,Org name,A&E attendances Type 1,A&E attendances Type 2,"
    "A&E attendances Other A&E Department,A&E attendances Booked Appointments Type 1,"
    "A&E attendances Booked Appointments Type 2,"
    "A&E attendances Booked Appointments Other Department"
)


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join((header, *lines)) + "\n").encode()


def test_real_files_give_their_period_month_and_every_provider(monthly_paths,
                                                                 independent_counts):
    for month, path in monthly_paths.items():
        parsed = parse_provider_csv(path)
        expected = independent_counts(path)
        assert parsed.month == dt.date.fromisoformat(month + "-01")
        assert {r.org_code for r in parsed.rows} == set(expected)
        assert "TOTAL" not in {r.org_code.upper() for r in parsed.rows}
        rvv = next(r for r in parsed.rows if r.org_code == "RVV")
        assert rvv.counts["type1"] == expected["RVV"]["A&E attendances Type 1"]
        assert rvv.counts["other"] == expected["RVV"]["A&E attendances Other A&E Department"]
        assert rvv.parent_org == "NHS ENGLAND SOUTH EAST"  # published with a trailing space
        assert len(parsed.sha256) == 64


def test_month_comes_from_period_not_from_a_misleading_file_name(monthly_paths):
    data = monthly_paths["2025-07"].read_bytes()
    parsed = parse_provider_csv(data, source_name="Monthly-AE-April-2025.csv")
    assert parsed.month == dt.date(2025, 7, 1)
    assert parsed.period_label == "MSitAE-JULY-2025"
    assert parsed.source_name == "Monthly-AE-April-2025.csv"


def test_missing_providers_and_quoted_names_with_commas(monthly_paths):
    april = {r.org_code for r in parse_provider_csv(monthly_paths["2025-04"]).rows}
    july = {r.org_code for r in parse_provider_csv(monthly_paths["2025-07"]).rows}
    assert "DJV01" not in april and "DJV01" in july
    september = parse_provider_csv(monthly_paths["2025-09"])
    kings_lynn = next(r for r in september.rows if r.org_code == "RCX")
    assert kings_lynn.org_name == "THE QUEEN ELIZABETH HOSPITAL, KING'S LYNN, NHS FOUNDATION TRUST"
    assert kings_lynn.counts["type1"] == 6525


def test_empty_junk_columns_and_padding_are_tolerated():
    parsed = parse_provider_csv(_csv(
        "MSitAE-MAY-2025 , RVV ,NHS ENGLAND SOUTH EAST ,EAST KENT,10,0,20,1,0,2,,",
        "MSitAE-MAY-2025,ach01,NHS ENGLAND SOUTH EAST ,WHITSTABLE,0,0,\"4,951\",0,0,0,,",
        "",
        header=HEADER + ", ,",
    ))
    assert parsed.month == dt.date(2025, 5, 1)
    rows = {r.org_code: r for r in parsed.rows}
    assert rows["RVV"].counts["type1"] == 10 and rows["RVV"].counts["booked_other"] == 2
    assert rows["ACH01"].counts["other"] == 4951
    assert rows["RVV"].counts["over4_type1"] is None  # column absent, not zero


def test_total_row_is_checked_then_dropped():
    good = _csv("MSitAE-MAY-2025,RVV,P,N,10,0,20,1,0,2", "MSitAE-MAY-2025,RPA,P,N,5,0,5,0,0,0",
                "Total,Total,Total,Total,15,0,25,1,0,2")
    assert [r.org_code for r in parse_provider_csv(good).rows] == ["RVV", "RPA"]
    truncated = _csv("MSitAE-MAY-2025,RVV,P,N,10,0,20,1,0,2",
                     "TOTAL,TOTAL,TOTAL,TOTAL,15,0,25,1,0,2")
    with pytest.raises(NhseFormatError, match="TOTAL row says 15"):
        parse_provider_csv(truncated)


@pytest.mark.parametrize(("content", "message"), [
    (b"name,postcode,lat,lon\nWilliam Harvey,TN24 0LZ,51.1,0.9\n", "missing column"),
    (_csv("MSitAE-MAY-2025,RVV,P,N,10,0,abc,1,0,2"), "'abc' is not a non-negative whole number"),
    (_csv("MSitAE-MAY-2025,RVV,P,N,10,0,-3,1,0,2"), "not a non-negative whole number"),
    (_csv("MSitAE-MAY-2025,RVV,P,N,10,0,2.5,1,0,2"), "not a non-negative whole number"),
    (_csv("MSitAE-MAY-2025,RVV,P,N,10,0,20,1,0,2", "MSitAE-JUNE-2025,RPA,P,N,1,0,2,0,0,0"),
     "mixes months MSitAE-JUNE-2025, MSitAE-MAY-2025"),
    (_csv("2025-05,RVV,P,N,10,0,20,1,0,2"), "Period '2025-05' is not like"),
    (_csv("MSitAE-MAY-2025,RVV,P,N,10,0,20,1,0,2", "MSitAE-MAY-2025,RVV,P,N,1,0,2,0,0,0"),
     "RVV appear more than once"),
    (_csv("MSitAE-MAY-2025,RVV,P,N,10,0,,1,0,2"), "empty"),
    (_csv(), "no provider rows"),
    (b"\x00\x01\x02binary", "binary data"),
])
def test_wrong_files_raise_a_clear_format_error(content, message):
    with pytest.raises(NhseFormatError, match=message):
        parse_provider_csv(content, source_name="upload.csv")


def test_missing_required_columns_are_named():
    header = HEADER.replace(",A&E attendances Booked Appointments Other Department", "")
    with pytest.raises(NhseFormatError) as info:
        parse_provider_csv(_csv("MSitAE-MAY-2025,RVV,P,N,10,0,20,1,0", header=header))
    assert "'A&E attendances Booked Appointments Other Department'" in str(info.value)
    assert isinstance(info.value, WaitlessError) and not isinstance(info.value, ValueError)


def test_tidy_extract_is_not_a_provider_csv(nhse_file):
    with pytest.raises(NhseFormatError, match="not an NHS England monthly A&E provider CSV"):
        parse_provider_csv(nhse_file("kent-trusts-2020-2026-monthly.csv"))


def test_unreadable_path_is_a_format_error(tmp_path):
    with pytest.raises(NhseFormatError, match="cannot read"):
        parse_provider_csv(tmp_path / "absent.csv")
