"""The one normalised shape every feed adapter produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

ServiceKind = Literal["ed", "utc", "miu"]
SERVICE_KINDS: tuple[str, ...] = ("ed", "utc", "miu")

SiteStatus = Literal["open", "closed", "unknown"]
SITE_STATUSES: tuple[str, ...] = ("open", "closed", "unknown")

# What a published number means. Hong Kong's old "longest wait" was read as everyone's wait,
# so the meaning travels with the number all the way to the patient.
WaitKind = Literal["estimate", "median", "p95", "longest", "lower_bound", "upper_bound"]
WAIT_KINDS: tuple[str, ...] = (
    "estimate", "median", "p95", "longest", "lower_bound", "upper_bound",
)


@dataclass(frozen=True, slots=True)
class Observation:
    """One site service's waiting time as a feed reported it.

    Attributes
    ----------
    site_id
        The region's site id (ODS code for Kent & Medway).
    service
        ``"ed"``, ``"utc"`` or ``"miu"``; ``None`` means the site's main service.
    wait_minutes
        Reported wait in minutes, ``None`` when the feed published no figure.
    observed_at
        When the source says the figure was true (timezone-aware, UTC).
    status
        ``"open"``, ``"closed"`` or ``"unknown"``.
    wait_kind
        What the number means (estimate, median, p95, longest, lower/upper bound).
    patients_waiting
        Number of patients waiting, where published.
    feed
        Name of the feed that produced it.
    timestamp_from_source
        False when the source had no timestamp and the fetch time was used instead.
    wait_p95_minutes
        The wait most (95%) patients are seen within, where the source publishes it next
        to a median (Hong Kong); ``None`` otherwise.
    """

    site_id: str
    service: str | None
    wait_minutes: float | None
    observed_at: datetime
    status: str = "open"
    wait_kind: str = "estimate"
    patients_waiting: int | None = None
    feed: str = ""
    timestamp_from_source: bool = True
    wait_p95_minutes: float | None = None

    def key(self) -> str:
        """Live-store key: ``site_id/service``."""
        return f"{self.site_id}/{self.service or ''}"

    def with_service(self, service: str) -> Observation:
        return replace(self, service=service)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["observed_at"] = self.observed_at.astimezone(UTC).isoformat()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        fields = dict(data)
        fields["observed_at"] = datetime.fromisoformat(fields["observed_at"])
        return cls(**fields)
