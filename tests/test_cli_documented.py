"""The README's command table and the command line agree: every command the parser has is in
the table, and every command and option the table shows is one the parser takes (the table had
lost `waitless events prune` and `waitless predict backtest`)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from waitless.cli import build_parser

REPO = Path(__file__).parents[1]


def parser_commands() -> dict[str, argparse.ArgumentParser]:
    """Every command and sub-command by its words after ``waitless`` (``graph check``)."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        if path:
            found[" ".join(path)] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, (*path, name))

    walk(build_parser(), ())
    return found


def leaf_commands() -> set[str]:
    commands = parser_commands()
    return {name for name in commands
            if not any(other.startswith(name + " ") for other in commands)}


def readme_command_cells() -> list[str]:
    """The first cell of each row of the README's command table that runs ``waitless``."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Commands", 1)[1].split("\n## ", 1)[0]
    cells = [line.split("|")[1].strip().strip("`") for line in section.splitlines()
             if line.startswith("| `")]
    return [cell for cell in cells if cell.startswith("waitless ")]


def command_of(cell: str) -> tuple[str, list[str]]:
    """(command words, options) of a table cell such as ``waitless graph build --osm-file F``."""
    words = cell.split()[1:]
    command: list[str] = []
    for word in words:
        if not re.fullmatch(r"[a-z][a-z-]*", word):
            break
        command.append(word)
    return " ".join(command), [w.split("=")[0] for w in words if w.startswith("--")]


def test_every_command_is_in_the_readme_table() -> None:
    documented = {command_of(cell)[0] for cell in readme_command_cells()}
    assert leaf_commands() - documented == set()


def test_every_command_and_option_in_the_readme_table_exists() -> None:
    commands = parser_commands()
    for cell in readme_command_cells():
        command, options = command_of(cell)
        assert command in commands, cell
        taken = {s for action in commands[command]._actions for s in action.option_strings}
        assert set(options) <= taken, cell
