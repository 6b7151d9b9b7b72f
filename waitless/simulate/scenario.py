"""The region as the demand model sees it: origins, travel, services, habits, staffing, patients.

Built once per process from the region file (:func:`build_scenario`); patients are drawn per
seed (:func:`draw_patients`) so every policy sees exactly the same people (common random
numbers make the policy comparison sharper than independent runs would).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from routing.estimate import EstimateTravel
from waitless.domain.places import load_gazetteer
from waitless.domain.region import Region
from waitless.simulate import calibration as cal

# A week starting on a Monday in winter (GMT = UTC, no clock change in the run).
WEEK_START = datetime(2026, 11, 2, tzinfo=UTC)
# Runs start one warm-up day earlier (Sunday 00:00) so measured days begin with queues in
# their usual state rather than empty.
WARMUP_DAYS = 1
RUN_START = WEEK_START - timedelta(days=WARMUP_DAYS)
RUN_START_MINUTE_OF_WEEK = (7 - WARMUP_DAYS) * 1440
SLOT_MINUTES = 15  # opening-hours resolution
_SLOTS_PER_WEEK = 7 * 24 * 60 // SLOT_MINUTES
DEFAULT_DAILY_VOLUME = {"ed": 150.0, "utc": 50.0, "miu": 30.0}  # sites without NHSE figures


@dataclass(frozen=True)
class Scenario:
    """Everything about the region a run needs, independent of seed and policy.

    Attributes
    ----------
    keys, kinds, site_index
        Per service (``site_id/service``): its key, kind and index into ``region.sites``.
    origin_names, origin_lats, origin_lons
        Postcode district centroids where patients set off.
    travel_seconds
        Drive time in seconds, origins x sites (``region.sites`` order).
    open_slots
        Services x 15-minute slots of the week: open then.
    servers_by_hour
        Services x 168 hours of the week: servers on duty.
    origin_daily
        Per origin, expected patients a day: (majors, minors who habitually use A&E, other
        minors).
    habits
        Per (origin, class, condition) services in the order a patient not using WaitLess
        would try them (nearest suitable first; the first open one is chosen).
    """

    region: Region
    keys: tuple[str, ...]
    kinds: tuple[str, ...]
    site_index: tuple[int, ...]
    origin_names: tuple[str, ...]
    origin_lats: np.ndarray
    origin_lons: np.ndarray
    travel_seconds: np.ndarray
    open_slots: np.ndarray
    servers_by_hour: np.ndarray
    origin_daily: np.ndarray
    habits: dict[tuple[int, int, str], tuple[int, ...]]
    service_volumes: tuple[float, ...]

    def is_open(self, service: int, minute_of_week: float) -> bool:
        return bool(self.open_slots[service, int(minute_of_week // SLOT_MINUTES)
                                    % _SLOTS_PER_WEEK])

    def habitual(self, origin: int, klass: int, condition: str, depart_minute_of_week: float
                 ) -> int:
        """The service a patient goes to without asking: the nearest suitable one open on
        arrival (or the nearest suitable one when none is)."""
        order = self.habits[(origin, klass, condition)]
        for service in order:
            arrive = depart_minute_of_week + self.travel_seconds[
                origin, self.site_index[service]] / 60
            if self.is_open(service, arrive):
                return service
        return order[0]


MAJOR, MINOR_ED, MINOR_OTHER = 0, 1, 2  # patient classes


def build_scenario(region: Region) -> Scenario:
    """Origins, travel, habits and staffing for ``region`` (see ``docs/herding.md``)."""
    services = [(i, s.kind, f"{site.id}/{s.kind}", s) for i, site in enumerate(region.sites)
                for s in site.services]
    keys = tuple(k for _, _, k, _ in services)
    kinds = tuple(kind for _, kind, _, _ in services)
    site_index = tuple(i for i, _, _, _ in services)
    gazetteer = load_gazetteer(region)
    places = ([p for p in gazetteer.places.values() if p.kind == "district"]
              if gazetteer is not None else [])
    if places:
        names = tuple(p.name for p in places)
        lats = np.array([p.lat for p in places])
        lons = np.array([p.lon for p in places])
    else:  # no gazetteer: patients set off from the sites' towns
        names = tuple(s.id for s in region.sites)
        lats = np.array([s.lat for s in region.sites])
        lons = np.array([s.lon for s in region.sites])
    model = EstimateTravel.for_sites(region.sites, mode="drive", max_origin_distance_m=1e9)
    travel = np.vstack([model.travel_seconds(a, b) for a, b in zip(lats, lons, strict=True)])
    open_slots = np.zeros((len(services), _SLOTS_PER_WEEK), dtype=bool)
    for j, (_, _, _, service) in enumerate(services):
        for slot in range(_SLOTS_PER_WEEK):
            at = WEEK_START + timedelta(minutes=slot * SLOT_MINUTES + 1)
            open_slots[j, slot] = service.hours.open_interval(at, region.timezone) is not None
    volumes = cal.daily_volumes([s.id for s in region.sites],
                                {s.id: tuple(v.kind for v in s.services) for s in region.sites})
    volumes = {k: volumes.get(k, DEFAULT_DAILY_VOLUME[kind]) for k, kind in zip(keys, kinds,
                                                                                strict=True)}
    origin_daily = _origin_demand(travel, keys, kinds, site_index, volumes)
    habits = _habits(region, travel, services)
    scenario = Scenario(region, keys, kinds, site_index, names, lats, lons, travel, open_slots,
                        np.zeros((len(services), 168), dtype=int), origin_daily, habits,
                        tuple(volumes[k] for k in keys))
    servers = _staffing(scenario)
    object.__setattr__(scenario, "servers_by_hour", servers)
    return scenario


def _origin_demand(travel: np.ndarray, keys, kinds, site_index, volumes) -> np.ndarray:
    """Spread each service's daily volume over the origins it is nearest to (no population
    figures per district: an equal share each), ED volumes split into majors and minors."""
    demand = np.zeros((travel.shape[0], 3))
    for ed_group in (True, False):
        members = [j for j, kind in enumerate(kinds) if (kind == "ed") == ed_group]
        if not members:
            continue
        member_sites = np.array([site_index[j] for j in members])
        nearest = member_sites[np.argmin(travel[:, member_sites], axis=1)]
        for j in members:
            catchment = np.flatnonzero(nearest == site_index[j])
            if catchment.size == 0:  # nobody's nearest: its own nearest origin
                catchment = np.array([int(np.argmin(travel[:, site_index[j]]))])
            # Co-located services of one group share a catchment: split the volume by kind.
            share = volumes[keys[j]] / catchment.size
            if ed_group:
                demand[catchment, MAJOR] += share * cal.MAJOR_SHARE_OF_TYPE1
                demand[catchment, MINOR_ED] += share * (1 - cal.MAJOR_SHARE_OF_TYPE1)
            else:
                demand[catchment, MINOR_OTHER] += share
    return demand


def _habits(region: Region, travel: np.ndarray, services) -> dict:
    conditions = [cal.MAJOR_CONDITION] + [c for c, _ in cal.MINOR_CONDITIONS]
    habits: dict[tuple[int, int, str], tuple[int, ...]] = {}
    for origin in range(travel.shape[0]):
        for condition in conditions:
            suitable = [j for j, (i, kind, _, s) in enumerate(services) if condition in s.treats]
            # Nearest first; at one site a UTC or MIU before the ED for a minor condition.
            by_travel = sorted(suitable, key=lambda j: (travel[origin, services[j][0]],
                                                        services[j][1] == "ed"))
            eds = tuple(j for j in by_travel if services[j][1] == "ed")
            if condition == cal.MAJOR_CONDITION:
                habits[(origin, MAJOR, condition)] = eds
            else:
                habits[(origin, MINOR_ED, condition)] = eds
                habits[(origin, MINOR_OTHER, condition)] = tuple(by_travel)
    return habits


def _staffing(scenario: Scenario) -> np.ndarray:
    """Servers per service and hour of week: each 8-hour shift staffed for its mean habitual
    demand at the target utilisation (rounded up; at least one while open)."""
    n = len(scenario.keys)
    load = np.zeros((n, 168))  # expected arrivals per hour under habitual choice
    minor_mix = cal.MINOR_CONDITIONS
    for how in range(168):
        day, hour = divmod(how, 24)
        factor = cal.HOURLY_FACTOR[hour] * cal.WEEKDAY_FACTOR[day] / 24
        minute = how * 60 + 30
        for origin, (major, minor_ed, minor_other) in enumerate(scenario.origin_daily):
            load[scenario.habitual(origin, MAJOR, cal.MAJOR_CONDITION, minute), how] += (
                major * factor)
            for condition, weight in minor_mix:
                load[scenario.habitual(origin, MINOR_ED, condition, minute), how] += (
                    minor_ed * weight * factor)
                load[scenario.habitual(origin, MINOR_OTHER, condition, minute), how] += (
                    minor_other * weight * factor)
    servers = np.zeros((n, 168), dtype=int)
    shift_bounds = [*cal.SHIFT_START_HOURS, 24]
    for j, kind in enumerate(scenario.kinds):
        per_server = cal.SERVICE_MINUTES[kind] / 60 / cal.TARGET_UTILISATION[kind]
        for day in range(7):
            for lo, hi in itertools.pairwise(shift_bounds):
                hours = [day * 24 + h for h in range(lo, hi)
                         if scenario.is_open(j, (day * 24 + h) * 60 + 30)]
                if hours:
                    need = math.ceil(float(load[j, hours].mean()) * per_server)
                    servers[j, hours] = max(need, 1)
    return servers


@dataclass(frozen=True)
class Patients:
    """One seed's patients, sorted by departure (minutes from the run start)."""

    depart_minutes: np.ndarray
    origin: np.ndarray
    klass: np.ndarray
    condition: tuple[str, ...]
    uptake_draw: np.ndarray  # a patient asks WaitLess when this is below the uptake
    comply_draw: np.ndarray  # ...and follows the first answer when this is below compliance
    treatment_draw: np.ndarray  # unit-mean exponential: treatment = mean x this


def draw_patients(scenario: Scenario, seed: int, days: int) -> Patients:
    """Non-homogeneous Poisson arrivals (hourly rates) over ``days`` days from ``RUN_START``."""
    rng = np.random.default_rng(seed)
    daily = scenario.origin_daily
    total_daily = float(daily.sum())
    origin_p = daily.sum(axis=1) / total_daily
    times, origins = [], []
    for hour in range(days * 24):
        day, h = divmod(hour, 24)
        weekday = (day + RUN_START_MINUTE_OF_WEEK // 1440) % 7
        rate = total_daily / 24 * cal.HOURLY_FACTOR[h] * cal.WEEKDAY_FACTOR[weekday]
        count = rng.poisson(rate)
        times.append(hour * 60 + rng.random(count) * 60)
        origins.append(rng.choice(len(origin_p), size=count, p=origin_p))
    depart = np.concatenate(times)
    origin = np.concatenate(origins)
    order = np.argsort(depart, kind="stable")
    depart, origin = depart[order], origin[order]
    class_p = daily[origin] / daily[origin].sum(axis=1, keepdims=True)
    u = rng.random(depart.size)
    klass = (u > class_p[:, 0]).astype(int) + (u > class_p[:, 0] + class_p[:, 1])
    names = [c for c, _ in cal.MINOR_CONDITIONS]
    weights = np.array([w for _, w in cal.MINOR_CONDITIONS])
    picks = rng.choice(len(names), size=depart.size, p=weights / weights.sum())
    condition = tuple(cal.MAJOR_CONDITION if k == MAJOR else names[p]
                      for k, p in zip(klass.tolist(), picks.tolist(), strict=True))
    return Patients(depart, origin, klass, condition, rng.random(depart.size),
                    rng.random(depart.size), rng.exponential(1.0, depart.size))
