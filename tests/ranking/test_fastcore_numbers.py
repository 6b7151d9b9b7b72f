"""The compiled loop's one-decimal numbers against Python's ``round(x, 1)`` and orjson.

The compiled loop rounds and prints minutes from the exact product 10·x instead of calling
dtoa (issue 12); every answer's bytes depend on it agreeing with the reference everywhere,
ties and near-ties included.
"""

from __future__ import annotations

import math
import random

import orjson
import pytest

fastcore = pytest.importorskip("waitless.ranking._fastcore",
                               reason="built without a C compiler")


def _values() -> list[float]:
    rng = random.Random(2026)
    values = [0.0, -0.0, 5e-324, -5e-324, 1e-300, 0.05, 0.15, 0.25, 0.35, 0.45, 0.95, 9.95,
              99.95, 1e12 + 0.25, 9.999999999999e12, 1e13, 1e13 + 0.75, 1e15 + 0.5, 1e20,
              2.0 ** 52 + 1, -2.0 ** 52 - 1]
    values += [rng.uniform(0, 1_000) for _ in range(20_000)]
    values += [rng.uniform(-100, 100) for _ in range(5_000)]
    values += [rng.uniform(0, 1e12) for _ in range(2_000)]
    # Exact binary ties of the tenths (x.x5 that are exact: quarters, eighths...) and their
    # neighbours one ulp away, where a cheaper rounding would go wrong.
    for k in range(0, 40_000):
        x = k / 8
        values += [x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf), -x]
    for k in range(0, 20_000):  # decimal x.x5, not exact in binary: the nearest double
        x = (2 * k + 1) / 20
        values += [x, math.nextafter(x, math.inf), math.nextafter(x, -math.inf)]
    return values


def test_round1_is_pythons_round_to_one_decimal() -> None:
    for x in _values():
        got, expected = fastcore.round1_for_tests(x), round(x, 1)
        assert got == expected and math.copysign(1, got) == math.copysign(1, expected), x


def test_num1_prints_what_orjson_prints_for_the_rounded_value() -> None:
    # Up to 1e15 (minutes are far smaller): beyond it orjson switches to exponent notation.
    for x in (v for v in _values() if abs(v) < 1e15):
        assert fastcore.num1_for_tests(x) == orjson.dumps(round(x, 1)), x
