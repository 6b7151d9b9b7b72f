"""Red/amber/green ratings that are withheld when the comparison cannot support them.

A rating is withheld (``rating: null`` with ``rating_withheld_reason``) when

- the comparison spans a structural break (configured or detected) of a selected provider, or
- a selected provider reports in the baseline but not in the period, or the other way round, or
- a region provider outside the selection does so while a selected provider's type 1 or other
  count moves the opposite way, by at least ``MOVE_FRACTION`` of that provider's attendances, in
  the month it starts or stops: a unit may have moved between reporting codes (Herne Bay, DJV01,
  first reported in July 2025 with 2,265 while Kent Community Health's "other" fell by 3,098),
  so the selection loses or gains attendances that are not a change of behaviour. Without such
  a counterpart (East Kent alone rose that month) the change is listed as a caveat only.

The reason names the provider, the month, its attendances and the selected provider whose
counts moved the other way at that month, and the comparison that includes both codes is offered.
Pure functions; method: ``docs/statistics.md``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from waitless.stats.months import add_months, months_between

# (org code, first day of month) -> (type 1 attendances, other attendances), counting rule applied.
Counts = Mapping[tuple[str, dt.date], tuple[int, int]]
_METRICS = ("type1", "other")
# A selected provider's opposite move must be at least this share of the attendances of the
# unit that starts or stops, to be read as a possible move between codes.
MOVE_FRACTION = 0.5


@dataclass(frozen=True, slots=True)
class ReportingChange:
    """A region provider that starts or stops reporting between baseline and period."""

    org: str
    kind: str  # "started" or "stopped"
    month: dt.date  # first month with data ("started") or last month with data ("stopped")
    attendances: int  # type 1 + other in that month
    in_selection: bool


def month_name(month: dt.date) -> str:
    """``2025-07-01`` -> ``"July 2025"``."""
    return month.strftime("%B %Y")


def _reports(counts: Counts, org: str, months: Sequence[dt.date]) -> list[dt.date]:
    return [m for m in months if sum(counts.get((org, m), (0, 0))) > 0]


def reporting_changes(counts: Counts, region_orgs: Sequence[str], selection: Sequence[str],
                      base: tuple[dt.date, dt.date], per: tuple[dt.date, dt.date]
                      ) -> list[ReportingChange]:
    """Region providers with attendances in only one of baseline and period.

    Parameters
    ----------
    counts
        Attendances per provider-month for every region provider from baseline start to period end.
    region_orgs, selection
        The region's provider codes and the selected ones.
    base, per
        Inclusive (first, last) months of baseline and period.
    """
    changes = []
    base_months, per_months = months_between(*base), months_between(*per)
    for org in region_orgs:
        in_base, in_per = _reports(counts, org, base_months), _reports(counts, org, per_months)
        if in_base and not in_per:
            # Last month with data from the baseline up to the period's start.
            last = _reports(counts, org, months_between(base[0], add_months(per[0], -1)))[-1]
            changes.append(ReportingChange(org, "stopped", last, sum(counts[org, last]),
                                           org in selection))
        elif in_per and not in_base:
            first = _reports(counts, org, months_between(add_months(base[1], 1), per[1]))[0]
            changes.append(ReportingChange(org, "started", first, sum(counts[org, first]),
                                           org in selection))
    return changes


def _counterpart(counts: Counts, change: ReportingChange, selection: Sequence[str]
                 ) -> tuple[str, str, int] | None:
    """The selected provider whose type 1 or other count moved most the opposite way."""
    if change.kind == "started":
        before, after = add_months(change.month, -1), change.month
    else:
        before, after = change.month, add_months(change.month, 1)
    best: tuple[str, str, int] | None = None
    for org in selection:
        if org == change.org or (org, before) not in counts or (org, after) not in counts:
            continue
        for index, metric in enumerate(_METRICS):
            delta = counts[org, after][index] - counts[org, before][index]
            # A unit that starts reporting elsewhere takes attendances away: look for a fall.
            moved = -delta if change.kind == "started" else delta
            if moved > 0 and (best is None or moved > best[2]):
                best = (org, metric, moved)
    return best


def describe_change(counts: Counts, change: ReportingChange, selection: Sequence[str]) -> str:
    """One sentence, e.g. "DJV01 began reporting in July 2025 with 2,265 attendances while ..."."""
    if change.kind == "started":
        text = (f"{change.org} began reporting in {month_name(change.month)} with "
                f"{change.attendances:,} attendances")
    else:
        text = (f"{change.org} stopped reporting after {month_name(change.month)} "
                f"({change.attendances:,} attendances that month)")
    other = _counterpart(counts, change, selection)
    if other is not None:
        org, metric, amount = other
        verb = "fell" if change.kind == "started" else "rose"
        what = "type 1" if metric == "type1" else "other"
        text += f" while {org}'s {what} attendances {verb} by {amount:,}"
    return text


def withhold(result: dict[str, Any], counts: Counts, region_orgs: Sequence[str],
             base: tuple[dt.date, dt.date], per: tuple[dt.date, dt.date]) -> dict[str, Any]:
    """Set ``rating``, ``rating_withheld_reason`` and ``suggested_orgs`` on a shift result.

    Parameters
    ----------
    result
        A :func:`waitless.stats.shift.compute_shift` result; its ``rating`` is kept only when
        nothing below applies. Changed in place and returned.
    counts
        Attendances per provider-month of every region provider (see :func:`reporting_changes`).
    """
    selection = result["orgs"]
    reasons = []
    spanning = [b for b in result["breaks"] if b["spans_comparison"]]
    if spanning:
        where = "; ".join(f"{b['org']} from {month_name(dt.date.fromisoformat(b['month'] + '-01'))}"
                          f" ({b['description']})" for b in spanning)
        reasons.append(f"the comparison spans a change of counting: {where}; choose a baseline "
                       "and period on the same side of it")
    suggested = list(selection)
    for change in reporting_changes(counts, region_orgs, selection, base, per):
        sentence = describe_change(counts, change, selection)
        counterpart = _counterpart(counts, change, selection)
        if change.in_selection:
            side = "baseline" if change.kind == "started" else "period"
            reasons.append(f"{sentence}; the {side} has no attendances under that code, so the "
                           "shift mixes a change of reporting with a change of behaviour")
        elif counterpart is not None and counterpart[2] >= MOVE_FRACTION * change.attendances:
            reasons.append(f"{sentence}; a unit may have moved between codes, so compare a "
                           f"selection that includes {change.org}")
            suggested.append(change.org)
        else:
            result["caveats"].append(f"{sentence}; no selected provider's counts moved the "
                                     "other way that month, so the rating is kept")
    if reasons:
        result["rating"] = None
        result["rating_withheld_reason"] = ". ".join(
            reason[0].upper() + reason[1:] for reason in reasons) + "."
    else:
        result["rating_withheld_reason"] = None
    result["suggested_orgs"] = suggested if suggested != list(selection) else None
    return result
