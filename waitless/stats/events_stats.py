"""Statistics from the service's own records: rankings answered and choices patients report.

Definitions (also in ``docs/statistics.md``), per bucket (local day, ISO week or site):

- ``rankings``: every ranking answered, including call-999 answers (``emergencies``).
- ``ranked``: rankings with a recommendation (at least one result).
- ``minor_instead_of_ed``: ranked where the site nearest the cell centre (by travel) is an ED
  site and the top recommendation (ranked from the true origin) is a UTC or MIU;
  ``minor_instead_of_ed_share`` = that / ``ranked``.
- ``away_from_nearest_ed``: ranked where the recommended site is not the nearest ED's site.
- ``minutes_saved``: sum over ranked with a known ``nearest_ed_total_minutes`` of that total
  minus the recommendation's total (0 when the recommendation is that site); both totals are
  from the cell centre while the ranking ordered from the origin, so a row can add a negative
  minute or two, kept as it is; ``minutes_saved_mean`` = that sum / those rankings
  (``comparable``).
- ``choices``: choices reported by the app; ``choices_linked`` those naming a logged ranking;
  ``chose_recommended`` linked choices of the site that ranking recommended;
  ``chose_recommended_share`` = that / ``choices_linked``.

By site, rankings count under their recommended site and choices under the chosen site.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from waitless.domain.region import Region
from waitless.stats.errors import StatsQueryError

GROUPS = ("day", "week", "site")
MAX_SPAN_DAYS = 731
NO_SITE = "(none)"

RANKING_COUNTS = ("rankings", "emergencies", "ranked", "minor_instead_of_ed",
                  "away_from_nearest_ed", "comparable", "minutes_saved")
CHOICE_COUNTS = ("choices", "choices_linked", "chose_recommended")
# Column order of every row (and of the CSV download).
ROW_FIELDS = ("bucket", "rankings", "emergencies", "ranked", "minor_instead_of_ed",
              "minor_instead_of_ed_share", "away_from_nearest_ed", "comparable",
              "minutes_saved", "minutes_saved_mean", "choices", "choices_linked",
              "chose_recommended", "chose_recommended_share")

_BUCKETS = {
    "day": ("(e.occurred_at AT TIME ZONE $4)::date::text",
            "(c.occurred_at AT TIME ZONE $4)::date::text"),
    "week": ("date_trunc('week', e.occurred_at AT TIME ZONE $4)::date::text",
             "date_trunc('week', c.occurred_at AT TIME ZONE $4)::date::text"),
    "site": ("e.recommended_site", "c.site_id"),
}

_RANKINGS_SQL = """
SELECT {bucket} AS bucket,
       count(*) AS rankings,
       count(*) FILTER (WHERE e.emergency) AS emergencies,
       count(*) FILTER (WHERE e.recommended_site IS NOT NULL) AS ranked,
       count(*) FILTER (WHERE e.recommended_site IS NOT NULL AND e.nearest_kind = 'ed'
                          AND e.recommended_kind IN ('utc', 'miu')) AS minor_instead_of_ed,
       count(*) FILTER (WHERE e.recommended_site IS NOT NULL AND e.nearest_ed IS NOT NULL
                          AND e.recommended_site <> e.nearest_ed) AS away_from_nearest_ed,
       count(*) FILTER (WHERE e.recommended_site IS NOT NULL
                          AND e.nearest_ed_total_minutes IS NOT NULL) AS comparable,
       coalesce(sum(CASE WHEN e.recommended_site = e.nearest_ed THEN 0
                         ELSE e.nearest_ed_total_minutes - e.estimated_minutes END)
                FILTER (WHERE e.recommended_site IS NOT NULL
                          AND e.nearest_ed_total_minutes IS NOT NULL), 0) AS minutes_saved
FROM ranking_events e
WHERE e.region = $1 AND e.occurred_at >= $2 AND e.occurred_at < $3
GROUP BY 1
"""

_CHOICES_SQL = """
SELECT {bucket} AS bucket,
       count(*) AS choices,
       count(e.event_id) AS choices_linked,
       count(*) FILTER (WHERE c.site_id = e.recommended_site) AS chose_recommended
FROM patient_choices c
LEFT JOIN ranking_events e ON e.event_id = c.event_id AND e.region = c.region
WHERE c.region = $1 AND c.occurred_at >= $2 AND c.occurred_at < $3
GROUP BY 1
"""


# Dates near date.max overflow when the range end (a day or a week later) is computed.
_LAST_DATE = dt.date(9000, 12, 31)


def parse_date(text: str | None, label: str) -> dt.date:
    try:
        value = dt.date.fromisoformat((text or "").strip())
    except ValueError as exc:
        msg = f"{label}: expected a date YYYY-MM-DD (got {text!r})"
        raise StatsQueryError(msg) from exc
    if value > _LAST_DATE:
        msg = f"{label}: dates after {_LAST_DATE} are not accepted (got {text!r})"
        raise StatsQueryError(msg)
    return value


def validate_events_query(query: Any, *, today: dt.date) -> tuple[dt.date, dt.date, str]:
    """(first day, last day, group) from ``from``, ``to``, ``group``; default: the last 28 days."""
    last = parse_date(query["to"], "to") if "to" in query else today
    first = parse_date(query["from"], "from") if "from" in query else \
        last - dt.timedelta(days=27)
    group = query.get("group", "day")
    if group not in GROUPS:
        msg = f"group must be one of {', '.join(GROUPS)} (got {group!r})"
        raise StatsQueryError(msg)
    if last < first:
        msg = f"to ({last}) is before from ({first})"
        raise StatsQueryError(msg)
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        msg = f"at most {MAX_SPAN_DAYS} days at once"
        raise StatsQueryError(msg)
    return first, last, group


def _derive(row: dict[str, Any]) -> dict[str, Any]:
    def share(part: str, whole: str) -> float | None:
        return row[part] / row[whole] if row[whole] else None

    row["minutes_saved"] = round(row["minutes_saved"], 1)
    row["minor_instead_of_ed_share"] = share("minor_instead_of_ed", "ranked")
    row["minutes_saved_mean"] = (round(row["minutes_saved"] / row["comparable"], 2)
                                 if row["comparable"] else None)
    row["chose_recommended_share"] = share("chose_recommended", "choices_linked")
    return {field: row[field] for field in ROW_FIELDS}


def _empty(bucket: str) -> dict[str, Any]:
    return {"bucket": bucket, **dict.fromkeys(RANKING_COUNTS + CHOICE_COUNTS, 0)}


def _bucket_keys(region: Region, first: dt.date, last: dt.date, group: str) -> list[str]:
    if group == "site":
        return [site.id for site in region.sites]
    step = 1 if group == "day" else 7
    start = first if group == "day" else first - dt.timedelta(days=first.weekday())
    return [(start + dt.timedelta(days=i)).isoformat()
            for i in range(0, (last - start).days + 1, step)]


async def event_statistics(conn: asyncpg.Connection, region: Region, first: dt.date,
                           last: dt.date, group: str) -> dict[str, Any]:
    """Counts, shares and minutes saved per bucket between two local dates (inclusive).

    Days and weeks (starting Monday) are in the region's time zone; ``bucket`` is the day or
    the week's Monday as ``YYYY-MM-DD``, or a site id (``"(none)"``: no recommendation).
    Minutes are minutes.
    """
    tz: ZoneInfo = region.timezone
    since = dt.datetime.combine(first, dt.time(), tzinfo=tz)
    until = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    ranking_bucket, choice_bucket = _BUCKETS[group]
    # Only day and week buckets need the time zone ($4).
    args = (region.name, since, until) + ((tz.key,) if group != "site" else ())
    rows = {key: _empty(key) for key in _bucket_keys(region, first, last, group)}
    for sql, bucket, fields in ((_RANKINGS_SQL, ranking_bucket, RANKING_COUNTS),
                                (_CHOICES_SQL, choice_bucket, CHOICE_COUNTS)):
        for record in await conn.fetch(sql.format(bucket=bucket), *args):
            key = record["bucket"] or NO_SITE
            row = rows.setdefault(key, _empty(key))
            for field in fields:
                row[field] += record[field]
    total = _empty("total")
    for row in rows.values():
        for field in RANKING_COUNTS + CHOICE_COUNTS:
            total[field] += row[field]
    ordered = [rows[k] for k in sorted(rows)] if group != "site" else list(rows.values())
    return {"region": region.name, "from": first.isoformat(), "to": last.isoformat(),
            "group": group, "timezone": tz.key, "rows": [_derive(r) for r in ordered],
            "total": _derive(total)}


_CHOICE_FIELDS = ("site_id", "event_id", "kind", "region")


def validate_choice(region: Region, body: Any) -> dict[str, Any]:
    """Check a reported choice ``{"site_id", "event_id"?, "kind"?, "region"?}`` against the
    region (the API's ``choice_region``: the sites it ranks, its border sites included)."""
    if not isinstance(body, dict):
        msg = "body must be a JSON object like {\"site_id\": \"RVVKC\"}"
        raise StatsQueryError(msg)
    unknown = sorted(set(body) - set(_CHOICE_FIELDS))
    if unknown:
        msg = f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(_CHOICE_FIELDS)}"
        raise StatsQueryError(msg)
    site_id = body.get("site_id")
    site = region.site(site_id) if isinstance(site_id, str) else None
    if site is None:
        msg = f"site_id {site_id!r} is not a site of {region.name}"
        raise StatsQueryError(msg)
    kind = body.get("kind")
    if "kind" in body and (not isinstance(kind, str) or site.service(kind) is None):
        kinds = ", ".join(s.kind for s in site.services)
        msg = f"kind {kind!r} is not a service of {site.id} ({kinds})"
        raise StatsQueryError(msg)
    event_id = body.get("event_id")
    if "event_id" in body:
        # Only the canonical form /v1/rank hands out: 8-4-4-4-12 hexadecimal digits.
        try:
            parsed = uuid.UUID(event_id) if isinstance(event_id, str) else None
        except ValueError:
            parsed = None
        if parsed is None or str(parsed) != event_id.lower():
            msg = f"event_id {event_id!r} is not a UUID like 1b4e28ba-2fa1-11d2-883f-0016d3cca427"
            raise StatsQueryError(msg)
        event_id = parsed
    return {"site_id": site.id, "kind": kind, "event_id": event_id}


async def record_choice(conn: asyncpg.Connection, region: Region, choice: dict[str, Any], *,
                        now: dt.datetime) -> uuid.UUID:
    """Store one validated choice; return its id."""
    choice_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO patient_choices (choice_id, occurred_at, region, site_id, kind, event_id)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        choice_id, now, region.name, choice["site_id"], choice["kind"], choice["event_id"])
    return choice_id
