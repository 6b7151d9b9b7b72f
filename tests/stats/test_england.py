"""Comparison with England, per-org rows, intervals and withheld ratings on the real NHS files.

Every expected figure is recomputed here from the published CSVs with the csv module alone.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.stats.conftest import MONTHLY_FILES, NHSE_DIR
from waitless.domain.region import load_region
from waitless.domain.stats_settings import ConfiguredBreak
from waitless.stats.config import stats_config
from waitless.stats.england import comparison_statistics, t_interval_pp
from waitless.stats.nhse import import_files

BASELINE, PERIOD = "2025-04..2025-06", "2025-07..2025-09"
# Jul-Sep 2024, for the year-on-year comparison of Jul-Sep 2025.
YEAR_EARLIER = {"2024-07": "Monthly-AE-July-2024-revised.csv",
                "2024-08": "Monthly-AE-August-2024.csv",
                "2024-09": "Monthly-AE-September-2024.csv"}


@pytest.fixture
def kent():
    return stats_config(load_region("kent-medway"))


def _path(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        pytest.skip(f"shared NHS England data not present: {path}")
    return path


@pytest.fixture
def paths() -> dict[str, Path]:
    """Month -> file for Jul-Sep 2024 and Apr-Sep 2025."""
    out = {m: _path(NHSE_DIR / "national-2018-2025", n) for m, n in YEAR_EARLIER.items()}
    return out | {m: _path(NHSE_DIR, n) for m, n in MONTHLY_FILES.items()}


def _counted(path: Path) -> dict[str, tuple[int, int]]:
    """Org -> (type 1 + booked type 1, other + booked other) by header name, TOTAL left out."""
    out = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if "TOTAL" in (row["Period"].upper(), row["Org Code"].upper()):
                continue
            out[row["Org Code"]] = (
                int(row["A&E attendances Type 1"])
                + int(row["A&E attendances Booked Appointments Type 1"]),
                int(row["A&E attendances Other A&E Department"])
                + int(row["A&E attendances Booked Appointments Other Department"]))
    return out


def _share(counts: dict[str, dict[str, tuple[int, int]]], months: list[str], keep) -> float:
    type1 = sum(c[0] for m in months for org, c in counts[m].items() if keep(org))
    other = sum(c[1] for m in months for org, c in counts[m].items() if keep(org))
    return other / (type1 + other)


BASE_MONTHS = ["2025-04", "2025-05", "2025-06"]
PER_MONTHS = ["2025-07", "2025-08", "2025-09"]


@pytest.mark.parametrize("orgs", [["RVV"], ["RVV", "RYY"], None])
async def test_england_shift_did_and_by_org_match_the_csvs(conn, kent, paths, orgs):
    await import_files(conn, list(paths.values()))
    result = await comparison_statistics(conn, kent, orgs, BASELINE, PERIOD)
    counts = {month: _counted(path) for month, path in paths.items()}
    region = set(kent.provider_codes)
    selection = set(orgs or region)

    def outside(org: str) -> bool:
        return org not in region

    england_pp = (_share(counts, PER_MONTHS, outside) - _share(counts, BASE_MONTHS, outside)) * 100
    selection_pp = (_share(counts, PER_MONTHS, selection.__contains__)
                    - _share(counts, BASE_MONTHS, selection.__contains__)) * 100
    assert result["england"]["shift_pp"] == pytest.approx(england_pp, abs=1e-9)
    assert result["did_pp"] == pytest.approx(selection_pp - england_pp, abs=1e-9)
    assert result["england"]["baseline"]["other_share"] == pytest.approx(
        _share(counts, BASE_MONTHS, outside), abs=1e-12)
    providers = {org for m in BASE_MONTHS + PER_MONTHS for org, c in counts[m].items()
                 if outside(org) and sum(c) > 0}
    assert result["england"]["providers_counted"] == len(providers)

    rows = {row["org"]: row for row in result["by_org"]}
    assert list(rows) == list(orgs or kent.provider_codes)
    for org, row in rows.items():
        assert row["name"] == kent.provider(org).name
        present = [m for m in BASE_MONTHS if org in counts[m]]
        if not present:  # DJV01 has no baseline
            assert row["baseline"]["other_share"] is None and row["shift_pp"] is None
            continue
        base = _share(counts, present, org.__eq__)
        per = _share(counts, PER_MONTHS, org.__eq__)
        assert row["baseline"]["other_share"] == pytest.approx(base, abs=1e-12)
        assert row["shift_pp"] == pytest.approx((per - base) * 100, abs=1e-9)

    # Year on year: Jul-Sep 2025 against Jul-Sep 2024.
    yoy = result["year_on_year"]
    earlier = list(YEAR_EARLIER)
    assert yoy["available"] and yoy["baseline_range"] == "2024-07..2024-09"
    england_yoy = (_share(counts, PER_MONTHS, outside) - _share(counts, earlier, outside)) * 100
    assert yoy["england_shift_pp"] == pytest.approx(england_yoy, abs=1e-9)
    assert yoy["shift_pp"] == pytest.approx(
        (_share(counts, PER_MONTHS, selection.__contains__)
         - _share(counts, earlier, selection.__contains__)) * 100, abs=1e-9)


async def test_did_interval_is_the_period_by_group_term_of_a_regression(conn, kent, paths):
    """The half-width equals OLS on 12 monthly shares with month effects and group x period."""
    await import_files(conn, list(paths.values()))
    result = await comparison_statistics(conn, kent, ["RVV", "RYY"], BASELINE, PERIOD)
    counts = {month: _counted(path) for month, path in paths.items()}
    region = set(kent.provider_codes)
    months = BASE_MONTHS + PER_MONTHS
    rows, y = [], []
    for i, month in enumerate(months):
        for group, keep in ((1, {"RVV", "RYY"}.__contains__), (0, lambda o: o not in region)):
            rows.append([1.0 if j == i else 0.0 for j in range(6)]
                        + [group, group * (month in PER_MONTHS)])
            y.append(_share(counts, [month], keep))
    x, y = np.array(rows), np.array(y)
    _coef, rss, *_ = np.linalg.lstsq(x, y, rcond=None)
    sigma2 = rss[0] / (len(y) - x.shape[1])
    se = np.sqrt(sigma2 * np.linalg.inv(x.T @ x)[-1, -1])
    half_pp = 2.7764451051977987 * se * 100  # t(0.975, 4 degrees of freedom)
    low, high = result["did_ci95_pp"]
    assert (high - low) / 2 == pytest.approx(half_pp, rel=1e-9)
    assert (low + high) / 2 == pytest.approx(result["did_pp"], abs=1e-9)
    # Month-to-month variation is much larger than binomial counting noise.
    shift_low, shift_high = result["shift_ci95_pp_monthly"]
    assert shift_high - shift_low > 2 * (result["ci95_pp"][1] - result["ci95_pp"][0])


def test_t_interval_by_hand():
    # Means 0.15 and 0.4, pooled variance (0.005 + 0.02) / 2, t(0.975, 2) = 4.302652729749464.
    low, high = t_interval_pp(25.0, [0.1, 0.2], [0.3, 0.5])
    half = 4.302652729749464 * (0.0125 * (1 / 2 + 1 / 2)) ** 0.5 * 100
    assert (low, high) == pytest.approx((25.0 - half, 25.0 + half), abs=1e-9)
    assert t_interval_pp(1.0, [0.1], [0.2]) is None  # no degree of freedom
    assert t_interval_pp(None, [0.1, 0.2], [0.3]) is None


async def test_rating_withheld_for_rvv_ryy_names_herne_bay(conn, kent, paths):
    await import_files(conn, list(paths.values()))
    result = await comparison_statistics(conn, kent, ["RVV", "RYY"], BASELINE, PERIOD)
    counts = {month: _counted(path) for month, path in paths.items()}
    djv01_july = sum(counts["2025-07"]["DJV01"])
    ryy_fall = counts["2025-06"]["RYY"][1] - counts["2025-07"]["RYY"][1]
    assert "DJV01" not in {org for m in BASE_MONTHS for org in counts[m]}
    assert result["rating"] is None
    assert (f"DJV01 began reporting in July 2025 with {djv01_july:,} attendances while RYY's "
            f"other attendances fell by {ryy_fall:,}") in result["rating_withheld_reason"]
    assert (djv01_july, ryy_fall) == (2265, 3098)  # the figures of docs/statistics.md
    assert result["suggested_orgs"] == ["RVV", "RYY", "DJV01"]
    # The suggested comparison includes both codes; DJV01 still lacks a baseline, so withheld.
    both = await comparison_statistics(conn, kent, result["suggested_orgs"], BASELINE, PERIOD)
    assert both["rating"] is None and both["suggested_orgs"] is None
    assert "the baseline has no attendances under that code" in both["rating_withheld_reason"]


async def test_rating_kept_when_nothing_changes_and_withheld_across_a_break(conn, kent, paths):
    await import_files(conn, list(paths.values()))
    # Jul-Aug vs Sep 2025: every region provider reports in both and no break lies between.
    steady = await comparison_statistics(conn, kent, ["RVV"], "2025-07..2025-08", "2025-09")
    assert steady["rating_withheld_reason"] is None
    assert steady["rating"] == ("green" if steady["shift_pp"] >= 5 else
                                "amber" if steady["shift_pp"] >= 2.5 else "red")
    broken = replace(kent, breaks=(ConfiguredBreak("RVV", dt.date(2025, 9, 1),
                                                   "a recounted unit"),))
    across = await comparison_statistics(conn, broken, ["RVV"], "2025-07..2025-08", "2025-09")
    assert across["rating"] is None
    assert across["rating_withheld_reason"] == (
        "The comparison spans a change of counting: RVV from September 2025 (a recounted "
        "unit); choose a baseline and period on the same side of it.")
