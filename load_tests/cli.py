"""``waitless loadtest``: drive the ranking endpoint at a constant arrival rate."""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import uvloop

from load_tests.generator import LoadPlan, NotLoopback, check_target, run_load
from load_tests.report import latency_svg, markdown, summarise
from load_tests.scenario import cycle, rank_paths
from waitless.domain.region import REGION_HELP, load_region

SCENARIOS = ("rank", "static")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "loadtest", help="open-loop load test of the ranking endpoint",
        description="Send requests at a constant rate (open loop: latency counts from the "
                    "scheduled send time) and report throughput and latency percentiles.")
    parser.add_argument("--region", default=None, help=f"region for origins: {REGION_HELP}")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="target base URL")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds")
    parser.add_argument("--max-requests", type=int, default=500_000, help="hard cap on requests")
    parser.add_argument("--scenario", choices=SCENARIOS, default="rank",
                        help="rank: /v1/rank mix; static: /v1/bench/static (needs "
                             "WAITLESS_BENCH_ENDPOINTS=1 on the server)")
    parser.add_argument("--seed", type=int, default=1, help="scenario seed")
    parser.add_argument("--out", default=None, help="folder for summary.json, summary.md, "
                                                    "latency.svg")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a target that is not on this machine")
    parser.set_defaults(func=cmd_loadtest)


def cmd_loadtest(args: argparse.Namespace) -> int:
    try:
        check_target(args.url, allow_remote=args.allow_remote)
    except NotLoopback as exc:
        print(f"waitless loadtest: {exc}")
        return 2
    if args.rate <= 0 or args.duration <= 0:
        print("waitless loadtest: --rate and --duration must be positive")
        return 2
    region = load_region(args.region)
    if args.scenario == "rank":
        paths = rank_paths(region, 5000, seed=args.seed)
    else:
        paths = ["/v1/bench/static"]
    plan = LoadPlan(base_url=args.url, rate_per_s=args.rate, duration_s=args.duration,
                    warmup_s=args.warmup, max_requests=args.max_requests)
    # uvloop, as the service runs: the generator shares the machine's cores with the server,
    # so every microsecond it spends per request is taken from what is measured.
    result = uvloop.run(run_load(plan, cycle(paths)))
    summary = summarise(result)
    text = markdown(summary, title=f"{args.scenario} at {args.rate:g}/s")
    print(text)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "summary.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
        (out / "summary.md").write_text(text)
        (out / "latency.svg").write_text(latency_svg(result))
    return 0
