"""Predicting a site service's wait at the patient's arrival, with a p90.

Method (see ``docs/predictions.md``). The wait "now" is a poor forecast for a patient who
arrives 10-60 minutes later: queues follow a daily pattern and a single reading carries its
own noise (rolling averages underestimate a rising queue; Ang et al. 2016). So:

1. **Seasonal profile.** From the service's recent history (up to a week), the median wait in
   each half-hour of local time of day, divided by the mean over the day: a multiplicative
   time-of-day factor.
2. **Level.** The last 45 minutes of readings, each divided by the factor at its time,
   averaged with weights halving every 15 minutes: today's busyness with noise smoothed out.
3. **p50 at arrival** = level x factor at the arrival time of day. Without a day of history,
   a damped linear trend over the last hour is extrapolated over the horizon instead; with a
   single reading, the reading itself.
4. **p90.** The predictor is replayed on the service's own last day (backcasts at several
   horizons); the 90th percentile of log(actual / predicted) widens p50 into p90. With too
   few backcasts p90 is p50 x ``P90_FALLBACK_RATIO``.

Everything here is a pure function of arrays: times are epoch seconds, waits are minutes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

HISTORY_DAYS = 7
PROFILE_BIN_MINUTES = 30
PROFILE_MIN_SPAN_HOURS = 20.0
LEVEL_WINDOW_MINUTES = 45.0
LEVEL_HALF_LIFE_MINUTES = 15.0
TREND_WINDOW_MINUTES = 60.0
TREND_DAMPING = 0.5
TREND_MAX_HORIZON_MINUTES = 60.0
BACKCAST_HORIZONS_MINUTES = (15, 30, 60)
BACKCAST_STEP_MINUTES = 30
BACKCAST_MIN_RESIDUALS = 12
P90_FALLBACK_RATIO = 1.5
_BINS = 24 * 60 // PROFILE_BIN_MINUTES


@dataclass(frozen=True, slots=True)
class WaitModel:
    """What is learnt from one service's history (refitted now and then, not per request).

    Attributes
    ----------
    profile
        Multiplicative factor per half-hour of local time (NaN where no data, e.g. closed
        hours), or ``None`` when the history spans less than a day.
    log_residual_q90
        Horizon in minutes -> 90th percentile of log(actual / predicted) from backcasts.
    residual_count
        Backcasts behind ``log_residual_q90``.
    """

    profile: np.ndarray | None
    log_residual_q90: dict[int, float] = field(default_factory=dict)
    residual_count: int = 0


@dataclass(frozen=True, slots=True)
class Prediction:
    """A predicted wait at arrival, in minutes, and how it was made."""

    p50_minutes: float
    p90_minutes: float
    method: str  # seasonal | trend | now


EMPTY_MODEL = WaitModel(profile=None)


@lru_cache(maxsize=65_536)
def _utc_offset_s(hour: int, tz: ZoneInfo) -> float:
    """The zone's UTC offset in seconds during one whole UTC hour (epoch hour number)."""
    return datetime.fromtimestamp(hour * 3600, UTC).astimezone(tz).utcoffset().total_seconds()


def minute_of_day(epoch_s: np.ndarray, tz: ZoneInfo) -> np.ndarray:
    """Local minute of day (0-1440) for each epoch second, daylight saving included."""
    epoch_s = np.asarray(epoch_s, dtype=float)
    if epoch_s.size == 0:
        return epoch_s
    # UK-style offsets change on whole UTC hours, so one lookup per distinct hour suffices.
    hours, inverse = np.unique(np.floor(epoch_s / 3600).astype(np.int64), return_inverse=True)
    offsets = np.array([_utc_offset_s(int(h), tz) for h in hours])
    return ((epoch_s + offsets[inverse.reshape(epoch_s.shape)]) % 86400) / 60


def minute_of_day_scalar(epoch_s: float, tz: ZoneInfo) -> float:
    """:func:`minute_of_day` for one instant, without array overhead (the request path)."""
    return ((epoch_s + _utc_offset_s(int(epoch_s // 3600), tz)) % 86400) / 60


def fit_profile(epoch_s: np.ndarray, waits: np.ndarray, tz: ZoneInfo) -> np.ndarray | None:
    """Half-hourly multiplicative time-of-day factors, or ``None`` under a day of history."""
    if epoch_s.size < 2 or (epoch_s[-1] - epoch_s[0]) / 3600 < PROFILE_MIN_SPAN_HOURS:
        return None
    bins = (minute_of_day(epoch_s, tz) // PROFILE_BIN_MINUTES).astype(int)
    medians = np.full(_BINS, np.nan)
    for b in np.unique(bins):
        medians[b] = np.median(waits[bins == b])
    mean = np.nanmean(medians)
    if not np.isfinite(mean) or mean <= 0:
        return None
    return medians / mean


def profile_at(profile: np.ndarray, minutes: np.ndarray) -> np.ndarray:
    """Factor at local minutes of day, linear between half-hour centres (NaN near gaps)."""
    pos = np.asarray(minutes, dtype=float) / PROFILE_BIN_MINUTES - 0.5
    lo = np.floor(pos).astype(int)
    frac = pos - lo
    a = profile[lo % _BINS]
    b = profile[(lo + 1) % _BINS]
    # At the edge of open hours only one neighbour has data: use it rather than nothing.
    a = np.where(np.isnan(a), b, a)
    b = np.where(np.isnan(b), a, b)
    return a + (b - a) * frac


def _profile_at_scalar(profile: np.ndarray, minute: float) -> float:
    """:func:`profile_at` for one minute of day, without array overhead."""
    pos = minute / PROFILE_BIN_MINUTES - 0.5
    lo = math.floor(pos)
    a, b = float(profile[lo % _BINS]), float(profile[(lo + 1) % _BINS])
    if math.isnan(a):
        a = b
    if math.isnan(b):
        b = a
    return a + (b - a) * (pos - lo)


def _recent(epoch_s: np.ndarray, waits: np.ndarray, now_s: float, window_minutes: float
            ) -> tuple[np.ndarray, np.ndarray]:
    end = np.searchsorted(epoch_s, now_s, side="right")
    start = np.searchsorted(epoch_s, now_s - window_minutes * 60, side="left")
    return epoch_s[start:end], waits[start:end]


def _weights(times: np.ndarray, now_s: float) -> np.ndarray:
    return 0.5 ** ((now_s - times) / 60 / LEVEL_HALF_LIFE_MINUTES)


@dataclass(frozen=True, slots=True)
class Forecast:
    """The part of a prediction that depends only on history up to ``now``.

    Made once per service and instant, then asked for any arrival time: the request path
    only looks up the time-of-day factor at arrival.
    """

    now_s: float
    level: float | None = None        # seasonal: today's busyness in profile units
    trend: tuple[float, float] | None = None  # (intercept, slope per minute)
    last_minutes: float = 0.0         # the latest reading, for the "now" method

    def p50_at(self, horizon_minutes: float, tz: ZoneInfo,
               profile: np.ndarray | None) -> tuple[float, str]:
        """(median wait ``horizon_minutes`` after ``now_s``, method)."""
        if self.level is not None and profile is not None:
            minute = minute_of_day_scalar(self.now_s + horizon_minutes * 60, tz)
            arrival = _profile_at_scalar(profile, minute)
            if math.isfinite(arrival):
                return max(self.level * arrival, 0.0), "seasonal"
        if self.trend is not None:
            intercept, slope = self.trend
            ahead = min(horizon_minutes, TREND_MAX_HORIZON_MINUTES)
            return max(intercept + TREND_DAMPING * slope * ahead, 0.0), "trend"
        return self.last_minutes, "now"


def forecast(epoch_s: np.ndarray, waits: np.ndarray, now_s: float, tz: ZoneInfo,
             profile: np.ndarray | None) -> Forecast | None:
    """What history says at ``now_s``; ``None`` with no reading in the last hour.

    Parameters
    ----------
    epoch_s, waits
        The service's history, oldest first (epoch seconds, minutes).
    now_s
        The prediction instant (epoch seconds); later readings are ignored.
    """
    times, values = _recent(epoch_s, waits, now_s, TREND_WINDOW_MINUTES)
    if times.size == 0:
        return None
    level = None
    if profile is not None:
        lt, lv = _recent(times, values, now_s, LEVEL_WINDOW_MINUTES)
        if lt.size:
            factors = profile_at(profile, minute_of_day(lt, tz))
            usable = np.isfinite(factors) & (factors > 0.05)
            if usable.any():
                w = _weights(lt[usable], now_s)
                level = float(np.sum(w * lv[usable] / factors[usable]) / np.sum(w))
    trend = None
    span_minutes = (times[-1] - times[0]) / 60
    if times.size >= 3 and span_minutes >= 20:
        w = _weights(times, now_s)
        x = (times - now_s) / 60
        slope, intercept = np.polyfit(x, values, 1, w=np.sqrt(w))
        trend = (float(intercept), float(slope))
    return Forecast(now_s=now_s, level=level, trend=trend, last_minutes=float(values[-1]))


def predict_p50(epoch_s: np.ndarray, waits: np.ndarray, now_s: float, horizon_minutes: float,
                tz: ZoneInfo, profile: np.ndarray | None) -> tuple[float, str] | None:
    """(median wait at ``now + horizon``, method), or ``None`` with no reading in the last hour.

    Seasonal when the profile covers both the recent readings and the arrival time; else a
    damped trend over the last hour; else the latest reading.
    """
    made = forecast(epoch_s, waits, now_s, tz, profile)
    return None if made is None else made.p50_at(horizon_minutes, tz, profile)


def _backcast_residuals(epoch_s: np.ndarray, waits: np.ndarray, now_s: float, tz: ZoneInfo,
                        profile: np.ndarray | None, horizon_minutes: int) -> np.ndarray:
    """log((actual+1)/(predicted+1)) for predictions made over the last day at one horizon."""
    residuals = []
    last_anchor = now_s - horizon_minutes * 60
    anchors = np.arange(last_anchor, max(last_anchor - 86400, epoch_s[0]),
                        -BACKCAST_STEP_MINUTES * 60)
    for anchor in anchors:
        target = anchor + horizon_minutes * 60
        i = int(np.searchsorted(epoch_s, target))
        near = [j for j in (i - 1, i) if 0 <= j < epoch_s.size
                and abs(epoch_s[j] - target) <= 300]
        if not near:
            continue
        made = predict_p50(epoch_s, waits, float(anchor), horizon_minutes, tz, profile)
        if made is None:
            continue
        actual = waits[min(near, key=lambda j: abs(epoch_s[j] - target))]
        residuals.append(np.log((actual + 1) / (made[0] + 1)))
    return np.array(residuals)


def fit_model(epoch_s: np.ndarray, waits: np.ndarray, now_s: float, tz: ZoneInfo) -> WaitModel:
    """Learn the profile and the residual spread from history up to ``now_s``."""
    end = np.searchsorted(epoch_s, now_s, side="right")
    epoch_s, waits = epoch_s[:end], waits[:end]
    if epoch_s.size < 2:
        return EMPTY_MODEL
    profile = fit_profile(epoch_s, waits, tz)
    q90: dict[int, float] = {}
    count = 0
    for horizon in BACKCAST_HORIZONS_MINUTES:
        residuals = _backcast_residuals(epoch_s, waits, now_s, tz, profile, horizon)
        if residuals.size >= BACKCAST_MIN_RESIDUALS:
            q90[horizon] = float(np.quantile(residuals, 0.9))
            count += residuals.size
    return WaitModel(profile=profile, log_residual_q90=q90, residual_count=count)


def predict(model: WaitModel, epoch_s: np.ndarray, waits: np.ndarray, now_s: float,
            horizon_minutes: float, tz: ZoneInfo) -> Prediction | None:
    """p50 and p90 of the wait at ``now + horizon``; ``None`` with no reading in the last hour."""
    made = forecast(epoch_s, waits, now_s, tz, model.profile)
    return None if made is None else predict_from(model, made, horizon_minutes, tz)


def predict_from(model: WaitModel, made: Forecast, horizon_minutes: float,
                 tz: ZoneInfo) -> Prediction:
    """p50 and p90 at ``made.now_s + horizon`` from an existing forecast (cheap)."""
    p50, method = made.p50_at(horizon_minutes, tz, model.profile)
    if model.log_residual_q90:
        horizons = sorted(model.log_residual_q90)
        nearest = next((h for h in horizons if h >= horizon_minutes), horizons[-1])
        # Never narrower than p50: a negative q90 would mean the model is biased high.
        spread = max(model.log_residual_q90[nearest], 0.0)
        p90 = (p50 + 1) * float(np.exp(spread)) - 1
    else:
        p90 = p50 * P90_FALLBACK_RATIO
    return Prediction(p50_minutes=p50, p90_minutes=max(p90, p50), method=method)


def confidence(status: str, age_minutes: float | None, prediction: Prediction | None,
               model: WaitModel) -> str:
    """``high``, ``medium`` or ``low``: how far a patient should trust the predicted wait.

    High needs a fresh reading (15 minutes or less), a seasonal prediction and a p90 within
    35% (or 15 minutes) of p50 from the service's own backcasts. Stale or missing figures
    are always low.
    """
    if status != "live" or prediction is None or age_minutes is None:
        return "low"
    width = prediction.p90_minutes - prediction.p50_minutes
    if (age_minutes <= 15 and prediction.method == "seasonal" and model.log_residual_q90
            and width <= max(15.0, 0.35 * prediction.p50_minutes)):
        return "high"
    return "medium"
