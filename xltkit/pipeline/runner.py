"""Expand an experiment into stage jobs and execute the stage notebooks with papermill.

The runs of a grid share upstream stages: a job is identified by (stage, key), the key
coming from the stage graph (:mod:`xltkit.pipeline.graph`), so the 12 runs of the demo
share one pretraining.  Jobs run as separate ``papermill`` processes (one kernel per
process) in a pool of ``workers``; a job starts as soon as the job it runs after is done.
A failing job marks the runs that need it as failed, with the error, and everything else
goes on.  Finished stages are found on disk, so re-running (or resuming a killed grid)
repeats no finished work.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from tqdm import tqdm

from xltkit.core import results
from xltkit.core.io import is_done, read_json, write_json
from xltkit.core.paths import resolve
from xltkit.pipeline import graph
from xltkit.pipeline.experiment import Experiment
from xltkit.pipeline.manifest import environment, git_state
from xltkit.pipeline.params import RunParams

ANALYSIS_NOTEBOOK = "05_analysis.ipynb"


def notebook_dir() -> Path:
    """The stage notebooks: ``XLTKIT_NOTEBOOKS`` or the repository's ``notebooks/``."""
    env = os.environ.get("XLTKIT_NOTEBOOKS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "notebooks"


@dataclass
class Job:
    """One stage of one or more runs (the runs that share its key)."""

    stage: graph.Stage
    key: str
    params: dict  # the flat parameters of the stage's groups: what its notebook is given
    needs: list[str] = field(default_factory=list)  # job ids
    runs: list[str] = field(default_factory=list)  # run ids that need this job
    output: Path | None = None  # executed notebook
    cache: Path | None = None  # finished-stage folder (None: the run's manifest decides)

    @property
    def id(self) -> str:
        return f"{self.stage.name}-{self.key}"


def plan(runs: list[RunParams], exp_dir: Path) -> dict[str, Job]:
    """The stage jobs of ``runs``, deduplicated, with their dependencies (from the stage graph)."""
    jobs: dict[str, Job] = {}
    for run in runs:
        nodes = graph.chain(run)
        rid = nodes[-1].key
        ids = {}
        for node in nodes:
            jid = f"{node.stage.name}-{node.key}"
            ids[node.stage.name] = jid
            j = jobs.get(jid)
            if j is None:
                out = graph.output_dir(node, run)
                nb = (out / node.stage.notebook) if node.stage.per_run else \
                    exp_dir / "stages" / f"{node.stage.name}-{node.key}.ipynb"
                j = jobs[jid] = Job(node.stage, node.key, run.flat(node.stage.groups),
                                    [ids[node.after]] if node.after else [], [], nb,
                                    None if node.stage.per_run else out)
            j.runs.append(rid)
    return jobs


def execute_notebook(notebook: str, params: dict, output: Path, log: Path | None = None) -> None:
    """Run one stage notebook with papermill in its own process; raise with the error text."""
    output.parent.mkdir(parents=True, exist_ok=True)
    pfile = output.with_suffix(".params.yaml")
    pfile.write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "papermill", str(notebook_dir() / notebook), str(output),
           "-f", str(pfile), "--no-progress-bar", "--cwd", os.getcwd()]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if log is not None:
        log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(_error_summary(proc.stderr) or f"papermill exited with {proc.returncode}")


def _error_summary(stderr: str) -> str:
    """The exception line(s) of a papermill failure, without the traceback noise."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if "Exception encountered at" in ln:
            tail = [x for x in lines[i:] if not x.startswith(("---", " ", "Cell In", "File "))]
            return " | ".join(tail[-2:])[:2000]
    return " | ".join(lines[-3:])[:2000]


class Runner:
    """Execute every run of an experiment; see the module docstring."""

    def __init__(self, exp: Experiment, outputs: str | Path = "outputs", workers: int | None = None,
                 echo=print):
        self.exp, self.outputs = exp, resolve(outputs)  # relative: to the project root (xltkit.core.paths)
        self.exp_dir = self.outputs / exp.experiment
        self.runs = exp.runs(self.outputs)
        self.workers = workers or exp.workers
        self.jobs = plan(self.runs, self.exp_dir)
        self.ids = {id(p): graph.run_id(p) for p in self.runs}
        self.echo = echo
        self.failed: dict[str, str] = {}

    def run_id(self, p: RunParams) -> str:
        return self.ids[id(p)]

    # ---- manifests ---------------------------------------------------------------------
    def manifest_path(self, p: RunParams) -> Path:
        return Path(p.evaluation.run_dir) / "manifest.json"

    def run_done(self, p: RunParams) -> bool:
        m = self.manifest_path(p)
        return m.is_file() and read_json(m).get("status") == "done"

    def write_manifest(self, p: RunParams, status: str, error: str | None = None, timings: dict | None = None):
        rid = self.run_id(p)
        mine = [j for j in self.jobs.values() if rid in j.runs]
        git = git_state()
        write_json({
            "run_id": rid, "experiment": self.exp.experiment, "status": status, "error": error,
            "params": p.flat(), "stage_keys": {j.stage.name: j.key for j in mine},
            "notebooks": {j.stage.name: str(j.output) for j in mine},
            "stage_dirs": {j.stage.name: str(j.cache) for j in mine if j.cache is not None},
            "timings_s": timings or {},
            "finished_at" if status in ("done", "failed") else "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "versions": environment(), "git_commit": git["commit"], "git_dirty": git["dirty"],
        }, self.manifest_path(p))

    # ---- execution ---------------------------------------------------------------------
    def job_done(self, j: Job) -> bool:
        if j.cache is not None:
            return is_done(j.cache)
        return all(self.run_done(p) for p in self.runs if self.run_id(p) in j.runs)

    def run(self) -> pd.DataFrame:
        by_id = {self.run_id(p): p for p in self.runs}
        todo = {jid: j for jid, j in self.jobs.items() if not self.job_done(j)}
        n_done = sum(self.run_done(p) for p in self.runs)
        self.echo(f"{self.exp.experiment}: {len(self.runs)} runs ({n_done} already done), "
                  f"{len(todo)} of {len(self.jobs)} stage tasks to execute, {self.workers} workers")
        for rid, p in by_id.items():
            if not self.run_done(p):
                self.write_manifest(p, "pending")
        results.write_grid(self.exp_dir, list(by_id))
        failed_runs: dict[str, str] = {}  # run id -> error
        failed_jobs: set[str] = set()
        timings: dict[str, dict[str, float]] = {rid: {} for rid in by_id}
        finished = {jid for jid in self.jobs if jid not in todo}
        remaining = dict(todo)
        running: dict[Future, Job] = {}
        bars = _Bars(todo, len(by_id), n_done)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            while remaining or running:
                for jid, j in sorted(remaining.items(), key=lambda kv: kv[1].stage.priority):
                    bad = [n for n in j.needs if n in failed_jobs]
                    if bad:  # upstream failed: this job cannot run, its runs fail
                        del remaining[jid]
                        failed_jobs.add(jid)
                        for rid in j.runs:
                            failed_runs.setdefault(rid, f"upstream stage {bad[0]} failed")
                        bars.job_end(j, ok=False, echo=self.echo)
                    elif len(running) < self.workers and all(n in finished for n in j.needs):
                        del remaining[jid]
                        for rid in j.runs:
                            self.write_manifest(by_id[rid], "running", timings=timings[rid])
                        running[pool.submit(self._execute, j)] = j
                if not running:
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    j = running.pop(fut)
                    err, secs = fut.result()
                    for rid in j.runs:
                        timings[rid][j.stage.name] = round(secs, 1)
                    if err is None:
                        finished.add(j.id)
                        if j.stage.per_run:
                            for rid in j.runs:
                                self.write_manifest(by_id[rid], "done", timings=timings[rid])
                                bars.run_end()
                    else:
                        failed_jobs.add(j.id)
                        for rid in j.runs:
                            failed_runs.setdefault(rid, f"stage {j.stage.name} failed: {err}")
                    bars.job_end(j, ok=err is None, seconds=secs, echo=self.echo)
        for rid, err in failed_runs.items():
            self.write_manifest(by_id[rid], "failed", error=err, timings=timings[rid])
        bars.close()
        df = results.collect(self.exp_dir)
        n_ok = sum(self.run_done(p) for p in self.runs)
        self.echo(f"{self.exp.experiment}: {n_ok} of {len(self.runs)} runs done, {len(failed_runs)} failed; "
                  f"results: {self.exp_dir / 'results.parquet'} ({len(df)} rows)")
        for rid, err in list(failed_runs.items())[:10]:
            self.echo(f"  failed run {rid}: {err}")
        self.failed = failed_runs
        return df

    def _execute(self, j: Job) -> tuple[str | None, float]:
        t0 = time.time()
        try:
            execute_notebook(j.stage.notebook, j.params, j.output, log=j.output.with_suffix(".log"))
            return None, time.time() - t0
        except Exception as e:  # recorded in the manifest; the other runs go on
            return str(e), time.time() - t0

    def analyze(self) -> None:
        p = self.exp.analysis_params(self.outputs)
        out = self.exp_dir / "analysis" / ANALYSIS_NOTEBOOK
        execute_notebook(ANALYSIS_NOTEBOOK, p.model_dump(), out, log=out.with_suffix(".log"))


class _Bars:
    """Progress: one bar per stage and one for runs (tqdm on a terminal, log lines otherwise)."""

    def __init__(self, todo: dict[str, Job], n_runs: int, n_done: int):
        self.tty = sys.stderr.isatty()
        self.counts = {s: sum(j.stage.name == s for j in todo.values()) for s in graph.STAGES}
        self.done = {s: 0 for s in self.counts}
        self.n_runs, self.runs_done = n_runs, n_done
        self.bars = {}
        if self.tty:
            self.bars["runs"] = tqdm(total=n_runs, initial=n_done, desc="runs", position=0, ascii=True)
            for i, (s, n) in enumerate(self.counts.items(), 1):
                self.bars[s] = tqdm(total=n, desc=f"  {s}", position=i, ascii=True, leave=True)

    def job_end(self, j: Job, ok: bool, seconds: float = 0.0, echo=print):
        s = j.stage.name
        self.done[s] += 1
        if self.tty:
            self.bars[s].update(1)
        else:
            echo(f"[{s} {self.done[s]}/{self.counts[s]}] {j.key} {'done' if ok else 'FAILED'} in {seconds:.0f}s  "
                 f"(runs done {self.runs_done}/{self.n_runs})")

    def run_end(self):
        self.runs_done += 1
        if self.tty:
            self.bars["runs"].update(1)

    def close(self):
        for b in self.bars.values():
            b.close()


def status(exp_dir: str | Path) -> pd.DataFrame:
    """One row per run: its parameters of note, state, time and error."""
    rows = []
    for run in results.grid_runs(exp_dir):
        d = read_json(run / "manifest.json")
        pr = d.get("params", {})
        rows.append({"run_id": d["run_id"], "model": pr.get("model"), "intermediate_lang": pr.get("intermediate_lang"),
                     "target_task": pr.get("target_task"), "noise": pr.get("noise"), "seed": pr.get("seed"),
                     "status": d.get("status"), "seconds": round(sum(d.get("timings_s", {}).values()), 1),
                     "error": (d.get("error") or "")[:80]})
    return pd.DataFrame(rows)
