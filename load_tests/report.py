"""Reports from a load run: percentiles, throughput, errors, Markdown and an SVG plot."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from load_tests.generator import RunResult

PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (``pct`` in 0..100).

    Nearest rank never invents a value between two observations, which is what a latency
    report should show: some request really took this long.
    """
    if not sorted_values:
        return math.nan
    if not 0 <= pct <= 100:
        msg = f"percentile must be within 0..100, got {pct}"
        raise ValueError(msg)
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(result: RunResult) -> dict[str, Any]:
    """The run as a JSON-ready dict (latencies in milliseconds)."""
    plan = result.plan
    ok = sorted(s.latency_s * 1000 for s in result.samples if 200 <= s.status < 300)
    statuses = Counter(str(s.status) if s.status else "transport_error" for s in result.samples)
    measured = len(result.samples)
    lags = sorted(s.send_lag_s * 1000 for s in result.samples)
    return {
        "target": plan.base_url,
        "requested_rate_per_s": plan.rate_per_s,
        "achieved_rate_per_s": round(measured / plan.duration_s, 2) if plan.duration_s else 0,
        "ok_rate_per_s": round(len(ok) / plan.duration_s, 2) if plan.duration_s else 0,
        "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s,
        "requests_measured": measured,
        "requests_ok": len(ok),
        "not_sent": result.not_sent,
        "connections_opened": result.connections_opened,
        "peak_in_flight": result.peak_in_flight,
        "statuses": dict(sorted(statuses.items())),
        # The generator's own lateness in starting requests (already inside the latencies).
        "send_lag_ms": {
            "p99": round(percentile(lags, 99), 3) if lags else math.nan,
            "max": round(lags[-1], 3) if lags else math.nan,
        },
        "latency_ms": {
            **{f"p{p:g}": round(percentile(ok, p), 3) for p in PERCENTILES},
            "max": round(ok[-1], 3) if ok else math.nan,
            "mean": round(sum(ok) / len(ok), 3) if ok else math.nan,
        },
    }


def markdown(summary: dict[str, Any], *, title: str = "Load test") -> str:
    lat = summary["latency_ms"]
    rows = "\n".join(f"| {k} | {v} |" for k, v in lat.items())
    errors = {k: v for k, v in summary["statuses"].items() if not k.startswith("2")}
    return (
        f"## {title}\n\n"
        f"- target: {summary['target']}\n"
        f"- requested {summary['requested_rate_per_s']}/s, achieved "
        f"{summary['achieved_rate_per_s']}/s ({summary['ok_rate_per_s']}/s OK) over "
        f"{summary['duration_s']} s after {summary['warmup_s']} s warm-up\n"
        f"- requests: {summary['requests_measured']} measured, {summary['requests_ok']} OK, "
        f"{summary['not_sent']} not sent (in-flight cap); errors: {errors or 'none'}\n"
        f"- generator send lag: p99 {summary['send_lag_ms']['p99']} ms, max "
        f"{summary['send_lag_ms']['max']} ms (its own lateness, counted in the latencies)\n\n"
        f"| latency (ms) | value |\n|---|---|\n{rows}\n"
    )


def latency_svg(result: RunResult, *, width: int = 800, height: int = 300) -> str:
    """Latency over time as a scatter plot (log scale), as SVG text."""
    pad = 50
    samples = result.samples
    duration = max(result.plan.duration_s, 1e-9)
    values = [max(s.latency_s * 1000, 0.01) for s in samples] or [1.0]
    top = 10 ** math.ceil(math.log10(max(values)))
    bottom = 10 ** math.floor(math.log10(min(values)))
    span = max(math.log10(top) - math.log10(bottom), 1e-9)

    def x(t: float) -> float:
        return pad + (width - 2 * pad) * min(t / duration, 1.0)

    def y(ms: float) -> float:
        return height - pad - (height - 2 * pad) * (math.log10(ms) - math.log10(bottom)) / span

    dots = "".join(
        f'<circle cx="{x(s.scheduled_s):.1f}" cy="{y(max(s.latency_s * 1000, 0.01)):.1f}" '
        f'r="1.2" fill="{"#005eb8" if 200 <= s.status < 300 else "#d5281b"}"/>'
        for s in samples)
    ticks = ""
    decade = bottom
    while decade <= top:
        ticks += (f'<line x1="{pad}" x2="{width - pad}" y1="{y(decade):.1f}" y2="{y(decade):.1f}" '
                  f'stroke="#ddd"/><text x="{pad - 6}" y="{y(decade) + 4:.1f}" '
                  f'text-anchor="end" font-size="11">{decade:g} ms</text>')
        decade *= 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>{ticks}'
        f'<text x="{width / 2}" y="{height - 12}" text-anchor="middle" font-size="12">'
        f'seconds into the measured phase (0 to {duration:g}); red = error</text>{dots}</svg>'
    )
