"""Every ``WAITLESS_*`` variable the service reads is in the README's configuration table and
in :mod:`waitless.settings`'s own table (five were read but missing from the README)."""

from __future__ import annotations

import re
from pathlib import Path

import waitless.settings
from waitless.settings import settings_from_env

REPO = Path(__file__).parents[1]


class RecordingEnv(dict):
    """An empty environment that remembers every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def variables_read() -> set[str]:
    env = RecordingEnv()
    settings_from_env(env)
    return env.asked


def readme_configuration_rows() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return "\n".join(line for line in section.splitlines() if line.startswith("| `"))


def test_every_variable_read_is_in_the_readme_table() -> None:
    read = variables_read()
    assert len(read) >= 25 and all(name.startswith("WAITLESS_") for name in read)
    rows = readme_configuration_rows()
    documented = set(re.findall(r"`(WAITLESS_[A-Z_]+)`", rows))
    assert sorted(read - documented) == []


def test_every_variable_read_is_in_the_settings_module_table() -> None:
    table = waitless.settings.__doc__ or ""
    documented = set(re.findall(r"^(WAITLESS_[A-Z_]+)\s", table, flags=re.MULTILINE))
    assert sorted(variables_read() - documented) == []
