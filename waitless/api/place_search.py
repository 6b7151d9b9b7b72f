"""Place search for the patient page and ``/v1/places``: every served region's gazetteer.

With one region served this is that region's gazetteer, as before; with several, a name is
looked up in each (:func:`waitless.domain.places.search_places`), and a patient or client
who has been asked which of two places they meant names its region (``region=``).
"""

from __future__ import annotations

from collections.abc import Sequence

from aiohttp import web

from waitless.api import keys
from waitless.domain.places import Gazetteer, PlaceMatch, and_list, load_gazetteer
from waitless.domain.region import Region

# Every served region's gazetteer, the primary's first; regions without one are left out.
GAZETTEERS = web.AppKey("gazetteers", tuple[Gazetteer, ...])


def regions_served(app: web.Application) -> list[Region]:
    """The regions served, the primary first (as their files have them)."""
    region_set = app[keys.REGION_SET]
    return [app[keys.REGION]] if region_set is None else list(region_set.regions.values())


def load_gazetteers(regions: Sequence[Region]) -> tuple[Gazetteer, ...]:
    """The gazetteers the regions' files name, in the regions' order.

    Raises
    ------
    RegionError
        For a gazetteer file that cannot be used (at start-up, naming the file and line).
    """
    return tuple(g for g in map(load_gazetteer, regions) if g is not None)


def gazetteers_to_search(app: web.Application, region: str) -> tuple[Gazetteer, ...]:
    """The gazetteers a search looks in.

    Parameters
    ----------
    region
        The ``region=`` a patient's choice carries: with several regions served, only that
        region's gazetteer is searched (none when it names no region with one). Ignored when
        empty or when one region is served, whose answers stay as they were.
    """
    gazetteers = app[GAZETTEERS]
    if not region or app[keys.REGION_SET] is None:
        return gazetteers
    return tuple(g for g in gazetteers if g.region_name == region)


def served_titles(app: web.Application) -> str:
    """The names of the regions served, as a sentence lists them ("A and B")."""
    return and_list([region.title for region in regions_served(app)])


def place_json(match: PlaceMatch, *, region: bool) -> dict[str, object]:
    """A place as ``/v1/places`` answers it; its region named when several are served (with
    one the answer is as it always was)."""
    place = match.place
    body: dict[str, object] = {"name": place.name, "kind": place.kind, "lat": place.lat,
                               "lon": place.lon, "district": place.district}
    if region:
        body.update(region=match.region, region_title=match.region_title)
    return body
