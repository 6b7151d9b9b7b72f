"""Typed application keys: everything a handler can reach through ``request.app``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from routing.model import TravelModel
from waitless.api.regions import ServedRegion
from waitless.domain.region import Region
from waitless.events.db import Database
from waitless.events.log import EventLog
from waitless.live.snapshot import LiveSnapshot
from waitless.live.store import LiveStore
from waitless.metrics import Metrics
from waitless.ranking.history import PredictionState
from waitless.ranking.multiregion import RegionSet
from waitless.settings import Settings

Clock = Callable[[], datetime]

SETTINGS = web.AppKey("settings", Settings)
REGION = web.AppKey("region", Region)
CLOCK = web.AppKey("clock", Clock)
METRICS = web.AppKey("metrics", Metrics)
LIVE_STORE = web.AppKey("live_store", LiveStore)
SNAPSHOT = web.AppKey("snapshot", LiveSnapshot)
PREDICTIONS = web.AppKey("predictions", PredictionState)
# Every region ranked here by name (the primary alone unless several are served, issue 18),
# and with several the choice among them by the origin.
SERVED = web.AppKey("served", dict[str, ServedRegion])
# None when one region is served (set either way: a request never pays for a missing key).
REGION_SET = web.AppKey("region_set", RegionSet | None)
# Each served region's feeds by name, as /readyz and /metrics list them whether or not they
# have reported (for the primary, the feeds it polls in-process replace the region's polled
# ones, as ``waitless dev`` does).
FEEDS = web.AppKey("feeds", dict[str, list[str]])
EVENT_LOG = web.AppKey("event_log", EventLog)
TRAVEL = web.AppKey("travel", dict[str, TravelModel])
TRAVEL_NOTE = web.AppKey("travel_note", str)
BENCH_BODY = web.AppKey("bench_body", bytes)
DATABASE = web.AppKey("database", Database)
