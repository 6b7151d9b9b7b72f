"""Running policy x uptake x seed, in parallel processes when that helps.

Each process builds the region's scenario once and each seed's patients once; runs are
independent, so they are handed out longest first (high uptake ranks the most patients) to
keep both cores busy to the end.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from waitless.domain.region import load_region
from waitless.simulate import metrics
from waitless.simulate.model import SAMPLE_MINUTES, run
from waitless.simulate.scenario import (
    WARMUP_DAYS,
    Patients,
    Scenario,
    build_scenario,
    draw_patients,
)

PLOT_SAMPLE_MINUTES = 15.0


@dataclass(frozen=True)
class SweepConfig:
    """What to run. ``region`` is a bundled name or a TOML path."""

    region: str | None
    days: int
    seeds: tuple[int, ...]
    uptakes: tuple[float, ...]
    policies: tuple[str, ...]
    compliance: float = 0.7
    jobs: int = 1


_STATE: dict = {}


def _init(region_name: str | None) -> None:
    """Build the region's scenario into this process's state, unless it is there already
    (a forked worker inherits the parent's)."""
    if _STATE.get("region") == region_name and "scenario" in _STATE:
        return
    region = load_region(region_name)
    _STATE.update(region=region_name, scenario=build_scenario(region), load=region.load_aware,
                  patients={})


def _patients(seed: int, days: int) -> Patients:
    cache: dict[tuple[int, int], Patients] = _STATE["patients"]
    if (seed, days) not in cache:
        cache.clear()  # one seed at a time per process is enough
        cache[(seed, days)] = draw_patients(_STATE["scenario"], seed, days + WARMUP_DAYS)
    return cache[(seed, days)]


def _one(task: tuple[str, float, int, int, float, bool]) -> tuple[dict, list | None]:
    policy, uptake, seed, days, compliance, keep_series = task
    scenario: Scenario = _STATE["scenario"]
    result = run(scenario, _patients(seed, days), policy=policy, uptake=uptake,
                 compliance=compliance, days=days, load_settings=_STATE["load"])
    busiest = metrics.busiest(scenario.service_volumes)
    row = metrics.row(result, policy=policy, uptake=uptake, seed=seed, busiest_services=busiest)
    series = None
    if keep_series:
        step = int(PLOT_SAMPLE_MINUTES / SAMPLE_MINUTES)
        series = [(scenario.keys[j], result.wait_series[j][::step]) for j in busiest]
    return row, series


def tasks(config: SweepConfig) -> list[tuple[str, float, int, int, float, bool]]:
    """Every run, seeds in order (so a process reuses a seed's patients), high uptake first."""
    first = config.seeds[0]
    return [(policy, uptake, seed, config.days, config.compliance, seed == first)
            for seed in config.seeds
            for uptake in sorted(config.uptakes, reverse=True)
            for policy in config.policies]


def run_sweep(config: SweepConfig, progress: Callable[[int, int], None] | None = None
              ) -> tuple[list[dict], dict[tuple[str, float], list[tuple[str, np.ndarray]]]]:
    """All runs of ``config``: (rows sorted by policy, uptake, seed; plot series per
    (policy, uptake) for the first seed)."""
    todo = tasks(config)
    rows: list[dict] = []
    charts: dict[tuple[str, float], list] = {}
    for done, (row, series) in enumerate(_results(config, todo), start=1):
        rows.append(row)
        if series is not None:
            charts[(row["policy"], row["uptake"])] = series
        if progress is not None:
            progress(done, len(todo))
    order = {p: i for i, p in enumerate(config.policies)}
    rows.sort(key=lambda r: (order[r["policy"]], r["uptake"], r["seed"]))
    return rows, charts


def _results(config: SweepConfig, todo: Sequence) -> Iterator[tuple[dict, list | None]]:
    if config.jobs <= 1:
        _init(config.region)
        yield from map(_one, todo)
        return
    # Built here first, so a bad region is one RegionError: raised in a worker's initializer it
    # made the pool start another worker for ever (229 in 10 s measured). Forked workers
    # inherit the scenario and skip the build.
    _init(config.region)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(config.jobs, _init, (config.region,)) as pool:
        yield from pool.imap_unordered(_one, todo, chunksize=1)


def default_jobs() -> int:
    """Worker processes: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
