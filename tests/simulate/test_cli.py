"""``waitless simulate demand`` end to end, and its argument parsing."""

from __future__ import annotations

import subprocess
import sys
import xml.dom.minidom
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from waitless.cli import main, parse_args
from waitless.simulate.cli import parse_policies, parse_seeds, parse_uptakes
from waitless.simulate.sweep import SweepConfig, run_sweep, tasks


def test_arguments_parse_and_bad_ones_are_refused():
    assert parse_seeds("1-5") == (1, 2, 3, 4, 5)
    assert parse_seeds("3,1,3") == (3, 1)
    assert parse_uptakes("0,0.025,0.6") == (0.0, 0.025, 0.6)
    assert parse_policies("nearest,load-aware") == ("nearest", "load-aware")
    # Repeats (0 and 0.0 are one share) ran the same case twice: 12 runs for 2 x 2 x 1 seed.
    assert parse_uptakes("0.1,0,0.10,0.0") == (0.1, 0.0)
    assert parse_policies("live,nearest,live") == ("live", "nearest")
    config = SweepConfig(region=None, days=1, seeds=(1,), uptakes=parse_uptakes("0,0.1,0,0.10"),
                         policies=parse_policies("nearest,live,nearest"))
    assert len(tasks(config)) == 4
    for parse, bad in ((parse_seeds, "5-1"), (parse_uptakes, "0,1.5"),
                       (parse_policies, "nearest,smart")):
        with pytest.raises(ValueError):
            parse(bad)


@pytest.mark.parametrize(("option", "value", "named"), [
    ("--seeds", "-1", "'-1'"), ("--seeds", "x", "'x'"), ("--seeds", "5-1", "'5-1'"),
    ("--seeds", ",", "no seeds"), ("--seeds", "1--3", "'1--3'"),
    ("--uptake", "2", "'2'"), ("--uptake", "abc", "'abc'"), ("--uptake", "nan", "'nan'"),
    ("--uptake", ",", "no shares"), ("--policies", "smart", "smart"),
    ("--policies", ",", "none given"), ("--compliance", "2", "2.0"),
    ("--compliance", "nan", "nan"), ("--days", "0", "0"), ("--days", "-3", "-3"),
    # Before: 0 ran on every core and -1 in one process, without a word.
    ("--jobs", "0", "0"), ("--jobs", "-1", "-1"),
])
def test_a_bad_argument_is_one_line_and_exit_2(option: str, value: str, named: str, capsys):
    # Before: a ValueError traceback (13-17 lines) and exit status 1.
    code = main(["simulate", "demand", "--quiet", "--jobs", "1", "--days", "1",
                 f"{option}={value}"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith(f"waitless: {option}: ") and named in err


def test_help_prints_a_single_percent_sign(capsys):
    # argparse %-formats help strings but not descriptions (unless they name %(prog)).
    with pytest.raises(SystemExit):
        parse_args(["simulate", "demand", "--help"])
    out = capsys.readouterr().out
    assert "95% interval" in out and "%%" not in out


def test_region_defaults_come_from_the_settings(monkeypatch, tmp_path: Path):
    elsewhere = str(tmp_path / "north.toml")
    monkeypatch.setenv("WAITLESS_REGION", elsewhere)
    assert parse_args(["simulate", "demand"]).region == elsewhere
    monkeypatch.delenv("WAITLESS_REGION")
    assert parse_args(["simulate", "demand"]).region == "kent-medway"  # the settings' default
    assert parse_args(["simulate", "demand", "--region", "x.toml"]).region == "x.toml"


def test_demand_writes_rows_summary_and_plots(tmp_path: Path, capsys):
    out = tmp_path / "sweep.json"
    plots = tmp_path / "plots"
    code = main(["simulate", "demand", "--days", "1", "--seeds", "1-2", "--uptake", "0,0.1",
                 "--policies", "nearest,live", "--jobs", "1", "--quiet", "--json", str(out),
                 "--plots", str(plots)])
    assert code == 0
    data = orjson.loads(out.read_bytes())
    rows = data["rows"]
    assert [(r["policy"], r["uptake"], r["seed"]) for r in rows] == [
        ("nearest", 0.0, 1), ("nearest", 0.0, 2), ("nearest", 0.1, 1), ("nearest", 0.1, 2),
        ("live", 0.0, 1), ("live", 0.0, 2), ("live", 0.1, 1), ("live", 0.1, 2)]
    by = {(r["policy"], r["uptake"], r["seed"]): r for r in rows}
    for seed in (1, 2):
        # Nobody asks at uptake 0 or under "nearest": the same patients, the same outcome.
        assert by[("live", 0.0, seed)] == {**by[("nearest", 0.0, seed)], "policy": "live"}
        assert by[("live", 0.1, seed)]["users"] > 0
        assert by[("nearest", 0.1, seed)]["patients"] == by[("live", 0.1, seed)]["patients"]
    for r in rows:
        assert r["p90_minutes"] >= r["mean_minutes"] > 0
        assert 0 <= r["minor_at_ed_share"] <= 1 and r["oscillation_minutes"] >= 0
    assert {e["policy"] for e in data["summary"]} == {"nearest", "live"}
    assert "| 0.1 | live |" in capsys.readouterr().out
    charts = sorted(p.name for p in plots.iterdir())
    assert charts == ["waits-live-uptake-0.1.svg", "waits-live-uptake-0.svg",
                      "waits-nearest-uptake-0.1.svg", "waits-nearest-uptake-0.svg"]
    svg = xml.dom.minidom.parse(str(plots / "waits-live-uptake-0.1.svg"))
    assert len(svg.getElementsByTagName("polyline")) == 3  # the three busiest services


def test_an_unknown_region_with_workers_is_refused_before_the_pool():
    # Before: each worker's initializer raised RegionError and the pool started another, for
    # ever (229 workers in 10 s); it never exited.
    done = subprocess.run(
        [sys.executable, "-m", "waitless", "simulate", "demand", "--quiet", "--jobs", "2",
         "--days", "1", "--seeds", "1", "--uptake", "0", "--policies", "nearest",
         "--region", "no-such-region"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "waitless: unknown region 'no-such-region'; bundled regions: kent-medway; "
        "or pass a .toml path"]


def test_workers_give_the_rows_one_process_gives():
    config = SweepConfig(region="kent-medway", days=1, seeds=(1, 2), uptakes=(0.1,),
                         policies=("nearest", "live"), jobs=1)
    serial, _ = run_sweep(config)
    parallel, _ = run_sweep(replace(config, jobs=2))
    assert parallel == serial
    assert len(serial) == 4
