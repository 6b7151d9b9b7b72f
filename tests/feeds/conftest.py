from datetime import UTC, datetime
from pathlib import Path

import pytest

from waitless.domain.region import load_region

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir():
    return FIXTURES


@pytest.fixture(scope="session")
def region_path():
    return FIXTURES / "region-feeds-test.toml"


@pytest.fixture(scope="session")
def region(region_path):
    return load_region(str(region_path))


@pytest.fixture(scope="session")
def feeds(region):
    return {feed.name: feed for feed in region.feeds}


@pytest.fixture(scope="session")
def fetched_at():
    """The instant the fixtures were "fetched": 16 Feb 2026 12:00 UTC (12:00 in London)."""
    return datetime(2026, 2, 16, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def payload():
    def read(name: str) -> bytes:
        return (FIXTURES / name).read_bytes()
    return read


@pytest.fixture
def run_feed(feeds, payload, fetched_at):
    """Parse a fixture with a region feed's adapter and options."""
    from feeds.adapters import get_adapter

    def run(feed_name: str, fixture: str, body: bytes | None = None, **option_overrides):
        feed = feeds[feed_name]
        return get_adapter(feed.format)(
            payload(fixture) if body is None else body, feed_name=feed.name,
            fetched_at=fetched_at, options={**feed.options, **option_overrides})
    return run
