"""A region's travel model extended to sites its table lacks (neighbours' border sites).

When one process serves several regions, each ranks its neighbours' sites near its border too
(:mod:`waitless.ranking.multiregion`). A road-graph table built for the region's own sites has
no column for them; rather than leave them out, they get the straight-line estimate, and an
answer in which one of them may appear is labelled ``"estimate"`` (docs/regions.md, "Several
regions in one process").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from routing.estimate import EstimateTravel
from routing.model import TravelModel, WrappedTravel


@dataclass(frozen=True, eq=False)
class WithBorderEstimate(WrappedTravel):
    """``model`` for the sites it knows, then the estimate for ``extra`` sites.

    Attributes
    ----------
    model
        The region's own model (it decides whether an origin is covered).
    extra
        Straight-line estimate for the sites ``model`` lacks, with no origin limit of its own.
    """

    model: TravelModel
    extra: EstimateTravel
    _estimated: frozenset[str] = field(init=False, repr=False)
    _site_ids: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_estimated", frozenset(self.extra.site_ids))
        # Read on every request (to align the answer with the region's sites): made once.
        object.__setattr__(self, "_site_ids", self.model.site_ids + self.extra.site_ids)

    @classmethod
    def for_sites(cls, model: TravelModel, sites: Sequence[Any]) -> TravelModel:
        """``model`` itself when it knows every site, else it with an estimate for the rest.

        Parameters
        ----------
        model
            A travel model for some of ``sites``.
        sites
            Every site to answer for (``id``, ``lat``, ``lon`` in decimal degrees).
        """
        known = set(model.site_ids)
        missing = [s for s in sites if s.id not in known]
        if not missing:
            return model
        return cls(model, EstimateTravel.for_sites(missing, mode=model.mode,
                                                   max_origin_distance_m=math.inf))

    @property
    def site_ids(self) -> tuple[str, ...]:
        return self._site_ids

    def source_for(self, site_ids: Sequence[str], seconds: np.ndarray,
                   limit_seconds: float) -> str:
        """The ``travel_source`` label for one answer: ``"estimate"`` when an estimated site
        is within ``limit_seconds`` (it may be shown), else the model's own label.

        Parameters
        ----------
        site_ids, seconds
            Travel seconds to each site, in any order, with the sites' ids.
        limit_seconds
            The answer's travel limit, seconds; sites beyond it are left out of the answer.
        """
        estimated = self._estimated
        near = any(site_id in estimated and s <= limit_seconds
                   for site_id, s in zip(site_ids, seconds.tolist(), strict=True))
        return "estimate" if near else self.model.source

    def travel_seconds(self, lat: float, lon: float) -> np.ndarray:
        """Seconds to every site in :attr:`site_ids` order.

        Raises
        ------
        OutsideCoverage
            When ``model`` refuses the origin.
        """
        return np.concatenate([self.model.travel_seconds(lat, lon),
                               self.extra.travel_seconds(lat, lon)])


def estimated_site_ids(model: TravelModel) -> tuple[str, ...]:
    """The sites whose travel ``model`` gives by the straight-line estimate, not a road graph.

    Every site of an estimate; the border sites a road-graph table lacks
    (:class:`WithBorderEstimate`); none of a model that routes every site. An answer's
    ``travel_source`` says this per answer; ``/readyz`` says it per region and mode.
    """
    if isinstance(model, WithBorderEstimate):
        return model.extra.site_ids
    return model.site_ids if model.source == "estimate" else ()
