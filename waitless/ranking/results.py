"""What a ranking answers, as typed values; only the API turns them into JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from waitless.domain.sites import Service, Site
from waitless.ranking.waits import ArrivalWait, WaitEstimate

if TYPE_CHECKING:
    from waitless.ranking.rank import RankRequest

# Why a site was left out, most useful to the patient first (the order picks the reason told
# when several services of one site are unusable).
EXCLUSION_REASONS = {
    "cannot_treat": "does not treat this condition",
    "below_min_age": "does not see patients of this age",
    "closed_at_arrival": "closed when you would arrive",
    "closes_soon_after_arrival": "closes too soon after you would arrive",
    "reported_closed": "reported closed by its feed",
    "unreachable": "no route from your location",
}


@dataclass(frozen=True, slots=True)
class RankedSite:
    """One site the patient can use, with the service chosen and the times that rank it.

    Attributes
    ----------
    travel_minutes
        Travel from the origin, minutes (unrounded).
    arrival
        When the patient would arrive.
    closes_at
        When the chosen service next closes after arrival, or ``None``.
    load_adjustment_minutes
        Minutes added for patients WaitLess has sent here who arrive first (issue #17; 0 when
        load-aware ranking is off). Already included in ``expected`` (p50 and p90), hence in
        :attr:`total_minutes`: reported, never added again.
    """

    site: Site
    service: Service
    wait: WaitEstimate
    expected: ArrivalWait
    travel_minutes: float
    arrival: datetime
    closes_at: datetime | None
    load_adjustment_minutes: float = 0.0

    @property
    def total_minutes(self) -> float:
        """Travel plus the predicted wait at arrival (p50), minutes."""
        return self.travel_minutes + self.expected.p50_minutes

    @property
    def open_24h(self) -> bool:
        # A close more than a day away means round-the-clock: say "24h" rather than a date.
        return self.closes_at is not None and self.closes_at - self.arrival > timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A site left out of the answer, and why (a key of :data:`EXCLUSION_REASONS`)."""

    site: Site
    reason: str

    @property
    def detail(self) -> str:
        return EXCLUSION_REASONS[self.reason]


@dataclass(frozen=True, slots=True)
class Emergency:
    """The answer for a red-flag condition: call 999."""

    condition: str
    message: str
    call: str = "999"


@dataclass(frozen=True, slots=True)
class RankAnswer:
    """A ranking: results by total time, exclusions, or the 999 answer.

    ``omitted_far_sites`` counts sites left out as too far (``None`` on a 999 answer).
    """

    request: RankRequest
    generated_at: datetime
    travel_source: str
    results: tuple[RankedSite, ...]
    excluded: tuple[Exclusion, ...]
    emergency: Emergency | None
    advice: str
    omitted_far_sites: int | None
