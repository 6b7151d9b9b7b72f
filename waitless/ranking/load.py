"""Load-aware ranking: the wait added by patients WaitLess has sent and who have not arrived.

A published wait describes the queue when it was observed. Patients WaitLess sends to a service
after that instant, who will arrive there before the patient now being ranked, are not in it:
each of them (if they follow the answer) joins the queue ahead of this patient. So
(see ``docs/herding.md``)::

    load_adjustment_minutes = follow_rate x pending x minutes_per_patient

where ``pending`` counts answers naming the service first whose expected arrival lies in
``(observed_at, arrival]`` of this patient, ``follow_rate`` is the share of answers whose first
result is followed (observed from recorded choices, :func:`estimate_follow_rate`; the region
setting until enough choices are recorded) and
``minutes_per_patient`` is how much one more patient in the queue adds to the wait: the
published wait divided by the published queue length where both exist, else the region's
default for the service kind. Capped at ``max_adjustment_minutes``.

Nothing here does I/O: :class:`SentTracker` keeps counts in memory with an injected clock;
:mod:`waitless.api.load_sync` shares them between workers off the request path. The
settings are the region's ``[load_aware]`` table
(:class:`~waitless.domain.load_aware_settings.LoadAwareSettings`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

from waitless.domain.load_aware_settings import LoadAwareSettings
from waitless.domain.observation import Observation
from waitless.domain.region import Region

BUCKET_SECONDS = 60  # arrivals are counted per minute of expected arrival


class Sent(NamedTuple):
    """One answer counted as a patient on their way: the service and the minute of arrival.

    Attributes
    ----------
    key
        ``site_id/service`` named first.
    minute
        Expected arrival, epoch minutes (epoch seconds // ``BUCKET_SECONDS``).
    """

    key: str
    minute: int


@dataclass(frozen=True, slots=True)
class FollowRate:
    """The follow rate in use and what it rests on.

    Attributes
    ----------
    rate
        Share (0-1) of answers whose first result is followed.
    source
        ``"observed"`` (from recorded choices) or ``"prior"`` (the region's ``follow_rate``).
    answers, choices, followed
        In the window: ranked answers, those with a recorded choice, and those whose
        recorded choice was their first result (0 when nothing was counted).
    """

    rate: float
    source: str
    answers: int = 0
    choices: int = 0
    followed: int = 0


def prior_follow_rate(settings: LoadAwareSettings) -> FollowRate:
    """The region's ``follow_rate`` setting, before anything is observed."""
    return FollowRate(settings.follow_rate, "prior")


def estimate_follow_rate(answers: int, choices: int, followed: int,
                         settings: LoadAwareSettings) -> FollowRate:
    """The observed follow rate from the window's counts (``docs/herding.md``).

    Per ranked answer, the share whose first result the patient confirmed choosing, shrunk
    towards the ``follow_rate`` setting as a Beta prior worth ``follow_prior_answers``
    answers: ``(followed + w x follow_rate) / (answers + w)``. Below ``follow_min_choices``
    recorded choices the setting is used unchanged: too few patients have reported for the
    share to mean anything (a new region, or the button not yet in use).

    Parameters
    ----------
    answers
        Ranked answers (with a first result) in the window.
    choices
        Of those, answers with a recorded choice linked to them.
    followed
        Of those, answers whose (latest) recorded choice was their first result.
    settings
        The region's ``[load_aware]`` table.
    """
    if choices < settings.follow_min_choices:
        return FollowRate(settings.follow_rate, "prior", answers, choices, followed)
    weight = settings.follow_prior_answers
    rate = (followed + weight * settings.follow_rate) / (answers + weight)
    return FollowRate(rate, "observed", answers, choices, followed)


def minutes_per_patient(kind: str, obs: Observation | None,
                        settings: LoadAwareSettings) -> float:
    """Minutes one more queued patient adds: published wait / queue length, else the default.

    The derived figure is kept within a quarter and four times the default, so one odd
    reading (a queue of one with a long wait) cannot make a single patient worth hours.
    """
    default = settings.minutes_per_patient[kind]
    if (obs is None or obs.wait_minutes is None or not obs.patients_waiting
            or obs.wait_minutes <= 0):
        return default
    return min(max(obs.wait_minutes / obs.patients_waiting, default / 4), default * 4)


def extra_wait_minutes(pending_patients: float, follow_rate: float, per_patient_minutes: float,
                       cap_minutes: float) -> float:
    """The load adjustment in minutes: ``follow_rate x pending x per_patient``, capped."""
    return min(max(pending_patients, 0.0) * follow_rate * per_patient_minutes, cap_minutes)


class SentTracker:
    """Patients sent to each service and their expected arrival, counted per minute.

    ``local`` counts are this process's answers; ``peer`` counts are everyone else's as last
    read back from the shared store (:mod:`waitless.api.load_sync`); ``unflushed`` are
    local counts not yet shared.

    Parameters
    ----------
    clock
        Epoch seconds now (injected so tests and the simulation control time).
    horizon_minutes
        Entries whose arrival bucket is older than this are dropped.
    """

    def __init__(self, clock: Callable[[], float], horizon_minutes: float = 240.0) -> None:
        self._clock = clock
        self._horizon_s = horizon_minutes * 60
        self.local: dict[str, dict[int, int]] = {}
        self.peer: dict[str, dict[int, int]] = {}
        self.unflushed: dict[tuple[str, int], int] = {}

    def record(self, key: str, arrival_epoch_s: float) -> Sent:
        """One answer named ``key`` (``site_id/service``) first; the patient would arrive then.

        Returns
        -------
        Sent
            What was counted (for :meth:`forget` when the same patient asks again).
        """
        sent = Sent(key, int(arrival_epoch_s // BUCKET_SECONDS))
        self._add(sent, 1)
        return sent

    def forget(self, sent: Sent) -> None:
        """Take back one count of ``sent``: its patient asked again.

        The count may have been made by another worker: this one's count for the minute then
        goes below 0 until the sync, where the two meet in the shared total. Nothing is taken
        back where no count is seen for the minute (here or read back from peers): the cookie
        naming ``sent`` can be sent again unchanged, and each replay took back one more,
        leaving the minute below 0 to cancel other patients' counts at the site.
        """
        counted = (self.local.get(sent.key, {}).get(sent.minute, 0)
                   + self.peer.get(sent.key, {}).get(sent.minute, 0))
        if counted > 0:
            self._add(sent, -1)

    @contextmanager
    def without(self, sent: Sent | None) -> Iterator[None]:
        """Inside, ``sent`` is taken back (a ranking for its own patient asking again);
        counted again on leaving (``None``: nothing taken back). Nothing here is shared: no
        sync runs while a ranking does."""
        if sent is None:
            yield
            return
        self._add(sent, -1, shared=False)
        try:
            yield
        finally:
            self._add(sent, 1, shared=False)

    def _add(self, sent: Sent, count: int, *, shared: bool = True) -> None:
        per_key = self.local.setdefault(sent.key, {})
        per_key[sent.minute] = per_key.get(sent.minute, 0) + count
        if shared:
            self.unflushed[sent] = self.unflushed.get(sent, 0) + count

    def pending(self, key: str, after_epoch_s: float, until_epoch_s: float) -> int:
        """Patients sent to ``key`` expected to arrive in ``(after, until]`` (minute buckets)."""
        lo = int(after_epoch_s // BUCKET_SECONDS)
        hi = int(until_epoch_s // BUCKET_SECONDS)
        if hi <= lo:
            return 0
        total = 0
        for counts in (self.local.get(key), self.peer.get(key)):
            if counts:
                total += sum(n for b, n in counts.items() if lo < b <= hi)
        return total

    def take_unflushed(self) -> dict[tuple[str, int], int]:
        """Local counts not yet shared (and forget them as unshared); a count made and taken
        back before the sync (a page answer replaced on the same worker) is not sent."""
        taken, self.unflushed = self.unflushed, {}
        return {k: n for k, n in taken.items() if n}

    def keep_unflushed(self, counts: Mapping[tuple[str, int], int]) -> None:
        """Put ``counts`` (taken by :meth:`take_unflushed`) back as unshared: they were not
        shared, and go with the next sync."""
        for k, n in counts.items():
            self.unflushed[k] = self.unflushed.get(k, 0) + n

    def set_peer_totals(self, totals: Mapping[tuple[str, int], int]) -> None:
        """Everyone's shared totals, read back; this process's own shares are subtracted
        (it counts them locally), so nothing is counted twice. A peer's count may be below 0:
        it took back a count this worker made (:meth:`forget`)."""
        peer: dict[str, dict[int, int]] = {}
        for (key, bucket), n in totals.items():
            own = self.local.get(key, {}).get(bucket, 0) - self.unflushed.get((key, bucket), 0)
            if n != own:
                peer.setdefault(key, {})[bucket] = n - own
        self.peer = peer

    def prune(self) -> None:
        """Drop buckets older than the horizon, shared or not (nobody reads them again)."""
        oldest = int((self._clock() - self._horizon_s) // BUCKET_SECONDS)
        for store in (self.local, self.peer):
            for key in list(store):
                kept = {b: n for b, n in store[key].items() if b >= oldest}
                if kept:
                    store[key] = kept
                else:
                    del store[key]
        self.unflushed = {kb: n for kb, n in self.unflushed.items() if kb[1] >= oldest}


@dataclass
class LoadView:
    """What :func:`waitless.ranking.rank.rank` asks: the adjustment for one service at one
    arrival, in minutes.

    ``follow`` starts as the region's setting; whoever observes the rate replaces it (the
    API's background task, :mod:`waitless.api.load_sync`; the simulation, from its patients).
    """

    tracker: SentTracker
    settings: LoadAwareSettings
    follow: FollowRate = field(init=False)

    def __post_init__(self) -> None:
        self.follow = prior_follow_rate(self.settings)

    def adjustment_minutes(self, key: str, kind: str, obs: Observation | None,
                           arrival_epoch_s: float, *, wait_status: str) -> float:
        """Extra minutes for a patient arriving at ``arrival_epoch_s``.

        Parameters
        ----------
        key, kind
            The service (``site_id/service``) and its kind (``ed``, ``utc``, ``miu``).
        obs
            Its reading in the snapshot, or ``None``.
        arrival_epoch_s
            When the patient would arrive, epoch seconds.
        wait_status
            How the ranking used the reading
            (:attr:`~waitless.ranking.waits.WaitEstimate.status`). Only a ``"live"`` one is
            counted from: a stale reading's penalty, or the assumed wait that stands for a
            missing or implausible one, is the ranking's allowance for everything it does not
            know, patients sent since included. Counting from a stale reading's old
            ``observed_at`` took in hours of patients already seen, and an implausible figure
            set the minutes per patient from a number the ranking threw away.

        Returns
        -------
        float
            Minutes, 0 to ``max_adjustment_minutes``.
        """
        if wait_status != "live" or obs is None or obs.wait_minutes is None:
            return 0.0
        pending = self.tracker.pending(key, obs.observed_at.timestamp(), arrival_epoch_s)
        if not pending:
            return 0.0
        return extra_wait_minutes(pending, self.follow.rate,
                                  minutes_per_patient(kind, obs, self.settings),
                                  self.settings.max_adjustment_minutes)


class SiteLoads:
    """The load views of the regions served, each answering for its own sites' services.

    A site's counts, settings and follow rate are its home region's, whichever region's
    answer ranks it or names it first: a border site ranked in a neighbour's extended answer
    carries the same adjustment there as at home, and a patient sent to it by either region
    is one more patient in its one queue (``docs/herding.md``). A site whose home region does
    not enable load-aware ranking has no view: it is neither counted nor adjusted.

    Parameters
    ----------
    views
        Region name to its view, for the regions whose ``[load_aware]`` enables it.
    site_home
        Site id to its home region's name, for every site of those regions.
    """

    def __init__(self, views: Mapping[str, LoadView], site_home: Mapping[str, str]) -> None:
        self.views = dict(views)
        self._by_site = {site_id: self.views[home] for site_id, home in site_home.items()}

    def view_for(self, key: str) -> LoadView | None:
        """The view counting ``key`` (``site_id/service``): its site's home region's."""
        return self._by_site.get(key.rpartition("/")[0])

    def record(self, key: str, arrival_epoch_s: float) -> Sent | None:
        """Count one patient on their way to ``key`` (:meth:`SentTracker.record`) in its
        site's home view; ``None`` when that region does not count."""
        view = self.view_for(key)
        return None if view is None else view.tracker.record(key, arrival_epoch_s)

    def counted(self, sent: Sent | None) -> Sent | None:
        """``sent`` when a view counts its site (so it can be taken back), else ``None``."""
        return sent if sent is not None and self.view_for(sent.key) is not None else None

    def forget(self, sent: Sent) -> None:
        """Take back one count of ``sent`` (:meth:`SentTracker.forget`), where it was counted."""
        view = self.view_for(sent.key)
        if view is not None:
            view.tracker.forget(sent)

    @contextmanager
    def without(self, sent: Sent | None) -> Iterator[None]:
        """:meth:`SentTracker.without` in the view counting ``sent``'s site."""
        view = None if sent is None else self.view_for(sent.key)
        if view is None:
            yield
            return
        with view.tracker.without(sent):
            yield

    def adjustment_minutes(self, key: str, kind: str, obs: Observation | None,
                           arrival_epoch_s: float, *, wait_status: str) -> float:
        """:meth:`LoadView.adjustment_minutes` from the site's home view, in minutes (0 where
        its region does not count)."""
        view = self.view_for(key)
        if view is None:
            return 0.0
        return view.adjustment_minutes(key, kind, obs, arrival_epoch_s, wait_status=wait_status)


def site_loads(regions: Iterable[Region], clock: Callable[[], float]) -> SiteLoads | None:
    """A load view for each of ``regions`` whose ``[load_aware]`` table enables it, each over
    its own sites; ``None`` when none does.

    Parameters
    ----------
    regions
        The regions served, as their files list them (own sites only, no border sites).
    clock
        Epoch seconds now.
    """
    enabled = [region for region in regions if region.load_aware.enabled]
    if not enabled:
        return None
    views = {region.name: LoadView(SentTracker(clock, region.load_aware.horizon_minutes),
                                   region.load_aware) for region in enabled}
    return SiteLoads(views, {site.id: region.name for region in enabled
                             for site in region.sites})
