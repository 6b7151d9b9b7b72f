"""Typed application keys: everything a handler can reach through ``request.app``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from routing.model import TravelModel
from waitless.domain.region import Region
from waitless.events.db import Database
from waitless.events.log import EventLog
from waitless.live.snapshot import LiveSnapshot
from waitless.live.store import LiveStore
from waitless.metrics import Metrics
from waitless.ranking.fast import FastRanker
from waitless.ranking.history import PredictionState
from waitless.settings import Settings

Clock = Callable[[], datetime]

SETTINGS = web.AppKey("settings", Settings)
REGION = web.AppKey("region", Region)
CLOCK = web.AppKey("clock", Clock)
METRICS = web.AppKey("metrics", Metrics)
LIVE_STORE = web.AppKey("live_store", LiveStore)
SNAPSHOT = web.AppKey("snapshot", LiveSnapshot)
PREDICTIONS = web.AppKey("predictions", PredictionState)
# The compiled ranking state and its request path (issue 12).
FAST_RANKER = web.AppKey("fast_ranker", FastRanker)
EVENT_LOG = web.AppKey("event_log", EventLog)
TRAVEL = web.AppKey("travel", dict[str, TravelModel])
TRAVEL_NOTE = web.AppKey("travel_note", str)
BENCH_BODY = web.AppKey("bench_body", bytes)
DATABASE = web.AppKey("database", Database)
