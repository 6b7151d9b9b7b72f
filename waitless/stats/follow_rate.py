"""The observed follow rate of load-aware ranking, from the event log (``docs/herding.md``).

One query counts, over the ranked answers of the last ``follow_window_days``: the answers, those
with a recorded choice (``POST /v1/choices`` naming the answer's ``event_id``), and those whose
latest recorded choice was the answer's first result (the same site, and the same service when
the choice names one). :func:`~waitless.ranking.load.estimate_follow_rate` turns the counts into
the rate. Run by a background task of each API worker (:mod:`waitless.api.load_sync`), never on
the request path.
"""

from __future__ import annotations

import datetime as dt

import asyncpg

from waitless.domain.load_aware_settings import LoadAwareSettings
from waitless.ranking.load import FollowRate, estimate_follow_rate

# A patient may press "I'm going here" more than once: the latest choice is their last word.
# Choices are read from the window only (a choice comes after its answer), so the index on
# (region, occurred_at) bounds both sides.
_FOLLOW_SQL = """
WITH latest AS (
    SELECT DISTINCT ON (event_id) event_id, site_id, kind
    FROM patient_choices
    WHERE region = $1 AND occurred_at >= $2 AND occurred_at < $3 AND event_id IS NOT NULL
    ORDER BY event_id, occurred_at DESC, id DESC
)
SELECT count(*) AS answers,
       count(l.event_id) AS choices,
       count(*) FILTER (WHERE l.site_id = e.recommended_site
                          AND (l.kind IS NULL OR l.kind = e.recommended_kind)) AS followed
FROM ranking_events e
LEFT JOIN latest l ON l.event_id = e.event_id
WHERE e.region = $1 AND e.occurred_at >= $2 AND e.occurred_at < $3
  AND e.recommended_site IS NOT NULL
"""


async def observed_follow_rate(conn: asyncpg.Connection, region_name: str,
                               settings: LoadAwareSettings, *, now: dt.datetime) -> FollowRate:
    """The follow rate observed over the window ending at ``now`` (the setting below
    ``follow_min_choices`` recorded choices).

    Parameters
    ----------
    conn
        A connection to the database holding ``ranking_events`` and ``patient_choices``.
    region_name
        Whose answers and choices are counted.
    settings
        The region's ``[load_aware]`` table (window, threshold, prior).
    now
        The end of the window (aware datetime).
    """
    since = now - dt.timedelta(days=settings.follow_window_days)
    row = await conn.fetchrow(_FOLLOW_SQL, region_name, since, now)
    return estimate_follow_rate(row["answers"], row["choices"], row["followed"], settings)
