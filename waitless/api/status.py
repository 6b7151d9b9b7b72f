"""What ``/v1/sites`` and ``/readyz`` report: live state per site, and service health."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from waitless.domain.region import Region
from waitless.events.log import EventLog
from waitless.live.snapshot import LiveSnapshot
from waitless.live.store import LiveStore
from waitless.ranking.waits import estimate_wait

# Rejections listed in a public answer, per feed and per site. A feed that sends thousands of
# bad entries (one push of 3,000 made /v1/sites 787 KB for every anonymous caller) is shown by
# its first ones and its count; the counts by reason are complete (``rejected_by_reason``, and
# the metric ``waitless_feed_rejections_current``).
PUBLIC_REJECTIONS_MAX = 50


def _rejections_by_site(feed_statuses: dict[str, dict]) -> dict[str, list[dict]]:
    by_site: dict[str, list[dict]] = {}
    for feed_name, status in feed_statuses.items():
        for rejection in status.get("rejections", []):
            by_site.setdefault(rejection["site_id"], []).append({"feed": feed_name, **rejection})
    return by_site


# What a public answer may say about a feed: codes, counts and times, never an error's text
# (it names hosts, ports and paths). last_poll_seconds is a duration only: it reveals nothing
# about where the feed lives.
_PUBLIC_FEED_KEYS = ("ok", "circuit", "last_ok_at", "last_payload_at", "newest_observed_at",
                     "last_error_reason", "last_error_at", "consecutive_failures", "accepted",
                     "not_modified", "last_poll_seconds", "errors_by_reason",
                     "rejected_by_reason")
LIVE_STORE_DOWN = "live store unavailable"


def public_feed_status(status: dict[str, Any]) -> dict[str, Any]:
    """A feed's status without internals: ``last_error`` is the reason code, not the text."""
    public = {key: status.get(key) for key in _PUBLIC_FEED_KEYS if key in status}
    public["last_error"] = status.get("last_error_reason") if status.get("last_error") else None
    rejections = status.get("rejections", [])
    public["rejections"] = rejections[:PUBLIC_REJECTIONS_MAX]
    public["rejections_total"] = len(rejections)
    return public


def sites_status(region: Region, snapshot: LiveSnapshot, *, now: datetime) -> dict[str, Any]:
    """Every site of the region file with its services, hours, current wait and why a value
    was rejected.

    Every configured site is listed, whether or not a feed has reported it: ``reported`` per
    service says whether the live store holds a reading for it (``false``: none yet, and its
    reading fields are ``null``), and per site whether any of its services has one, as
    ``/readyz`` says ``reported: false`` of a feed that never reported. A client can so tell
    a site with no reading yet from a site that does not exist.

    ``rejections`` per site: the feed's latest value rejections still in force, each with
    ``feed``, ``service``, ``reason``, ``detail``, ``at`` (latest) and ``since`` (first); at
    most :data:`PUBLIC_REJECTIONS_MAX` of them, ``rejections_total`` counts them all.
    """
    rejections = _rejections_by_site(snapshot.feed_statuses)
    sites = []
    for site in region.sites:
        services = []
        for service in site.services:
            obs = snapshot.observations.get(f"{site.id}/{service.kind}")
            wait = estimate_wait(region, service.kind, obs, now)
            services.append({
                "kind": service.kind,
                "reported": obs is not None,
                "open_now": service.hours.is_open(now, region.timezone),
                "hours": service.hours.describe(),
                "hours_verified": service.hours_verified,
                "min_age_years": service.min_age_years,
                "treats": sorted(service.treats),
                "reported_status": obs.status if obs else None,
                "wait_minutes": wait.reported_minutes,
                "wait_kind": wait.kind,
                "wait_status": wait.status,
                "wait_observed_at": wait.observed_at.isoformat() if wait.observed_at else None,
                "wait_age_minutes": (round(wait.age_minutes, 1)
                                     if wait.age_minutes is not None else None),
                "patients_waiting": wait.patients_waiting,
                "feed": obs.feed if obs else None,
            })
        sites.append({
            "site_id": site.id, "region": region.name, "name": site.name, "town": site.town,
            "postcode": site.postcode, "lat": site.lat, "lon": site.lon,
            "operator": site.operator,
            "reported": any(service["reported"] for service in services),
            "services": services,
            "rejections": rejections.get(site.id, [])[:PUBLIC_REJECTIONS_MAX],
            "rejections_total": len(rejections.get(site.id, [])),
        })
    return {
        "region": region.name,
        "generated_at": now.isoformat(),
        "snapshot_age_seconds": snapshot.age_seconds(),
        "live_store_error": LIVE_STORE_DOWN if snapshot.error else None,
        "feeds": {name: public_feed_status(status)
                  for name, status in snapshot.feed_statuses.items()},
        "sites": sites,
    }


def regions_sites_status(parts: Sequence[tuple[Region, LiveSnapshot]], *, now: datetime
                         ) -> dict[str, Any]:
    """:func:`sites_status` of several regions served together: the first region's report
    with every region's sites (each naming its ``region``) and, under ``regions``, each
    region's snapshot age, live-store error and feeds."""
    reports = [sites_status(region, snapshot, now=now) for region, snapshot in parts]
    return {**reports[0], "sites": [site for report in reports for site in report["sites"]],
            "regions": {report["region"]: {key: report[key] for key in (
                "snapshot_age_seconds", "live_store_error", "feeds")} for report in reports}}


# What /readyz says of each feed, from the status its poller or push endpoint wrote.
_READY_FEED_KEYS = ("ok", "circuit", "last_ok_at", "last_error_reason", "consecutive_failures")


def ready_feeds(configured: Sequence[str], statuses: Mapping[str, Mapping[str, Any]]
                ) -> dict[str, dict[str, Any]]:
    """Each feed of the region file, then any other with a status in the store.

    A configured feed without a status has never reported (its ingestor is not polling it,
    or nobody has pushed yet): it is listed ``reported: false`` and not ``ok``. Listing only
    the feeds that had reported made such a feed invisible, and a region whose one feed had
    never come up looked healthy.
    """
    names = [*configured, *(name for name in statuses if name not in configured)]
    report = {}
    for name in names:
        status = statuses.get(name)
        if status is None:
            report[name] = {"ok": False, "reported": False, "circuit": None,
                            "last_ok_at": None, "last_error_reason": None,
                            "consecutive_failures": 0}
        else:
            report[name] = {**{key: status.get(key) for key in _READY_FEED_KEYS},
                            "reported": True}
    return report


async def readiness(*, snapshot: LiveSnapshot, store: LiveStore, event_log: EventLog,
                    travel_sources: dict[str, str], feeds: Sequence[str] = (),
                    region_snapshots: Mapping[str, LiveSnapshot] | None = None,
                    region_travel_sources: Mapping[str, dict[str, str]] | None = None,
                    region_feeds: Mapping[str, Sequence[str]] | None = None,
                    region_estimated_sites: Mapping[str, dict[str, list[str]]] | None = None
                    ) -> tuple[bool, dict[str, Any]]:
    """(ready, report). Ready means a live snapshot is loaded; the rest is reported as
    degraded so operators see it without the load balancer pulling a working instance.

    ``feeds`` names the (primary) region's configured feeds, listed whether or not they have
    reported (:func:`ready_feeds`). With several regions served, ``region_snapshots``,
    ``region_travel_sources``, ``region_feeds`` and ``region_estimated_sites`` (by region
    name) add each region to the report (:func:`regions_readiness`): every region's snapshot
    must be loaded, and any region's feeds or travel can degrade the whole."""
    store_ok = await store.ping()
    degraded = []
    if not store_ok or snapshot.error:
        degraded.append("live_store")
    if event_log.dsn and not event_log.database_ok:
        degraded.append("database")
    if any(source != "road_graph" for source in travel_sources.values()):
        degraded.append("travel_estimate")
    feed_report = ready_feeds(feeds, snapshot.feed_statuses)
    # Feed health lives in the store: while it is down the feeds' state is unknown, which
    # is not "healthy" (an empty table would look like it).
    feeds_known = store_ok and not snapshot.error
    if not feeds_known or any(not feed["ok"] for feed in feed_report.values()):
        degraded.append("feeds")
    ready = snapshot.loaded_monotonic is not None
    regions = None
    if region_snapshots is not None:
        all_loaded, more, regions = regions_readiness(region_snapshots,
                                                      region_travel_sources, region_feeds,
                                                      region_estimated_sites)
        ready = ready and all_loaded
        degraded = sorted({*degraded, *more})
    body = {
        "status": "ready" if ready and not degraded else ("degraded" if ready else "not_ready"),
        "degraded": degraded,
        # Errors as fixed words: the exception texts (hosts, ports, paths) go to the log only.
        "live_store": {"ok": store_ok, "error": LIVE_STORE_DOWN if snapshot.error else None,
                       "snapshot_age_seconds": snapshot.age_seconds(),
                       "entries": len(snapshot.observations)},
        "database": {"configured": event_log.dsn is not None, "ok": event_log.database_ok,
                     "error": "database unavailable" if event_log.last_error else None,
                     "spooled_bytes": event_log.spool.size_bytes()},
        "travel": {"sources": travel_sources},
        "feeds": feed_report,
        "feeds_known": feeds_known,
    }
    if regions is not None:
        body["regions"] = regions
    return ready, body


def regions_readiness(snapshots: Mapping[str, LiveSnapshot],
                      travel_sources: Mapping[str, dict[str, str]],
                      feeds: Mapping[str, Sequence[str]] | None = None,
                      estimated_sites: Mapping[str, dict[str, list[str]]] | None = None
                      ) -> tuple[bool, list[str], dict[str, Any]]:
    """Readiness of several regions served together: (all loaded, degraded parts, report).

    Each region's snapshot must be loaded for the process to be ready (a region with no live
    state would answer with assumed waits only); unhealthy or never-reported feeds (``feeds``
    names each region's configured ones) or estimated travel of any region are reported as
    degraded, like the primary's. Each region lists its feeds as :func:`ready_feeds` does,
    and under ``estimated_sites`` by mode the sites it ranks by the straight-line
    estimate: all of them without a table; with one, its neighbours' border sites the table has
    no column for (built without ``--neighbour``, or for other neighbours). A road-graph
    source with border sites estimated is not counted as degraded: border sites were always
    estimated before tables could route them, and each answer says which it used.
    """
    report, degraded = {}, set()
    for name, snapshot in snapshots.items():
        region_feeds = ready_feeds((feeds or {}).get(name, ()), snapshot.feed_statuses)
        feeds_ok = all(feed["ok"] for feed in region_feeds.values())
        report[name] = {"loaded": snapshot.loaded_monotonic is not None,
                        "snapshot_age_seconds": snapshot.age_seconds(),
                        "entries": len(snapshot.observations), "feeds_ok": feeds_ok,
                        "feeds": region_feeds, "travel": dict(travel_sources[name])}
        if estimated_sites is not None:
            report[name]["estimated_sites"] = estimated_sites[name]
        if not feeds_ok:
            degraded.add("feeds")
        if any(source != "road_graph" for source in travel_sources[name].values()):
            degraded.add("travel_estimate")
    return all(r["loaded"] for r in report.values()), sorted(degraded), report
