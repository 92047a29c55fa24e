"""Time the typology table: a first build into an empty cache, then a cached lookup.

    python benchmarks/bench_typology.py                      # fin hun eng tur jpn swh, all seven distances
    python benchmarks/bench_typology.py --langs fin eng --kinds syntactic genetic

The first build constructs URIEL+ (about 2 s) and, for the morphological distance,
integrates Grambank (about 50 s); the lookup afterwards only reads the cache.
"""

from __future__ import annotations

import argparse
import tempfile
import time

from xltkit.typology import DISTANCES, distance_table


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--langs", nargs="+", default=["fin", "hun", "eng", "tur", "jpn", "swh"])
    ap.add_argument("--kinds", nargs="+", default=list(DISTANCES))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        table, first = timed(lambda: distance_table(args.langs, kinds=args.kinds, cache_dir=cache))
        _, cached = timed(lambda: distance_table(args.langs, kinds=args.kinds, cache_dir=cache))
    print(table.drop(columns="missing").to_string(index=False))
    print(f"\n{len(table)} pairs x {len(args.kinds)} distances")
    print(f"first build   {first:8.2f} s")
    print(f"cached lookup {cached:8.3f} s")
    print(f"ratio         {first / cached:8.0f} x")


if __name__ == "__main__":
    main()
