"""The ``waitless`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from contextlib import suppress

import uvloop
from aiohttp import web

from feeds import cli as feeds_cli
from feeds.config_check import check_feeds
from load_tests import cli as loadtest_cli
from routing import cli as routing_cli
from waitless import __version__
from waitless.domain.errors import WaitlessError
from waitless.domain.region import REGION_HELP, load_region
from waitless.events import cli as events_cli
from waitless.ranking import cli as predict_cli
from waitless.ranking.multiregion import border_sites_for
from waitless.settings import Settings, settings_from_env
from waitless.simulate import cli as simulate_cli
from waitless.stats import cli as stats_cli

logger = logging.getLogger("waitless")

DEFAULT_SIMULATOR_PORT = 8081


def _add_region(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", default=None, help=REGION_HELP)


def _add_regions(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", dest="regions", action="append", default=None,
                        metavar="REGION",
                        help="bundled region name or region TOML path; repeat to serve several "
                             "regions, the first being the primary (default: "
                             "$WAITLESS_REGIONS, $WAITLESS_REGION or kent-medway)")


def _add_listen(parser: argparse.ArgumentParser, default_port: int | None = None) -> None:
    parser.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default_port,
                        help="port to listen on" + (f" (default {default_port})"
                                                    if default_port else " (default 8080)"))


def _apply_defaults(args: argparse.Namespace, settings: Settings) -> None:
    """Fill options left unset on the command line from the settings (the environment)."""
    for option, value in (("region", settings.region), ("cache_dir", settings.graph_cache),
                          ("database_url", settings.database_url)):
        if hasattr(args, option) and getattr(args, option) is None:
            setattr(args, option, value)


def _settings(args: argparse.Namespace) -> Settings:
    regions = getattr(args, "regions", None)  # `serve --region A --region B`
    settings = args.settings.with_overrides(
        region=regions[0] if regions else getattr(args, "region", None),
        extra_regions=tuple(regions[1:]) if regions else None,
        host=getattr(args, "host", None), port=getattr(args, "port", None))
    # What is configured, never the values of URLs or tokens (they may hold secrets).
    logger.debug("settings: regions %s; live store %s; events %s; rate limit %s",
                 ", ".join(settings.regions), "redis" if settings.redis_url else "in-process",
                 "postgresql" if settings.database_url else "spool",
                 settings.rate_limit or "off")
    return settings


async def _serve_forever(runners: Sequence[web.AppRunner]) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def cmd_serve(args: argparse.Namespace) -> int:
    from waitless.api.app import create_app
    from waitless.api.server import serve

    settings = _settings(args)
    workers = args.workers
    if not settings.redis_url:
        logger.warning("WAITLESS_REDIS_URL is not set: this API has an in-process store and "
                       "no ingestor feeds it; use `waitless dev` for a single-process setup")
        if workers not in (None, 1):
            print("waitless serve: --workers above 1 needs WAITLESS_REDIS_URL (workers share "
                  "live state through Redis)", file=sys.stderr)
            return 2
        workers = 1
    workers = workers or os.cpu_count() or 1
    # Built here, before any worker starts: a bad region, gazetteer or table fails once.
    app = create_app(settings)
    logger.info("serving on http://%s:%d with %d worker(s)", settings.host, settings.port,
                workers)
    return serve(app, host=settings.host, port=settings.port, workers=workers,
                 keepalive_seconds=settings.keepalive_seconds, log_level=settings.log_level)


def cmd_ingest(args: argparse.Namespace) -> int:
    from waitless.live.elected_ingest import run_elected_ingest
    from waitless.live.ingest import with_feed_urls

    settings = _settings(args)
    if not settings.redis_url:
        print("waitless ingest needs WAITLESS_REDIS_URL (the API reads what it writes there); "
              "for a single process use `waitless dev`", file=sys.stderr)
        return 2
    region = load_region(settings.region)
    # On every replica, before the election: a bad feed must not wait for one to become leader.
    check_feeds(region)
    feeds = with_feed_urls(region.feeds, settings.feed_urls)
    # Replicas elect one leader through Redis; only the leader polls (waitless.live.leader).
    with suppress(KeyboardInterrupt, asyncio.CancelledError):
        uvloop.run(run_elected_ingest(
            region, feeds, redis_url=settings.redis_url, prefix=settings.redis_prefix,
            lease_seconds=settings.leader_lease_seconds,
            metrics_port=args.metrics_port or settings.ingest_metrics_port))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from feeds.simulator import create_simulator_app

    region = load_region(_settings(args).region)
    app = create_simulator_app(region, seed=args.seed, faults=args.fault,
                               slow_seconds=args.slow_seconds)
    host = args.host or "127.0.0.1"
    logger.info("simulating %s feed on http://%s:%d/v1/feed (seed %d, faults: %s)",
                region.name, host, args.port, args.seed, ", ".join(args.fault) or "none")
    web.run_app(app, host=host, port=args.port, access_log=None, print=None)
    return 0


def cmd_dev(args: argparse.Namespace) -> int:
    from feeds.simulator import create_simulator_app
    from waitless.api.app import create_app
    from waitless.api.dev_server import PortUnavailable, dev_feed, example_rank_url, start_site

    settings = _settings(args)
    region = load_region(settings.region)
    check_feeds(region)
    sim_feed, own_simulator = dev_feed(region, settings.feed_urls,
                                       simulator_port=args.simulator_port,
                                       poll_seconds=args.poll_seconds)
    sim_url = sim_feed.url
    feed_note = f"simulator, seed {args.seed}" if own_simulator else "WAITLESS_FEED_URLS"

    async def main() -> None:
        _stop_on_sigterm()
        runners = []
        if own_simulator:
            runners.append(await start_site(
                create_simulator_app(region, seed=args.seed), "127.0.0.1", args.simulator_port,
                what="feed simulator", how_to_change="Choose another port with "
                "--simulator-port, e.g. `waitless dev --simulator-port 8091` or "
                "`make run ARGS=\"--simulator-port 8091\"`."))
        app = create_app(settings, region=region, run_ingest=True, ingest_feeds=[sim_feed])
        try:
            runners.insert(0, await start_site(
                app, settings.host, settings.port, what="API",
                how_to_change="Choose another port with --port or WAITLESS_PORT."))
        except PortUnavailable:
            for runner in runners:
                await runner.cleanup()
            raise
        base = f"http://{settings.host}:{settings.port}"
        print(f"WaitLess dev: {region.title} ({len(region.sites)} sites)\n"
              f"  ranking  {example_rank_url(region, base)}\n"
              f"  sites    {base}/v1/sites\n  ready    {base}/readyz\n"
              f"  feed     {sim_url} ({feed_note})\n"
              f"  live store: {'redis' if settings.redis_url else 'in-process'}; "
              f"events: {'postgresql' if settings.database_url else 'spool ' + settings.spool_dir}",
              flush=True)
        await _serve_forever(runners)

    with suppress(KeyboardInterrupt, asyncio.CancelledError):
        uvloop.run(main())
    return 0


def _stop_on_sigterm() -> None:
    """Let SIGTERM stop the running task as Ctrl-C does: its clean-up runs (servers close, the
    event log writes its queue). Without this SIGTERM (``docker stop``, a supervisor, an IDE's
    stop button) killed ``waitless dev`` at once and its queued events were lost. A second
    SIGTERM kills at once, like a second Ctrl-C."""
    loop, task = asyncio.get_running_loop(), asyncio.current_task()
    if task is None:
        return

    def on_sigterm() -> None:
        loop.remove_signal_handler(signal.SIGTERM)
        task.cancel()

    with suppress(NotImplementedError):  # no signal handlers on this platform's loop
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="waitless",
        description="WaitLess: rank urgent-care sites by travel time plus live waiting time.")
    parser.add_argument("--version", action="version", version=f"waitless {__version__}")
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING (default INFO)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    dev = commands.add_parser(
        "dev", help="run simulator, ingestor and API in one process (no setup needed)",
        description="Start the feed simulator, the ingestor and the API together. Uses Redis "
                    "and PostgreSQL when WAITLESS_REDIS_URL / WAITLESS_DATABASE_URL are set.")
    _add_region(dev)
    _add_listen(dev)
    dev.add_argument("--simulator-port", type=int, default=DEFAULT_SIMULATOR_PORT,
                     help=f"port for the feed simulator (default {DEFAULT_SIMULATOR_PORT})")
    dev.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    dev.add_argument("--poll-seconds", type=float, default=15.0,
                     help="how often the ingestor polls the simulator (default 15)")
    dev.set_defaults(func=cmd_dev)

    serve = commands.add_parser("serve", help="run the API (reads live state from Redis)",
                                description="Serve the ranking API, site list, health and "
                                            "metrics endpoints.")
    _add_regions(serve)
    _add_listen(serve)
    serve.add_argument("--workers", type=int, default=None,
                       help="worker processes sharing the port (default: one per core "
                            "with Redis, 1 without)")
    serve.set_defaults(func=cmd_serve)

    ingest = commands.add_parser("ingest", help="poll the region's feeds into Redis",
                                 description="Poll every feed of the region on its interval "
                                             "and write validated waits to Redis. "
                                             "Replicas elect one leader; the others stand by.")
    _add_region(ingest)
    ingest.add_argument("--metrics-port", type=int, default=None,
                        help="serve /metrics and /healthz on this port "
                             "(default: $WAITLESS_INGEST_METRICS_PORT, else none)")
    ingest.set_defaults(func=cmd_ingest)

    feeds = commands.add_parser("feeds", help="feed tools: simulate, check",
                                description="Feed tools.")
    feed_commands = feeds.add_subparsers(dest="feeds_command", metavar="COMMAND", required=True)
    simulate = feed_commands.add_parser(
        "simulate", help="serve simulated waits in the native feed format",
        description="Serve realistic, deterministic waits for the region's sites at /v1/feed.")
    _add_region(simulate)
    _add_listen(simulate, DEFAULT_SIMULATOR_PORT)
    simulate.add_argument("--seed", type=int, default=1, help="simulation seed (default 1)")
    simulate.add_argument("--fault", action="append", default=[], metavar="MODE[:SITE[/SERVICE]]",
                          help="inject a fault (repeatable; see docs/feeds.md): slow, 5xx, "
                               "ratelimit, malformed, truncated, html, implausible, frozen, "
                               "negative, zero; change them at runtime with POST /faults")
    simulate.add_argument("--slow-seconds", type=float, default=30.0,
                          help="delay of the 'slow' fault in seconds (default 30)")
    simulate.set_defaults(func=cmd_simulate)
    feeds_cli.register_check(feed_commands)

    events_cli.register(commands)
    stats_cli.register(commands)
    routing_cli.register(commands, border_sites_for)
    loadtest_cli.register(commands)
    predict_cli.register(commands)
    simulate_cli.register(commands)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Options, with ``settings`` (the environment, read once) filling what they leave unset.

    Raises
    ------
    ConfigError
        A ``WAITLESS_*`` variable has a value that cannot work.
    """
    args = build_parser().parse_args(argv)
    args.settings = settings_from_env()
    _apply_defaults(args, args.settings)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parse_args(argv)
    except WaitlessError as exc:
        print(f"waitless: {exc}", file=sys.stderr)
        return 2
    level = args.log_level or args.settings.log_level
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s")
    # aiohttp logs a malformed request with the client's address: the client's error, and an
    # address we promise not to keep.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    try:
        return args.func(args)
    except WaitlessError as exc:
        print(f"waitless: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
