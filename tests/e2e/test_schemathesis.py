"""Property-based API tests: schemathesis generates requests from /openapi.json."""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port
from waitless.domain.region import resolve_region_path

TOKEN = "schemathesis-token"
# A push feed, so the push endpoint is exercised with a configured feed and its token.
PUSH_FEED = """
[[feeds]]
name = "kent-push"
format = "bc_push"
service = "utc"
sites = { "kch" = "RVVKC", "whh" = "RVV01" }
"""


def _push_region(directory: Path) -> Path:
    bundled = resolve_region_path("kent-medway")
    path = directory / "kent-push.toml"
    path.write_text(bundled.read_text() + PUSH_FEED)
    shutil.copy(bundled.with_name("kent-medway-places.csv"), directory)
    return path


def _wait_ready(port: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    pytest.fail("the service did not become ready")


def test_no_5xx_and_every_response_matches_its_schema(tmp_path: Path, pg_dsn: str) -> None:
    st = Path(sys.executable).with_name("schemathesis")
    if not st.exists() and shutil.which("schemathesis") is None:
        pytest.skip("schemathesis is not installed")
    port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WAITLESS_")}
    env["WAITLESS_SPOOL_DIR"] = str(tmp_path / "spool")
    env["WAITLESS_DATABASE_URL"] = pg_dsn
    env["WAITLESS_COMMISSIONER_TOKEN"] = TOKEN
    # One token for the statistics and the push feed: schemathesis sends one header.
    env["WAITLESS_PUSH_TOKENS"] = f"kent-push={TOKEN}"
    # Hundreds of requests from one address: the limits would answer most of them 429
    # (schemathesis also sends requests without the token on purpose: failed sign-ins).
    env["WAITLESS_RATE_LIMIT"] = "off"
    env["WAITLESS_AUTH_FAILURE_LIMIT"] = "off"
    region = _push_region(tmp_path)
    service = subprocess.Popen([sys.executable, "-m", "waitless", "--log-level", "WARNING", "dev",
                                "--region", str(region),
                                "--port", str(port), "--simulator-port", str(sim_port)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_ready(port)
        # positive_data_acceptance is left out on purpose: a schema cannot say that depart_at
        # must fall within the next 7 days or that the origin must be near the region, and
        # those requests deserve their 400 and 422.
        result = subprocess.run(
            [str(st), "run", f"http://127.0.0.1:{port}/openapi.json", "--checks", "all",
             "--exclude-checks", "positive_data_acceptance", "--max-examples", "80",
             "--seed", "1", "--no-color", "--header", f"Authorization: Bearer {TOKEN}"],
            capture_output=True, text=True, timeout=600, cwd=tmp_path)
    finally:
        service.terminate()
        service.wait(timeout=20)
    assert result.returncode == 0, result.stdout[-5000:]
