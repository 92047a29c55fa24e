"""Where stage tasks execute: papermill processes on this machine (one GPU or ``gpus_per_run``
GPUs pinned to each through ``CUDA_VISIBLE_DEVICES``), or SLURM jobs submitted through
``submitit`` (its ``local`` and ``debug`` executors run the same code path without a cluster).

The runner (:mod:`xltkit.pipeline.runner`) decides what is ready; an executor only runs the
stage tasks it is given and returns one future per task, whose result is ``(error or None,
seconds)``.  The tasks that become ready at the same moment go to SLURM as one job array.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from xltkit.core.params import ParamsError, format_validation_error

def notebook_dir() -> Path:
    """The stage notebooks: ``XLTKIT_NOTEBOOKS`` or the repository's ``notebooks/``."""
    env = os.environ.get("XLTKIT_NOTEBOOKS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "notebooks"


class StageFailed(RuntimeError):
    """A stage notebook failed; ``log`` is the file with its whole output."""

    def __init__(self, message: str, log: Path | None = None, tail: str = ""):
        super().__init__(message)
        self.log, self.tail = log, tail


def stage_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process that runs stages: this one's, one thread per process, ``env`` on top."""
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false",
            "PYTHONUNBUFFERED": "1", **(env or {})}


def _run_stage_process(cmd: list[str], params: dict, output: Path, log: Path | None, env: dict[str, str] | None,
                       failure) -> None:
    """Write the stage's parameters beside ``output`` (as data, never as code), run ``cmd``
    (which reads them from ``<output>.params.yaml``) with one thread per process, keep its
    output in ``log``; raise :class:`StageFailed` with ``failure(returncode, stderr)``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.with_suffix(".params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    proc = subprocess.run(cmd, capture_output=True, text=True, env=stage_env(env))
    if log is not None:
        log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise StageFailed(failure(proc.returncode, proc.stderr, lines), log, "\n".join(lines[-25:]))


def execute_notebook(notebook: str, params: dict, output: Path, log: Path | None = None,
                     env: dict[str, str] | None = None) -> None:
    """Run one stage notebook with papermill in its own process; raise :class:`StageFailed`
    with the error (and the signal, where the process or its kernel was killed)."""
    cmd = [sys.executable, "-m", "papermill", str(notebook_dir() / notebook), str(output),
           "-f", str(output.with_suffix(".params.yaml")), "--no-progress-bar", "--cwd", os.getcwd()]
    _run_stage_process(cmd, params, output, log, env, lambda code, err, lines: _failure(code, err))


def _failure(code: int, stderr: str) -> str:
    """One line that says why a papermill process failed."""
    if code < 0:  # the papermill process itself was killed
        name = signal.Signals(-code).name
        return (f"the stage process was killed by {name}" +
                (" (out of memory? see dmesg or the job's memory limit)" if name == "SIGKILL" else ""))
    if "DeadKernelError" in stderr or "Kernel died" in stderr:
        return ("the notebook's kernel died (killed by a signal, most often the out-of-memory killer: lower "
                "batch_size or give the job more memory)")
    return _error_summary(stderr) or f"papermill exited with {code}"


def _error_summary(stderr: str) -> str:
    """The exception line(s) of a papermill failure, without the traceback noise."""
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    for i, ln in enumerate(lines):
        if "Exception encountered at" in ln:
            tail = [x for x in lines[i:] if not x.startswith(("---", " ", "Cell In", "File "))]
            return " | ".join(tail[-2:])[:2000]
    return " | ".join(lines[-3:])[:2000]


#: the stages that train, and so can spread one model over several GPUs (one process each)
TRAINING_STAGES = ("pretrain", "intermediate", "finetune")


def launch_distributed(stage: str, params: dict, output: Path, processes: int, env: dict[str, str] | None = None,
                       log: Path | None = None) -> None:
    """Run a training stage as ``processes`` processes under ``torchrun`` (one model, DDP),
    through :mod:`xltkit.pipeline.launch`; no notebook is executed, the log is kept."""
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
           "-m", "xltkit.pipeline.launch", stage, str(output.with_suffix(".params.yaml"))]
    _run_stage_process(cmd, params, output, log, env,
                       lambda code, err, lines: exception_line(lines)[:2000] or _failure(code, err))


def stage_task(notebook: str, params: dict, output: str, env: dict[str, str] | None = None,
               processes: int = 1) -> float:
    """What one executor task runs (here or in a SLURM job): the stage notebook, or with
    ``processes`` > 1 a training stage under ``torchrun``; its seconds."""
    t0 = time.time()
    out = Path(output)
    stage = _stage_of(notebook)
    if processes > 1 and stage in TRAINING_STAGES:
        launch_distributed(stage, params, out, processes, env, log=out.with_suffix(".log"))
    else:
        execute_notebook(notebook, params, out, log=out.with_suffix(".log"), env=env)
    return time.time() - t0


def job_task(notebook: str, params: dict, output: str, processes: int = 1) -> tuple[str | None, float, dict]:
    """:func:`stage_task` as a SLURM job runs it: a stage's failure is returned, not raised,
    so the runner records the stage's own error (and submitit's debug executor does not
    open a debugger)."""
    t0 = time.time()
    try:
        return None, stage_task(notebook, params, output, None, processes), {}
    except StageFailed as e:
        return str(e), time.time() - t0, {"log": str(e.log) if e.log else None, "traceback_tail": e.tail}
    except Exception as e:  # noqa: BLE001
        return f"{type(e).__name__}: {e}"[:2000], time.time() - t0, {}


_EXCEPTION = re.compile(r"^(?:\[rank\d+\]:\s*)?([A-Za-z_][\w.]*(?:Error|Exception|Interrupt)): (.+)")


def exception_line(lines: list[str]) -> str:
    """The last ``SomeError: message`` line of a traceback, torchrun's ``[rankN]:`` prefix
    removed, its own wrapper (``ChildFailedError``) skipped: the cause, not the messenger."""
    for ln in reversed(lines):
        m = _EXCEPTION.match(ln.strip())
        if m and not m.group(1).endswith(("ChildFailedError", "FailedJobError")):
            return f"{m.group(1)}: {m.group(2)}"
    return ""


def _stage_of(notebook: str) -> str | None:
    from xltkit.pipeline import graph

    return next((name for name, s in graph.STAGES.items() if s.notebook == notebook), None)


# ---- GPUs ------------------------------------------------------------------------------
def visible_gpus() -> list[str]:
    """The GPUs this process may use: ``CUDA_VISIBLE_DEVICES`` where it is set, else those
    ``nvidia-smi`` lists (none where it is missing)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip() and g.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    return [ln.strip() for ln in out.stdout.splitlines() if ln.strip()] if out.returncode == 0 else []


def gpu_slots(workers: int, gpus_per_run: int | None, gpus: list[str], cap: bool = False) -> list[str | None]:
    """One ``CUDA_VISIBLE_DEVICES`` value per worker (None: leave the variable alone).

    Without GPUs every worker runs on the CPU (``gpus_per_run`` must then be unset); with
    GPUs each worker owns ``gpus_per_run`` of them (default 1), and asking for more workers
    or GPUs than the machine has is an error."""
    if workers < 1:
        raise ParamsError(f"--workers must be at least 1 (got {workers})")
    if not gpus:
        if gpus_per_run:
            raise ParamsError(f"--gpus-per-run {gpus_per_run} asks for GPUs and this machine has none visible "
                              "(CUDA_VISIBLE_DEVICES / nvidia-smi); leave it out to run on the CPU")
        return [None] * workers
    k = gpus_per_run or 1
    if k > len(gpus):
        raise ParamsError(f"--gpus-per-run {k}: this machine has {len(gpus)} GPUs ({','.join(gpus)})")
    if workers * k > len(gpus) and cap:  # the file's default, not asked for on the command line: fit the machine
        print(f"{len(gpus)} GPUs ({','.join(gpus)}) for {k} per run: {len(gpus) // k} workers instead of the "
              f"file's {workers}", file=sys.stderr)
        workers = len(gpus) // k
    if workers * k > len(gpus):
        raise ParamsError(f"--workers {workers} x --gpus-per-run {k} needs {workers * k} GPUs and this machine has "
                          f"{len(gpus)}; use --workers {len(gpus) // k}")
    return [",".join(gpus[i * k:(i + 1) * k]) for i in range(workers)]


class _PoolExecutor:
    """Tasks on a pool of ``capacity`` threads, each calling :meth:`_run`; the pool is made
    at the first submit and ended by :meth:`shutdown`, so one executor serves several runs."""

    capacity = 1
    _pool: ThreadPoolExecutor | None = None

    def submit(self, tasks: list[tuple[str, dict, Path]]) -> list[tuple[Future, str | None]]:
        self._pool = self._pool or ThreadPoolExecutor(max_workers=self.capacity)
        return [(self._pool.submit(self._run, *t), None) for t in tasks]

    def _run(self, notebook: str, params: dict, output: Path) -> tuple[str | None, float, dict]:
        raise NotImplementedError

    def shutdown(self, cancel: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not cancel, cancel_futures=cancel)
            self._pool = None


class ProcessExecutor(_PoolExecutor):
    """Papermill processes on this machine, ``workers`` at a time, each with its own GPUs."""

    name = "process"

    def __init__(self, workers: int, gpus_per_run: int | None = None, gpus: list[str] | None = None,
                 cap: bool = False):
        self.slots_list = gpu_slots(workers, gpus_per_run, visible_gpus() if gpus is None else gpus, cap)
        self.capacity = len(self.slots_list)
        self.processes = gpus_per_run or 1  # a training stage with several GPUs: one process each (torchrun)
        self._slots: queue.Queue = queue.Queue()  # (worker, its GPUs)
        for i, s in enumerate(self.slots_list):
            self._slots.put((i, s))

    def _stage(self, worker: int, env: dict[str, str] | None, notebook: str, params: dict, output: Path) -> None:
        stage_task(notebook, params, str(output), env, processes=self.processes)

    def _run(self, notebook: str, params: dict, output: Path) -> tuple[str | None, float, dict]:
        worker, slot = taken = self._slots.get()
        t0 = time.time()
        try:
            self._stage(worker, None if slot is None else {"CUDA_VISIBLE_DEVICES": slot}, notebook, params, output)
            return None, time.time() - t0, {}
        except StageFailed as e:
            return str(e), time.time() - t0, {"log": str(e.log) if e.log else None, "traceback_tail": e.tail}
        except Exception as e:  # noqa: BLE001 - recorded in the manifest; the other runs go on
            return f"{type(e).__name__}: {e}", time.time() - t0, {}
        finally:
            self._slots.put(taken)


class InlineExecutor(_PoolExecutor):
    """The stage functions themselves, one at a time, in this process: no papermill, no
    kernel start, no executed notebooks (for a debugger, and for quick grids and tests)."""

    name = "inline"
    capacity = 1

    def __init__(self, workers: int = 1, gpus_per_run: int | None = None):
        if workers != 1:
            raise ParamsError(f"--executor inline runs one stage at a time; --workers {workers} needs --executor "
                              "process")
        if gpus_per_run and gpus_per_run > 1:
            raise ParamsError("--executor inline is one process: --gpus-per-run above 1 needs --executor process")

    @staticmethod
    def _run(notebook: str, params: dict, output: Path) -> tuple[str | None, float, dict]:
        import traceback

        from xltkit.pipeline import stages

        stage = _stage_of(notebook)
        t0 = time.time()
        try:
            stages.run_from_notebook(stage, dict(params))
            return None, time.time() - t0, {}
        except Exception as e:  # noqa: BLE001 - recorded in the manifest; the other runs go on
            return f"{type(e).__name__}: {e}"[:2000], time.time() - t0, {"traceback_tail": traceback.format_exc()[-3000:]}


# ---- SLURM through submitit ----------------------------------------------------------------
class SlurmParams(BaseModel):
    """The ``executor`` block of an experiment file: the resources of each stage job."""

    model_config = ConfigDict(extra="forbid")

    partition: str | None = Field(None, description="SLURM partition (slurm_partition)")
    account: str | None = Field(None, description="account to charge (slurm_account)")
    qos: str | None = Field(None, description="quality of service (slurm_qos)")
    constraint: str | None = Field(None, description="node features, e.g. a GPU type (slurm_constraint)")
    gpus_per_node: int = Field(1, ge=0, description="GPUs per stage job")
    cpus_per_task: int = Field(4, ge=1, description="CPU cores per stage job")
    mem_gb: float | None = Field(None, gt=0, description="memory per stage job in GB (default: the partition's)")
    timeout_min: int = Field(24 * 60, ge=1, description="time limit per stage job, minutes")
    array_parallelism: int = Field(64, ge=1, description="jobs of one array running at once")
    max_jobs: int = Field(256, ge=1, description="stage jobs submitted and not finished, at most")
    setup: list[str] = Field(default_factory=list, description="shell lines run first in every job (module "
                             "load, source activate)")
    additional: dict[str, Any] = Field(default_factory=dict, description="further sbatch options "
                                       "(slurm_additional_parameters), e.g. {exclude: node12}")

    @classmethod
    def from_dict(cls, values: dict | None, where: str) -> "SlurmParams":
        try:
            return cls(**(values or {}))
        except ValidationError as e:
            raise ParamsError(f"{where}: executor block: " + format_validation_error(e)) from None


def _submitit():
    try:
        import submitit
    except ImportError:
        raise ParamsError("--executor slurm needs the submitit package and it is not installed; "
                          "pip install submitit (it is in xltkit's dependencies: pip install -e .)") from None
    return submitit


class SubmititExecutor:
    """Stage tasks as SLURM jobs (``cluster="slurm"``) or submitit's ``local`` / ``debug``
    stand-ins; the tasks ready together are one job array."""

    def __init__(self, cluster: str, params: SlurmParams, folder: Path):
        submitit = _submitit()
        if cluster == "slurm" and shutil.which("sbatch") is None:
            raise ParamsError("--executor slurm: sbatch is not on this machine's PATH (run from a SLURM login node, "
                              "or use --executor process)")
        self.name = cluster
        self.executor = submitit.AutoExecutor(folder=str(folder / "%j"), cluster=cluster)
        self.executor.update_parameters(
            timeout_min=params.timeout_min, gpus_per_node=params.gpus_per_node, cpus_per_task=params.cpus_per_task,
            mem_gb=params.mem_gb, name="xltkit", slurm_partition=params.partition, slurm_account=params.account,
            slurm_qos=params.qos, slurm_constraint=params.constraint,
            slurm_array_parallelism=params.array_parallelism, slurm_setup=params.setup or None,
            slurm_additional_parameters=params.additional or None)
        # the debug executor runs jobs in this process and swaps os.environ while one runs: one at a time
        self.capacity = 1 if cluster == "debug" else params.max_jobs
        self._jobs: list = []
        self.processes = max(1, params.gpus_per_node)  # several GPUs per job: a training stage under torchrun
        self._waiters: ThreadPoolExecutor | None = None

    def submit(self, tasks: list[tuple[str, dict, Path]]) -> list[tuple[Future, str | None]]:
        jobs = []
        self._waiters = self._waiters or ThreadPoolExecutor(max_workers=min(self.capacity, 64))
        k = self.processes
        if self.name == "debug":  # the debug executor runs each job in this process, at result()
            jobs = [self.executor.submit(job_task, nb, prm, str(out), k) for nb, prm, out in tasks]
        else:
            with self.executor.batch():
                for nb, prm, out in tasks:
                    jobs.append(self.executor.submit(job_task, nb, prm, str(out), k))
        self._jobs += jobs
        return [(self._waiters.submit(self._wait, job), str(job.job_id)) for job in jobs]

    @staticmethod
    def _wait(job) -> tuple[str | None, float, dict]:
        t0 = time.time()
        try:
            err, secs, detail = job.result()  # a stage's own failure comes back as data (job_task)
            return err, secs, {"job_id": str(job.job_id), **detail}
        except Exception as e:  # noqa: BLE001 - the job itself died: timeout, preemption, out of memory
            text = str(e).strip().splitlines()
            return (f"SLURM job {job.job_id} ended without a result ({type(e).__name__}; its log: "
                    f"{getattr(job.paths, 'stderr', '?')}): {exception_line(text) or 'see the log'}")[:2000], \
                time.time() - t0, {"job_id": str(job.job_id), "traceback_tail": "\n".join(text[-25:])}

    def shutdown(self, cancel: bool = False) -> None:
        if cancel:  # the runner stops: so do its jobs (they would hold GPUs for nobody)
            for job in self._jobs:
                if not job.done():
                    job.cancel(check=False)
        if self._waiters is not None:
            self._waiters.shutdown(wait=not cancel, cancel_futures=cancel)
            self._waiters = None
        self._jobs = []
