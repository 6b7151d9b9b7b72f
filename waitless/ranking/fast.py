"""The ranking request path on the compiled state: a few numbers per site, pre-rendered JSON.

Per request: arrival per candidate site (travel from the caller), eligibility and opening-hours
lookups, the predicted wait at arrival, the total, a sort, and the JSON joined from the pieces
compiled in :mod:`waitless.ranking.compiled` with the few per-request numbers. The answer is the
same, byte for byte, as ``orjson.dumps(answer_json(rank(...)))`` (the reference, kept in
:mod:`waitless.ranking.rank` and checked against this path by a property test). The loop over
candidates runs compiled (:mod:`waitless.ranking.core`) where it was built and the request
allows; :func:`_rank_sites` and :class:`FastResult` are the same loop in Python. Requests the
compiled state does not cover (a 999 condition, or a ``depart_at`` in a zone other than
the region's or a fixed offset) return ``None``: the caller answers them with the reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from typing import Any

import numpy as np
import orjson

from waitless.domain.conditions import CONDITIONS
from waitless.domain.observation import Observation
from waitless.domain.region import Region
from waitless.ranking import core
from waitless.ranking.compiled import (
    CompiledRegion,
    CompiledService,
    CompiledState,
    compile_region,
    compile_state,
)
from waitless.ranking.compiled_hours import abs_us, travel_microseconds, wall_us
from waitless.ranking.fast_answer import FastAnswer
from waitless.ranking.fast_result import ALWAYS, FastResult
from waitless.ranking.history import ServiceHistory
from waitless.ranking.load import LoadView, SiteLoads
from waitless.ranking.rank import RankRequest, _candidate_indices, _hours_check
from waitless.ranking.results import EXCLUSION_REASONS

_REASON_ORDER = {reason: i for i, reason in enumerate(EXCLUSION_REASONS)}
_DAY_US = 86_400_000_000
_sort_key = attrgetter("key")


class FastRanker:
    """Answers rank requests for one region from a compiled state it keeps up to date.

    The state is recompiled when the snapshot's observations or the prediction histories are
    replaced (every reload replaces them) or ``now`` leaves the state's validity window; the
    region's hours tables when the local date moves.
    """

    def __init__(self, region: Region, *, use_core: bool = True) -> None:
        self.region = region
        # The compiled loop (waitless.ranking.core) where it was built; off: the Python loop.
        self.use_core = use_core and core.AVAILABLE
        self.core_answers = self.core_fallbacks = 0
        self._static: CompiledRegion | None = None
        self._state: CompiledState | None = None
        self.compiles = self.fallbacks = 0
        self._source_json: dict[str, bytes] = {}  # travel source label -> its JSON string

    def state(self, observations: Mapping[str, Observation],
              history: Mapping[str, ServiceHistory] | None, now: datetime,
              now_us: int) -> CompiledState:
        """The compiled state for ``now`` (``now_us``: ``abs_us(now)``)."""
        state = self._state
        # valid_for, inline: every request asks.
        if (state is not None and observations is state.observations
                and history is state.history and state.from_us <= now_us < state.until_us):
            return state
        today = now.astimezone(self.region.timezone).date()
        if self._static is None or self._static.around != today:
            self._static = compile_region(self.region, today)
        self._state = compile_state(self._static, observations, history, now)
        self.compiles += 1
        return self._state

    def answer(self, request: RankRequest, observations: Mapping[str, Observation], *,
               travel_seconds: np.ndarray, travel_source: str, now: datetime,
               history: Mapping[str, ServiceHistory] | None,
               load: LoadView | SiteLoads | None = None) -> FastAnswer | None:
        """Rank like :func:`waitless.ranking.rank.rank` (``load`` as there); ``None`` where the
        reference must."""
        region = self.region
        depart = request.depart_at
        same_zone = depart.tzinfo is region.timezone
        condition = CONDITIONS.get(request.condition) if request.condition else None
        if ((condition is not None and condition.red_flag)
                or not (same_zone or isinstance(depart.tzinfo, timezone))):
            self.fallbacks += 1
            return None
        now_us = abs_us(now)
        state = self.state(observations, history, now, now_us)
        seconds_list = travel_seconds.tolist()
        settings = region.ranking
        if len(seconds_list) <= settings.max_candidates:
            limit_s = (settings.max_walk_minutes if request.mode == "walk"
                       else settings.max_travel_minutes) * 60
            # Usually every site is within the limit: one max() instead of a test per site.
            # (An unreachable site, inf, or a NaN is a candidate too; NaN makes max() fail
            # the test or be ignored by it, and either way the answer is the same.)
            if max(seconds_list, default=0.0) <= limit_s:
                candidates = list(range(len(seconds_list)))
            else:
                candidates = [i for i, s in enumerate(seconds_list)
                              if not (math.isfinite(s) and s > limit_s)]
        else:
            candidates = _candidate_indices(region, travel_seconds, request.mode)
        source_json = self._source_json.get(travel_source)
        if source_json is None:
            source_json = self._source_json[travel_source] = orjson.dumps(travel_source)
        omitted = len(region.sites) - len(candidates)
        if load is None and self.use_core:
            made = core.answer_core(state, request, seconds_list, candidates, now, now_us,
                                    same_zone, source_json)
            if made is not None:
                self.core_answers += 1
                return FastAnswer(request, now, travel_source, *made, omitted, now_us)
            self.core_fallbacks += 1
        ranked, excluded = _rank_sites(state, request, seconds_list, candidates, now, now_us,
                                       same_zone, load)
        ranked.sort(key=_sort_key)
        shown = ranked[: request.limit]
        static = state.static
        return FastAnswer(
            request, now, travel_source, shown,
            b"[" + b",".join([r.json(source_json) for r in shown]) + b"]",
            b"[" + b",".join(static.excluded_json[e] for e in excluded) + b"]", omitted, now_us)


def _rank_sites(state: CompiledState, request: RankRequest, seconds_list: list[float],
                candidates: list[int], now: datetime, now_us: int, same_zone: bool,
                load: LoadView | SiteLoads | None = None
                ) -> tuple[list[FastResult], list[tuple[int, str]]]:
    """Choose the service at each candidate site (as ``rank._choose_service``) and price it."""
    static = state.static
    region = static.region
    tz = region.timezone
    depart = request.depart_at
    depart_wall = wall_us(depart) if same_zone else 0
    depart_abs = abs_us(depart)
    margin_us = static.margin_us
    condition, age = request.condition, request.age_years
    offsets = static.offsets
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
                closing, open_24h = ALWAYS, True
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
        load_minutes = 0.0
        if load is not None:  # patients already sent here who arrive first (issue 17)
            kind = cs.service.kind
            key = f"{region.sites[i].id}/{kind}"
            load_minutes = load.adjustment_minutes(key, kind, state.observations.get(key),
                                                   arrival.timestamp(),
                                                   wait_status=cs.wait.status)
            if load_minutes:
                p50, p90, method, level = expected
                expected = (p50 + load_minutes, None if p90 is None else p90 + load_minutes,
                            method, level)
        travel_minutes = seconds / 60
        total = travel_minutes + expected[0]
        ranked.append(FastResult(cs, region.sites[i], travel_minutes, total, closing, open_24h,
                                 arrival, expected, (round(total, 1), round(travel_minutes, 1)),
                                 load_minutes))
    return ranked, excluded
