"""The discrete-event core: an event calendar and first-come-first-served multi-server queues.

Our own small engine rather than SimPy: the model needs only timed callbacks and FIFO queues
whose number of servers changes with the hour, which is a few dozen lines here, runs several
times faster than SimPy's generator processes for ~20,000 patients per simulated week, and adds
no dependency. Time is in minutes from the start of the run.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


class Calendar:
    """Timed callbacks run in time order (ties in scheduling order, so runs are repeatable)."""

    def __init__(self) -> None:
        self.now_minutes = 0.0
        self._heap: list[tuple[float, int, Callable[..., None], tuple]] = []
        self._seq = 0

    def at(self, when_minutes: float, action: Callable[..., None], *args: object) -> None:
        """Run ``action(*args)`` at ``when_minutes`` (not before now)."""
        self._seq += 1
        heapq.heappush(self._heap, (max(when_minutes, self.now_minutes), self._seq, action,
                                    args))

    def run(self, until_minutes: float = float("inf")) -> None:
        """Run events in order until none are left or the next is after ``until_minutes``."""
        heap = self._heap
        while heap and heap[0][0] <= until_minutes:
            when, _, action, args = heapq.heappop(heap)
            self.now_minutes = when
            action(*args)


@dataclass
class ServiceQueue:
    """One site service: patients wait in one FIFO line for the first free server.

    Attributes
    ----------
    key
        ``site_id/service``.
    service_minutes
        Mean treatment time per patient, in minutes (a patient's draw scales it).
    servers_by_hour
        Servers on duty in each hour of the week (168 values, Monday 00:00 first); 0 means
        closed. When a service closes, its staff finish the patients already waiting.
    """

    key: str
    service_minutes: float
    servers_by_hour: Sequence[int]
    servers: int = 0
    target: int = 0
    busy: int = 0
    line: deque = field(default_factory=deque)
    arrivals: int = 0
    on_start: Callable[[int, float], None] | None = None  # (patient, wait_minutes)
    treatment_draws: Sequence[float] = ()

    def set_servers(self, calendar: Calendar, count: int) -> None:
        """Change the servers on duty; a closing service keeps its staff while people wait."""
        self.target = count
        if count > 0 or not self.line:
            self.servers = count
        self._start_waiting(calendar)

    def arrive(self, calendar: Calendar, patient: int) -> None:
        """Patient ``patient`` joins the line now."""
        self.arrivals += 1
        self.line.append((patient, calendar.now_minutes))
        self._start_waiting(calendar)

    def _start_waiting(self, calendar: Calendar) -> None:
        while self.line and self.busy < self.servers:
            patient, arrived = self.line.popleft()
            self.busy += 1
            if self.on_start is not None:
                self.on_start(patient, calendar.now_minutes - arrived)
            calendar.at(calendar.now_minutes
                        + self.service_minutes * self.treatment_draws[patient], self._finish,
                        calendar)

    def _finish(self, calendar: Calendar) -> None:
        self.busy -= 1
        if self.target == 0 and not self.line:
            self.servers = 0
        self._start_waiting(calendar)

    def queue_wait_minutes(self) -> float:
        """The wait a patient joining now can expect: line length x mean service / servers."""
        servers = self.servers or self.target
        if not servers:
            return 0.0
        return len(self.line) * self.service_minutes / servers


def schedule_staffing(calendar: Calendar, queues: Sequence[ServiceQueue], start_hour_of_week: int,
                      hours: int) -> None:
    """Set every queue's servers at the start of each hour for ``hours`` hours."""
    for h in range(hours + 1):
        how = (start_hour_of_week + h) % 168
        for q in queues:
            calendar.at(h * 60.0, _set, q, calendar, how)


def _set(queue: ServiceQueue, calendar: Calendar, hour_of_week: int) -> None:
    queue.set_servers(calendar, queue.servers_by_hour[hour_of_week])
