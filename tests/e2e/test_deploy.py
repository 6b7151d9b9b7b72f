"""The deployment files: compose wiring, CLI help, and per-deployment feed URLs."""

import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO_ROOT
from waitless.cli import build_parser
from waitless.domain.region import Region
from waitless.live.ingest import with_feed_urls
from waitless.settings import parse_feed_urls, settings_from_env


def test_compose_has_the_stack_and_wires_it_together() -> None:
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"redis", "postgres", "api", "ingest", "simulator"} <= set(services)
    api, ingest = services["api"], services["ingest"]
    assert api["environment"]["WAITLESS_REDIS_URL"] == "redis://redis:6379/0"
    assert ingest["environment"]["WAITLESS_REDIS_URL"] == api["environment"]["WAITLESS_REDIS_URL"]
    assert "@postgres:5432/" in api["environment"]["WAITLESS_DATABASE_URL"]
    assert set(api["depends_on"]) >= {"redis", "postgres"}
    assert "redis" in ingest["depends_on"]
    assert ingest["environment"]["WAITLESS_FEED_URLS"] == "simulator=http://simulator:8081/v1/feed"
    sim_command = services["simulator"]["command"]
    assert sim_command[sim_command.index("--port") + 1] == "8081"
    assert api["command"][:2] == ["waitless", "serve"]
    assert ingest["command"][:2] == ["waitless", "ingest"]
    # Every service built from this repo runs a command the CLI knows.
    parser = build_parser()
    for name in ("api", "ingest", "simulator"):
        parser.parse_args(services[name]["command"][1:])


def test_feed_urls_override_the_region_file(kent: Region) -> None:
    urls = settings_from_env({"WAITLESS_FEED_URLS": "simulator=http://simulator:8081/v1/feed"})
    feeds = with_feed_urls(kent.feeds, urls.feed_urls)
    assert feeds[0].url == "http://simulator:8081/v1/feed"
    with pytest.raises(ValueError, match="unknown feed"):
        with_feed_urls(kent.feeds, [("nosuch", "http://x")])
    with pytest.raises(ValueError, match="name=url"):
        parse_feed_urls("simulator")


@pytest.mark.parametrize("command", [[], ["dev"], ["serve"], ["ingest"], ["feeds", "simulate"],
                                     ["stats"], ["events"], ["events", "migrate"]])
def test_every_command_explains_itself(command) -> None:
    result = subprocess.run([sys.executable, "-m", "waitless", *command, "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "usage: waitless" in result.stdout
    if command in (["dev"], ["serve"], ["ingest"], ["feeds", "simulate"]):
        assert "--region" in result.stdout


def test_ingest_leader_settings_come_from_the_environment() -> None:
    settings = settings_from_env({"WAITLESS_LEADER_LEASE_SECONDS": "9",
                                  "WAITLESS_INGEST_METRICS_PORT": "9090"})
    assert (settings.leader_lease_seconds, settings.ingest_metrics_port) == (9.0, 9090)
    defaults = settings_from_env({})
    assert (defaults.leader_lease_seconds, defaults.ingest_metrics_port) == (15.0, None)
    assert build_parser().parse_args(["ingest", "--metrics-port", "9191"]).metrics_port == 9191


def test_listening_commands_take_host_and_port() -> None:
    parser = build_parser()
    for command in (["dev"], ["serve"], ["feeds", "simulate"]):
        args = parser.parse_args([*command, "--host", "0.0.0.0", "--port", "9999"])
        assert (args.host, args.port) == ("0.0.0.0", 9999)


def test_ingest_without_redis_explains_what_to_do() -> None:
    env = {"PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "waitless", "ingest"], capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 2
    assert "WAITLESS_REDIS_URL" in result.stderr


def test_no_source_file_is_over_400_lines() -> None:
    long_files = []
    for folder in ("waitless", "feeds", "routing", "load_tests", "tests"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            lines = path.read_text().count("\n")
            if lines > 420:
                long_files.append((str(path.relative_to(REPO_ROOT)), lines))
    assert long_files == []


def test_dockerfile_spool_is_absolute_and_owned_by_the_service_user() -> None:
    """Issue #13 item 13: not `nobody`, and a spool it can write outside root-owned /app."""
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    lines = [line.strip() for line in dockerfile.splitlines()]
    user = next(line.split()[1] for line in lines if line.startswith("USER "))
    assert user not in ("nobody", "root")
    env = " ".join(line for line in lines if line.startswith(("ENV", "WAITLESS_")))
    spool = env.split("WAITLESS_SPOOL_DIR=")[1].split()[0]
    assert spool.startswith("/") and not spool.startswith("/app")
    assert f"chown -R {user}:{user} {spool.rsplit('/', 1)[0]}" in dockerfile


def test_nginx_example_keeps_no_access_log_and_sends_hsts() -> None:
    """Issue #13 items 8 and 13: the proxy example logs no coordinates, IPs or user agents."""
    operations = (REPO_ROOT / "docs" / "operations.md").read_text()
    block = operations.split("```nginx", 1)[1].split("```", 1)[0]
    assert "access_log off;" in block
    assert "Strict-Transport-Security" in block and "always" in block
    assert "proxy_set_header Host $host;" in block
