"""The region's statistics settings, or the error that says the region has none."""

from __future__ import annotations

from waitless.domain.region import Region
from waitless.domain.stats_settings import StatsConfig, StatsConfigError


def stats_config(region: Region) -> StatsConfig:
    """The region's statistics settings (its ``[stats]`` table, validated at load)."""
    if region.stats is None:
        msg = f"region {region.name!r} has no [stats] table (see docs/statistics.md)"
        raise StatsConfigError(msg)
    return region.stats
