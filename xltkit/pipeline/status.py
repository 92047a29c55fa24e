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


def slurm_states(job_ids: list[str]) -> dict[str, str]:
    """SLURM's state of each job id (array tasks as ``123_4``), from ``sacct``; empty where
    ``sacct`` is not on this machine (not a login node) or says nothing."""
    import shutil
    import subprocess

    ids = sorted({j for j in job_ids if j})
    if not ids or shutil.which("sacct") is None:
        return {}
    try:
        out = subprocess.run(["sacct", "-n", "-P", "-X", "-o", "JobID,State", "-j", ",".join(ids)],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return {}
    states = {}
    for line in out.stdout.splitlines():
        job, _, state = line.partition("|")
        if job.strip():
            states[job.strip()] = state.strip().split(" ")[0]  # "CANCELLED by 123" -> CANCELLED
    return states


def with_slurm_states(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``job_states``: for runs whose stage jobs went to SLURM, each job's state."""
    if "jobs" not in df or not df.jobs.astype(bool).any():
        return df
    pairs = [[p.split(":", 1) for p in str(j).split(",") if ":" in p] for j in df.jobs]
    states = slurm_states([jid for row in pairs for _, jid in row])
    if not states:
        return df
    return df.assign(job_states=[",".join(f"{stage}:{states.get(jid, '?')}" for stage, jid in row) for row in pairs])


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
