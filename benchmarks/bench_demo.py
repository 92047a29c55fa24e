"""The demo's wall time by stage, the share of the two cores kept busy, and what kernel starts cost.

Without ``--run`` it reads the record that the last ``make demo`` left
(``outputs/demo/runner.json``, written by every ``xltkit run``): wall and CPU seconds, the
share of the machine's cores kept busy, worker seconds by stage, and the kernels started
with the seconds they took (imports included).  With ``--run`` it runs the demo afresh,
once per executor in ``--executors`` (default: ``process``, a fresh kernel per stage task,
then ``warm``, one kernel per worker), each into its own temporary outputs folder with its
own stage cache (nothing reused), and reports the wall-time ratio of the first to each
other beside a check that their results tables hold the same values.  That takes two
demos' time (about 20 minutes on the 2-core machine), so ``make bench`` reads the record.

    .venv/bin/python benchmarks/bench_demo.py [--experiment outputs/demo] [--json PATH]
    .venv/bin/python benchmarks/bench_demo.py --run [--executors process,warm] [--params params/demo.yaml]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import parser, row, write

REPO = Path(__file__).resolve().parent.parent


def breakdown(exp_dir: Path, label: str = "") -> list[dict]:
    """Rows from an experiment folder's ``runner.json``: busy share, stages, kernel starts."""
    rec = json.loads((exp_dir / "runner.json").read_text())
    wall, workers = rec["wall_s"], rec["workers"]
    tag = f"{label}: " if label else ""
    rows = [row(f"{tag}cores busy over the grid", "all cores for the whole wall time", rec["busy_share"],
                unit="share", value=f"{rec['cpu_s']:.0f} CPU s in {wall:.0f} wall s on {rec['cores']} cores",
                notes=f"executor {rec['executor']}, {workers} workers")]
    for stage, s in sorted(rec["stages"].items(), key=lambda kv: -kv[1]["worker_s"]):
        rows.append(row(f"{tag}stage {stage}", "the grid's wall time x workers", s["worker_s"] / (wall * workers),
                        unit="worker s", value=s["worker_s"], notes=f"{s['tasks']} tasks"))
    starts = rec.get("kernel_starts")
    if starts:
        rows.append(row(f"{tag}kernel starts and imports", "the grid's wall time x workers",
                        starts["seconds"] / (wall * workers), unit="worker s", value=starts["seconds"],
                        notes=f"{starts['count']} kernels started"))
    return rows


def run_demo(params: str, executor: str, root: Path) -> tuple[float, Path]:
    """Wall seconds of ``xltkit run PARAMS --executor EXECUTOR`` into ``root/EXECUTOR``, and its
    experiment folder."""
    import yaml

    out = root / executor
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "run", params, "--outputs", str(out),
                           "--executor", executor], cwd=REPO, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"the demo failed with --executor {executor}:\n{proc.stderr[-3000:]}")
    return secs, out / yaml.safe_load((REPO / params).read_text())["experiment"]


def same_values(first: Path, second: Path) -> str:
    """'identical', or how two results tables differ (xltkit compare)."""
    import pandas as pd

    from xltkit.core.results import compare

    c = compare(pd.read_parquet(first / "results.parquet"), pd.read_parquet(second / "results.parquet"))
    if c["n_different"] == 0 and not len(c["only_first"]) and not len(c["only_second"]):
        return f"identical ({c['matched']} values)"
    return (f"DIFFER: {c['n_different']} of {c['matched']} values, {len(c['only_first'])} / {len(c['only_second'])} "
            "only in one")


def main(argv=None) -> None:
    ap = parser(__doc__, repeats=1)
    ap.add_argument("--experiment", default=str(REPO / "outputs" / "demo"))
    ap.add_argument("--run", action="store_true", help="run the demo afresh with each executor (slow)")
    ap.add_argument("--executors", default="process,warm")
    ap.add_argument("--params", default="params/demo.yaml")
    args = ap.parse_args(argv)
    if not args.run:
        exp = Path(args.experiment)
        if not (exp / "runner.json").is_file():
            why = f"no record of a demo run ({exp / 'runner.json'}): run `make demo` first (or pass --run)"
            print(why)
            return write(args, "bench_demo", [], skipped=why)
        return write(args, "bench_demo", breakdown(exp))
    root = Path(tempfile.mkdtemp(prefix="xltkit-bench-demo-"))
    kinds = args.executors.split(",")
    walls, dirs = {}, {}
    for kind in kinds:
        walls[kind], dirs[kind] = run_demo(args.params, kind, root)
        print(f"demo with --executor {kind}: {walls[kind]:.0f} s", flush=True)
    rows = []
    base = kinds[0]
    for kind in kinds[1:]:
        rows.append(row(f"demo wall time, --executor {kind}", f"--executor {base}", walls[kind] / walls[base],
                        floor=0.7, better="lower", unit="s", value=round(walls[kind]),
                        notes=f"{base}: {walls[base]:.0f} s; results tables {same_values(dirs[base], dirs[kind])}"))
    for kind in kinds:
        rows += breakdown(dirs[kind], kind)
    write(args, "bench_demo", rows, outputs=str(root))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
