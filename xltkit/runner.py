"""Expand an experiment into stage tasks and execute the stage notebooks with papermill.

The runs of a grid share upstream stages: a stage task is identified by (stage, key),
the key hashing the parameters that stage depends on, so the 12 runs of the demo share one
pretraining.  Tasks run as separate ``papermill`` processes (one kernel per process) in a
pool of ``workers``; a task starts as soon as the tasks it needs are done.  A failing
task marks the runs that need it as failed, with the error, and everything else goes
on.  Finished stages are found on disk, so re-running (or resuming a killed grid)
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

from xltkit import results
from xltkit.config import RULES, STAGES, Experiment, RunParams, StageParams

NOTEBOOKS = {
    "data": "00_data.ipynb",
    "pretrain": "01_pretrain.ipynb",
    "intermediate": "02_intermediate.ipynb",
    "finetune": "03_finetune.ipynb",
    "evaluate": "04_evaluate.ipynb",
    "analysis": "05_analysis.ipynb",
}
PRIORITY = {"pretrain": 0, "intermediate": 1, "data": 2, "finetune": 3, "evaluate": 4}  # long poles first


def notebook_dir() -> Path:
    """The stage notebooks: ``XLTKIT_NOTEBOOKS`` or the repository's ``notebooks/``."""
    env = os.environ.get("XLTKIT_NOTEBOOKS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "notebooks"


@dataclass
class Task:
    stage: str
    key: str
    params: StageParams
    needs: list[str] = field(default_factory=list)  # task ids
    runs: list[str] = field(default_factory=list)  # run ids that need this task
    output: Path | None = None  # executed notebook
    cache: Path | None = None  # finished-stage folder (None: the run's manifest decides)

    @property
    def id(self) -> str:
        return f"{self.stage}-{self.key}"


def plan(runs: list[RunParams], exp_dir: Path) -> dict[str, Task]:
    """The stage tasks of ``runs``, deduplicated, with their dependencies."""
    tasks: dict[str, Task] = {}

    def add(stage: str, p: RunParams, needs: list[str], run_id: str) -> str:
        cls = STAGES[stage]
        sp = cls(**p.model_dump(include=set(cls.model_fields)))
        key = run_id if stage == "evaluate" else sp.key()
        t = tasks.get(f"{stage}-{key}")
        if t is None:
            per_run = stage == "evaluate"
            out = (Path(p.run_dir) / NOTEBOOKS[stage]) if per_run else exp_dir / "stages" / f"{stage}-{key}.ipynb"
            cache = None if per_run else Path(sp.cache_dir) / stage / key
            t = tasks[f"{stage}-{key}"] = Task(stage, key, sp, needs, [], out, cache)
        t.runs.append(run_id)
        return t.id

    for p in runs:
        rid = p.run_id()
        chain = [add("data", p, [], rid)]
        if p.model not in RULES:
            chain.append(add("pretrain", p, chain[-1:], rid))
            if p.intermediate_lang != "none":
                chain.append(add("intermediate", p, chain[-1:], rid))
        chain.append(add("finetune", p, chain[-1:], rid))
        add("evaluate", p, chain[-1:], rid)
    return tasks


def execute_notebook(stage: str, params: dict, output: Path, log: Path | None = None) -> None:
    """Run one stage notebook with papermill in its own process; raise with the error text."""
    output.parent.mkdir(parents=True, exist_ok=True)
    pfile = output.with_suffix(".params.yaml")
    pfile.write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "papermill", str(notebook_dir() / NOTEBOOKS[stage]), str(output),
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
        self.exp, self.outputs = exp, Path(outputs)
        self.exp_dir = self.outputs / exp.experiment
        self.runs = exp.runs(self.outputs)
        self.workers = workers or exp.workers
        self.tasks = plan(self.runs, self.exp_dir)
        self.echo = echo

    # ---- manifests ---------------------------------------------------------------------
    def manifest_path(self, p: RunParams) -> Path:
        return Path(p.run_dir) / "manifest.json"

    def run_done(self, p: RunParams) -> bool:
        m = self.manifest_path(p)
        return m.is_file() and results.read_json(m).get("status") == "done"

    def write_manifest(self, p: RunParams, status: str, error: str | None = None, timings: dict | None = None):
        from xltkit.stages import environment

        mine = [t for t in self.tasks.values() if p.run_id() in t.runs]
        nbs = {t.stage: str(t.output) for t in mine}
        dirs = {t.stage: str(t.cache) for t in mine if t.cache is not None}
        results.write_json({
            "run_id": p.run_id(), "experiment": self.exp.experiment, "status": status, "error": error,
            "params": p.model_dump(), "notebooks": nbs, "stage_dirs": dirs, "timings_s": timings or {},
            "finished_at" if status in ("done", "failed") else "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "versions": environment(), "git_commit": _git_commit(),
        }, self.manifest_path(p))

    # ---- execution ---------------------------------------------------------------------
    def task_done(self, t: Task) -> bool:
        if t.cache is not None:
            return results.is_done(t.cache)
        return all(self.run_done(p) for p in self.runs if p.run_id() in t.runs)

    def run(self) -> pd.DataFrame:
        by_id = {p.run_id(): p for p in self.runs}
        todo = {tid: t for tid, t in self.tasks.items() if not self.task_done(t)}
        n_done = sum(self.run_done(p) for p in self.runs)
        self.echo(f"{self.exp.experiment}: {len(self.runs)} runs ({n_done} already done), "
                  f"{len(todo)} of {len(self.tasks)} stage tasks to execute, {self.workers} workers")
        for rid, p in by_id.items():
            if not self.run_done(p):
                self.write_manifest(p, "pending")
        results.write_grid(self.exp_dir, list(by_id))
        failed_runs: dict[str, str] = {}  # run id -> error
        failed_tasks: set[str] = set()
        timings: dict[str, dict[str, float]] = {rid: {} for rid in by_id}
        finished = {tid for tid in self.tasks if tid not in todo}
        remaining = dict(todo)
        running: dict[Future, Task] = {}
        bars = _Bars(todo, len(by_id), n_done)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            while remaining or running:
                for tid, t in sorted(remaining.items(), key=lambda kv: PRIORITY[kv[1].stage]):
                    bad = [n for n in t.needs if n in failed_tasks]
                    if bad:  # upstream failed: this task cannot run, its runs fail
                        del remaining[tid]
                        failed_tasks.add(tid)
                        for rid in t.runs:
                            failed_runs.setdefault(rid, f"upstream stage {bad[0]} failed")
                        bars.task_end(t, ok=False, echo=self.echo)
                    elif len(running) < self.workers and all(n in finished for n in t.needs):
                        del remaining[tid]
                        for rid in t.runs:
                            self.write_manifest(by_id[rid], "running", timings=timings[rid])
                        running[pool.submit(self._execute, t)] = t
                if not running:
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    t = running.pop(fut)
                    err, secs = fut.result()
                    for rid in t.runs:
                        timings[rid][t.stage] = round(secs, 1)
                    if err is None:
                        finished.add(t.id)
                        if t.stage == "evaluate":
                            for rid in t.runs:
                                self.write_manifest(by_id[rid], "done", timings=timings[rid])
                                bars.run_end()
                    else:
                        failed_tasks.add(t.id)
                        for rid in t.runs:
                            failed_runs.setdefault(rid, f"stage {t.stage} failed: {err}")
                    bars.task_end(t, ok=err is None, seconds=secs, echo=self.echo)
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

    def _execute(self, t: Task) -> tuple[str | None, float]:
        t0 = time.time()
        params = t.params.model_dump(include=set(STAGES[t.stage].model_fields))
        try:
            execute_notebook(t.stage, params, t.output, log=t.output.with_suffix(".log"))
            return None, time.time() - t0
        except Exception as e:  # recorded in the manifest; the other runs go on
            return str(e), time.time() - t0

    def analyze(self) -> None:
        p = self.exp.analysis_params(self.outputs)
        out = self.exp_dir / "analysis" / NOTEBOOKS["analysis"]
        execute_notebook("analysis", p.model_dump(), out, log=out.with_suffix(".log"))


class _Bars:
    """Progress: one bar per stage and one for runs (tqdm on a terminal, log lines otherwise)."""

    def __init__(self, todo: dict[str, Task], n_runs: int, n_done: int):
        self.tty = sys.stderr.isatty()
        self.counts = {s: sum(t.stage == s for t in todo.values()) for s in NOTEBOOKS if s != "analysis"}
        self.done = {s: 0 for s in self.counts}
        self.n_runs, self.runs_done = n_runs, n_done
        self.bars = {}
        if self.tty:
            self.bars["runs"] = tqdm(total=n_runs, initial=n_done, desc="runs", position=0, ascii=True)
            for i, (s, n) in enumerate(self.counts.items(), 1):
                self.bars[s] = tqdm(total=n, desc=f"  {s}", position=i, ascii=True, leave=True)

    def task_end(self, t: Task, ok: bool, seconds: float = 0.0, echo=print):
        self.done[t.stage] += 1
        if self.tty:
            self.bars[t.stage].update(1)
        else:
            echo(f"[{t.stage} {self.done[t.stage]}/{self.counts[t.stage]}] {t.key} "
                 f"{'done' if ok else 'FAILED'} in {seconds:.0f}s  (runs done {self.runs_done}/{self.n_runs})")

    def run_end(self):
        self.runs_done += 1
        if self.tty:
            self.bars["runs"].update(1)

    def close(self):
        for b in self.bars.values():
            b.close()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                             cwd=Path(__file__).resolve().parent, timeout=5)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def status(exp_dir: str | Path) -> pd.DataFrame:
    """One row per run: its parameters of note, state, time and error."""
    rows = []
    for run in results.grid_runs(exp_dir):
        d = results.read_json(run / "manifest.json")
        pr = d.get("params", {})
        rows.append({"run_id": d["run_id"], "model": pr.get("model"), "intermediate_lang": pr.get("intermediate_lang"),
                     "target_task": pr.get("target_task"), "noise": pr.get("noise"), "seed": pr.get("seed"),
                     "status": d.get("status"), "seconds": round(sum(d.get("timings_s", {}).values()), 1),
                     "error": (d.get("error") or "")[:80]})
    return pd.DataFrame(rows)
