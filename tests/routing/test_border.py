"""A region's travel model answers for neighbours' border sites too (routing/border.py)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from routing.border import WithBorderEstimate
from routing.coverage import SiteReach
from routing.errors import OutsideCoverage
from routing.estimate import EstimateTravel
from waitless.domain.region import Region


def test_sites_the_model_lacks_get_the_estimate_after_its_own(kent: Region) -> None:
    own, border = kent.sites[:5], kent.sites[5:7]
    inner = SiteReach.for_sites(EstimateTravel.for_sites(own), own,
                                max_origin_distance_m=30_000)
    model = WithBorderEstimate.for_sites(inner, own + border)
    assert model.site_ids == tuple(s.id for s in own + border)
    lat, lon = own[0].lat, own[0].lon
    seconds = model.travel_seconds(lat, lon)
    whole = EstimateTravel.for_sites(own + border).travel_seconds(lat, lon)
    np.testing.assert_allclose(seconds, whole)
    assert (model.source, model.mode) == ("estimate", "drive")
    # The region's own model still decides coverage: no limit comes with the border sites.
    with pytest.raises(OutsideCoverage):
        model.travel_seconds(53.48, -2.24)


def test_a_model_that_knows_every_site_is_used_as_it_is(kent: Region) -> None:
    model = EstimateTravel.for_sites(kent.sites, mode="walk")
    assert WithBorderEstimate.for_sites(model, kent.sites) is model


def test_an_answer_that_may_show_an_estimated_site_is_labelled_estimate(kent: Region) -> None:
    own, border = kent.sites[:-1], kent.sites[-1:]
    # Stands in for a road-graph table of the own sites (a real object, relabelled).
    table = replace(EstimateTravel.for_sites(own), source="road_graph")
    model = WithBorderEstimate.for_sites(table, own + border)
    ids = model.site_ids
    seconds = model.travel_seconds(border[0].lat, border[0].lon)
    border_s = float(seconds[-1])
    assert model.source == "road_graph"
    assert model.source_for(ids, seconds, limit_seconds=border_s + 1) == "estimate"
    # Beyond the limit the border site cannot be shown: the times shown are all routed.
    assert model.source_for(ids, seconds + np.r_[np.zeros(len(own)), 1e6],
                            limit_seconds=border_s + 1) == "road_graph"
