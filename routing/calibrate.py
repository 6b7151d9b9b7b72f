"""Calibrate the straight-line estimate against road-graph times.

Run ``python -m routing.calibrate --osm-file A.osm.pbf [--osm-file B.osm.pbf ...]``. For random
origin nodes and random target nodes of each drive (and walk) graph it compares the estimate
with the routed time, fits the circuity (median road distance / straight-line distance) and
one speed per distance band, and prints the fitted constants and the estimate's error.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import networkx as nx
import numpy as np
from scipy.sparse.csgraph import dijkstra

from routing import estimate
from routing.distance import haversine_m
from routing.graph import GraphSource, raw_graph, routable_graph
from routing.table import csr_from_edges

# Pairs closer than this are dominated by snapping, not by the road network.
MIN_PAIR_M = 300.0


def pair_samples(G: nx.MultiDiGraph, *, n_origins: int = 400, n_targets: int = 40,
                 seed: int = 0) -> dict[str, np.ndarray]:
    """Straight-line meters, shortest road meters and fastest seconds for random node pairs."""
    rng = np.random.default_rng(seed)
    nodes = list(G.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    lat = np.array([G.nodes[n]["y"] for n in nodes])
    lon = np.array([G.nodes[n]["x"] for n in nodes])
    u, v, length_m, seconds = (np.array(c) for c in zip(
        *((index[a], index[b], d["length"], d["travel_time"])
          for a, b, d in G.edges(data=True)), strict=True))
    targets = rng.choice(len(nodes), size=min(n_targets, len(nodes)), replace=False)
    origins = rng.choice(len(nodes), size=min(n_origins, len(nodes)), replace=False)
    rev_time = csr_from_edges(v, u, seconds, len(nodes))
    rev_length = csr_from_edges(v, u, length_m, len(nodes))
    time_s = dijkstra(rev_time, indices=targets)[:, origins]
    road_m = dijkstra(rev_length, indices=targets)[:, origins]
    straight = np.array([haversine_m(lat[t], lon[t], lat[origins], lon[origins])
                         for t in targets])
    keep = (straight > MIN_PAIR_M) & np.isfinite(time_s)
    return {"straight_m": straight[keep], "road_m": road_m[keep], "seconds": time_s[keep]}


def best_scale(ratio: np.ndarray) -> float:
    """The factor k minimising the median of ``|k * ratio - 1|`` (median absolute % error)."""
    # The objective is piecewise linear and not convex in general; a fine grid is robust.
    grid = np.median(1 / ratio) * np.linspace(0.5, 1.5, 1001)
    objective = [np.median(np.abs(k * ratio - 1)) for k in grid]
    return float(grid[int(np.argmin(objective))])


def fit(samples: dict[str, np.ndarray], bands_m: Sequence[float],
        previous_kph: Sequence[float], *, min_samples: int = 30) -> tuple[float, list[float]]:
    """Drive circuity (median road / straight distance) and per-band speeds in km per hour.

    Each band's speed minimises the estimate's median absolute percentage error there; a
    band with fewer than ``min_samples`` pairs keeps its previous speed.
    """
    straight, seconds = samples["straight_m"], samples["seconds"]
    circuity = float(np.median(samples["road_m"] / straight))
    band = np.searchsorted(np.asarray(bands_m), straight)
    speeds = []
    for i, old in enumerate(previous_kph):
        inside = band == i
        if inside.sum() < min_samples:
            speeds.append(float(old))
            continue
        # estimate / routed = (straight * circuity / seconds) / speed: scale by 1 / speed.
        ratio_mps = straight[inside] * circuity / seconds[inside]
        speeds.append(3.6 / best_scale(ratio_mps))
    return circuity, speeds


def errors(samples: dict[str, np.ndarray], circuity: float, bands_m: Sequence[float],
           speeds_kph: Sequence[float]) -> dict[str, float]:
    """Median and 90th percentile absolute percentage error of the estimate, and the count."""
    straight = samples["straight_m"]
    speed_mps = np.asarray(speeds_kph)[np.searchsorted(np.asarray(bands_m), straight)] / 3.6
    pct = 100 * np.abs(straight * circuity / speed_mps - samples["seconds"]) / samples["seconds"]
    return {"median_pct": float(np.median(pct)), "p90_pct": float(np.percentile(pct, 90)),
            "pairs": len(pct)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm-file", type=Path, action="append", required=True)
    parser.add_argument("--origins", type=int, default=400)
    parser.add_argument("--targets", type=int, default=40)
    args = parser.parse_args(argv)
    from waitless.domain.region import DEFAULT_REGION, load_region

    settings = load_region(DEFAULT_REGION).graph
    bands_m = [b for b, _ in estimate.DRIVE_SPEED_BANDS_KPH]
    for mode in ("drive", "walk"):
        parts = []
        for path in args.osm_file:
            G, _ = routable_graph(raw_graph(GraphSource(osm_file=path), mode, print), mode,
                                  settings, print)
            parts.append(pair_samples(G, n_origins=args.origins, n_targets=args.targets))
        samples = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        if mode == "drive":
            old_c, old_speeds = estimate.DRIVE_CIRCUITY, [s for _, s in
                                                          estimate.DRIVE_SPEED_BANDS_KPH]
            circuity, speeds = fit(samples, bands_m, old_speeds)
            counts = np.bincount(np.searchsorted(bands_m, samples["straight_m"]),
                                 minlength=len(bands_m))
            print(f"drive pairs per band: {counts.tolist()}")
        else:
            old_c, old_speeds = estimate.WALK_CIRCUITY, [estimate.WALK_SPEED_KPH]
            circuity = best_scale(samples["straight_m"] / samples["road_m"])
            speeds, bands_m_mode = old_speeds, [float("inf")]
        bands = bands_m if mode == "drive" else bands_m_mode
        print(f"{mode} before: circuity {old_c:.3f} speeds {old_speeds} "
              f"errors {errors(samples, old_c, bands, old_speeds)}")
        print(f"{mode} fitted: circuity {circuity:.3f} speeds {[round(s, 1) for s in speeds]} "
              f"errors {errors(samples, circuity, bands, speeds)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
