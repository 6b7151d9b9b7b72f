"""SVG line charts of queue waits over time, written by hand (no plotting dependency)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

_COLOURS = ("#1b6ca8", "#d1495b", "#2e933c", "#edae49", "#66456e")
_W, _H, _PAD = 900, 320, 50


def wait_chart_svg(title: str, series: Sequence[tuple[str, np.ndarray]],
                   sample_minutes: float) -> str:
    """One chart: each named series is waits in minutes sampled every ``sample_minutes``."""
    top = max([float(np.max(s)) for _, s in series if s.size] + [10.0]) * 1.05
    length = max((s.size for _, s in series), default=1)
    days = length * sample_minutes / 1440

    def xy(i: int, v: float) -> str:
        x = _PAD + (_W - 2 * _PAD) * i / max(length - 1, 1)
        y = _H - _PAD - (_H - 2 * _PAD) * v / top
        return f"{x:.1f},{y:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{_W}" height="{_H}" fill="white"/>',
             f'<text x="{_PAD}" y="20" font-size="14">{escape(title)}</text>',
             f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - _PAD}" y2="{_H - _PAD}" '
             f'stroke="#444"/>',
             f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_H - _PAD}" stroke="#444"/>',
             f'<text x="8" y="{_PAD + 4}">{top:.0f}</text>',
             f'<text x="8" y="{_H - _PAD + 4}">0 min</text>']
    for day in range(int(days) + 1):
        x = _PAD + (_W - 2 * _PAD) * day / max(days, 1e-9)
        parts.append(f'<text x="{x:.1f}" y="{_H - _PAD + 18}">day {day}</text>')
    for k, (name, s) in enumerate(series):
        colour = _COLOURS[k % len(_COLOURS)]
        points = " ".join(xy(i, float(v)) for i, v in enumerate(s))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1" '
                     f'points="{points}"/>')
        parts.append(f'<text x="{_W - _PAD - 220}" y="{_PAD + 14 * k}" fill="{colour}">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_plots(directory: Path, charts: dict[tuple[str, float], Sequence[tuple[str, np.ndarray]]],
                sample_minutes: float) -> list[Path]:
    """One SVG per (policy, uptake): the busiest services' queue waits over the run."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for (policy, uptake), series in sorted(charts.items()):
        path = directory / f"waits-{policy}-uptake-{uptake:g}.svg"
        path.write_text(wait_chart_svg(f"Queue wait at the busiest services: {policy}, "
                                       f"uptake {uptake:g}", series, sample_minutes),
                        encoding="utf-8")
        written.append(path)
    return written
