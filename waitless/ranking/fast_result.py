"""One ranked site of the fast path's Python loop and its JSON (:mod:`waitless.ranking.fast`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from waitless.domain.sites import Service, Site
from waitless.ranking.compiled import CompiledService

ALWAYS = object()  # the closing of a round-the-clock service: never shown, open_24h


def _num(value: float | None) -> bytes:
    return b"null" if value is None else orjson.dumps(round(value, 1))


@dataclass(slots=True)
class FastResult:
    """One ranked site: the compiled service and the per-request numbers."""

    compiled: CompiledService
    site: Site
    travel_minutes: float
    total_minutes: float
    closing: Any          # Closing, a datetime (reference fallback), ALWAYS or None
    open_24h: bool
    arrival: datetime
    expected: tuple[float, float | None, str, str]  # p50, p90, method, confidence
    key: tuple[float, float]  # the reference's sort key: total and travel to 0.1 minute
    load_minutes: float = 0.0  # load-aware adjustment (issue 17), in p50, p90 and total

    @property
    def service(self) -> Service:
        return self.compiled.service

    def json(self, source_json: bytes) -> bytes:
        """This result as the JSON object ``answer_json`` would make of it."""
        closing, open_24h = self.closing, self.open_24h
        compiled = self.compiled
        cache_key = (id(closing), open_24h)
        prefix = compiled.prefixes.get(cache_key)
        if prefix is None:
            if open_24h or closing is ALWAYS or closing is None:
                until = b"null"
            elif isinstance(closing, datetime):  # the reference's own (uncached) closing
                until = orjson.dumps(closing.isoformat())
            else:
                until = closing.iso_json
            prefix = b"".join((compiled.head_json, until,
                               b',"open_24h":true' if open_24h else b',"open_24h":false',
                               compiled.wait_json))
            if not isinstance(closing, datetime):
                compiled.prefixes[cache_key] = prefix
        p50, p90, method, confidence = self.expected
        total, travel = self.key
        return b"".join((
            prefix, orjson.dumps(round(p50, 1)),
            b',"predicted_wait_p90_minutes":', _num(p90),
            b',"prediction_method":"', method.encode(), b'","confidence":"', confidence.encode(),
            b'","travel_minutes":', orjson.dumps(travel),
            b',"travel_source":', source_json, b',"arrival_at":"',
            self.arrival.isoformat().encode(), b'","total_minutes":', orjson.dumps(total),
            b',"load_adjustment_minutes":',
            orjson.dumps(round(self.load_minutes, 1)) if self.load_minutes else b"0.0", b"}"))
