"""``waitless graph build`` builds a region's road graphs and travel-time tables;
``waitless graph check`` re-hashes a built cache's files against its ``meta.json``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

from routing import io
from routing.build import build_region
from routing.config import MODES
from routing.errors import GraphCacheError, RoutingError
from routing.filecheck import CACHE_FILES, check_files
from routing.graph import GraphSource
from waitless.domain.errors import RegionError
from waitless.domain.region import REGION_HELP, Region, load_region
from waitless.domain.sites import Site

# The neighbours' sites a region ranks when served with them (waitless.ranking.multiregion,
# which routing may not import: the command line passes it in).
BorderSelection = Callable[[Region, Sequence[Region]], Sequence[Site]]


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        west, south, east, north = (float(x) for x in text.split(","))
    except ValueError as exc:
        msg = f"--bbox wants W,S,E,N in decimal degrees, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from exc
    if not (west < east and south < north):
        msg = f"--bbox {text!r}: need west < east and south < north"
        raise argparse.ArgumentTypeError(msg)
    return west, south, east, north


def register(subparsers: argparse._SubParsersAction, border_sites: BorderSelection) -> None:
    """Add ``graph build`` and ``graph check`` to the ``waitless`` command line.

    Parameters
    ----------
    subparsers
        The ``waitless`` command line's sub-commands.
    border_sites
        Chooses the neighbours' sites of ``graph build --neighbour`` exactly as a server
        serving the regions together ranks them
        (:func:`waitless.ranking.multiregion.border_sites_for`).
    """
    graph = subparsers.add_parser("graph", help="road graphs and travel-time tables")
    commands = graph.add_subparsers(dest="graph_command", required=True)
    build = commands.add_parser(
        "build", help="build drive and walk travel-time tables for a region's sites",
        description="Exactly one OSM source, or --reuse-graph to recompute tables for "
                    "changed sites from the cached graph without reading OSM.")
    build.add_argument("--region", default=None, help=REGION_HELP)
    build.add_argument("--neighbour", dest="neighbours", action="append", default=[],
                       metavar="REGION",
                       help="a region served with it (name or TOML path; repeat for each): "
                            "its sites within the region's [coverage] border_km get table "
                            "columns too, after the region's own; the OSM source must reach "
                            "them")
    source = build.add_mutually_exclusive_group()
    source.add_argument("--osm-file", type=Path,
                        help="offline OSM extract: .osm, .osm.bz2, .osm.pbf or .pbf")
    source.add_argument("--place", action="append",
                        help="place name to download (repeat for a union), e.g. 'Kent, England'")
    source.add_argument("--bbox", type=_bbox, help="W,S,E,N in decimal degrees to download")
    build.add_argument("--reuse-graph", action="store_true",
                       help="reuse the cached graph; only recompute the site tables")
    build.add_argument("--cache-dir", type=Path,
                       default=None,
                       help="cache root (default graph_cache/ or env WAITLESS_GRAPH_CACHE)")
    build.add_argument("--mode", choices=[*MODES, "all"], default="all",
                       help="which network(s) to build (default both)")
    build.set_defaults(func=partial(build_command, border_sites=border_sites))
    check = commands.add_parser(
        "check", help="re-hash a region's cache files against meta.json (after a copy)",
        description="Reads every file of the cache and compares its size and SHA-256 with "
                    "those the build recorded in meta.json; run it after copying or restoring "
                    "a cache. Exit status: 0 all match, 1 a file differs or is missing (or the "
                    "cache records no digests) in any mode checked, else 2 when a mode has no "
                    "cache or on a usage error.")
    check.add_argument("--region", default=None, help=REGION_HELP)
    check.add_argument("--cache-dir", type=Path, default=None,
                       help="cache root (default graph_cache/ or env WAITLESS_GRAPH_CACHE)")
    check.add_argument("--mode", choices=[*MODES, "all"], default="all",
                       help="which network(s) to check (default both)")
    check.set_defaults(func=check_command)


def build_command(args: argparse.Namespace, border_sites: BorderSelection) -> int:
    """Handler of ``waitless graph build``; returns the exit code.

    With ``--neighbour``, the table's columns are the region's own sites then the
    neighbours' sites ``border_sites`` chooses (see :func:`register`).
    """
    try:
        region = load_region(args.region)
        neighbours = [load_region(name) for name in args.neighbours]
        border = tuple(border_sites(region, neighbours))
        given = args.osm_file or args.place or args.bbox
        source = None
        if given is not None:
            source = GraphSource(osm_file=args.osm_file,
                                 place=tuple(args.place) if args.place else None, bbox=args.bbox)
        modes = MODES if args.mode == "all" else (args.mode,)
        results = build_region(region, source=source, cache_root=args.cache_dir, modes=modes,
                               reuse_graph=args.reuse_graph, border_sites=border,
                               neighbours=[n.name for n in neighbours])
    except (RoutingError, RegionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for mode, result in results.items():
        meta = result.meta
        print(f"{mode}: {meta['n_nodes']:,} nodes, {meta['n_sites']} sites "
              f"({meta['n_own_sites']} own, {meta['n_sites'] - meta['n_own_sites']} border), "
              f"{meta['unreachable_pairs']} unreachable node-site pairs -> {result.directory}")
    return 0


def _check_mode(directory: Path, mode: str) -> int:
    """Print one line per file of one mode's cache and a summary; returns the exit code."""
    if not any((directory / name).exists() for name in (io.META_FILE, *CACHE_FILES)):
        print(f"error: {mode}: no road-graph cache at {directory}", file=sys.stderr)
        return 2
    try:
        meta = io.read_meta(directory)
    except GraphCacheError as exc:
        print(f"{mode}  {exc}")
        return 1
    if "files" not in meta:
        # Built before the files were recorded: nothing to compare with.
        print(f"{mode}  {directory}: no digests recorded: rebuild to enable checks "
              f"({io.rebuild_hint(directory)})")
        return 1
    checks = check_files(directory, meta["files"])
    for check in checks:
        print(f"{mode}  {check.line()}")
    differ = sum(not check.ok for check in checks)
    if differ:
        print(f"{mode}  {differ} of {len(checks)} files differ from {directory / io.META_FILE}; "
              f"copy the cache again or {io.rebuild_hint(directory)}")
        return 1
    print(f"{mode}  all {len(checks)} files match {directory / io.META_FILE}")
    return 0


def check_command(args: argparse.Namespace) -> int:
    """Handler of ``waitless graph check``; returns the exit code (0 ok, 1 differ, 2 no cache)."""
    try:
        region = load_region(args.region)
    except RegionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    modes = MODES if args.mode == "all" else (args.mode,)
    cache_root = args.cache_dir or io.DEFAULT_CACHE_ROOT
    codes = {_check_mode(io.mode_dir(cache_root, region.name, mode), mode) for mode in modes}
    # A file that differs outranks a mode never built: a region without a walk cache must not
    # hide a damaged drive cache behind exit 2.
    return 1 if 1 in codes else max(codes)
