"""``[validation]`` limits outside their documented range (docs/feeds.md, "Validation") are
refused when the region loads, naming the key: a jump factor of 0 made every change past the
floor a "sudden jump", and a factor of 1e300 or a floor of a million minutes switched the
check off without a word."""

import tomllib

import pytest

from tests.domain.test_region import MINIMAL
from waitless.domain.errors import RegionError
from waitless.domain.region import parse_region


def load(validation: str):
    return parse_region(tomllib.loads(MINIMAL + "\n[validation]\n" + validation + "\n"))


@pytest.mark.parametrize(("line", "message"), [
    ("jump_factor = 0", "jump_factor must be a number above 1 and at most 100, not 0"),
    ("jump_factor = -2", "jump_factor must be a number above 1 and at most 100, not -2"),
    ("jump_factor = 1", "jump_factor must be a number above 1 and at most 100, not 1"),
    ("jump_factor = 0.5", "jump_factor must be a number above 1 and at most 100, not 0.5"),
    ("jump_factor = 1e300", "jump_factor must be a number above 1 and at most 100, not 1e+300"),
    ("jump_factor = nan", "jump_factor must be a number above 1 and at most 100, not nan"),
    ("jump_floor_minutes = 1e6",
     "jump_floor_minutes must be a number at least 0 and at most 720, not 1000000.0"),
    ("jump_floor_minutes = -1",
     "jump_floor_minutes must be a number at least 0 and at most 720, not -1"),
    ("jump_window_minutes = 0",
     "jump_window_minutes must be a number above 0 and at most 720, not 0"),
    ("jump_window_minutes = 100000",
     "jump_window_minutes must be a number above 0 and at most 720, not 100000"),
    ("zero_suspect_after_minutes = 0",
     "zero_suspect_after_minutes must be a number above 0 and at most 720, not 0"),
    ("zero_suspect_after_minutes = inf",
     "zero_suspect_after_minutes must be a number above 0 and at most 720, not inf"),
    ("clock_skew_minutes = 60",
     "clock_skew_minutes must be a number at least 0 and at most 30, not 60"),
    ("clock_skew_minutes = -5",
     "clock_skew_minutes must be a number at least 0 and at most 30, not -5"),
    ("max_body_bytes = 0",
     "max_body_bytes must be a whole number of bytes at least 1 and at most 67108864, not 0"),
    ("max_body_bytes = 1_000_000_000_000", "max_body_bytes must be a whole number of bytes at "
                                           "least 1 and at most 67108864, not 1000000000000"),
    ("max_wait_minutes = { ed = 0 }", "max_wait_minutes.ed must be above 0, at most 2880 and "
                                      "above min_wait_minutes.ed (got max 0, min 0)"),
    ("max_wait_minutes = { utc = 1e9 }", "max_wait_minutes.utc must be above 0, at most 2880 "
                                         "and above min_wait_minutes.utc (got max 1e+09, min 0)"),
    ("min_wait_minutes = { miu = 720 }", "max_wait_minutes.miu must be above 0, at most 2880 "
                                         "and above min_wait_minutes.miu (got max 720, min 720)"),
    ("max_wait_minutes = { ed = 30 }\nmin_wait_minutes = { ed = 45 }",
     "max_wait_minutes.ed must be above 0, at most 2880 and above min_wait_minutes.ed "
     "(got max 30, min 45)"),
])
def test_a_limit_outside_its_range_is_refused_naming_the_key(line: str, message: str) -> None:
    with pytest.raises(RegionError) as caught:
        load(line)
    assert str(caught.value) == f"[validation]: {message}"


def test_the_edges_of_each_range_load() -> None:
    settings = load("jump_factor = 100\njump_floor_minutes = 0\njump_window_minutes = 720\n"
                    "zero_suspect_after_minutes = 720\nclock_skew_minutes = 30\n"
                    "max_body_bytes = 67108864\nmax_wait_minutes = { ed = 2880 }\n"
                    "min_wait_minutes = { utc = 719 }").validation
    assert (settings.jump_factor, settings.jump_floor_minutes, settings.jump_window_minutes,
            settings.zero_suspect_after_minutes, settings.clock_skew_minutes,
            settings.max_body_bytes) == (100.0, 0.0, 720.0, 720.0, 30.0, 67_108_864)
    assert settings.max_wait_minutes == {"ed": 2880.0, "utc": 720.0, "miu": 720.0}
    assert settings.min_wait_minutes == {"ed": 0.0, "utc": 719.0, "miu": 0.0}
