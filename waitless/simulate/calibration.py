"""Where the demand model's numbers come from (see ``docs/herding.md``, "Calibration").

Facts carried from ``shared/``: daily arrival shape from ``reference/field-notes.md``; monthly
attendances from NHS England "A&E Attendances and Emergency Admissions", September 2025,
provider level (``data/nhse-ae-monthly/September-2025-Csv-7hjr2.csv``, Open Government Licence
v3); postcode district centroids from the region's gazetteer. Everything else here is a
modelling assumption and is named as one.
"""

from __future__ import annotations

# NHS England A&E attendances, September 2025 (30 days): (type 1, other A&E department) per
# reporting organisation. GP-run units report under their own codes.
ATTENDANCES_SEP_2025: dict[str, tuple[int, int]] = {
    "RN7": (11172, 3811),   # Dartford and Gravesham NHS Trust
    "RPA": (9817, 5974),    # Medway NHS FT
    "RVV": (12369, 12759),  # East Kent Hospitals University NHS FT
    "RWF": (19916, 2105),   # Maidstone and Tunbridge Wells NHS Trust
    "RYY": (0, 6480),       # Kent Community Health NHS FT
    "ACH01": (0, 4919),     # Whitstable Medical Practice
    "AQM01": (0, 2934),     # Faversham Medical Practice MIU
    "DJV01": (0, 2454),     # Herne Bay Health Care
}
ATTENDANCE_DAYS = 30

# Which organisation's figures each region site reports under (from the region file's
# operator notes); a trust's figure is split equally among its sites of the same type.
REPORTING_ORG: dict[str, str] = {
    "RVV01": "RVV", "RVV09": "RVV", "RVVKC": "RVV", "RVV02": "RVV", "RVV03": "RVV",
    "RYYCH": "RYY", "RYYC7": "RYY", "RYYC8": "RYY", "RYYD9": "RYY",
    "RYYC3": "DJV01", "ACH01": "ACH01", "AQM01": "AQM01",
    "NDAH9": "RN7", "RN707": "RN7", "RPA02": "RPA", "RWF03": "RWF", "RWFTW": "RWF",
}

# Arrivals by local hour relative to the daily mean (field notes: peak 10:00-12:00, second
# peak ~18:00, trough 03:00-05:00 at ~0.3x the mean, ~60% of arrivals 09:00-18:00).
_HOURLY_RAW = (0.5, 0.42, 0.36, 0.31, 0.3, 0.32, 0.42, 0.65, 1.05, 1.55, 1.8, 1.85,
               1.8, 1.75, 1.7, 1.65, 1.6, 1.6, 1.55, 1.3, 1.1, 0.9, 0.75, 0.6)
HOURLY_FACTOR = tuple(x * 24 / sum(_HOURLY_RAW) for x in _HOURLY_RAW)
# Monday ~16% of the week's arrivals (field notes); weekends a little quieter.
_WEEKDAY_RAW = (1.12, 0.99, 0.97, 0.97, 0.98, 0.97, 1.0)
WEEKDAY_FACTOR = tuple(x * 7 / sum(_WEEKDAY_RAW) for x in _WEEKDAY_RAW)

# ASSUMPTION: share of type 1 (ED) attendances that need an ED; the rest are minor conditions
# a UTC or MIU could treat but whose patients habitually go to A&E.
MAJOR_SHARE_OF_TYPE1 = 0.7
# ASSUMPTION: the minor conditions patients bring, with weights (capabilities differ: an MIU
# does not treat minor illness or possible fractures).
MINOR_CONDITIONS: tuple[tuple[str, float], ...] = (
    ("sprain_strain", 0.25), ("cut_wound", 0.2), ("minor_illness", 0.25),
    ("possible_fracture", 0.15), ("minor_head_injury", 0.15),
)
MAJOR_CONDITION = "major_injury"

# ASSUMPTION: mean treatment (server) time per patient in minutes, and the utilisation each
# shift is staffed for (capacity = mean demand over the shift / utilisation, rounded up):
# staff follow the hour in 8-hour shifts, so peaks inside a shift build queues.
SERVICE_MINUTES = {"ed": 60.0, "utc": 30.0, "miu": 30.0}
TARGET_UTILISATION = {"ed": 0.93, "utc": 0.9, "miu": 0.9}
SHIFT_START_HOURS = (0, 8, 16)

# Feeds publish every interval with a lag (minutes); the historical estimator averages the
# waits of the patients treated over this window (Dong et al.'s moving-average estimator).
PUBLISH_INTERVAL_MINUTES = 15.0
PUBLISH_LAG_MINUTES = 5.0
HISTORICAL_WINDOW_MINUTES = 240.0


def daily_volumes(site_ids: list[str], site_kinds: dict[str, tuple[str, ...]]
                  ) -> dict[str, float]:
    """Mean daily attendances per ``site_id/service`` from the NHS England figures.

    Parameters
    ----------
    site_ids
        The region's sites.
    site_kinds
        Per site, its service kinds.

    Returns
    -------
    volumes
        Attendances per day: a reporting organisation's type 1 figure split equally among its
        EDs, its "other" figure among its UTC and MIU services.
    """
    eds: dict[str, list[str]] = {}
    minors: dict[str, list[str]] = {}
    for site_id in site_ids:
        org = REPORTING_ORG.get(site_id)
        if org is None:
            continue
        for kind in site_kinds[site_id]:
            (eds if kind == "ed" else minors).setdefault(org, []).append(f"{site_id}/{kind}")
    volumes: dict[str, float] = {}
    for org, (type1, other) in ATTENDANCES_SEP_2025.items():
        for keys, total in ((eds.get(org, []), type1), (minors.get(org, []), other)):
            for key in keys:
                volumes[key] = total / ATTENDANCE_DAYS / len(keys)
    return volumes
