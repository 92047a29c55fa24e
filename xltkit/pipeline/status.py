"""The state of an experiment's runs, read from their manifests: done, failed, pending,
running, or interrupted (a run marked running whose runner process is gone), with the time
each took and an estimate of the time left."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pandas as pd

from xltkit.core import results
from xltkit.core.io import read_json


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def run_state(manifest: dict) -> str:
    """The manifest's status, with "running" turned into "interrupted" where the runner
    that wrote it ran on this machine and is no longer alive (a killed ``xltkit run``); a
    runner on another machine cannot be checked from here and is taken at its word."""
    state = manifest.get("status") or "unknown"
    if state == "running":
        r = manifest.get("runner") or {}
        if r.get("host") == socket.gethostname() and r.get("pid") and not _alive(int(r["pid"])):
            return "interrupted"
    return state


def status(exp_dir: str | Path) -> pd.DataFrame:
    """One row per run of the current grid: its parameters of note, state, seconds spent,
    attempts, job ids (SLURM) and error."""
    rows = []
    for run in results.grid_runs(exp_dir):
        try:
            d = read_json(run / "manifest.json")
        except ValueError:
            rows.append({"run_id": run.name, "status": "unreadable manifest", "seconds": 0.0})
            continue
        pr = d.get("params", {})
        rows.append({"run_id": d["run_id"], "model": pr.get("model"), "intermediate_lang": pr.get("intermediate_lang"),
                     "target_task": pr.get("target_task"), "noise": pr.get("noise"), "seed": pr.get("seed"),
                     "status": run_state(d), "seconds": round(sum(d.get("timings_s", {}).values()), 1),
                     "attempts": d.get("attempts", 0),
                     "jobs": ",".join(f"{k}:{v}" for k, v in (d.get("jobs") or {}).items() if v),
                     "error": (d.get("error") or "")[:80]})
    return pd.DataFrame(rows)


def time_left(df: pd.DataFrame, workers: int) -> float | None:
    """Seconds until every run that is not done is done: the mean time of a finished run
    times the runs left, over the workers (None before any run has finished)."""
    done = df[df.status == "done"]
    if done.empty:
        return None
    left = int((df.status != "done").sum())
    return float(done.seconds.mean()) * left / max(1, workers)


def summary(df: pd.DataFrame, workers: int = 1) -> str:
    """One paragraph: counts by state, time spent, estimate of the time left, what to do."""
    counts = ", ".join(f"{k}: {v}" for k, v in df.status.value_counts().items())
    lines = [counts, f"time spent (sum over runs): {df.seconds.sum() / 3600:.2f} h"]
    left = time_left(df, workers)
    if left is not None and (df.status != "done").any():
        lines.append(f"estimated time left: {left / 3600:.2f} h ({(df.status != 'done').sum()} runs at the mean "
                     f"{df[df.status == 'done'].seconds.mean():.0f} s of a finished run, {workers} workers)")
    if (df.status == "interrupted").any():
        lines.append("interrupted runs: their runner is gone; xltkit run PARAMS.yaml picks them up")
    if (df.status == "failed").any():
        lines.append("failed runs: xltkit run PARAMS.yaml --retry-failed runs them again")
    return "\n".join(lines)
