"""Sites and the services they offer, as the region file's ``[[sites]]`` describe them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from waitless.domain.conditions import CONDITIONS, default_treats
from waitless.domain.errors import RegionError
from waitless.domain.hours import HoursError, OpeningHours, parse_hours
from waitless.domain.observation import SERVICE_KINDS
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


def require(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        msg = f"{where}: missing required key {key!r}"
        raise RegionError(msg)
    return table[key]


def _parse_service(raw: dict[str, Any], site_hours: Any, where: str) -> Service:
    kind = require(raw, "kind", where)
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
    treats = frozenset(raw.get("treats", default_treats(kind)))
    unknown = treats - set(CONDITIONS)
    if unknown:
        msg = f"{where}: unknown condition(s) in treats: {', '.join(sorted(unknown))}"
        raise RegionError(msg)
    treats = treats | frozenset(raw.get("also_treats", ()))
    treats = treats - frozenset(raw.get("does_not_treat", ()))
    return Service(
        kind=kind,
        hours=hours,
        treats=treats,
        min_age_years=float(raw.get("min_age_years", _DEFAULT_MIN_AGE_YEARS[kind])),
        hours_verified=bool(raw.get("hours_verified", True)),
    )


def parse_site(raw: dict[str, Any], index: int) -> Site:
    where = f"sites[{index}]"
    site_id = str(require(raw, "id", where))
    where = f"site {site_id}"
    lat, lon = float(require(raw, "lat", where)), float(require(raw, "lon", where))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        msg = f"{where}: coordinates ({lat}, {lon}) out of range"
        raise RegionError(msg)
    raw_services = require(raw, "services", where)
    services = tuple(
        _parse_service(s, raw.get("hours"), f"{where} service {i}")
        for i, s in enumerate(raw_services)
    )
    kinds = [s.kind for s in services]
    if not services or len(set(kinds)) != len(kinds):
        msg = f"{where}: needs at least one service and each kind at most once (got {kinds})"
        raise RegionError(msg)
    return Site(
        id=site_id, name=str(require(raw, "name", where)), lat=lat, lon=lon, services=services,
        town=raw.get("town", ""), postcode=raw.get("postcode", ""),
        operator=raw.get("operator", ""), notes=raw.get("notes", ""),
        contact=parse_contact(raw.get("contact"), where),
    )
