"""The compiled per-candidate loop (``waitless.ranking._fastcore``, Cython) and its inputs.

:mod:`waitless.ranking.fast` asks :func:`answer_core` first; it answers the common request
(no load-aware adjustment, every arrival inside the hours and offset tables, no daylight-saving
gap or overlap at an arrival) and returns ``None`` for the rest, which the Python loop answers.
Without a C compiler at install time the extension is absent and :data:`AVAILABLE` is false:
the service is then slower, never different (``tests/ranking/test_fast_equivalence.py`` runs
every scene through both loops and the reference).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from waitless.ranking.compiled import CompiledRegion, CompiledService, CompiledState
from waitless.ranking.compiled_hours import US, abs_us, wall_us
from waitless.ranking.rank import RankRequest
from waitless.ranking.results import EXCLUSION_REASONS

try:
    from waitless.ranking import _fastcore
except ImportError:  # built without a C compiler
    _fastcore = None  # type: ignore[assignment]
else:
    _fastcore.configure(list(EXCLUSION_REASONS))

AVAILABLE = _fastcore is not None
render_body = _fastcore.render_body if AVAILABLE else None


class _CoreRegion:
    """What the compiled loop reads of a :class:`CompiledRegion`: its offsets, and each hours
    table converted once (not again at every recompile of a site's services)."""

    __slots__ = ("offsets", "tables")

    def __init__(self, static: CompiledRegion) -> None:
        self.offsets = _fastcore.Offsets(static.offsets.starts, static.offsets.offsets)
        self.tables = {key: None if table is None else _fastcore.CoreTable(table)
                       for key, table in static.tables.items()}


def _core_region(static: CompiledRegion) -> _CoreRegion:
    made = static.core
    if made is None:
        made = static.core = _CoreRegion(static)
    return made


def pack(cs: CompiledService, tables: dict) -> Any:
    """``cs`` as the compiled loop reads it (``tables``: the region's, converted)."""
    service = cs.service
    forecast = cs.forecast
    return _fastcore.CoreService(
        cs, service.treats, service.min_age_years, cs.preference, cs.reported_closed,
        tables[(cs.site_index, service.kind)], cs.head_json, cs.wait_json, cs.fixed, forecast,
        cs.model.profile if forecast is not None else None, cs.p90_horizons, cs.p90_factors,
        cs.wait.age_minutes)


def _cores_for(state: CompiledState, index: int, now: datetime, now_us: int) -> list:
    services = state.site(index, now, now_us)
    cores = state.cores[index]
    if cores is None:
        tables = _core_region(state.static).tables
        cores = state.cores[index] = [pack(cs, tables) for cs in services]
    return cores


def answer_core(state: CompiledState, request: RankRequest, seconds_list: list[float],
                candidates: list[int], now: datetime, now_us: int, same_zone: bool,
                source_json: bytes) -> tuple[list, bytes, bytes] | None:
    """(shown results, their JSON array, the excluded JSON array), or ``None`` where the
    Python loop must answer (``now_us``: ``abs_us(now)``, which the caller has made)."""
    static = state.static
    region = static.region
    depart = request.depart_at
    offset_us = 0 if same_zone else depart.utcoffset() // US
    return _fastcore.rank_core(
        lambda index: _cores_for(state, index, now, now_us),
        state.cores, state.site_from_us, state.site_until_us,
        seconds_list, candidates, depart, now_us if depart is now else abs_us(depart),
        wall_us(depart) if same_zone else 0, same_zone, offset_us, static.margin_us,
        request.condition, request.age_years, now_us, _core_region(static).offsets, request.limit,
        source_json, static.excluded_json, region.sites)
