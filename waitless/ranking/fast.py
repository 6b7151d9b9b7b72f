"""The ranking request path on the compiled state: a few numbers per site, pre-rendered JSON.

Per request: arrival per candidate site (travel from the caller), eligibility and opening-hours
lookups, the predicted wait at arrival, the total, a sort, and the JSON joined from the pieces
compiled in :mod:`waitless.ranking.compiled` with the few per-request numbers. The answer is the
same, byte for byte, as ``orjson.dumps(answer_json(rank(...)))`` (the reference, kept in
:mod:`waitless.ranking.rank` and checked against this path by a property test). Requests the
compiled state does not cover (a 999 condition, or a ``depart_at`` in a zone other than
the region's or a fixed offset) return ``None``: the caller answers them with the reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import Any

import numpy as np
import orjson

from waitless.domain.conditions import CONDITIONS, NHS_111_ADVICE
from waitless.domain.observation import Observation
from waitless.domain.region import Region
from waitless.domain.sites import Service, Site
from waitless.ranking.compiled import (
    CompiledRegion,
    CompiledService,
    CompiledState,
    compile_region,
    compile_state,
)
from waitless.ranking.compiled_hours import US, abs_us, wall_us
from waitless.ranking.history import ServiceHistory
from waitless.ranking.rank import RankRequest, _candidate_indices, _hours_check
from waitless.ranking.results import EXCLUSION_REASONS

_REASON_ORDER = {reason: i for i, reason in enumerate(EXCLUSION_REASONS)}
_DAY_US = 86_400_000_000
_ALWAYS = object()  # the closing of a round-the-clock service: never shown, open_24h
_sort_key = attrgetter("key")


def _num(value: float | None) -> bytes:
    return b"null" if value is None else orjson.dumps(round(value, 1))


@dataclass(slots=True)
class FastResult:
    """One ranked site: the compiled service and the per-request numbers."""

    compiled: CompiledService
    site: Site
    travel_minutes: float
    total_minutes: float
    closing: Any          # Closing, a datetime (reference fallback), _ALWAYS or None
    open_24h: bool
    arrival: datetime
    expected: tuple[float, float | None, str, str]  # p50, p90, method, confidence
    key: tuple[float, float]  # the reference's sort key: total and travel to 0.1 minute

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
            if open_24h or closing is _ALWAYS or closing is None:
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
            # Load-aware answers (issue 17) take the reference path: here the term is always 0.
            b',"load_adjustment_minutes":0.0}'))


@dataclass(slots=True)
class FastAnswer:
    """A ranking answered on the compiled state: results in order (shown ones only), the body
    without ``region``/``event_id``, as pieces for :meth:`body_json`."""

    request: RankRequest
    now: datetime
    travel_source: str
    results: list[FastResult]
    results_json: bytes
    excluded_json: bytes
    omitted_far_sites: int
    emergency: None = None  # a 999 answer always comes from the reference

    @property
    def generated_at(self) -> datetime:
        return self.now

    def body_json(self, region_name: str, event_id: str) -> bytes:
        """The ``/v1/rank`` body with the fields the API adds."""
        request = self.request
        return orjson.dumps({
            "origin": {"lat": request.lat, "lon": request.lon, "mode": request.mode},
            "generated_at": self.now.isoformat(),
            "depart_at": request.depart_at.isoformat(),
            "condition": request.condition,
            "age": request.age_years,
            "results": orjson.Fragment(self.results_json),
            "excluded": orjson.Fragment(self.excluded_json),
            "emergency": None,
            "advice": NHS_111_ADVICE,
            "omitted_far_sites": self.omitted_far_sites,
            "region": region_name,
            "event_id": event_id,
        })


class FastRanker:
    """Answers rank requests for one region from a compiled state it keeps up to date.

    The state is recompiled when the snapshot's observations or the prediction histories are
    replaced (every reload replaces them) or ``now`` leaves the state's validity window; the
    region's hours tables when the local date moves.
    """

    def __init__(self, region: Region) -> None:
        self.region = region
        self._static: CompiledRegion | None = None
        self._state: CompiledState | None = None
        self.compiles = 0
        self.fallbacks = 0

    def state(self, observations: Mapping[str, Observation],
              history: Mapping[str, ServiceHistory] | None, now: datetime) -> CompiledState:
        """The compiled state for ``now``."""
        now_us = abs_us(now)
        state = self._state
        if state is not None and state.valid_for(observations, history, now_us):
            return state
        today = now.astimezone(self.region.timezone).date()
        if self._static is None or self._static.around != today:
            self._static = compile_region(self.region, today)
        self._state = compile_state(self._static, observations, history, now)
        self.compiles += 1
        return self._state

    def answer(self, request: RankRequest, observations: Mapping[str, Observation], *,
               travel_seconds: np.ndarray, travel_source: str, now: datetime,
               history: Mapping[str, ServiceHistory] | None) -> FastAnswer | None:
        """Rank like :func:`waitless.ranking.rank.rank`; ``None`` where the reference must."""
        region = self.region
        depart = request.depart_at
        same_zone = depart.tzinfo is region.timezone
        condition = CONDITIONS.get(request.condition) if request.condition else None
        if ((condition is not None and condition.red_flag)
                or not (same_zone or isinstance(depart.tzinfo, timezone))):
            self.fallbacks += 1
            return None
        state = self.state(observations, history, now)
        seconds_list = travel_seconds.tolist()
        settings = region.ranking
        if len(seconds_list) <= settings.max_candidates:
            limit_s = (settings.max_walk_minutes if request.mode == "walk"
                       else settings.max_travel_minutes) * 60
            candidates = [i for i, s in enumerate(seconds_list)
                          if not (math.isfinite(s) and s > limit_s)]
        else:
            candidates = _candidate_indices(region, travel_seconds, request.mode)
        ranked, excluded = _rank_sites(state, request, seconds_list, candidates, now,
                                       same_zone)
        ranked.sort(key=_sort_key)
        shown = ranked[: request.limit]
        static = state.static
        source_json = orjson.dumps(travel_source)
        return FastAnswer(
            request, now, travel_source, shown,
            b"[" + b",".join([r.json(source_json) for r in shown]) + b"]",
            b"[" + b",".join(static.excluded_json[e] for e in excluded) + b"]",
            len(region.sites) - len(candidates))


def travel_microseconds(seconds: list[float]) -> list[int]:
    """``timedelta(seconds=s)`` in whole microseconds for every finite ``s``, at once.

    As CPython's ``timedelta`` does: whole seconds exactly, then the fraction times 10**6 in
    floating point, rounded half to even (the whole seconds contribute an even number, so
    the parity CPython's tie rule looks at is the fraction's). Infinite entries give 0.
    """
    values = np.array(seconds, dtype=float)
    values[~np.isfinite(values)] = 0.0
    whole = np.trunc(values)
    return (whole.astype(np.int64) * 1_000_000
            + np.rint((values - whole) * 1e6).astype(np.int64)).tolist()


def _rank_sites(state: CompiledState, request: RankRequest, seconds_list: list[float],
                candidates: list[int], now: datetime, same_zone: bool
                ) -> tuple[list[FastResult], list[tuple[int, str]]]:
    """Choose the service at each candidate site (as ``rank._choose_service``) and price it."""
    static = state.static
    region = static.region
    tz = region.timezone
    depart = request.depart_at
    depart_wall = wall_us(depart) if same_zone else 0
    depart_abs = abs_us(depart)
    margin_us = timedelta(minutes=region.ranking.closing_margin_minutes) // US
    condition, age = request.condition, request.age_years
    offsets = static.offsets
    now_us = abs_us(now)
    steps_us = travel_microseconds(seconds_list)
    ranked: list[FastResult] = []
    excluded: list[tuple[int, str]] = []
    for i in candidates:
        seconds = seconds_list[i]
        if not math.isfinite(seconds):
            excluded.append((i, "unreachable"))
            continue
        step_us = steps_us[i]
        step = timedelta(microseconds=step_us)
        arrival_abs = depart_abs + step_us
        if same_zone:
            arrival_wall: int | None = depart_wall + step_us
        else:
            offset = offsets.offset_us(arrival_abs)
            arrival_wall = None if offset is None else arrival_abs + offset
        best: tuple[CompiledService, Any, bool] | None = None
        reason_best: str | None = None
        for cs in state.site(i, now, now_us):
            service = cs.service
            reason = None
            closing: Any = None
            open_24h = False
            if condition is not None and condition not in service.treats:
                reason = "cannot_treat"
            elif age is not None and age < service.min_age_years:
                reason = "below_min_age"
            elif cs.table is None:
                closing, open_24h = _ALWAYS, True
            else:
                covered = False
                if arrival_wall is not None:
                    covered, closing = cs.table.lookup(arrival_wall)
                if not covered:  # outside the tables' window: the reference check
                    reason, closes_at = _hours_check(region, service, depart + step)
                    if closes_at is not None:
                        closing = closes_at
                        open_24h = closes_at - (depart + step) > timedelta(days=1)
                elif closing is None:
                    reason = "closed_at_arrival"
                else:
                    left = (closing.wall_us - arrival_wall if same_zone
                            else closing.abs_us - arrival_abs)
                    if left < margin_us:
                        reason = "closes_soon_after_arrival"
                    open_24h = left > _DAY_US
            if reason is None and cs.reported_closed:
                reason = "reported_closed"
            if reason is None:
                if best is None or cs.preference < best[0].preference:
                    best = (cs, closing, open_24h)
            elif reason_best is None or _REASON_ORDER[reason] < _REASON_ORDER[reason_best]:
                reason_best = reason
        if best is None:
            excluded.append((i, reason_best))
            continue
        cs, closing, open_24h = best
        arrival = depart + step
        expected = cs.expected(max((arrival - now).total_seconds() / 60, 0.0), tz)
        travel_minutes = seconds / 60
        total = travel_minutes + expected[0]
        if cs.extra_minutes:
            total += cs.extra_minutes
        ranked.append(FastResult(cs, region.sites[i], travel_minutes, total, closing, open_24h,
                                 arrival, expected, (round(total, 1), round(travel_minutes, 1))))
    return ranked, excluded
