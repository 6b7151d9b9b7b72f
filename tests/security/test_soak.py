"""A short soak: `waitless dev` under steady load with changing feeds, no errors, flat memory."""

from __future__ import annotations

import sys

import pytest

from load_tests.soak import memory_growth, run
from tests.conftest import free_port

# Memory may rise while caches (travel rows, history fits) warm up; a leak at this rate would
# grow without bound over the 10-minute soak recorded in docs/benchmarks.md.
MAX_GROWTH_MIB = 40.0


def test_memory_growth_compares_medians_of_first_and_last_periods() -> None:
    samples = [(0.0, 100.0), (5.0, 102.0), (10.0, 101.0), (50.0, 130.0), (55.0, 131.0),
               (60.0, 129.0)]
    assert memory_growth(samples, 10.0) == {"first_mib": 101.0, "last_mib": 130.0,
                                            "growth_mib": 29.0, "max_mib": 131.0}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_short_soak_has_no_errors_and_bounded_memory(tmp_path) -> None:
    report = run(rate=50.0, duration_s=20.0, sample_s=1.0, out=tmp_path,
                 port=free_port(), sim_port=free_port())
    assert report["requests"] >= 950
    assert report["errors"] == 0, report["error_statuses"]
    assert report["memory"]["growth_mib"] < MAX_GROWTH_MIB, report["memory"]
    assert (tmp_path / "soak.json").exists() and "errors 0" in (tmp_path / "soak.md").read_text()
