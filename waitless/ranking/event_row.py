"""Turning one ranking answer into one event-log row (coarsened: no raw coordinates).

The figures about where the patient is (nearest site, nearest ED, travel minutes) are worked
out from the centre of the patient's grid cell, not from the origin: two patients in one cell
get identical figures (issue #13: minutes from the origin, stored to a fraction, located
origins within metres). Minutes are whole. What the patient was told stays their own, since the
statistics measure it: the recommendation, the number of results, and the predicted waits in
the two totals (at the patient's own arrival); docs/privacy.md lists what that can reveal.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from waitless.domain.event_fields import EventRow
from waitless.domain.region import Region
from waitless.domain.sites import Site
from waitless.ranking.privacy import age_band, coarse_cell
from waitless.ranking.results import RankAnswer

_ID_BATCH = 256
_ID_HEX = 32
# The variant nibble of a version-4 UUID is 10xx in binary: 8, 9, a or b, from the random one.
_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}
_ids: list[str] = []


# A forked worker must never reuse its parent's random bytes.
os.register_at_fork(after_in_child=_ids.clear)


def _format_ids(random_hex: str) -> list[str]:
    """Version-4 UUID strings, as ``str(uuid.uuid4())`` prints them, from 32 hex digits each."""
    return [f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
            for h in (random_hex[i:i + _ID_HEX] for i in range(0, len(random_hex), _ID_HEX))]


def new_event_id() -> str:
    """A random version-4 UUID string, as ``str(uuid.uuid4())``, from random bytes read from
    the OS 256 ids at a time (one system call per 256 requests instead of one each), formatted
    together when read (per request only a ``pop``)."""
    if not _ids:
        _ids.extend(_format_ids(os.urandom(_ID_HEX // 2 * _ID_BATCH).hex()))
    return _ids.pop()


def _nearest_sites(region: Region, travel_seconds: np.ndarray
                   ) -> tuple[Site | None, Site | None, int | None]:
    """As :func:`waitless.ranking.rank.nearest_sites` (the same ``argsort``), in plain Python
    over lists, plus the nearest ED's index (site ids are unique, so it is the one
    ``region.sites.index`` would find)."""
    has_ed = region.site_has_ed
    order = np.argsort(travel_seconds).tolist()
    seconds = travel_seconds.tolist()
    nearest = region.sites[order[0]] if math.isfinite(seconds[order[0]]) else None
    ed_index = next((i for i in order if math.isfinite(seconds[i]) and has_ed[i]), None)
    return nearest, None if ed_index is None else region.sites[ed_index], ed_index


def _whole_minutes(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(round(value))


def _total_from_centre(travel_minutes: float, result: Any) -> float | None:
    """A result's total as seen from the cell centre: ``travel_minutes`` from the centre
    plus the predicted wait at arrival, in whole minutes."""
    return _whole_minutes(travel_minutes + (result.total_minutes - result.travel_minutes))


@dataclass(frozen=True, slots=True)
class CentreFigures:
    """What the event row needs from the centre of the patient's grid cell: travel to each
    site (``region.sites`` order; plain floats, read one at a time per request), the nearest
    site and the nearest ED (with its index), and the row's fields that follow from them. The
    same for every request from the cell, so it is kept per cell."""

    travel_seconds: tuple[float, ...]
    nearest: Site | None
    nearest_ed: Site | None
    ed_index: int | None
    # Derived, for the row: travel / 60 per site, the nearest site's id and main kind, the
    # nearest ED's id and its travel in whole minutes.
    travel_minutes: tuple[float, ...] = field(init=False)
    nearest_id: str | None = field(init=False)
    nearest_kind: str | None = field(init=False)
    nearest_ed_id: str | None = field(init=False)
    nearest_ed_minutes: float | None = field(init=False)

    def __post_init__(self) -> None:
        nearest, ed = self.nearest, self.nearest_ed
        put = object.__setattr__
        put(self, "travel_minutes", tuple(s / 60 for s in self.travel_seconds))
        put(self, "nearest_id", nearest.id if nearest else None)
        put(self, "nearest_kind", nearest.main_service.kind if nearest else None)
        put(self, "nearest_ed_id", ed.id if ed else None)
        put(self, "nearest_ed_minutes", None if self.ed_index is None else
            _whole_minutes(self.travel_minutes[self.ed_index]))

    @classmethod
    def from_travel(cls, region: Region, travel_seconds: np.ndarray) -> CentreFigures:
        return cls(tuple(travel_seconds.tolist()), *_nearest_sites(region, travel_seconds))


UNKNOWN = object()  # CentreFiguresCache.known: nothing kept for the cell yet


class CentreFiguresCache:
    """:class:`CentreFigures` per (mode, cell), made on first use, for one region and its
    travel models. Bounded: emptied when it reaches ``max_cells`` (a region has a few
    thousand cells; a cell's figures change only with the travel model, which is fixed for
    the process's life)."""

    def __init__(self, region: Region, max_cells: int = 16_384) -> None:
        self.region = region
        self.max_cells = max_cells
        self._cells: dict[tuple[str, str], CentreFigures | None] = {}

    def known(self, mode: str, cell: str) -> CentreFigures | object | None:
        """The figures kept for ``cell``, else :data:`UNKNOWN` (the hot path's one lookup,
        before it makes a ``travel`` function for :meth:`get`)."""
        return self._cells.get((mode, cell), UNKNOWN)

    def get(self, mode: str, cell: str,
            travel: Callable[[], np.ndarray | None]) -> CentreFigures | None:
        """The figures for ``cell``; ``travel()`` gives the centre's travel seconds (``None``
        when the centre is outside coverage) when they are not kept yet."""
        key = (mode, cell)
        try:
            return self._cells[key]
        except KeyError:
            pass
        if len(self._cells) >= self.max_cells:
            self._cells.clear()
        seconds = travel()
        figures = None if seconds is None else CentreFigures.from_travel(self.region, seconds)
        self._cells[key] = figures
        return figures


def ranking_event(region: Region, answer: RankAnswer, *, centre: CentreFigures | None,
                  cell: tuple[str, float, float] | None = None) -> EventRow:
    """The event-log row for one answered ranking, in
    :data:`~waitless.domain.event_fields.EVENT_FIELDS` order (``occurred_at`` a datetime: the
    log writes it as a timestamp, the spool as ISO 8601).

    Parameters
    ----------
    answer
        The ranking (its request and travel source are recorded, coarsened): a
        :class:`RankAnswer` or the fast path's :class:`~waitless.ranking.fast.FastAnswer`,
        which has the same attributes for this.
    centre
        Travel from the centre of the origin's grid cell and the nearest sites from there;
        ``None`` when the centre is outside the travel model's coverage (the
        location-derived figures are then not stored).
    cell
        ``coarse_cell`` of the request's origin, when the caller has it already.
    """
    request = answer.request
    cell_id, cell_lat, cell_lon = cell or coarse_cell(request.lat, request.lon)
    results = answer.results
    top = results[0] if results else None
    estimated_minutes = ed_total_minutes = None
    if centre is None:
        nearest_id = nearest_kind = nearest_ed_id = ed_minutes = None
    else:
        nearest_id, nearest_kind = centre.nearest_id, centre.nearest_kind
        nearest_ed_id, ed_minutes = centre.nearest_ed_id, centre.nearest_ed_minutes
        travel_minutes = centre.travel_minutes
        if top is not None:
            estimated_minutes = _total_from_centre(
                travel_minutes[region.site_index[top.site.id]], top)
        if nearest_ed_id is not None:
            # Stays None when the nearest ED is not among the results.
            for row in results:
                if row.site.id == nearest_ed_id:
                    ed_total_minutes = _total_from_centre(travel_minutes[centre.ed_index], row)
                    break
    return (  # in EVENT_FIELDS order
        new_event_id(),
        answer.generated_at,
        region.name,
        cell_id,
        cell_lat,
        cell_lon,
        request.condition,
        age_band(request.age_years),
        request.mode,
        answer.emergency is not None,
        top.site.id if top else None,
        top.service.kind if top else None,
        nearest_id,
        nearest_kind,
        nearest_ed_id,
        estimated_minutes,
        ed_minutes,
        len(results),
        answer.travel_source,
        ed_total_minutes,
    )
