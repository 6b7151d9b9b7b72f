"""Sites and the services they offer, as the region file's ``[[sites]]`` describe them."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from waitless.domain.conditions import CONDITIONS, default_treats
from waitless.domain.errors import RegionError
from waitless.domain.hours import HoursError, OpeningHours, parse_hours
from waitless.domain.observation import SERVICE_KINDS
from waitless.domain.region_values import (
    check_keys,
    flag,
    name_text,
    number,
    tables,
    text,
    text_list,
)
from waitless.domain.site_contact import SiteContact, parse_contact

# The youngest patient each kind of service sees unless a site says otherwise, years.
_DEFAULT_MIN_AGE_YEARS = {"ed": 0.0, "utc": 0.0, "miu": 1.0}


@dataclass(frozen=True, slots=True)
class Service:
    """One service at a site (``ed``, ``utc`` or ``miu``) with its own hours and wait."""

    kind: str
    hours: OpeningHours
    treats: frozenset[str]
    min_age_years: float
    hours_verified: bool = True


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    lat: float
    lon: float
    services: tuple[Service, ...]
    town: str = ""
    postcode: str = ""
    operator: str = ""
    notes: str = ""
    contact: SiteContact | None = None  # [sites.contact]: address, phone, web page

    @property
    def main_service(self) -> Service:
        """The service a feed means when it names no service: the ED if there is one."""
        for kind in SERVICE_KINDS:
            for service in self.services:
                if service.kind == kind:
                    return service
        return self.services[0]

    def service(self, kind: str | None) -> Service | None:
        if kind is None:
            return self.main_service
        return next((s for s in self.services if s.kind == kind), None)


_SERVICE_KEYS = frozenset({"kind", "hours", "min_age_years", "treats", "also_treats",
                           "does_not_treat", "hours_verified"})
_SITE_KEYS = frozenset({"id", "name", "lat", "lon", "hours", "services", "town", "postcode",
                        "operator", "notes", "contact"})


def _conditions(raw: dict[str, Any], key: str, where: str) -> frozenset[str] | None:
    """The condition codes under ``key`` (``None`` when absent), each one in the vocabulary.

    A misspelt code must not load: in ``does_not_treat`` it would leave a unit listed as
    treating what it cannot (a minor injury unit offered for a fracture).
    """
    codes = text_list(raw, key, where)
    if codes is None:
        return None
    unknown = sorted(set(codes) - set(CONDITIONS))
    if unknown:
        hints = [f"{code!r} (did you mean {close[0]!r}?)" if close else repr(code)
                 for code in unknown
                 for close in [get_close_matches(code, CONDITIONS, n=1)]]
        msg = (f"{where}: unknown condition(s) in {key}: {', '.join(hints)}; "
               "the codes are listed in waitless/domain/conditions.py and /v1/conditions")
        raise RegionError(msg)
    return frozenset(codes)


def _parse_service(raw: dict[str, Any], site_hours: Any, where: str) -> Service:
    check_keys(raw, _SERVICE_KEYS, where)
    kind = text(raw, "kind", where)
    if kind not in SERVICE_KINDS:
        msg = f"{where}: service kind {kind!r} must be one of {', '.join(SERVICE_KINDS)}"
        raise RegionError(msg)
    hours_spec = raw.get("hours", site_hours)
    if hours_spec is None:
        msg = f"{where}: no opening hours for the {kind} service (set hours on the site or service)"
        raise RegionError(msg)
    try:
        hours = parse_hours(hours_spec)
    except HoursError as exc:
        raise RegionError(f"{where}: {exc}") from exc
    treats = _conditions(raw, "treats", where)
    also = _conditions(raw, "also_treats", where) or frozenset()
    never = _conditions(raw, "does_not_treat", where) or frozenset()
    if also & never:
        msg = (f"{where}: {', '.join(sorted(also & never))} in both also_treats and "
               "does_not_treat; say once whether the service treats it")
        raise RegionError(msg)
    return Service(
        kind=kind,
        hours=hours,
        treats=((default_treats(kind) if treats is None else treats) | also) - never,
        min_age_years=number(raw, "min_age_years", where, _DEFAULT_MIN_AGE_YEARS[kind]),
        hours_verified=flag(raw, "hours_verified", where, True),
    )


def parse_site(raw: dict[str, Any], index: int) -> Site:
    """Validate one ``[[sites]]`` table (``index`` names it until its id is known).

    Raises
    ------
    RegionError
        Naming the site and the key: an unknown key, a value of the wrong type, coordinates
        out of range, bad hours, an unknown condition code.
    """
    site_id = name_text(raw, "id", f"sites[{index}]", "feeds and the live store")
    where = f"site {site_id}"
    check_keys(raw, _SITE_KEYS, where)
    lat = number(raw, "lat", where, minimum=None)
    lon = number(raw, "lon", where, minimum=None)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        msg = f"{where}: coordinates ({lat}, {lon}) out of range"
        raise RegionError(msg)
    raw_services = tables(raw.get("services", []), f"{where}: services")
    services = tuple(
        _parse_service(s, raw.get("hours"), f"{where} service {i}")
        for i, s in enumerate(raw_services)
    )
    kinds = [s.kind for s in services]
    if not services or len(set(kinds)) != len(kinds):
        msg = f"{where}: needs at least one service and each kind at most once (got {kinds})"
        raise RegionError(msg)
    return Site(
        id=site_id, name=text(raw, "name", where), lat=lat, lon=lon, services=services,
        town=text(raw, "town", where, "", empty=True),
        postcode=text(raw, "postcode", where, "", empty=True),
        operator=text(raw, "operator", where, "", empty=True),
        notes=text(raw, "notes", where, "", empty=True),
        contact=parse_contact(raw.get("contact"), where),
    )
