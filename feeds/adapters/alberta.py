"""Alberta Health Services wait times (``/Webapps/WaitTimes/api/waittimes/en``).

Shape::

    {"Calgary": {"Emergency": [{"Name": ..., "Category": "Emergency", "WaitTime": "3 hr 19 min",
                                "TimesUnavailable": "False", "Address": ..., "Note": ...}],
                 "Urgent": [...]},
     "Edmonton": {...}, ...}

Quirks handled: a campus with several departments packs each field as values joined by
``"[;]"`` (one observation per department); ``TimesUnavailable`` is the *string*
``"True"``/``"False"``; text carries HTML entities (``&amp;``); there is **no source
timestamp**, so ``observed_at`` is the fetch time and ``timestamp_from_source`` is false.
The figure is an estimate of time from triage to physician (``wait_kind = "estimate"``).

Options: ``sites`` / ``ignore_sites``, ``areas`` (which top-level areas to read, default all),
``category_map`` (default ``{Emergency = "ed", Urgent = "utc", "Urgent Care" = "utc"}``). A
department's ``Category`` decides its service; when the category is not in the map, the group
it is listed under does (Sheldon M. Chumir's "Urgent Care" under ``Urgent``); when neither
is, the category is passed through and rejected by validation as ``unknown_service``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from feeds.adapters._common import clean_text, load_json, option, read_wait, site_id_for
from feeds.errors import FeedParseError
from waitless.domain.observation import Observation

PACK_SEPARATOR = "[;]"
DEFAULT_CATEGORY_MAP = {"Emergency": "ed", "Urgent": "utc", "Urgent Care": "utc"}


# The feed options this format reads (besides feeds.adapters.SHARED_OPTIONS), so that a
# region file's misspelt option is refused at start-up instead of silently ignored.
OPTIONS = frozenset({"areas", "category_map"})


def parse(body: bytes, *, feed_name: str, fetched_at: datetime,
          options: Mapping[str, Any]) -> list[Observation]:
    """Parse the AHS wait-times document into one observation per department."""
    doc = load_json(body)
    if not isinstance(doc, dict):
        msg = f"expected an object of areas, got {type(doc).__name__}"
        raise FeedParseError(msg)
    areas = option(options, "areas", list, list(doc))
    categories = {**DEFAULT_CATEGORY_MAP, **option(options, "category_map", dict, {})}
    observations = []
    for area in areas:
        groups = doc.get(area)
        if not isinstance(groups, dict):
            msg = f"area {area!r}: expected an object of categories, got {type(groups).__name__}"
            raise FeedParseError(msg)
        for group, entries in groups.items():
            if not isinstance(entries, list):
                msg = f"{area}.{group}: expected a list of sites"
                raise FeedParseError(msg)
            for index, entry in enumerate(entries):
                where = f"{area}.{group}[{index}]"
                for department in _unpack(entry, where):
                    observation = _observation(department, group, categories, where,
                                               feed_name, fetched_at, options)
                    if observation is not None:
                        observations.append(observation)
    return observations


def _unpack(entry: Any, where: str) -> list[dict[str, str]]:
    """Split a ``[;]``-packed entry into one dict per department."""
    if not isinstance(entry, dict) or not isinstance(entry.get("Name"), str):
        msg = f"{where}: expected an object with a 'Name'"
        raise FeedParseError(msg)
    split = {key: str(value).split(PACK_SEPARATOR) for key, value in entry.items()
             if value is not None}
    count = len(split["Name"])
    departments = []
    for i in range(count):
        department = {}
        for key, parts in split.items():
            if len(parts) not in (1, count):
                msg = f"{where}: field {key!r} packs {len(parts)} values for {count} departments"
                raise FeedParseError(msg)
            department[key] = clean_text(parts[i] if len(parts) == count else parts[0])
        departments.append(department)
    return departments


def _observation(department: dict[str, str], group: str, categories: dict[str, str],
                 where: str, feed_name: str, fetched_at: datetime,
                 options: Mapping[str, Any]) -> Observation | None:
    site_id = site_id_for(department["Name"], options)
    if site_id is None:
        return None
    category = department.get("Category") or group
    unavailable = department.get("TimesUnavailable", "False")
    if unavailable not in ("True", "False"):
        msg = f"{where}: TimesUnavailable must be 'True' or 'False', got {unavailable!r}"
        raise FeedParseError(msg)
    wait, kind = (None, "estimate")
    if unavailable == "False":
        wait, kind = read_wait(department.get("WaitTime"), default_kind="estimate")
    return Observation(
        site_id=site_id,
        service=categories.get(category) or categories.get(group, category),
        wait_minutes=wait,
        observed_at=fetched_at,
        status="unknown" if unavailable == "True" else "open",
        wait_kind=kind,
        feed=feed_name,
        timestamp_from_source=False,
    )
