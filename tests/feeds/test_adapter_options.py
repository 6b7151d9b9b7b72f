"""Each format declares the feed options it reads, so that the start-up check of a region's
feeds (feeds.config_check) can refuse a misspelt one: the declarations must name every option
the adapter's source reads, or a correct region file would be refused."""

from __future__ import annotations

import ast
import importlib
import inspect

import pytest

from feeds.adapters import ADAPTER_OPTIONS, ADAPTERS, SHARED_OPTIONS
from feeds.adapters import _common as common

# The helpers that read an option by name, and which argument holds the name.
_READERS = {"option": 1, "service_option": 1, "_field": 2, "_column": 2}


def read_keys(module: object) -> tuple[set[str], int]:
    """Option names the module reads with a literal name, and the count of computed names."""
    literal, computed = set(), 0
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", getattr(node.func, "attr", None))
        position = _READERS.get(name)
        if position is None or len(node.args) <= position:
            continue
        argument = node.args[position]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            literal.add(argument.value)
        elif not (isinstance(argument, ast.Name) and argument.id == "key"):  # a helper's own
            computed += 1
    return literal, computed


def test_every_format_declares_its_options() -> None:
    assert set(ADAPTER_OPTIONS) == set(ADAPTERS)


@pytest.mark.parametrize("format_name", sorted(ADAPTERS))
def test_declared_options_cover_what_the_adapter_reads(format_name: str) -> None:
    module = importlib.import_module(f"feeds.adapters.{format_name}")
    literal, computed = read_keys(module)
    undeclared = literal - ADAPTER_OPTIONS[format_name] - SHARED_OPTIONS
    assert not undeclared, f"{format_name} reads undeclared options {sorted(undeclared)}"
    # hk_ha reads "<stream>_service" per stream; its declaration spells each one out.
    if computed:
        assert format_name == "hk_ha"
        assert {"urgent_service", "minor_service"} <= ADAPTER_OPTIONS["hk_ha"]


def test_the_shared_options_are_the_ones_the_shared_helpers_read() -> None:
    literal, _ = read_keys(common)
    assert literal == {"sites", "ignore_sites"}
    assert literal | {"content_types"} == SHARED_OPTIONS  # read by feeds.body.check_body
