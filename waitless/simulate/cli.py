"""``waitless simulate demand``: the herding study (see ``docs/herding.md``)."""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import orjson

from waitless.domain.errors import ConfigError
from waitless.domain.region import REGION_HELP
from waitless.simulate import metrics
from waitless.simulate.model import POLICIES
from waitless.simulate.plots import write_plots
from waitless.simulate.sweep import PLOT_SAMPLE_MINUTES, SweepConfig, default_jobs, run_sweep


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"1-5"`` -> (1, 2, 3, 4, 5); ``"1,3,7"`` -> (1, 3, 7).

    Raises
    ------
    ConfigError
        A part that is not a whole number 0 or more or a range of them (the message names it).
    """
    seeds: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        first, dash, last = part.partition("-")
        try:
            lo = int(first)
            hi = int(last) if dash else lo
        except ValueError:  # also "-1": seeds are 0 or more (numpy refuses negative ones)
            msg = f"--seeds: {part!r} is not a seed or range of seeds, 0 or more (e.g. 1-5, 1,3,7)"
            raise ConfigError(msg) from None
        if hi < lo:
            raise ConfigError(f"--seeds: empty range {part!r}")
        seeds.extend(range(lo, hi + 1))
    if not seeds:
        raise ConfigError("--seeds: no seeds given (e.g. 1-5 or 1,3,7)")
    return tuple(dict.fromkeys(seeds))


def parse_uptakes(text: str) -> tuple[float, ...]:
    """``"0,0.025,0.1"`` -> shares between 0 and 1, each once, in the order given.

    Raises
    ------
    ConfigError
        A value that is not a number between 0 and 1, or none given.
    """
    values: list[float] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        if not 0 <= value <= 1:  # also NaN
            msg = f"--uptake: {part!r} is not a share between 0 and 1 (e.g. 0,0.025,0.1)"
            raise ConfigError(msg)
        values.append(value)
    if not values:
        raise ConfigError("--uptake: no shares given (e.g. 0,0.025,0.1)")
    return tuple(dict.fromkeys(values))  # a repeated share ran every one of its runs twice


def parse_policies(text: str) -> tuple[str, ...]:
    """``"nearest,live"`` -> the policies named (of :data:`~waitless.simulate.model.POLICIES`),
    each once, in the order given.

    Raises
    ------
    ConfigError
        An unknown name, or none given.
    """
    values = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in values if p not in POLICIES]
    if not values or unknown:
        named = f"unknown {', '.join(unknown)}" if unknown else "none given"
        raise ConfigError(f"--policies: {named}; choose from {', '.join(POLICIES)}")
    return tuple(dict.fromkeys(values))  # a repeated policy ran every one of its runs twice


class Progress:
    """A one-line progress bar on stderr (runs done / total, elapsed, estimate left)."""

    def __init__(self, stream=sys.stderr) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        elapsed = time.monotonic() - self.started
        left = elapsed / done * (total - done) if done else 0.0
        filled = int(30 * done / total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} runs "
                          f"{elapsed:5.0f} s elapsed, ~{left:4.0f} s left")
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


def cmd_demand(args: argparse.Namespace) -> int:
    # ConfigError, not ValueError: the command line prints it as one line and exits 2 (a
    # ValueError ended in a traceback).
    if not 0 <= args.compliance <= 1:  # also NaN
        raise ConfigError(f"--compliance: {args.compliance} is not a share between 0 and 1")
    if args.days < 1:
        raise ConfigError(f"--days: {args.days} is not a number of days, 1 or more")
    # 0 meant "all cores" and -1 one process, silently (``args.jobs or ...``, a Pool of 1).
    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs: {args.jobs} is not a number of processes, 1 or more "
                          "(leave it out for the usable cores)")
    config = SweepConfig(region=args.region, days=args.days, seeds=parse_seeds(args.seeds),
                         uptakes=parse_uptakes(args.uptake),
                         policies=parse_policies(args.policies), compliance=args.compliance,
                         jobs=default_jobs() if args.jobs is None else args.jobs)
    started = time.monotonic()
    rows, charts = run_sweep(config, None if args.quiet else Progress())
    seconds = time.monotonic() - started
    summary = metrics.summarise(rows)
    print(metrics.table(summary))
    print(f"\n{len(rows)} runs, {config.days} days each, {config.jobs} process(es): "
          f"{seconds:.0f} s")
    if args.json:
        Path(args.json).write_bytes(orjson.dumps(
            {"config": {**config.__dict__, "seconds": round(seconds, 1)}, "rows": rows,
             "summary": summary}, option=orjson.OPT_INDENT_2))
    if args.plots:
        write_plots(Path(args.plots), charts, PLOT_SAMPLE_MINUTES)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``simulate demand`` to the ``waitless`` command line."""
    simulate = subparsers.add_parser("simulate", help="simulations of the region",
                                     description="Simulations of the region.")
    commands = simulate.add_subparsers(dest="simulate_command", metavar="COMMAND", required=True)
    demand = commands.add_parser(
        "demand", help="herding study: policies x uptake x seeds through the region's queues",
        description="Discrete-event simulation of patients, sites and the real ranking; "
                    "prints a summary table (mean ± 95% interval over seeds).")
    # Left unset here: waitless.cli fills it from the settings, like the other sub-commands.
    demand.add_argument("--region", default=None, help=REGION_HELP)
    demand.add_argument("--days", type=int, default=7, help="counted days (default 7)")
    demand.add_argument("--seeds", default="1-5", help="e.g. 1-5 or 1,3,7 (default 1-5)")
    demand.add_argument("--uptake", default="0,0.025,0.1,0.3,0.6",
                        help="shares asking WaitLess (default 0,0.025,0.1,0.3,0.6)")
    demand.add_argument("--policies", default=",".join(POLICIES),
                        help=f"comma separated (default {','.join(POLICIES)})")
    demand.add_argument("--compliance", type=float, default=0.7,
                        help="share of askers following the first answer (default 0.7)")
    demand.add_argument("--jobs", type=int, default=None,
                        help="worker processes, 1 or more (default: the usable cores)")
    demand.add_argument("--json", default=None, help="write rows and summary to this file")
    demand.add_argument("--plots", default=None, help="write SVG charts into this folder")
    demand.add_argument("--quiet", action="store_true", help="no progress bar")
    demand.set_defaults(func=cmd_demand)
