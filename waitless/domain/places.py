"""Place search without a geocoding service: a region's gazetteer of towns and postcode districts.

The region file names its gazetteer (``[gazetteer] file = "..."``, relative to the region
file); nothing is assumed. Lookups ignore case, spaces and punctuation; a full postcode is
looked up by its district (outward code), e.g. ``"CT1 3NG"`` -> ``CT1``. With several regions
served, :func:`search_places` looks in every region's gazetteer and never picks between two
places of the same name: it asks which one (:class:`AmbiguousPlace`).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Sequence
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
class PlaceMatch:
    """A place found, with the region whose gazetteer holds it.

    Attributes
    ----------
    place
        The place.
    region, region_title
        That region's machine name (``kent-medway``) and the name shown to people.
    """

    place: Place
    region: str
    region_title: str


class AmbiguousPlace(PlaceError):
    """A name in the gazetteers of several regions; ``matches`` holds one place per region, in
    the order the regions are served, for the patient to choose from."""

    def __init__(self, message: str, matches: tuple[PlaceMatch, ...]) -> None:
        super().__init__(message)
        self.matches = matches


@dataclass(frozen=True, slots=True)
class Gazetteer:
    region_name: str
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
    """The region's gazetteer, or ``None`` when its file names none.

    The file is UTF-8 CSV (a byte-order mark is allowed) with the header
    ``name,kind,lat,lon,district``; lines starting with ``#`` and blank lines are skipped.

    Raises
    ------
    RegionError
        Naming the file and the line: an unreadable or non-UTF-8 file, a wrong header, a row
        without exactly five fields, an empty name or district, a kind other than ``town`` or
        ``district``, coordinates that are not finite degrees in range, a name that repeats
        another once case, spaces and punctuation are ignored, or no places at all.
    """
    if region.gazetteer_file is None:
        return None
    path = Path(region.gazetteer_file).resolve()
    try:
        # utf-8-sig: a spreadsheet's "CSV UTF-8" starts with a byte-order mark, which would
        # otherwise become part of the first column's name.
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read gazetteer {path}: {exc}"
        raise RegionError(msg) from exc
    # Line numbers of the rows csv reads, so an error names the line an editor shows.
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.startswith("#")]
    reader = csv.reader(line for _, line in lines)
    places: dict[str, Place] = {}
    first_line: dict[str, int] = {}
    for row in reader:
        number = lines[reader.line_num - 1][0]
        if reader.line_num == 1:
            if [cell.strip() for cell in row] != list(_COLUMNS):
                msg = (f"gazetteer {path} line {number}: the header must be "
                       f"{','.join(_COLUMNS)}, not {','.join(row)!r}")
                raise RegionError(msg)
            continue
        place = _place(row, f"gazetteer {path} line {number}")
        key = (normalise(place.name).replace(" ", "") if place.kind == "district"
               else normalise(place.name))
        # A repeated name would silently replace the first (Kent has two Newingtons): the
        # patient would be ranked from a place they did not mean.
        if key in places:
            msg = (f"gazetteer {path} line {number}: {place.name!r} repeats "
                   f"{places[key].name!r} of line {first_line[key]}; names must differ "
                   "ignoring case, spaces and punctuation")
            raise RegionError(msg)
        places[key] = place
        first_line[key] = number
    if not places:
        msg = f"gazetteer {path}: no places (expected a {','.join(_COLUMNS)} header and rows)"
        raise RegionError(msg)
    return Gazetteer(region_name=region.name, region_title=region.title, places=places)


_COLUMNS = ("name", "kind", "lat", "lon", "district")
_KINDS = ("town", "district")


def _place(row: list[str], where: str) -> Place:
    """One gazetteer row as a :class:`Place`; ``RegionError`` starting with ``where``."""
    if len(row) != len(_COLUMNS):
        msg = f"{where}: expected {len(_COLUMNS)} fields ({','.join(_COLUMNS)}), got {len(row)}"
        raise RegionError(msg)
    name, kind, lat_text, lon_text, district = (cell.strip() for cell in row)
    if not normalise(name):
        msg = f"{where}: name must have a letter or digit, not {name!r}"
        raise RegionError(msg)
    if kind not in _KINDS:
        msg = f"{where}: kind must be {' or '.join(_KINDS)}, not {kind!r}"
        raise RegionError(msg)
    if not district:
        msg = f"{where}: district must not be empty"
        raise RegionError(msg)
    degrees = []
    for column, value, limit in (("lat", lat_text, 90), ("lon", lon_text, 180)):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        # float() reads "nan" and "inf": a place there would rank every site as unreachable.
        if not (math.isfinite(number) and -limit <= number <= limit):
            msg = f"{where}: {column} must be a number of degrees from -{limit} to {limit}, " \
                  f"not {value!r}"
            raise RegionError(msg)
        degrees.append(number)
    return Place(name, kind, degrees[0], degrees[1], district.upper())


def find_place(gazetteer: Gazetteer, query: str) -> Place:
    """The place a patient typed: a town, a postcode district or a full postcode.

    Raises
    ------
    PlaceError
        With a message saying what to type instead.
    """
    return search_places((gazetteer,), query).place


def search_places(gazetteers: Sequence[Gazetteer], query: str) -> PlaceMatch:
    """The place a patient typed, looked up in each gazetteer (one per region served).

    Parameters
    ----------
    gazetteers
        At least one; the first gives the examples a message suggests.
    query
        A town, a postcode district or a full postcode.

    Raises
    ------
    AmbiguousPlace
        When the name is in more than one gazetteer: which place is meant is not known.
    PlaceError
        When it is in none, or empty, with a message saying what to type instead (naming
        every region searched; with one gazetteer the message of a region served alone).
    """
    text = normalise(query)
    if not text:
        msg = "Enter a town or the first part of a postcode, for example " \
              f"{gazetteers[0].examples()}."
        raise PlaceError(msg)
    compact = text.replace(" ", "")
    full = _POSTCODE.match(compact)
    outward = full.group(1) if full else compact if _OUTWARD.match(compact) else None
    key = text if outward is None else outward
    matches = tuple(PlaceMatch(g.places[key], g.region_name, g.region_title)
                    for g in gazetteers if key in g.places)
    if len(matches) == 1:
        return matches[0]
    if matches:
        msg = (f"{matches[0].place.name} could be in "
               f"{and_list([m.region_title for m in matches], 'or')}: choose the one you mean.")
        raise AmbiguousPlace(msg, matches)
    where = and_list([g.region_title for g in gazetteers], "or")
    if outward is not None:
        msg = (f"The postcode area {outward.upper()} is not in {where}, "
               "which this service covers. Check the postcode, or call NHS 111.")
        raise PlaceError(msg)
    msg = (f"We could not find \"{query.strip()[:60]}\" in {where}. "
           f"Try a town or the first part of a postcode, for example "
           f"{gazetteers[0].examples()}.")
    raise PlaceError(msg)


def and_list(names: Sequence[str], conjunction: str = "and") -> str:
    """Names as a sentence lists them: ``"A"``, ``"A and B"``, ``"A, B and C"``."""
    if len(names) < 2:
        return "".join(names)
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def suggest(gazetteer: Gazetteer, prefix: str, *, limit: int = 8) -> list[Place]:
    """Places whose normalised name starts with ``prefix`` (towns first, then districts)."""
    text = normalise(prefix)
    if not text:
        return []
    found = [p for key, p in gazetteer.places.items()
             if key.startswith(text) or key.startswith(text.replace(" ", ""))]
    found.sort(key=lambda p: (p.kind != "town", len(p.name), p.name))
    return found[:limit]
