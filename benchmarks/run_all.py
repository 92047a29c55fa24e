"""Run every benchmark (``bench_*.py``) and write ``RESULTS.md``: the machine, the date, the
command, and for each benchmark its rows (what is compared, the baseline, the ratio's
median with min-max over interleaved repeats, the floor and whether it is met, the
absolute value).  Each script runs in its own process as ``python <script> --json <file>
[--quick]``; one that fails is reported as failed and the others go on.  A script with a
line ``NEEDS_CUDA = True`` runs only where ``torch.cuda.is_available()``, else it is
reported as skipped; a script that writes ``{"skipped": "why", "rows": []}`` is reported as
skipped for that reason.

    .venv/bin/python benchmarks/run_all.py                       # everything (make bench), ~16-20 min on 2 cores
    .venv/bin/python benchmarks/run_all.py --quick               # small sizes, a smoke run
    .venv/bin/python benchmarks/run_all.py --only bench_mixed,bench_lab
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from benchlib import passes  # noqa: E402


def machine() -> dict:
    import psutil
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {"CPU": f"{cpu}, {psutil.cpu_count(logical=False) or '?'} cores ({psutil.cpu_count()} logical)",
            "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
            "Python": platform.python_version(), "OS": platform.platform(terse=True),
            "torch": torch.__version__, "transformers": transformers.__version__, "GPU": gpu,
            "load average at start": " ".join(f"{x:.2f}" for x in psutil.getloadavg())}


def scripts(folder: Path, only: list[str] | None) -> list[Path]:
    found = sorted(folder.glob("bench_*.py"))
    if only:
        names = {p.stem: p for p in found}
        missing = [n for n in only if n not in names]
        if missing:
            raise SystemExit(f"no benchmark {', '.join(missing)} in {folder}; there are: {', '.join(names)}")
        found = [names[n] for n in only]
    return found


def needs_cuda(script: Path) -> bool:
    """Whether the script has a top-level line ``NEEDS_CUDA = True`` (a comment may follow)."""
    return re.search(r"^NEEDS_CUDA\s*=\s*True\b", script.read_text(), re.MULTILINE) is not None


def run_one(script: Path, quick: bool, timeout: float, cwd: Path) -> dict:
    """Run one script; its status (ok / failed / skipped), rows, wall time and output tail."""
    import torch

    if needs_cuda(script) and not torch.cuda.is_available():
        return {"status": "skipped", "why": "no CUDA device: not run on a GPU", "rows": [], "seconds": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, str(script), "--json", str(out)] + (["--quick"] if quick else [])
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
            rc, text = proc.returncode, proc.stdout + proc.stderr
        except subprocess.TimeoutExpired as e:
            rc, text = "timeout", f"{e.stdout or ''}{e.stderr or ''}\nkilled after {timeout:.0f} s"
            text = text if isinstance(text, str) else str(text)
        secs = time.perf_counter() - t0
        result = {"seconds": secs, "tail": text[-3000:], "rows": [], "command": shlex.join(cmd[1:])}
        if rc != 0:
            return {**result, "status": "failed", "why": f"exit status {rc}"}
        try:
            data = json.loads(out.read_text())
            if data.get("skipped"):  # the script found nothing to measure here, and said why
                return {**result, "status": "skipped", "why": data["skipped"]}
            rows = data["rows"]
            assert isinstance(rows, list) and rows and all("name" in r and "ratio_median" in r for r in rows)
        except (OSError, ValueError, KeyError, TypeError, AssertionError):
            return {**result, "status": "failed", "why": f"no valid --json rows written to {out.name}"}
        return {**result, "status": "ok", "rows": rows, **{k: v for k, v in data.items() if k not in ("rows",)}}


def _num(x) -> str:
    if isinstance(x, float):
        return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"
    return f"{x:,}" if isinstance(x, int) else "" if x is None else str(x)


def _floor(r: dict) -> str:
    if r.get("floor") is None:
        return "none"
    sign = ">=" if r.get("better", "higher") == "higher" else "<="
    if r.get("floor_on") == "value":
        return f"value {sign} {r['floor']:g} {r.get('unit', '')}".strip()
    return f"ratio {sign} {r['floor']:g}"


def table(header: list[str], rows: list[list]) -> str:
    """A markdown table (pipes in cells escaped)."""
    cell = lambda x: str(x).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] +
                     ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows])


def report(results: dict[str, dict], info: dict, command: str, started: str, total: float,
           history: Path | None = None) -> str:
    """RESULTS.md's text; ``history`` (``HISTORY.md`` beside the scripts, written by hand: each
    speed-up's before and after, and why a floor is missed) is appended as it is."""
    lines = ["# Benchmark results", "", "Written by `benchmarks/run_all.py` (`make bench`); see `benchmarks/README.md` "
             "for what each benchmark measures. Ratios are medians over interleaved repeats, (min-max) beside.", "",
             f"- date: {started}", f"- command: `{command}`", f"- total wall time: {total:.0f} s"]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    ran = {n: r for n, r in results.items() if r["status"] != "skipped"}
    if ran:
        top = max(ran, key=lambda n: ran[n]["seconds"])
        lines.append(f"- longest: `{top}`, {ran[top]['seconds']:.0f} s of {total:.0f} s")
    summary = []
    for name, r in results.items():
        verdicts = [passes(x) for x in r["rows"]]
        met = f"{sum(v is True for v in verdicts)} of {sum(v is not None for v in verdicts)}"
        summary.append([f"`{name}`", r["status"] + (f" ({r['why']})" if r.get("why") else ""),
                        f"{r['seconds']:.0f}", len(r["rows"]), met])
    lines += ["", "## Summary", "", table(["benchmark", "status", "wall s", "rows", "floors met"], summary)]
    for name, r in results.items():
        lines += ["", f"## {name}", ""]
        if r["status"] == "skipped":
            lines.append(f"Skipped: {r['why']}.")
            continue
        if r["status"] == "failed":
            lines += [f"**FAILED** ({r['why']}) after {r['seconds']:.0f} s; the end of its output:", "", "```",
                      r.get("tail", "").strip()[-2000:], "```"]
            continue
        rows = [[x["name"], x["baseline"],
                 f"{x['ratio_median']:.3g} ({x['ratio_min']:.3g}-{x['ratio_max']:.3g})", _floor(x),
                 {True: "pass", False: "**FAIL**", None: "-"}[passes(x)],
                 f"{_num(x.get('value'))} {x.get('unit', '')}".strip(), x.get("notes", "")] for x in r["rows"]]
        lines.append(table(["compared", "baseline", "ratio median (min-max)", "floor", "vs floor", "value", "notes"],
                           rows))
        if r.get("setup"):
            lines += ["", f"Set-up: {r['setup']}"]
    if history is not None and history.is_file():
        lines += ["", history.read_text().strip()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="each script at small sizes (a smoke run)")
    ap.add_argument("--only", default=None, help="comma-separated script names, e.g. bench_mixed,bench_lab")
    ap.add_argument("--dir", default=str(HERE), help="the folder of bench_*.py scripts (default: this one)")
    ap.add_argument("--out", default=None, help="where to write the report (default: <dir>/RESULTS.md)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds one script may run")
    ap.add_argument("--render", action="store_true", help="rewrite the report from the last run's measurements "
                    "(<report>.json) and HISTORY.md, running nothing")
    args = ap.parse_args(argv)
    folder = Path(args.dir).resolve()
    out = Path(args.out) if args.out else folder / "RESULTS.md"
    raw = out.with_suffix(".json")  # every measurement of the last run, so the report can be rendered again
    if args.render:
        last = json.loads(raw.read_text())
        out.write_text(report(last["results"], last["info"], last["command"], last["started"], last["total"],
                              folder / "HISTORY.md"))
        print(f"wrote {out} from {raw}")
        return 0
    todo = scripts(folder, [n.strip().removesuffix(".py") for n in args.only.split(",")] if args.only else None)
    started = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    command = shlex.join(["python", "benchmarks/run_all.py", *(argv if argv is not None else sys.argv[1:])])
    info = machine()
    results, t0 = {}, time.perf_counter()
    for script in todo:
        print(f"== {script.stem}", flush=True)
        results[script.stem] = r = run_one(script, args.quick, args.timeout, HERE.parent)
        print(f"   {r['status']}{' (' + r['why'] + ')' if r.get('why') else ''} in {r['seconds']:.0f} s", flush=True)
        if r["status"] == "failed":
            print(r.get("tail", "")[-1500:], flush=True)
    total = time.perf_counter() - t0
    raw.write_text(json.dumps({"results": results, "info": info, "command": command, "started": started,
                               "total": total}, indent=1, default=str))
    out.write_text(report(results, info, command, started, total, folder / "HISTORY.md"))
    print(f"wrote {out}")
    return 0 if all(r["status"] != "failed" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
