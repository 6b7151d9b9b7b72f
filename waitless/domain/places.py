"""Place search without a geocoding service: a region's gazetteer of towns and postcode districts.

The region file names its gazetteer (``[gazetteer] file = "..."``, relative to the region
file); nothing is assumed. Lookups ignore case, spaces and punctuation; a full postcode is
looked up by its district (outward code), e.g. ``"CT1 3NG"`` -> ``CT1``.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from waitless.domain.errors import RegionError, WaitlessError
from waitless.domain.region import Region

# Outward code then inward code (digit + two letters); the space is optional.
_POSTCODE = re.compile(r"^([a-z]{1,2}\d[a-z\d]?)\s*(\d[a-z]{2})$")
_OUTWARD = re.compile(r"^[a-z]{1,2}\d[a-z\d]?$")


class PlaceError(WaitlessError):
    """A place the gazetteer does not know; ``message`` is fit to show a patient."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class Place:
    """A searchable place.

    Attributes
    ----------
    name
        Display name (``"Canterbury"``, ``"CT1"``).
    kind
        ``"town"`` or ``"district"`` (a postcode outward code).
    lat, lon
        Approximate centre in decimal degrees.
    district
        The postcode district it lies in.
    """

    name: str
    kind: str
    lat: float
    lon: float
    district: str


@dataclass(frozen=True, slots=True)
class Gazetteer:
    region_title: str
    places: dict[str, Place]  # normalised name -> place

    def examples(self) -> str:
        town = next((p.name for p in self.places.values() if p.kind == "town"), "a town")
        district = next((p.name for p in self.places.values() if p.kind == "district"), "")
        return f"{town} or {district}" if district else town


def normalise(text: str) -> str:
    """Lower case, letters and digits only, single spaces (``" St. Mary's "`` -> ``st marys``)."""
    cleaned = re.sub(r"[^a-z0-9 ]", "", text.lower().replace("-", " "))
    return " ".join(cleaned.split())


def load_gazetteer(region: Region) -> Gazetteer | None:
    """The region's gazetteer, or ``None`` when its file names none."""
    if region.gazetteer_file is None:
        return None
    path = Path(region.gazetteer_file).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read gazetteer {path}: {exc}"
        raise RegionError(msg) from exc
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    places: dict[str, Place] = {}
    for row in rows:
        try:
            place = Place(row["name"].strip(), row["kind"].strip(), float(row["lat"]),
                          float(row["lon"]), row["district"].strip().upper())
        except (KeyError, ValueError, AttributeError) as exc:
            msg = f"gazetteer {path}: bad row {row}: {exc}"
            raise RegionError(msg) from exc
        places[normalise(place.name).replace(" ", "") if place.kind == "district"
               else normalise(place.name)] = place
    return Gazetteer(region_title=region.title, places=places)


def find_place(gazetteer: Gazetteer, query: str) -> Place:
    """The place a patient typed: a town, a postcode district or a full postcode.

    Raises
    ------
    PlaceError
        With a message saying what to type instead.
    """
    text = normalise(query)
    if not text:
        msg = "Enter a town or the first part of a postcode, for example " \
              f"{gazetteer.examples()}."
        raise PlaceError(msg)
    compact = text.replace(" ", "")
    full = _POSTCODE.match(compact)
    outward = full.group(1) if full else compact if _OUTWARD.match(compact) else None
    if outward is not None:
        place = gazetteer.places.get(outward)
        if place is None:
            msg = (f"The postcode area {outward.upper()} is not in {gazetteer.region_title}, "
                   "which this service covers. Check the postcode, or call NHS 111.")
            raise PlaceError(msg)
        return place
    place = gazetteer.places.get(text)
    if place is None:
        msg = (f"We could not find \"{query.strip()[:60]}\" in {gazetteer.region_title}. "
               f"Try a town or the first part of a postcode, for example "
               f"{gazetteer.examples()}.")
        raise PlaceError(msg)
    return place


def suggest(gazetteer: Gazetteer, prefix: str, *, limit: int = 8) -> list[Place]:
    """Places whose normalised name starts with ``prefix`` (towns first, then districts)."""
    text = normalise(prefix)
    if not text:
        return []
    found = [p for key, p in gazetteer.places.items()
             if key.startswith(text) or key.startswith(text.replace(" ", ""))]
    found.sort(key=lambda p: (p.kind != "town", len(p.name), p.name))
    return found[:limit]
