"""The queue model against queueing theory, and repeatability."""

from __future__ import annotations

import math

import numpy as np

from waitless.simulate.queue import Calendar, ServiceQueue


def erlang_c_mean_wait_minutes(arrivals_per_minute: float, service_minutes: float,
                               servers: int) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C), in minutes."""
    offered = arrivals_per_minute * service_minutes  # erlangs
    rho = offered / servers
    below = sum(offered ** k / math.factorial(k) for k in range(servers))
    top = offered ** servers / math.factorial(servers) / (1 - rho)
    p_wait = top / (below + top)
    return p_wait * service_minutes / (servers * (1 - rho))


def simulate_stationary(seed: int, *, servers: int, arrivals_per_minute: float,
                        service_minutes: float, patients: int) -> np.ndarray:
    """Waits in minutes of ``patients`` Poisson arrivals at one site with constant staff."""
    rng = np.random.default_rng(seed)
    arrive = np.cumsum(rng.exponential(1 / arrivals_per_minute, patients))
    draws = rng.exponential(1.0, patients)
    waits = np.full(patients, np.nan)
    calendar = Calendar()

    def record(patient: int, wait_minutes: float) -> None:
        waits[patient] = wait_minutes

    queue = ServiceQueue("S/ed", service_minutes, [servers] * 168, on_start=record,
                         treatment_draws=draws)
    queue.set_servers(calendar, servers)
    for i, t in enumerate(arrive.tolist()):
        calendar.at(t, queue.arrive, calendar, i)
    calendar.run()
    return waits


def test_stationary_site_matches_erlang_c_within_5_percent():
    servers, service_minutes = 5, 30.0
    arrivals_per_minute = 0.85 * servers / service_minutes  # 85% utilisation
    expected = erlang_c_mean_wait_minutes(arrivals_per_minute, service_minutes, servers)
    waits = simulate_stationary(11, servers=servers, arrivals_per_minute=arrivals_per_minute,
                                service_minutes=service_minutes, patients=300_000)
    assert not np.isnan(waits).any()  # everyone was treated
    warm = waits[5_000:]  # drop the start from an empty queue
    assert abs(warm.mean() - expected) / expected < 0.05, (warm.mean(), expected)


def test_single_server_matches_m_m_1():
    # M/M/1: Wq = rho / (mu - lambda); Erlang C with c=1 must agree (checks the formula too).
    lam, s = 0.5 / 10.0, 10.0
    assert math.isclose(erlang_c_mean_wait_minutes(lam, s, 1), 0.5 / (0.1 - 0.05))
    waits = simulate_stationary(5, servers=1, arrivals_per_minute=lam, service_minutes=s,
                                patients=200_000)
    assert abs(waits[2_000:].mean() - 10.0) / 10.0 < 0.05


def test_same_seed_same_waits_other_seed_other_waits():
    kwargs = {"servers": 3, "arrivals_per_minute": 0.08, "service_minutes": 30.0,
              "patients": 5_000}
    first = simulate_stationary(7, **kwargs)
    assert np.array_equal(first, simulate_stationary(7, **kwargs))
    assert not np.array_equal(first, simulate_stationary(8, **kwargs))


def test_closing_service_finishes_its_line_then_stops():
    calendar = Calendar()
    started: dict[int, float] = {}
    queue = ServiceQueue("S/utc", 10.0, [1] * 168, on_start=lambda p, w: started.update({p: w}),
                         treatment_draws=[1.0, 1.0, 1.0])
    queue.set_servers(calendar, 1)
    for patient in range(2):
        calendar.at(0.0, queue.arrive, calendar, patient)
    calendar.at(5.0, queue.set_servers, calendar, 0)  # closes with patient 1 still waiting
    calendar.at(30.0, queue.arrive, calendar, 2)  # arrives after closing: waits for opening
    calendar.at(100.0, queue.set_servers, calendar, 1)
    calendar.run()
    assert started == {0: 0.0, 1: 10.0, 2: 70.0}
