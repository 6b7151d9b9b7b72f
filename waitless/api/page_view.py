"""What the patient page says about an answer: plain sentences, ranges and contact details.

The page receives the same answer as ``/v1/rank`` (the JSON dict) and this module turns it into
text: the one-sentence answer first, total time as a range from the predicted p50 to p90, the
other options with near-ties marked as similar, and the reasons sites were left out that matter
to this patient. Nothing here ranks; it only words what ranking decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from waitless.domain.region import Region

KIND_LABELS = {"ed": "A&E (emergency department)", "utc": "urgent treatment centre",
               "miu": "minor injury unit"}
WAIT_KIND_LABELS = {"estimate": "estimated wait", "median": "median wait",
                    "p95": "95 in 100 patients are seen within", "longest": "longest wait",
                    "lower_bound": "at least", "upper_bound": "at most"}
CONFIDENCE_TEXT = {"high": "High confidence: a recent figure and a steady pattern.",
                   "medium": "Medium confidence: the wait can change before you arrive.",
                   "low": "Low confidence: the figure is old or missing."}
# Totals this close to the best one are "similar": the prediction's own spread (p50 to p90 is
# often 20+ minutes) makes a few minutes' difference meaningless to a patient.
SIMILAR_MINUTES = 10.0
SIMILAR_FRACTION = 0.1
# Reasons that depend on who the patient is, so they are told near the top of the answer.
PATIENT_REASONS = ("cannot_treat", "below_min_age")
LONG_WALK_MINUTES = 45.0
_MODE_TRAVEL = {"drive": "driving", "walk": "walking"}


def minutes_text(minutes: float | None) -> str:
    """``42 min`` or ``1 hr 5 min`` (``unknown`` for ``None``)."""
    if minutes is None:
        return "unknown"
    whole = round(minutes)
    if whole < 60:
        return f"{whole} min"
    return f"{whole // 60} hr {whole % 60} min" if whole % 60 else f"{whole // 60} hr"


def range_text(low_minutes: float, high_minutes: float | None) -> str:
    """A total as a range rounded to 5 minutes: ``45–60 minutes``, ``1 hr 10 min to 1 hr 30 min``.

    Rounding down the low end and up the high end keeps the true prediction inside the range.
    """
    low = max(5, int(low_minutes // 5) * 5)
    high = low if high_minutes is None else max(low, -int(-high_minutes // 5) * 5)
    if high < 120:
        return f"{low} minutes" if high == low else f"{low}–{high} minutes"
    if high == low:
        return minutes_text(low)
    return f"{minutes_text(low)} to {minutes_text(high)}"


def ago_text(minutes: float | None) -> str:
    """``updated just now``, ``updated 3 minutes ago`` or ``updated 2 hr 5 min ago``."""
    if minutes is None:
        return "no recent update"
    whole = round(minutes)
    if whole < 1:
        return "updated just now"
    if whole < 60:
        return f"updated {whole} minute{'s' if whole != 1 else ''} ago"
    return f"updated {minutes_text(whole)} ago"


def load_text(load_adjustment_minutes: float) -> str | None:
    """What the load-aware adjustment adds to a wait, in words (``None`` when it adds nothing).

    Parameters
    ----------
    load_adjustment_minutes
        The result's ``load_adjustment_minutes``: minutes already inside its predicted wait
        for patients WaitLess sent there who arrive first (``docs/herding.md``). A fraction of
        a minute is worded as about 1 min, so a non-zero adjustment is never hidden.
    """
    if load_adjustment_minutes <= 0:
        return None
    return (f"Includes about {minutes_text(max(load_adjustment_minutes, 1.0))} for other "
            "patients recently sent here.")


def _clock(iso: str | None, tz: ZoneInfo) -> str | None:
    return datetime.fromisoformat(iso).astimezone(tz).strftime("%H:%M") if iso else None


def directions_url(result: dict[str, Any], mode: str) -> str:
    """A maps link for the chosen travel mode (a plain link: no third-party script)."""
    return "https://www.google.com/maps/dir/?" + urlencode(
        {"api": "1", "destination": f"{result['lat']},{result['lon']}",
         "travelmode": _MODE_TRAVEL.get(mode, "driving")})


def _today_hours(region: Region, result: dict[str, Any], now: datetime) -> str:
    site = region.site(result["site_id"])
    service = site.service(result["kind"]) if site else None
    if result["open_24h"] or (service is not None and service.hours.always_open):
        return "Open 24 hours"
    if service is None:
        return "Hours not known"
    today = list(service.hours.describe().values())[now.weekday()]
    return "Closed today" if today == "closed" else f"Today {today.replace('-', ' to ')}"


def result_view(result: dict[str, Any], region: Region, now: datetime,
                mode: str) -> dict[str, Any]:
    """One ranked result as text for the template (numbers are already worded)."""
    tz = region.timezone
    site = region.site(result["site_id"])
    contact = site.contact if site else None
    status, age = result["wait_status"], result["wait_age_minutes"]
    if status == "unavailable":
        reported = "No current figure from this site"
    else:
        kind = WAIT_KIND_LABELS.get(result["wait_kind"] or "estimate", "wait")
        reported = f"The site's {kind}: {minutes_text(result['wait_minutes'])}"
    travel, p50, p90 = (result["travel_minutes"], result["predicted_wait_minutes"],
                        result["predicted_wait_p90_minutes"])
    high = None if p90 is None else travel + p90
    return {
        **result,
        "kind_label": KIND_LABELS[result["kind"]],
        "open_text": ("Open 24 hours" if result["open_24h"] else
                      f"Open until {_clock(result['open_until'], tz)}" if result["open_until"]
                      else "Open"),
        "today_hours": _today_hours(region, result, now.astimezone(tz)),
        "reported_text": reported,
        "age_text": ago_text(age if status != "unavailable" else None),
        "stale": status != "live",
        "expected_text": minutes_text(p50),
        "p90_text": minutes_text(p90) if p90 is not None else None,
        "load_text": load_text(result["load_adjustment_minutes"]),
        "confidence_text": CONFIDENCE_TEXT[result["confidence"]],
        "travel_text": minutes_text(travel),
        "total_range": range_text(travel + (p50 or 0.0), high),
        "arrival_text": _clock(result["arrival_at"], tz),
        "directions": directions_url(result, mode),
        "contact": contact,
    }


def headline(best: dict[str, Any]) -> str:
    """The answer in one sentence: where to go, how long in total, whether it is open."""
    open_text = best["open_text"][0].lower() + best["open_text"][1:]
    return (f"Go to {best['name']} {best['kind_label']}: about {best['total_range']} "
            f"in total, {open_text}.")


def _similar(best_total: float, total: float) -> bool:
    return total - best_total <= max(SIMILAR_MINUTES, SIMILAR_FRACTION * best_total)


def answer_view(answer: dict[str, Any], region: Region, now: datetime) -> dict[str, Any]:
    """The whole answer for the template: best option, similar ones, the rest, and notes."""
    mode = answer["origin"]["mode"]
    results = [result_view(r, region, now, mode) for r in answer["results"]]
    best = results[0] if results else None
    others = results[1:]
    similar = [r for r in others if best and _similar(best["total_minutes"], r["total_minutes"])]
    patient_exclusions = [e for e in answer["excluded"] if e["reason"] in PATIENT_REASONS]
    far = answer.get("omitted_far_sites") or 0
    long_trip = (best is not None and mode == "walk"
                 and best["travel_minutes"] > LONG_WALK_MINUTES)
    return {
        "best": best,
        "headline": headline(best) if best else None,
        "similar": similar,
        "rest": others[len(similar):],
        "results": results,
        "patient_exclusions": patient_exclusions,
        "omitted_far_sites": far,
        "long_walk": long_trip,
        "estimated_travel": any(r["travel_source"] == "estimate" for r in results),
        "mode": mode,
    }
