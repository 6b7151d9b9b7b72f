"""The [stats] region table and the ``waitless stats`` commands."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import pytest

from waitless.cli import parse_args
from waitless.domain.region import load_region
from waitless.domain.stats_settings import StatsConfigError, parse_stats_config
from waitless.stats.config import stats_config
from waitless.stats.nhse import parse_provider_csv


def test_kent_medway_providers_exist_in_the_nhs_files(monthly_paths):
    config = stats_config(load_region("kent-medway"))
    assert config.provider_codes == ("RVV", "RPA", "RWF", "RN7", "RYY", "ACH01", "AQM01", "DJV01")
    assert (config.target_shift_pp, config.amber_shift_pp) == (5.0, 2.5)
    published = {r.org_code: r.org_name for path in monthly_paths.values()
                 for r in parse_provider_csv(path).rows}
    assert set(config.provider_codes) <= set(published)
    assert published["AQM01"] == "FAVERSHAM MEDICAL PRACTICE MIU"
    (brk,) = config.breaks
    assert (brk.org, brk.month.isoformat()) == ("RVV", "2023-02-01")


@pytest.mark.parametrize(("raw", "message"), [
    ({"providers": [{"code": "RVV", "kind": "acute"}]}, "target_shift_pp"),
    ({"target_shift_pp": 5, "providers": []}, "at least one provider"),
    ({"target_shift_pp": 5, "providers": [{"code": "RVV", "kind": "hospital"}]}, "kind must"),
    ({"target_shift_pp": 5, "providers": [{"code": "R V", "kind": "acute"}]}, "not an NHS"),
    ({"target_shift_pp": 5, "providers": [{"code": "RVV", "kind": "acute", "name": " "}]},
     "RVV.*name must be a non-empty string"),
    ({"target_shift_pp": 5, "amber_shift_pp": 6,
      "providers": [{"code": "RVV", "kind": "acute"}]}, "must not exceed"),
    ({"target_shift_pp": 5, "break_factor": 1,
      "providers": [{"code": "RVV", "kind": "acute"}]}, "greater than 1"),
    ({"target_shift_pp": 5, "providers": [{"code": "RVV", "kind": "acute"}],
      "breaks": [{"org": "RVV", "month": "Feb 2023"}]}, "bad month"),
    ({"target_shift_pp": 5, "providers": [{"code": "RVV", "kind": "acute"}], "colour": 1},
     "unknown key"),
    ({"target_shift_pp": 5, "providers": "RVV"}, r"providers must be an array of tables"),
    ({"target_shift_pp": 5, "providers": [{"code": "RVV", "kind": "acute", "nmae": "x"}]},
     r"providers\]\] #1: unknown key\(s\) nmae; allowed: code, kind, name, notes"),
    ({"target_shift_pp": 5, "providers": [{"code": "RVV", "kind": "acute"}],
      "breaks": [{"org": "RVV", "month": "2023-02", "description": 7}]},
     "description must be text"),
])
def test_bad_stats_tables_are_rejected(raw, message):
    with pytest.raises(StatsConfigError, match=message):
        parse_stats_config(raw)


async def _row_count(database_url):
    connection = await asyncpg.connect(database_url)
    try:
        return await connection.fetchval("SELECT count(*) FROM nhse_ae_monthly")
    finally:
        await connection.close()


def _parse(argv):
    return parse_args(argv)


def test_cli_imports_then_prints_shift_json(conn, database_url, monthly_paths, capsys,
                                            monkeypatch):
    monkeypatch.setenv("WAITLESS_DATABASE_URL", database_url)
    args = _parse(["stats", "import-nhse", *map(str, monthly_paths.values())])
    assert args.func(args) == 0
    imported = json.loads(capsys.readouterr().out)
    assert [(r["month"], r["action"]) for r in imported] == [
        (m, "imported") for m in monthly_paths]

    args = _parse(["stats", "shift", "--orgs", "RVV,RYY", "--baseline", "2025-04..2025-06",
                   "--period", "2025-07..2025-09"])
    assert args.func(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["orgs"] == ["RVV", "RYY"]
    assert (result["baseline"]["type1"], result["baseline"]["other"]) == (36971, 67580)
    # DJV01 starts reporting in July 2025 as RYY's other attendances fall: no rating.
    assert result["rating"] is None
    assert "DJV01 began reporting in July 2025" in result["rating_withheld_reason"]


def test_cli_errors_are_reported_with_exit_codes(conn, database_url, tmp_path, capsys,
                                                 monkeypatch):
    monkeypatch.delenv("WAITLESS_DATABASE_URL", raising=False)
    args = _parse(["stats", "shift", "--baseline", "2025-04", "--period", "2025-05"])
    assert args.func(args) == 2
    assert "WAITLESS_DATABASE_URL" in capsys.readouterr().err

    junk = tmp_path / "junk.csv"
    junk.write_text("a,b\n1,2\n")
    args = _parse(["stats", "import-nhse", str(junk), "--database-url", database_url])
    assert args.func(args) == 1
    assert "not an NHS England monthly A&E provider CSV" in capsys.readouterr().err
    assert asyncio.run(_row_count(database_url)) == 0

    args = _parse(["stats", "shift", "--orgs", "RVV", "--baseline", "2025-06",
                   "--period", "2025-05", "--database-url", database_url])
    assert args.func(args) == 1
    assert "must end before the period" in capsys.readouterr().err
