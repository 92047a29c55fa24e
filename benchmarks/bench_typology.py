"""Time the typology table: a first build into an empty cache, then a cached lookup.

    python benchmarks/bench_typology.py                      # fin hun eng tur jpn swh, all seven distances
    python benchmarks/bench_typology.py --langs fin eng --kinds syntactic genetic

The first build constructs URIEL+ (about 2 s) and, for the morphological distance,
integrates Grambank (about 50 s); the lookup afterwards only reads the cache.  Floors
(typology issue): the build under 2 minutes, the lookup under 1 s.  ``--quick``: two
languages and the two cheapest distances.
"""

from __future__ import annotations

import tempfile
import time

from benchlib import parser, row, write

from xltkit.typology import DISTANCES, distance_table


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def main() -> None:
    ap = parser(__doc__, repeats=1)
    ap.add_argument("--langs", nargs="+", default=["fin", "hun", "eng", "tur", "jpn", "swh"])
    ap.add_argument("--kinds", nargs="+", default=list(DISTANCES))
    args = ap.parse_args()
    if args.quick:
        args.langs, args.kinds = ["fin", "eng"], ["syntactic", "genetic"]
    with tempfile.TemporaryDirectory() as cache:
        table, first = timed(lambda: distance_table(args.langs, kinds=args.kinds, cache_dir=cache))
        _, cached = timed(lambda: distance_table(args.langs, kinds=args.kinds, cache_dir=cache))
    print(table.drop(columns="missing").to_string(index=False))
    print(f"\n{len(table)} pairs x {len(args.kinds)} distances")
    print(f"first build   {first:8.2f} s")
    print(f"cached lookup {cached:8.3f} s")
    print(f"ratio         {first / cached:8.0f} x")
    what = f"{len(table)} pairs x {len(args.kinds)} distances"
    write(args, "bench_typology", [
        row(f"first build into an empty cache ({what})", "cached lookup", first / cached, floor=120.0, better="lower",
            floor_on="value", unit="s", value=round(first, 2), notes="one build (no repeats)"),
        row("cached lookup", "first build", cached / first, floor=1.0, better="lower", floor_on="value", unit="s",
            value=round(cached, 4))])


if __name__ == "__main__":
    main()
