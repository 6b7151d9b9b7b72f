"""From runs to numbers: one row per policy x uptake x seed, and the summary over seeds.

``oscillation_minutes`` (see ``docs/herding.md``): at the ``BUSIEST_SERVICES`` services with
the most expected attendances, the queue wait sampled every five minutes minus its centred
three-hour moving average, as a root mean square, averaged over those services. The daily
pattern (slower than three hours) is removed; swings of the kind herding causes (the published
wait alternating between sites every few publishing intervals) remain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import stats as scipy_stats

from waitless.simulate.model import POLICIES, SAMPLE_MINUTES, RunResult

BUSIEST_SERVICES = 3
TREND_WINDOW_MINUTES = 180.0


def busiest(service_volumes: Sequence[float], count: int = BUSIEST_SERVICES) -> list[int]:
    """Indices of the ``count`` services with the largest expected daily attendances."""
    return sorted(range(len(service_volumes)), key=lambda j: -service_volumes[j])[:count]


def oscillation_minutes(wait_series: np.ndarray, services: Iterable[int]) -> float:
    """RMS of (queue wait - its centred 3-hour moving average), minutes, mean over services."""
    width = int(TREND_WINDOW_MINUTES / SAMPLE_MINUTES) | 1  # odd, so the window is centred
    kernel = np.ones(width) / width
    values = []
    for j in services:
        series = wait_series[j]
        if series.size <= width:
            continue
        trend = np.convolve(series, kernel, mode="valid")
        residual = series[width // 2: width // 2 + trend.size] - trend
        values.append(math.sqrt(float(np.mean(residual ** 2))))
    return float(np.mean(values)) if values else 0.0


def row(result: RunResult, *, policy: str, uptake: float, seed: int,
        busiest_services: Sequence[int]) -> dict:
    """The JSON row of one run (minutes rounded to 0.01)."""
    total = result.total_minutes
    minors = result.minor
    return {
        "policy": policy,
        "uptake": uptake,
        "seed": seed,
        "patients": int(total.size),
        "users": int(result.users.sum()),
        "followed": int(result.followed.sum()),
        "mean_minutes": round(float(np.mean(total)), 2),
        "p90_minutes": round(float(np.percentile(total, 90)), 2),
        "minor_at_ed_share": round(float(result.at_ed[minors].mean()) if minors.any()
                                   else 0.0, 4),
        "oscillation_minutes": round(oscillation_minutes(result.wait_series,
                                                         busiest_services), 2),
    }


def interval(values: Sequence[float]) -> tuple[float, float]:
    """(mean, half-width of the 95% t interval) over seeds; half-width 0 for one value."""
    n = len(values)
    mean = float(np.mean(values))
    if n < 2:
        return mean, 0.0
    sd = float(np.std(values, ddof=1))
    # Student t for every count: a table to 10 degrees of freedom then 1.96 (the normal)
    # made 12 seeds' interval 11 % too narrow (1.96 against t = 2.201).
    return mean, float(scipy_stats.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)


def summarise(rows: Sequence[dict]) -> list[dict]:
    """Per policy x uptake: mean and 95% half-width over seeds of each measure, plus the
    paired difference from ``live`` on the same seeds (common random numbers)."""
    by_key: dict[tuple[str, float], dict[int, dict]] = {}
    for r in rows:
        by_key.setdefault((r["policy"], r["uptake"]), {})[r["seed"]] = r
    summary = []
    measures = ("mean_minutes", "p90_minutes", "minor_at_ed_share", "oscillation_minutes")
    rank_of = {p: i for i, p in enumerate(POLICIES)}
    for (policy, uptake), per_seed in sorted(by_key.items(),
                                             key=lambda kv: (kv[0][1], rank_of[kv[0][0]])):
        entry: dict = {"policy": policy, "uptake": uptake, "seeds": len(per_seed)}
        live = by_key.get(("live", uptake), {})
        for m in measures:
            entry[m], entry[f"{m}_ci"] = interval([r[m] for r in per_seed.values()])
            paired = [r[m] - live[s][m] for s, r in per_seed.items() if s in live]
            if policy != "live" and paired:
                entry[f"{m}_vs_live"], entry[f"{m}_vs_live_ci"] = interval(paired)
        summary.append(entry)
    return summary


def table(summary: Sequence[dict]) -> str:
    """A Markdown table of the summary (mean ± 95% half-width over seeds)."""
    lines = ["| uptake | policy | mean min | p90 min | minor at ED | oscillation min "
             "| Δmean vs live | Δp90 vs live | Δosc vs live |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for e in summary:
        lines.append(f"| {e['uptake']:g} | {e['policy']} | {_pm(e, 'mean_minutes')} "
                     f"| {_pm(e, 'p90_minutes')} | {_pm(e, 'minor_at_ed_share', 3)} "
                     f"| {_pm(e, 'oscillation_minutes')} | {_diff(e, 'mean_minutes')} "
                     f"| {_diff(e, 'p90_minutes')} | {_diff(e, 'oscillation_minutes')} |")
    return "\n".join(lines)


def _pm(entry: dict, measure: str, digits: int = 1) -> str:
    return f"{entry[measure]:.{digits}f} ± {entry[measure + '_ci']:.{digits}f}"


def _diff(entry: dict, measure: str) -> str:
    key = f"{measure}_vs_live"
    return f"{entry[key]:+.1f} ± {entry[key + '_ci']:.1f}" if key in entry else "—"
