"""Every command's ``--region`` help states the default the settings really pick."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from waitless.cli import build_parser, parse_args
from waitless.domain.region import DEFAULT_REGION, REGION_HELP


def region_options(parser: argparse.ArgumentParser, path: str = ""
                   ) -> Iterator[tuple[str, argparse.Action]]:
    """(command, its ``--region`` action) for every sub-command of ``parser``."""
    for action in parser._actions:
        if "--region" in action.option_strings:
            yield path, action
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from region_options(sub, f"{path} {name}".strip())


def test_every_region_option_says_how_the_default_is_chosen() -> None:
    found = dict(region_options(build_parser()))
    assert {"dev", "ingest", "feeds simulate", "feeds check", "events prune", "stats shift",
            "stats import-nhse", "graph build", "predict backtest", "simulate demand",
            "serve", "loadtest"} <= set(found)
    # `serve` takes several (its own help); prune works on every region's rows at once.
    assert "$WAITLESS_REGIONS" in found.pop("serve").help
    assert found.pop("events prune").help.startswith("ignored: ")
    assert found.pop("loadtest").help == f"region for origins: {REGION_HELP}"
    wrong = {command: action.help for command, action in found.items()
             if action.help != REGION_HELP}
    assert wrong == {}


@pytest.mark.parametrize(("env", "expected"), [
    ({"WAITLESS_REGIONS": "first.toml,second.toml"}, "first.toml"),
    ({"WAITLESS_REGION": "only.toml"}, "only.toml"),
    ({}, DEFAULT_REGION),
])
@pytest.mark.parametrize("command", [["ingest"], ["predict", "backtest"],
                                     ["simulate", "demand"], ["events", "prune"], ["loadtest"]])
def test_the_default_region_is_the_one_the_help_names(monkeypatch, env, expected,
                                                      command) -> None:
    for name in ("WAITLESS_REGION", "WAITLESS_REGIONS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert parse_args(command).region == expected
