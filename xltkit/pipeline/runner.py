"""Expand an experiment into stage jobs and execute the stage notebooks with papermill.

The runs of a grid share upstream stages: a job is identified by (stage, key), the key
coming from the stage graph (:mod:`xltkit.pipeline.graph`), so the 12 runs of the demo
share one pretraining.  Jobs run as stage notebooks in a pool of ``workers``, each worker
keeping one kernel (:mod:`xltkit.pipeline.warm`; or a fresh ``papermill`` process per job,
``executor="process"``); a job starts as soon as the job it runs after is done.
A failing job marks the runs that need it as failed, with the error, and everything else
goes on.  Finished stages are found on disk, so re-running (or resuming a killed grid)
repeats no finished work.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from xltkit.core import results
from xltkit.core.io import is_done, read_json, write_json
from xltkit.core.params import ParamsError
from xltkit.core.paths import resolve
from xltkit.pipeline import graph
from xltkit.pipeline.executors import (InlineExecutor, ProcessExecutor, SlurmParams, SubmititExecutor,
                                       execute_notebook)
from xltkit.pipeline.experiment import Experiment
from xltkit.pipeline.manifest import environment, git_state
from xltkit.pipeline.params import RunParams
from xltkit.pipeline.warm import WarmExecutor

ANALYSIS_NOTEBOOK = "05_analysis.ipynb"
MAX_ATTEMPTS = 3  # a run that failed this many times is left failed by --retry-failed
EXECUTORS = ("warm", "process", "inline", "slurm", "submitit-local", "submitit-debug")


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


class Runner:
    """Execute every run of an experiment; see the module docstring.

    ``executor`` is where stage tasks run (:mod:`xltkit.pipeline.executors`): ``warm``
    (the stage notebooks here, ``workers`` at a time, each worker keeping its kernel, GPUs
    pinned per worker: :mod:`xltkit.pipeline.warm`), ``process`` (the same with a fresh
    kernel for every stage task), ``inline``, ``slurm``,
    or submitit's ``submitit-local`` / ``submitit-debug``.  Runs that failed before are left
    failed unless ``retry_failed`` (and then only while they failed fewer than
    :data:`MAX_ATTEMPTS` times); runs that are pending or were interrupted are picked up."""

    def __init__(self, exp: Experiment, outputs: str | Path = "outputs", workers: int | None = None,
                 echo=print, executor: str = "warm", gpus_per_run: int | None = None,
                 retry_failed: bool = False):
        self.exp, self.outputs = exp, resolve(outputs)  # relative: to the project root (xltkit.core.paths)
        self.exp_dir = self.outputs / exp.experiment
        self.runs = exp.runs(self.outputs)
        self.workers = (1 if executor == "inline" else exp.workers) if workers is None else workers
        if self.workers < 1:
            raise ParamsError(f"--workers must be at least 1 (got {self.workers})")
        self.jobs = plan(self.runs, self.exp_dir)
        self.ids = {id(p): graph.run_id(p) for p in self.runs}
        self.echo = echo
        self.failed: dict[str, str] = {}
        self.left: list[str] = []  # runs that failed before and were not run again
        self.retry_failed = retry_failed
        self.executor_kind, self.gpus_per_run = executor, gpus_per_run
        # checked now, before any run starts: workers, GPUs, the executor and its block
        self.executor = make_executor(executor, self.workers, gpus_per_run, exp.executor,
                                      self.exp_dir / "slurm", exp.experiment, cap=workers is None)

    def run_id(self, p: RunParams) -> str:
        return self.ids[id(p)]

    # ---- manifests ---------------------------------------------------------------------
    def manifest_path(self, p: RunParams) -> Path:
        return Path(p.evaluation.run_dir) / "manifest.json"

    def manifest(self, p: RunParams) -> dict:
        m = self.manifest_path(p)
        try:
            return read_json(m) if m.is_file() else {}
        except ValueError:  # a manifest cut short: the run is redone
            return {}

    def run_done(self, p: RunParams) -> bool:
        return self.manifest(p).get("status") == "done"

    def write_manifest(self, p: RunParams, status: str, error: str | None = None, timings: dict | None = None,
                       failure: dict | None = None, jobs: dict | None = None):
        rid = self.run_id(p)
        mine = [j for j in self.jobs.values() if rid in j.runs]
        old = self.manifest(p)
        failures = old.get("failures", []) + ([failure] if failure else [])
        git = self._git = getattr(self, "_git", None) or git_state()  # once per runner: two git processes a call
        versions = self._versions = getattr(self, "_versions", None) or environment()
        from xltkit.pipeline.preflight import pinned

        hub = pinned(p)  # the model and datasets at their pinned revisions (data.json: the commits they resolved to)
        write_json({
            "run_id": rid, "experiment": self.exp.experiment, "status": status, "error": error,
            "attempts": len(failures), "failures": failures,
            "params": p.flat(), "stage_keys": {j.stage.name: j.key for j in mine},
            "notebooks": {j.stage.name: str(j.output) for j in mine},
            "stage_dirs": {j.stage.name: str(j.cache) for j in mine if j.cache is not None},
            "timings_s": {**old.get("timings_s", {}), **(timings or {})},  # stages of earlier invocations kept
            "jobs": {**old.get("jobs", {}), **(jobs or {})},
            "runner": {"host": socket.gethostname(), "pid": os.getpid(), "executor": self.executor_kind,
                       "workers": self.executor.capacity},
            "finished_at" if status in ("done", "failed") else "updated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "versions": versions, "git_commit": git["commit"], "git_dirty": git["dirty"],
            **({"hub": hub} if hub else {}),
        }, self.manifest_path(p))

    # ---- execution ---------------------------------------------------------------------
    def job_done(self, j: Job) -> bool:
        if j.cache is not None:
            return is_done(j.cache)
        return all(self.run_done(p) for p in self.runs if self.run_id(p) in j.runs)

    def left_failed(self) -> dict[str, dict]:
        """Runs that failed before and are not retried now: run id -> manifest."""
        out = {}
        for p in self.runs:
            m = self.manifest(p)
            if m.get("status") == "failed" and (not self.retry_failed or m.get("attempts", 1) >= MAX_ATTEMPTS):
                out[self.run_id(p)] = m
        return out

    def _recheck_done(self) -> None:
        """A run marked done whose tables cannot be read is marked pending: its evaluation runs again."""
        for p in self.runs:
            if self.run_done(p):
                why = results.unreadable(Path(p.evaluation.run_dir))
                if why:
                    self.echo(f"  run {self.run_id(p)}: {why}; its evaluation is executed again")
                    self.write_manifest(p, "pending", error=why)

    def run(self) -> pd.DataFrame:
        self._recheck_done()
        by_id = {self.run_id(p): p for p in self.runs}
        skip = self.left_failed()
        todo = {jid: j for jid, j in self.jobs.items()
                if not self.job_done(j) and any(rid not in skip for rid in j.runs)}
        n_done = sum(self.run_done(p) for p in self.runs)
        self.echo(f"{self.exp.experiment}: {len(self.runs)} runs ({n_done} already done), "
                  f"{len(todo)} of {len(self.jobs)} stage tasks to execute, executor {self.executor_kind}, "
                  f"{self.executor.capacity} at a time")
        self._echo_skipped(skip)
        for rid, p in by_id.items():
            if not self.run_done(p) and rid not in skip:
                self.write_manifest(p, "pending")
        results.write_grid(self.exp_dir, list(by_id))
        failed_runs: dict[str, dict] = {}  # run id -> failure
        failed_jobs: set[str] = set()
        timings: dict[str, dict[str, float]] = {rid: {} for rid in by_id}
        finished = {jid for jid in self.jobs if jid not in todo}
        remaining = dict(todo)
        running: dict[Future, Job] = {}
        bars = _Bars(todo, len(by_id), n_done)
        usage = _Usage(self.executor)
        live = lambda j: [rid for rid in j.runs if rid not in skip]  # noqa: E731

        def fail(rid: str, failure: dict) -> None:  # written at once: a runner killed later keeps the attempt
            if rid not in failed_runs:
                failed_runs[rid] = failure
                self.write_manifest(by_id[rid], "failed", error=f"stage {failure['stage']} failed: "
                                    f"{failure['error']}", timings=timings[rid], failure=failure)

        interrupted = True
        try:
            while remaining or running:
                ready = []
                for jid, j in sorted(remaining.items(), key=lambda kv: kv[1].stage.priority):
                    bad = [n for n in j.needs if n in failed_jobs]
                    if bad:  # upstream failed: this job cannot run, its runs fail
                        del remaining[jid]
                        failed_jobs.add(jid)
                        for rid in live(j):
                            fail(rid, {"stage": j.stage.name, "error": f"upstream stage {bad[0]} failed", "at": _now()})
                        bars.job_end(j, ok=False, echo=self.echo)
                    elif len(running) + len(ready) < self.executor.capacity and all(n in finished for n in j.needs):
                        del remaining[jid]
                        ready.append(j)
                for j, (fut, ext) in zip(ready, self.executor.submit(
                        [(j.stage.notebook, j.params, j.output) for j in ready])):
                    running[fut] = j
                    for rid in live(j):
                        self.write_manifest(by_id[rid], "running", timings=timings[rid],
                                            jobs={j.stage.name: ext} if ext else None)
                if not running:
                    continue
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in done:
                    j = running.pop(fut)
                    err, secs, detail = fut.result()
                    usage.task(j.stage.name, secs)
                    for rid in j.runs:
                        timings[rid][j.stage.name] = round(secs, 1)
                    if err is None:
                        finished.add(j.id)
                        if j.stage.per_run:
                            for rid in live(j):
                                self.write_manifest(by_id[rid], "done", timings=timings[rid])
                                bars.run_end()
                    else:
                        failed_jobs.add(j.id)
                        for rid in live(j):
                            fail(rid, {"stage": j.stage.name, "error": err, "at": _now(), "notebook": str(j.output),
                                       **detail})
                    bars.job_end(j, ok=err is None, seconds=secs, echo=self.echo)
            interrupted = False
        finally:  # Ctrl-C: stop waiting for what has not started (SLURM jobs in flight are cancelled)
            self.executor.shutdown(cancel=interrupted)
        bars.close()
        if todo:  # an invocation that found everything done leaves the last real one's record
            write_json(usage.summary(), self.exp_dir / "runner.json")
        df = results.collect(self.exp_dir)
        n_ok = sum(self.run_done(p) for p in self.runs)
        self.echo(f"{self.exp.experiment}: {n_ok} of {len(self.runs)} runs done, {len(failed_runs)} failed now"
                  f"{f', {len(skip)} left failed' if skip else ''}; "
                  f"results: {self.exp_dir / 'results.parquet'} ({len(df)} rows)")
        for rid, f in list(failed_runs.items())[:10]:
            self.echo(f"  failed run {rid}: stage {f['stage']}: {f['error']}"
                      + (f" (notebook {f['notebook']})" if f.get("notebook") else ""))
        self.failed = {rid: f["error"] for rid, f in failed_runs.items()}
        self.left = list(skip)
        return df

    def _echo_skipped(self, skip: dict[str, dict]) -> None:
        if not skip:
            return
        tired = {rid: m for rid, m in skip.items() if m.get("attempts", 1) >= MAX_ATTEMPTS}
        if len(skip) > len(tired):
            self.echo(f"  {len(skip) - len(tired)} runs failed before and are left failed; --retry-failed runs "
                      "them again")
        for rid, m in tired.items():
            self.echo(f"  run {rid} failed {m.get('attempts')} times and is left failed:")
            for f in m.get("failures", []):
                self.echo(f"    {f.get('at')}: stage {f.get('stage')}: {f.get('error')}")

    def analyze(self) -> None:
        p = self.exp.analysis_params(self.outputs)
        out = self.exp_dir / "analysis" / ANALYSIS_NOTEBOOK
        execute_notebook(ANALYSIS_NOTEBOOK, p.model_dump(), out, log=out.with_suffix(".log"))


class _Usage:
    """Where one invocation's time went: wall and CPU seconds (this process and every process
    it waited for: the workers, their kernels), the share of the machine's cores kept busy,
    and worker seconds by stage; written to ``<experiment>/runner.json``."""

    def __init__(self, executor):
        self.executor, self.t0, self.cpu0 = executor, time.time(), _cpu_seconds()
        self.starts0 = getattr(executor, "kernel_starts", None)  # the executor may have served a run before
        self.stages: dict[str, dict[str, float]] = {}

    def task(self, stage: str, seconds: float) -> None:
        s = self.stages.setdefault(stage, {"tasks": 0, "worker_s": 0.0})
        s["tasks"] += 1
        s["worker_s"] = round(s["worker_s"] + seconds, 1)

    def summary(self) -> dict:
        wall, cpu, cores = time.time() - self.t0, _cpu_seconds() - self.cpu0, os.cpu_count() or 1
        return {"executor": getattr(self.executor, "name", "?"), "workers": self.executor.capacity,
                "wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "cores": cores,
                "busy_share": round(cpu / (wall * cores), 3) if wall > 0 else None, "stages": self.stages,
                "kernel_starts": _minus(getattr(self.executor, "kernel_starts", None), self.starts0)}


def _minus(now: dict | None, before: dict | None) -> dict | None:
    return None if now is None else {k: round(v - (before or {}).get(k, 0), 1) for k, v in now.items()}


def _cpu_seconds() -> float:
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def make_executor(kind: str, workers: int, gpus_per_run: int | None, block: dict | None, folder: Path,
                  where: str, cap: bool = False) -> Any:
    """The executor ``kind`` (one of :data:`EXECUTORS`), its settings checked before any run
    starts; ``cap``: ``workers`` is the file's default and may shrink to the GPUs there are."""
    if kind not in EXECUTORS:
        raise ParamsError(f"--executor {kind!r} is not one of {', '.join(EXECUTORS)}")
    if kind == "warm":
        return WarmExecutor(workers, gpus_per_run, cap=cap)
    if kind == "process":
        return ProcessExecutor(workers, gpus_per_run, cap=cap)
    if kind == "inline":
        return InlineExecutor(workers, gpus_per_run)
    params = SlurmParams.from_dict(block, where)
    if gpus_per_run:
        params.gpus_per_node = gpus_per_run
    return SubmititExecutor({"slurm": "slurm", "submitit-local": "local", "submitit-debug": "debug"}[kind],
                            params, folder)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


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
