"""The interface every travel model offers to ranking."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class TravelModel(Protocol):
    """Travel times from one origin to every site of a region.

    Attributes
    ----------
    source
        Label shown in results: ``"road_graph"`` or ``"estimate"``.
    mode
        ``"drive"`` or ``"walk"``.
    site_ids
        Site ids in the order of the returned array.
    """

    source: str
    mode: str
    site_ids: tuple[str, ...]

    def travel_seconds(self, lat: float, lon: float) -> np.ndarray:
        """Seconds from (lat, lon) to each site, ``inf`` where unreachable.

        Raises
        ------
        routing.errors.OutsideCoverage
            When the origin lies outside the model's coverage.
        """
        ...


class WrappedTravel:
    """Base of a travel model that wraps another (``model``) and keeps its label and mode."""

    model: TravelModel

    @property
    def source(self) -> str:
        return self.model.source

    @property
    def mode(self) -> str:
        return self.model.mode
