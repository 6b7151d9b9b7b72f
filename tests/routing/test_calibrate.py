import numpy as np
import pytest

from routing.calibrate import best_scale, errors, fit


def _samples(rng, n, circuity, speeds_kph, bands_m, noise):
    straight = rng.uniform(400, 25_000, n)
    road = straight * circuity * rng.lognormal(0, noise, n)
    speed = np.asarray(speeds_kph)[np.searchsorted(bands_m, straight)] / 3.6
    return {"straight_m": straight, "road_m": road, "seconds": road / speed}


def test_best_scale_minimises_median_error():
    ratio = np.array([0.5, 0.5, 0.5, 2.0, 2.0])
    assert best_scale(ratio) == pytest.approx(2.0, rel=1e-2)


def test_fit_recovers_known_circuity_and_speeds():
    rng = np.random.default_rng(3)
    bands = [2_000.0, 10_000.0, 30_000.0, float("inf")]
    samples = _samples(rng, 20_000, 1.4, [30, 50, 80, 100], bands, noise=0.05)
    circuity, speeds = fit(samples, bands, [1, 2, 3, 99.0])
    assert circuity == pytest.approx(1.4, rel=0.01)
    assert speeds[:3] == pytest.approx([30, 50, 80], rel=0.02)
    assert speeds[3] == 99.0  # no pairs in that band: previous value kept
    err = errors(samples, circuity, bands, speeds)
    assert err["median_pct"] < 4 and err["pairs"] == 20_000
    assert errors(samples, 1.0, bands, speeds)["median_pct"] > 25
