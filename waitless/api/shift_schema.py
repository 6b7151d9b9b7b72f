"""JSON Schema of ``GET /v1/stats/shift`` (the :func:`waitless.stats.england.comparison_statistics`
result), for ``/openapi.json``. Shares are fractions; ``*_pp`` are percentage points."""

from __future__ import annotations

from typing import Any

_NUM = {"type": ["number", "null"]}
_INTERVAL = {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2,
             "maxItems": 2}
_SIDE = {"type": "object", "required": ["type1", "other", "other_share", "months_with_data"],
         "properties": {"type1": {"type": "integer"}, "other": {"type": "integer"},
                        "other_share": _NUM, "months_with_data": {"type": "integer"}}}

SHIFT_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["orgs", "baseline_range", "period_range", "baseline", "period", "shift_pp",
                 "ci95_pp", "shift_ci95_pp_monthly", "by_org", "england", "did_pp",
                 "did_ci95_pp", "rating", "rating_withheld_reason", "year_on_year"],
    "properties": {
        "orgs": {"type": "array", "items": {"type": "string"}},
        "baseline_range": {"type": "string"}, "period_range": {"type": "string"},
        "baseline": _SIDE, "period": _SIDE,
        "shift_pp": {"type": "number", "description": "selection, period minus baseline share"},
        "ci95_pp": {**_INTERVAL, "description": "binomial; too narrow for policy"},
        "shift_ci95_pp_monthly": {**_INTERVAL,
                                  "description": "from month-to-month variation of shares"},
        "by_org": {"type": "array", "items": {
            "type": "object", "required": ["org", "name", "baseline", "period", "shift_pp"],
            "properties": {"org": {"type": "string"}, "name": {"type": "string"},
                           "kind": {"type": ["string", "null"]},
                           "baseline": _SIDE, "period": _SIDE, "shift_pp": _NUM}}},
        "england": {"type": "object",
                    "required": ["baseline", "period", "shift_pp", "providers_counted"],
                    "properties": {"scope": {"type": "string"}, "baseline": _SIDE,
                                   "period": _SIDE, "shift_pp": _NUM,
                                   "providers_counted": {"type": "integer"},
                                   "months": {"type": "array", "items": {"type": "object"}}}},
        "did_pp": {**_NUM, "description": "shift_pp(selection) - shift_pp(England)"},
        "did_ci95_pp": {**_INTERVAL, "description": "from month-to-month variation of the gap"},
        "rating": {"enum": ["green", "amber", "red", None]},
        "rating_withheld_reason": {"type": ["string", "null"]},
        "suggested_orgs": {"type": ["array", "null"], "items": {"type": "string"}},
        "year_on_year": {"type": "object"},
        "months": {"type": "array", "items": {"type": "object"}},
        "breaks": {"type": "array", "items": {"type": "object"}},
        "missing": {"type": "array", "items": {"type": "object"}},
        "caveats": {"type": "array", "items": {"type": "string"}},
    },
}
