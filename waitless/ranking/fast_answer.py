"""A ranking answered on the compiled state (:class:`FastAnswer`) and its ``/v1/rank`` body.

The body is written by the compiled module where it was built (``render_body``) and by
``orjson`` from the answer's dictionary otherwise: the second is the definition the first keeps
to, byte for byte (``tests/ranking/test_fast_body.py``, and the equivalence property test).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from waitless.domain.conditions import NHS_111_ADVICE
from waitless.ranking import core
from waitless.ranking.compiled_hours import US, wall_us
from waitless.ranking.fast_result import FastResult
from waitless.ranking.rank import RankRequest


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
    now_us: int  # abs_us(now)
    emergency: None = None  # a 999 answer always comes from the reference

    @property
    def generated_at(self) -> datetime:
        return self.now

    def body_json(self, region_name: str, event_id: str) -> bytes:
        """The ``/v1/rank`` body with the fields the API adds."""
        if core.AVAILABLE:
            try:
                return self._body_compiled(region_name, event_id)
            except (ValueError, OverflowError):  # a sub-second or missing UTC offset
                pass
        return self._body_orjson(region_name, event_id)

    def _body_compiled(self, region_name: str, event_id: str) -> bytes:
        """:meth:`body_json` written by the compiled module (``render_body``), the times
        passed as wall-clock microseconds and UTC offsets."""
        request, now = self.request, self.now
        now_offset = now.utcoffset()
        if now_offset is None:
            raise ValueError("naive now")
        now_offset_us = now_offset // US
        now_wall_us = self.now_us + now_offset_us
        depart = request.depart_at
        if depart is now:  # most requests leave now
            depart_wall_us, depart_offset_us = now_wall_us, now_offset_us
        else:
            depart_offset = depart.utcoffset()
            if depart_offset is None:
                raise ValueError("naive depart_at")
            depart_wall_us, depart_offset_us = wall_us(depart), depart_offset // US
        return core.render_body(
            request.lat, request.lon, _json_text(request.mode), now_wall_us, now_offset_us,
            depart_wall_us, depart_offset_us,
            b"null" if request.condition is None else _json_text(request.condition),
            request.age_years, self.results_json, self.excluded_json, _ADVICE_JSON,
            self.omitted_far_sites, _json_text(region_name), orjson.dumps(event_id),
            orjson.dumps)

    def _body_orjson(self, region_name: str, event_id: str) -> bytes:
        """:meth:`body_json` without the compiled module: the definition it keeps to."""
        request = self.request
        now_iso = self.now.isoformat()
        depart = request.depart_at  # most requests leave now: the same object, one format
        return orjson.dumps({
            "origin": {"lat": request.lat, "lon": request.lon, "mode": request.mode},
            "generated_at": now_iso,
            "depart_at": now_iso if depart is self.now else depart.isoformat(),
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


_ADVICE_JSON = orjson.dumps(NHS_111_ADVICE)
_JSON_TEXTS: dict[str, bytes] = {}


def _json_text(text: str) -> bytes:
    """``orjson.dumps(text)`` for the few strings every answer repeats (modes, conditions,
    region names: each checked against a fixed set before it gets here), kept once made."""
    made = _JSON_TEXTS.get(text)
    if made is None:
        if len(_JSON_TEXTS) >= 1024:  # bounded whatever a caller passes
            _JSON_TEXTS.clear()
        made = _JSON_TEXTS[text] = orjson.dumps(text)
    return made
