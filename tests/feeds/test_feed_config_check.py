"""A region's feeds are checked when a command that uses them loads the region: an unknown
format or a bad poller option stops `serve`, `ingest` and `feeds check` at once, with one line
naming the file, the feed and the option, never later when an ingest leader is elected."""

from pathlib import Path

import pytest

from feeds.config_check import check_feeds
from waitless import cli
from waitless.domain.errors import RegionError
from waitless.domain.region import load_region

REPO = Path(__file__).parents[2]
KENT = REPO / "waitless" / "regions" / "kent-medway.toml"


def kent_with(tmp_path: Path, old: str, new: str) -> Path:
    """The bundled region file with one line of its simulator feed changed."""
    text = KENT.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "bad.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


RETRIES = ('format = "native"', 'format = "native"\nretries = "many"')


@pytest.mark.parametrize(("old", "new", "message"), [
    ('format = "native"', 'format = "nativ"', "unknown feed format 'nativ'; known: alberta"),
    (*RETRIES, "feed option 'retries' must be a whole number, 0 or more, got 'many'"),
    ('format = "native"', 'format = "native"\ncircuit_open_after = 2.5',
     "'circuit_open_after' must be a whole number"),
    ('format = "native"', 'format = "native"\njitter = 1', "'jitter' must be below 1"),
    ('format = "native"', 'format = "native"\nbackoff_max_seconds = true',
     "'backoff_max_seconds' must be a non-negative number"),
    # A misspelt option was ignored without a word: now refused, with the likely meaning.
    ('format = "native"', 'format = "native"\nignore_site = ["Old Site"]',
     "unknown option 'ignore_site' for format native (did you mean 'ignore_sites'?)"),
    ('format = "native"', 'format = "native"\nretry = 3',
     "unknown option 'retry' for format native (did you mean 'retries'?)"),
    # An option of another format is no option of this one.
    ('format = "native"', 'format = "native"\nlist_path = "sites"',
     "unknown option 'list_path' for format native; known: backoff_max_seconds"),
])
def test_bad_feed_settings_are_refused_naming_file_and_feed(
        tmp_path: Path, old: str, new: str, message: str) -> None:
    path = kent_with(tmp_path, old, new)
    region = load_region(str(path))  # the domain leaves adapter and poller options open
    with pytest.raises(RegionError) as caught:
        check_feeds(region)
    assert str(caught.value).startswith(f"{path.resolve()}: feed simulator: ")
    assert message in str(caught.value)


# Every region file in the repository: bundled, deployed and the tests' own. A check that
# refused one of them would stop that deployment or test at start-up.
REGION_FILES = sorted([*REPO.glob("waitless/regions/*.toml"),
                       *REPO.glob("deploy/kubernetes/regions/*.toml"),
                       *REPO.glob("tests/**/*.toml")])


def test_every_region_file_in_the_repository_passes() -> None:
    assert len(REGION_FILES) >= 5  # a glob that found nothing would pass vacuously
    for path in REGION_FILES:
        region = load_region(str(path))
        check_feeds(region)
        assert region.source_path == str(path.resolve())


def test_good_poller_options_still_load(tmp_path: Path) -> None:
    path = kent_with(tmp_path, 'format = "native"',
                     'format = "native"\nretries = 3\njitter = 0.2\nbackoff_max_seconds = 120')
    check_feeds(load_region(str(path)))


@pytest.mark.parametrize("change", [("lat = 51.26659", 'lat = "fifty-one"'), RETRIES],
                         ids=["lat", "retries"])
@pytest.mark.parametrize("command", ["serve", "ingest"])
def test_serve_and_ingest_print_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        command: str, change: tuple[str, str]) -> None:
    # A live store URL so `ingest` gets past its own check; nothing connects before the error.
    monkeypatch.setenv("WAITLESS_REDIS_URL", "redis://127.0.0.1:1/0")
    path = kent_with(tmp_path, *change)
    assert cli.main([command, "--region", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith(f"waitless: {path.resolve()}: ")
    assert ("lat must be a number" if "lat" in change[0] else "'retries'") in err


def test_feeds_check_prints_one_line_with_its_documented_exit_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = kent_with(tmp_path, *RETRIES)
    payload = tmp_path / "payload.json"
    payload.write_text("{}")
    # `feeds check` exits 1 when the region cannot be used (docs/feeds.md), not 2.
    code = cli.main(["feeds", "check", "--region", str(path), "--feed", "simulator",
                     str(payload)])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert err.splitlines() == [f"error: {path.resolve()}: feed simulator: feed option "
                                "'retries' must be a whole number, 0 or more, got 'many'"]
