"""What every benchmark script shares: the ``--json PATH`` / ``--quick`` / ``--repeats`` flags,
ratio rows (median, min and max over interleaved repeats) and the JSON that
``benchmarks/run_all.py`` reads.

The JSON of a script::

    {"benchmark": "bench_x", "rows": [{"name": ..., "baseline": ..., "ratio_median": x, "ratio_min": x,
      "ratio_max": x, "floor": number or null, "better": "higher" | "lower", "floor_on": "ratio" | "value",
      "unit": ..., "value": ..., "notes": ...}]}

``better`` says which way a ratio (or value) passes its floor: ``higher`` means at least the
floor, ``lower`` at most.  ``floor_on: value`` puts the floor on the absolute value (e.g. "a
fit under 30 s") instead of the ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path


def parser(doc: str | None, repeats: int = 3) -> argparse.ArgumentParser:
    """An argument parser with the flags every benchmark takes."""
    ap = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", metavar="PATH", default=None, help="write the rows to PATH (run_all.py reads it)")
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of seconds")
    ap.add_argument("--repeats", type=int, default=repeats, help="interleaved repeats (quick: 2 at most)")
    return ap


def repeats(args) -> int:
    return min(args.repeats, 2) if args.quick else args.repeats


def row(name: str, baseline: str, ratios, *, floor: float | None = None, better: str = "higher",
        floor_on: str = "ratio", unit: str = "", value=None, notes: str = "") -> dict:
    """One compared thing: its ratios against the baseline over repeats (a number or a list)."""
    rs = [float(r) for r in (ratios if isinstance(ratios, (list, tuple)) else [ratios])]
    if better not in ("higher", "lower") or floor_on not in ("ratio", "value"):
        raise ValueError(f"better={better!r} / floor_on={floor_on!r}")
    return {"name": name, "baseline": baseline, "ratio_median": statistics.median(rs), "ratio_min": min(rs),
            "ratio_max": max(rs), "floor": floor, "better": better, "floor_on": floor_on, "unit": unit,
            "value": value, "notes": notes}


def passes(r: dict) -> bool | None:
    """Whether a row meets its floor (None: it has none)."""
    if r.get("floor") is None:
        return None
    x = r["value"] if r.get("floor_on") == "value" else r["ratio_median"]
    if not isinstance(x, (int, float)):
        return False
    return x >= r["floor"] if r.get("better", "higher") == "higher" else x <= r["floor"]


def write(args, benchmark: str, rows: list[dict], **extra) -> None:
    """Print the rows and write them to ``--json`` where given."""
    for r in rows:
        ok = passes(r)
        verdict = "" if ok is None else f"; floor {r['floor']} ({r['floor_on']}): {'ok' if ok else 'MISSED'}"
        print(f"{r['name']} vs {r['baseline']}: {r['ratio_median']:.3g}x [{r['ratio_min']:.3g}-{r['ratio_max']:.3g}]"
              f"; {r['value']} {r['unit']}{verdict}" + (f"; {r['notes']}" if r["notes"] else ""), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"benchmark": benchmark, "rows": rows, **extra}, indent=1,
                                              default=str))


class Timer:
    """``with Timer() as t: ...`` then ``t.s``: wall seconds (perf_counter)."""

    def __enter__(self):
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self.t0
