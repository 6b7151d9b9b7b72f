"""The ranking's prediction state: recent readings per site service and the model fitted on them.

The live snapshot hands every reload's new readings to :meth:`PredictionState.add_readings`; the
history is bounded (a week, at most one reading a minute) and models are refitted a few at a
time, in a worker thread, so a reload never holds up requests for long.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from waitless.domain.observation import Observation
from waitless.ranking.predict import EMPTY_MODEL, HISTORY_DAYS, Forecast, WaitModel, fit_model

HISTORY_MIN_STEP_SECONDS = 50  # feeds repeat readings every poll; keep about one a minute
REFIT_SECONDS = 600
MAX_REFITS_PER_RELOAD = 3  # a fit takes tens of milliseconds: spread them over reloads

# fit_model's signature: (epoch seconds, wait minutes, now in epoch seconds, zone) -> model.
FitModel = Callable[[np.ndarray, np.ndarray, float, ZoneInfo], WaitModel]


@dataclass(slots=True)
class ServiceHistory:
    """One site service's recent readings (epoch seconds, minutes) and its fitted model."""

    epoch_s: np.ndarray
    wait_minutes: np.ndarray
    model: WaitModel = EMPTY_MODEL
    fitted_at_s: float | None = None
    # The last forecast made, keyed by (time bucket, latest reading time): every request in
    # the same few seconds shares it, so a ranking only looks up factors at arrival.
    forecast_key: tuple[int, float] | None = field(default=None, compare=False)
    forecast: Forecast | None = field(default=None, compare=False)


def extend_history(history: dict[str, ServiceHistory], observations: Iterable[Observation]
                   ) -> dict[str, ServiceHistory]:
    """Append new readings per ``site_id/service``, thinned and cut to ``HISTORY_DAYS``."""
    new: dict[str, list[tuple[float, float]]] = {}
    for obs in observations:
        if obs.wait_minutes is not None and obs.status != "closed":
            new.setdefault(obs.key(), []).append((obs.observed_at.timestamp(), obs.wait_minutes))
    result = dict(history)
    for key, points in new.items():
        old = history.get(key)
        last = float(old.epoch_s[-1]) if old is not None and old.epoch_s.size else None
        times, waits = [], []
        for t, w in sorted(points):
            if last is None or t - last >= HISTORY_MIN_STEP_SECONDS:
                times.append(t)
                waits.append(w)
                last = t
        if not times:
            continue
        epoch_s = np.concatenate([old.epoch_s, times]) if old is not None else np.array(times)
        wait_minutes = (np.concatenate([old.wait_minutes, waits]) if old is not None
                        else np.array(waits))
        keep = epoch_s >= epoch_s[-1] - HISTORY_DAYS * 86400
        result[key] = ServiceHistory(epoch_s[keep], wait_minutes[keep],
                                     old.model if old else EMPTY_MODEL,
                                     old.fitted_at_s if old else None)
    return result


def refit_models(history: dict[str, ServiceHistory], tz: ZoneInfo, *,
                 max_refits: int | None, fit: FitModel = fit_model) -> dict[str, ServiceHistory]:
    """Refit the models last fitted longest ago (over ``REFIT_SECONDS`` of new readings)."""
    due = [key for key, h in history.items() if h.epoch_s.size
           and (h.fitted_at_s is None or h.epoch_s[-1] - h.fitted_at_s >= REFIT_SECONDS)]
    due.sort(key=lambda key: history[key].fitted_at_s or 0.0)
    result = dict(history)
    for key in due[:max_refits]:
        h = history[key]
        now_s = float(h.epoch_s[-1])
        result[key] = ServiceHistory(h.epoch_s, h.wait_minutes,
                                     fit(h.epoch_s, h.wait_minutes, now_s, tz), now_s)
    return result


class PredictionState:
    """Histories and fitted models for one region, fed by the live snapshot's reloads.

    Parameters
    ----------
    timezone
        The region's time zone (daily and weekly patterns are local).
    fit
        Fits one service's model (:func:`waitless.ranking.predict.fit_model`).
    """

    def __init__(self, timezone: ZoneInfo, *, fit: FitModel = fit_model) -> None:
        self.timezone = timezone
        self.history: dict[str, ServiceHistory] = {}
        self._fit = fit
        self._loaded = False

    async def add_readings(self, observations: list[Observation]) -> None:
        """Extend the histories with new readings and refit the models most overdue.

        In a worker thread: three refits take about 90 ms of CPU and the first load (a week
        of readings for every service) most of a second, which on the event loop would hold
        up every request of the worker for as long (issue 12). Requests use the previous
        histories until the new ones replace them; reloads are sequential, so nothing else
        changes the histories in between.
        """
        # The first load fits every model (a week of readings may already be stored).
        max_refits = MAX_REFITS_PER_RELOAD if self._loaded else None
        self._loaded = True
        self.history = await asyncio.to_thread(_updated, self.history, observations,
                                               self.timezone, max_refits, self._fit)


def _updated(history: dict[str, ServiceHistory], observations: list[Observation], tz: ZoneInfo,
             max_refits: int | None, fit: FitModel) -> dict[str, ServiceHistory]:
    """The whole update, pure (it runs in a worker thread)."""
    return refit_models(extend_history(history, observations), tz, max_refits=max_refits,
                        fit=fit)
