"""Request mixes for the ranking endpoint, deterministic for a seed."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from waitless.domain.conditions import CONDITIONS
from waitless.domain.region import Region

# Share of requests with each optional parameter, and the condition mix: mostly minor
# injuries and illnesses, a small share of red flags (which are answered with 999).
CONDITION_SHARE = 0.8
RED_FLAG_SHARE = 0.02
AGE_SHARE = 0.6
DEPART_LATER_SHARE = 0.15
WALK_SHARE = 0.1
ORIGIN_RADIUS_M = 12_000.0

_MINOR = [c.code for c in CONDITIONS.values() if not c.red_flag]
_RED = [c.code for c in CONDITIONS.values() if c.red_flag]


def sample_origins(region: Region, count: int, *, seed: int,
                   radius_m: float = ORIGIN_RADIUS_M) -> list[tuple[float, float]]:
    """Origins spread around the region's sites (towns grow around their hospitals).

    Uniform over a disc of ``radius_m`` meters around a randomly chosen site.
    """
    rng = random.Random(seed)
    origins = []
    for _ in range(count):
        site = rng.choice(region.sites)
        distance_m = radius_m * math.sqrt(rng.random())
        bearing = rng.uniform(0, 2 * math.pi)
        dlat = distance_m * math.cos(bearing) / 111_320
        dlon = distance_m * math.sin(bearing) / (111_320 * math.cos(math.radians(site.lat)))
        origins.append((round(site.lat + dlat, 5), round(site.lon + dlon, 5)))
    return origins


def rank_paths(region: Region, count: int, *, seed: int,
               now: datetime | None = None) -> list[str]:
    """``count`` ``/v1/rank`` paths with a realistic parameter mix."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    paths = []
    for lat, lon in sample_origins(region, count, seed=seed):
        params: dict[str, str] = {"lat": f"{lat}", "lon": f"{lon}"}
        if rng.random() < CONDITION_SHARE:
            pool = _RED if rng.random() < RED_FLAG_SHARE else _MINOR
            params["condition"] = rng.choice(pool)
        if rng.random() < AGE_SHARE:
            params["age"] = f"{_sample_age(rng):g}"
        if rng.random() < DEPART_LATER_SHARE:
            later = now + timedelta(minutes=rng.randrange(30, 360, 15))
            params["depart_at"] = later.replace(microsecond=0).isoformat()
        if rng.random() < WALK_SHARE:
            params["mode"] = "walk"
        paths.append("/v1/rank?" + urlencode(params))
    return paths


def _sample_age(rng: random.Random) -> float:
    band = rng.random()
    if band < 0.05:
        return round(rng.uniform(0.1, 0.9), 1)
    if band < 0.2:
        return rng.randrange(1, 16)
    if band < 0.85:
        return rng.randrange(16, 65)
    return rng.randrange(65, 95)


def cycle(paths: Sequence[str]):
    """A request factory that cycles through precomputed paths (no work per request)."""
    def make(index: int) -> str:
        return paths[index % len(paths)]
    return make
