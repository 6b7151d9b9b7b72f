"""``WAITLESS_*`` numbers are checked when they are read: a value that cannot work is a
ConfigError naming the variable, and ``waitless`` prints it as one line and exits 2. Before,
``WAITLESS_PORT=abc`` was an ``int()`` traceback and ``WAITLESS_SESSION_HOURS=nan``,
``WAITLESS_EVENT_RETENTION_DAYS=0`` (prune would delete every event) or
``WAITLESS_LEADER_LEASE_SECONDS=-5`` were kept."""

from __future__ import annotations

import os

import pytest

from waitless.cli import main
from waitless.domain.errors import ConfigError
from waitless.settings import settings_from_env

POSITIVE = ["SESSION_HOURS", "KEEPALIVE_SECONDS", "EVENT_FLUSH_SECONDS", "LEADER_LEASE_SECONDS",
            "LOOP_LAG_WARN_MS"]
WHOLE = {"PORT": "from 1 to 65535", "INGEST_METRICS_PORT": "from 0 to 65535",
         "SPOOL_MAX_BYTES": "at least 1", "EVENT_RETENTION_DAYS": "at least 1"}


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "0", "-1", "0.0", "eight", "1h"])
@pytest.mark.parametrize("name", POSITIVE)
def test_a_duration_that_is_not_a_finite_number_above_0_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_env({f"WAITLESS_{name}": value})
    assert str(caught.value) == f"WAITLESS_{name} must be a number above 0, not {value!r}"


@pytest.mark.parametrize(("name", "value"), [
    ("PORT", "abc"), ("PORT", "0"), ("PORT", "65536"), ("PORT", "-1"), ("PORT", "8080.5"),
    ("PORT", "nan"), ("INGEST_METRICS_PORT", "x"), ("INGEST_METRICS_PORT", "99999"),
    ("INGEST_METRICS_PORT", "-9100"), ("SPOOL_MAX_BYTES", "0"), ("SPOOL_MAX_BYTES", "1e6"),
    ("SPOOL_MAX_BYTES", "256MiB"), ("EVENT_RETENTION_DAYS", "0"),
    ("EVENT_RETENTION_DAYS", "-3"), ("EVENT_RETENTION_DAYS", "inf"),
])
def test_a_count_that_is_not_a_whole_number_in_range_is_refused(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from_env({f"WAITLESS_{name}": value})
    assert str(caught.value) == f"WAITLESS_{name} must be a whole number {WHOLE[name]}, " \
                                f"not {value!r}"


def test_good_values_are_read_and_unset_ones_keep_their_defaults() -> None:
    settings = settings_from_env({
        "WAITLESS_SESSION_HOURS": "0.5", "WAITLESS_KEEPALIVE_SECONDS": "75",
        "WAITLESS_EVENT_FLUSH_SECONDS": "1e-1", "WAITLESS_LEADER_LEASE_SECONDS": " 30 ",
        "WAITLESS_LOOP_LAG_WARN_MS": "250", "WAITLESS_PORT": "65535",
        "WAITLESS_INGEST_METRICS_PORT": "9100", "WAITLESS_SPOOL_MAX_BYTES": "1048576",
        "WAITLESS_EVENT_RETENTION_DAYS": "30"})
    assert (settings.session_hours, settings.keepalive_seconds, settings.event_flush_seconds,
            settings.leader_lease_seconds, settings.loop_lag_warn_ms) == (
        0.5, 75.0, 0.1, 30.0, 250.0)
    assert (settings.port, settings.ingest_metrics_port, settings.spool_max_bytes,
            settings.event_retention_days) == (65535, 9100, 1_048_576, 30)
    defaults = settings_from_env({"WAITLESS_INGEST_METRICS_PORT": "0", "WAITLESS_PORT": ""})
    assert (defaults.port, defaults.ingest_metrics_port, defaults.session_hours) == (
        8080, None, 8.0)


@pytest.mark.parametrize(("name", "value", "line"), [
    ("WAITLESS_PORT", "abc", "waitless: WAITLESS_PORT must be a whole number from 1 to 65535, "
                             "not 'abc'"),
    ("WAITLESS_SESSION_HOURS", "nan", "waitless: WAITLESS_SESSION_HOURS must be a number above "
                                      "0, not 'nan'"),
])
def test_the_command_line_refuses_a_bad_value_in_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        name: str, value: str, line: str) -> None:
    for other in [n for n in os.environ if n.startswith("WAITLESS_")]:
        monkeypatch.delenv(other)
    monkeypatch.setenv(name, value)
    assert main(["events", "prune"]) == 2
    assert capsys.readouterr().err == line + "\n"


@pytest.mark.parametrize("name", ["RATE_LIMIT", "LOGIN_RATE_LIMIT", "AUTH_FAILURE_LIMIT"])
@pytest.mark.parametrize("value", ["abc", "120", "0/minute", "5/day", "-1/second", "1.5/second"])
def test_a_bad_rate_limit_is_refused_naming_its_variable(name: str, value: str) -> None:
    # Three variables share one syntax; an error that does not say which one is wrong
    # leaves the operator guessing.
    with pytest.raises(ConfigError) as caught:
        settings_from_env({f"WAITLESS_{name}": value})
    assert str(caught.value) == (
        f"WAITLESS_{name} must be N/second, N/minute or N/hour with N >= 1, or off, "
        f"not {value!r}")


def test_rate_limits_are_read_and_off_switches_them_off() -> None:
    settings = settings_from_env({"WAITLESS_RATE_LIMIT": " 30 / seconds ",
                                  "WAITLESS_LOGIN_RATE_LIMIT": "off",
                                  "WAITLESS_AUTH_FAILURE_LIMIT": "5/hour"})
    assert (settings.rate_limit, settings.login_rate_limit, settings.auth_failure_limit) == (
        " 30 / seconds ".strip(), None, "5/hour")


@pytest.mark.parametrize("url", ["not a url", "www.trust.example/waits.json",
                                 "ftp://trust.example/w.json", "https:///w.json",
                                 "http://trust.example:99999/w", "https://trust.example/a b"])
def test_a_feed_url_override_that_is_not_an_http_address_is_refused_without_echoing_it(
        url: str) -> None:
    # The region file's urls are checked at load; the override bypassed that check, and a typo
    # then failed every poll as a "connection" outage of the feed.
    with pytest.raises(ConfigError) as caught:
        settings_from_env({"WAITLESS_FEED_URLS": f"a=http://ok.example/x, trust={url}"})
    assert str(caught.value) == ("WAITLESS_FEED_URLS entry 2 (trust): the url is not an "
                                 "http:// or https:// address with a host")
    assert url not in str(caught.value)


def test_good_feed_url_overrides_are_kept_in_order() -> None:
    settings = settings_from_env({"WAITLESS_FEED_URLS":
                                  "simulator=http://simulator:8081/v1/feed,"
                                  "trust=https://trust.example/w.json?key=k"})
    assert settings.feed_urls == (("simulator", "http://simulator:8081/v1/feed"),
                                  ("trust", "https://trust.example/w.json?key=k"))
