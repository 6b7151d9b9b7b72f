"""``waitless predict backtest``: the arrival-wait predictor against "the wait now"."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

import orjson

from waitless.domain.region import REGION_HELP, load_region
from waitless.ranking.backtest import backtest


def cmd_backtest(args: argparse.Namespace) -> int:
    region = load_region(args.region)
    start = datetime.fromisoformat(args.start)
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    result = backtest(region, seed=args.seed, start=start, days=args.days,
                      anchor_step_minutes=args.step_minutes)
    print(orjson.dumps({"region": region.name, "seed": args.seed, "start": start.isoformat(),
                        "days": args.days, **result.as_dict()},
                       option=orjson.OPT_INDENT_2).decode())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    predict = subparsers.add_parser("predict", help="arrival-wait predictor tools",
                                    description="Arrival-wait predictor tools.")
    commands = predict.add_subparsers(dest="predict_command", metavar="COMMAND", required=True)
    run = commands.add_parser(
        "backtest", help="replay simulator history: predictor vs the wait now",
        description="Replay simulated waits every --step-minutes over --days with 10-60 "
                    "minute travel times; report mean absolute error of the predicted p50 and "
                    "of the naive 'wait now', and how often the wait at arrival was under p90.")
    run.add_argument("--region", default=None, help=REGION_HELP)
    run.add_argument("--days", type=float, default=7.0, help="days evaluated (default 7)")
    run.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    run.add_argument("--start", default="2026-11-02T00:00:00+00:00",
                     help="first evaluated instant, ISO-8601 (default 2026-11-02T00:00Z; a "
                          "week of history before it is simulated)")
    run.add_argument("--step-minutes", type=int, default=15,
                     help="minutes between simulated patients per service (default 15)")
    run.set_defaults(func=cmd_backtest)
