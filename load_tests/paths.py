"""Print the ranking scenario's request paths, one a line (for wrk and other tools)."""

from __future__ import annotations

import argparse

from load_tests.scenario import rank_paths
from waitless.domain.region import load_region


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--region", default=None)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("\n".join(rank_paths(load_region(args.region), args.count, seed=args.seed)))


if __name__ == "__main__":
    main()
