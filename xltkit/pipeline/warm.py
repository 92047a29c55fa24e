"""Warm kernels: each worker keeps one Jupyter kernel and runs stage notebook after stage
notebook in it, so a stage task pays its own work, not a kernel start and the imports of
torch, transformers and xltkit (about 10 s a task on a 2-core machine, a quarter of the
demo's worker time when every task started a kernel of its own).

The notebooks run exactly as ``papermill`` runs them (same parameter cell, same executed
notebook, same error cell), through papermill's own client, in a kernel that is given back
its empty namespace and working directory before each notebook.  What a kernel keeps from
one notebook to the next is what Python keeps anyway: imported modules and their caches.
The stage functions seed every generator they use and set their thread count, so a stage
gives the same numbers in a warm kernel as in a fresh one (``xltkit compare`` of the demo:
every value identical).  Where that is not enough, ``--executor process`` starts a fresh
kernel for every stage task.

Each worker is a small process of its own (``python -m xltkit.pipeline.warm``: one kernel
per process, as papermill itself does), driven over a pipe by one runner thread, which
watches the kernel: a kernel that dies (the out-of-memory killer, a segfault) fails its
stage with that cause, and the next task gets a fresh worker.  A kernel is also started
afresh after any failed stage and after ``tasks_per_kernel`` stages, so whatever a
library leaks stays bounded.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import yaml

from xltkit.pipeline.executors import (TRAINING_STAGES, ProcessExecutor, StageFailed, _error_summary, _stage_of,
                                       notebook_dir, stage_env)

#: a kernel serves at most this many stage tasks, then a fresh one is started
TASKS_PER_KERNEL = 40
#: how long a kernel may take to start (imports on a loaded machine included)
START_TIMEOUT = 180
#: after the kernel's process is gone, how long the worker has to say so before it is killed
DEATH_GRACE = 20.0
_TAG = "XLTKIT-WARM "
DIED = ("the notebook's kernel died (killed by a signal, most often the out-of-memory killer: lower batch_size or "
        "give the job more memory)")

# run in a new kernel: what every stage notebook imports, paid once per kernel (and counted as its start)
PRELOAD = "import torch, transformers, xltkit.pipeline.stages, xltkit.analysis.plots"
# run in the kernel before each notebook: the namespace and state a fresh kernel would have
RESET = """\
%reset -f
import gc as _gc, os as _os, sys as _sys, warnings as _warnings
_os.chdir({cwd!r})
_warnings.filterwarnings("default", append=True)  # a new filter version: warnings show again, as in a fresh kernel
if "matplotlib.pyplot" in _sys.modules:
    _sys.modules["matplotlib.pyplot"].close("all")
_gc.collect()
if "torch" in _sys.modules and _sys.modules["torch"].cuda.is_initialized():
    _sys.modules["torch"].cuda.empty_cache()
del _gc, _os, _sys, _warnings
"""


# ---- the runner's side -------------------------------------------------------------------
class WarmExecutor(ProcessExecutor):
    """:class:`ProcessExecutor` whose workers each keep a kernel (see the module docstring);
    a training stage on several GPUs still runs under ``torchrun``, as there."""

    name = "warm"

    def __init__(self, workers: int, gpus_per_run: int | None = None, gpus: list[str] | None = None,
                 cap: bool = False, tasks_per_kernel: int = TASKS_PER_KERNEL):
        super().__init__(workers, gpus_per_run, gpus, cap)
        self.tasks_per_kernel = tasks_per_kernel
        self._kernels: dict[int, WarmKernel] = {}

    def _stage(self, worker: int, env: dict[str, str] | None, notebook: str, params: dict, output: Path) -> None:
        if self.processes > 1 and _stage_of(notebook) in TRAINING_STAGES:
            return super()._stage(worker, env, notebook, params, output)  # under torchrun, as there
        kernel = self._kernels.get(worker)
        if kernel is None:
            kernel = self._kernels[worker] = WarmKernel(env, self.tasks_per_kernel)
        kernel.run(notebook, params, output)

    @property
    def kernel_starts(self) -> dict:
        """Kernels started so far and the seconds each took to be ready (imports included)."""
        secs = [s for k in self._kernels.values() for s in k.start_seconds]
        return {"count": len(secs), "seconds": round(sum(secs), 1)}

    def shutdown(self, cancel: bool = False) -> None:
        super().shutdown(cancel)
        for kernel in self._kernels.values():
            kernel.close()


class WarmKernel:
    """One worker process with its kernel, started at the first task and again whenever
    the last one died, failed a stage or served ``tasks_per_kernel`` tasks."""

    def __init__(self, env: dict[str, str] | None = None, tasks_per_kernel: int = TASKS_PER_KERNEL):
        self.env = stage_env(env)
        self.tasks_per_kernel = max(1, tasks_per_kernel)
        self.proc: subprocess.Popen | None = None
        self._stderr = None  # the worker's stderr, a temporary file read for its last lines
        self.kernel_pid: int | None = None
        self.served = 0
        self.start_seconds: list[float] = []  # one per kernel started, for the runner's record

    def run(self, notebook: str, params: dict, output: Path) -> None:
        """Execute ``notebook`` with ``params`` into ``output`` (its log beside it, as
        ``<output>.log``); raise :class:`StageFailed` with the cause."""
        output.parent.mkdir(parents=True, exist_ok=True)
        pfile, log = output.with_suffix(".params.yaml"), output.with_suffix(".log")
        pfile.write_text(yaml.safe_dump(params, sort_keys=False))
        if self.proc is None or self.proc.poll() is not None or self.served >= self.tasks_per_kernel:
            self._start()
        self.served += 1
        self._send({"notebook": str(notebook_dir() / notebook), "output": str(output), "params": str(pfile),
                    "log": str(log)})
        reply = self._receive(None)
        if reply.get("error"):
            self.close()  # a failed stage may leave anything behind in its kernel: the next task gets a fresh one
            raise StageFailed(reply["error"], log, reply.get("tail", ""))

    def _start(self) -> None:
        self.close()
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "xltkit.pipeline.warm", os.getcwd()], env=self.env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     start_new_session=True)  # its own process group: a Ctrl-C reaches the runner
        self.served, t0 = 0, time.time()
        reply = self._receive(START_TIMEOUT)
        self.start_seconds.append(time.time() - t0)
        if reply.get("error"):
            self.close()
            raise StageFailed(f"a warm kernel could not start: {reply['error']}", None, reply.get("tail", ""))

    def _send(self, message: dict) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(json.dumps(message) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the worker is gone: _receive says why

    def _receive(self, timeout: float | None) -> dict:
        """The worker's next reply; watches the worker and its kernel while waiting."""
        assert self.proc is not None and self.proc.stdout is not None
        t0, dead_since = time.monotonic(), None
        while True:
            ready, _, _ = select.select([self.proc.stdout], [], [], 1.0)
            if ready:
                line = self.proc.stdout.readline()
                if line.startswith(_TAG):
                    reply = json.loads(line[len(_TAG):])
                    self.kernel_pid = reply.get("kernel_pid", self.kernel_pid)
                    return reply
                if line:
                    continue  # anything else a library printed
            code = self.proc.poll()
            if code is not None:  # the worker itself ended
                tail = self._stderr_tail()
                self.close()
                return {"error": _summary(code, tail) if tail else DIED, "tail": tail}
            if self.kernel_pid and not _alive(self.kernel_pid):
                dead_since = dead_since or time.monotonic()
                if time.monotonic() - dead_since > DEATH_GRACE:  # the worker did not notice: end it
                    self.close()
                    return {"error": DIED}
            if timeout is not None and time.monotonic() - t0 > timeout:
                tail = self._stderr_tail()
                self.close()
                return {"error": f"no answer from the warm kernel in {timeout:.0f} s", "tail": tail}

    def _stderr_tail(self) -> str:
        try:
            self._stderr.seek(0)
            return "\n".join(self._stderr.read().strip().splitlines()[-25:])
        except (OSError, ValueError):
            return ""

    def close(self) -> None:
        """End the worker and its kernel (what is running in it is lost)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                proc.stdin.close()  # the worker shuts its kernel down on end of input
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                pass
        for pid in (proc.pid, self.kernel_pid):
            if pid and _alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)  # the worker's group, and the kernel's (its own session)
                except OSError:
                    pass
        proc.wait()
        self.kernel_pid = None
        self._stderr.close()


def _alive(pid: int) -> bool:
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)  # our child (the worker): reap it if it ended
        return done == 0
    except ChildProcessError:  # not our child (the kernel): does it still exist, and not as a zombie?
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            try:
                os.kill(pid, 0)
                return True
            except OSError:
                return False


def _summary(code: int | None, tail: str) -> str:
    if code is not None and code < 0:
        return f"the warm kernel's worker was killed by {signal.Signals(-code).name}"
    return f"the warm kernel's worker ended ({code}): {_error_summary(tail)}"


# ---- the worker's side -------------------------------------------------------------------
def _reply(**content) -> None:
    sys.__stdout__.write(_TAG + json.dumps(content) + "\n")
    sys.__stdout__.flush()


class _Kernel:
    """The worker's kernel and its client, made by nbclient as papermill makes them."""

    def __init__(self, cwd: str):
        from nbclient import NotebookClient
        from nbformat.v4 import new_notebook

        self.cwd = cwd
        starter = NotebookClient(new_notebook(), kernel_name="python3", startup_timeout=START_TIMEOUT)
        starter.km = starter.create_kernel_manager()
        starter.start_new_kernel(cwd=cwd, env=dict(os.environ))
        starter.start_new_kernel_client()
        reply = starter.wait_for_reply(starter.kc.execute(PRELOAD, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError(f"the warm kernel could not import xltkit: {reply and reply['content']}")
        self.km, self.kc = starter.km, starter.kc
        self.pid = self.km.provisioner.pid if self.km.provisioner else None

    def execute(self, notebook: str, output: str, params: dict, log) -> None:
        import papermill

        _Engine.kernel = self
        papermill.execute_notebook(notebook, output, parameters=params, engine_name="xltkit-warm",
                                   progress_bar=False, log_output=True, stdout_file=log, stderr_file=log,
                                   kernel_name="python3")

    def shutdown(self) -> None:
        from jupyter_core.utils import run_sync

        try:
            self.kc.stop_channels()
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001 - a dead kernel has nothing left to shut down
            pass


def _register_engine():
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class Client(PapermillNotebookClient):
        def papermill_execute_cells(self):
            reply = self.wait_for_reply(self.kc.execute(RESET.format(cwd=_Engine.kernel.cwd), store_history=False))
            if reply is None or reply["content"]["status"] != "ok":
                raise RuntimeError(f"resetting the warm kernel failed: {reply and reply['content']}")
            super().papermill_execute_cells()

    class Engine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                     stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
            from papermill.engines import logger

            client = Client(nb_man, km=_Engine.kernel.km, kernel_name=kernel_name, log=logger, log_output=log_output,
                            stdout_file=stdout_file, stderr_file=stderr_file, startup_timeout=start_timeout,
                            timeout=execution_timeout)
            client.kc = _Engine.kernel.kc  # the kernel's client is kept: not made and stopped per notebook
            return client.execute()

    papermill_engines.register("xltkit-warm", Engine)


class _Engine:
    kernel: _Kernel | None = None


def worker(cwd: str) -> int:
    """The worker process: read one task a line from stdin, run it in the kernel, reply."""
    import logging

    _register_engine()
    try:
        kernel = _Kernel(cwd)
    except Exception as e:  # noqa: BLE001
        _reply(error=f"{type(e).__name__}: {e}", tail=traceback.format_exc()[-3000:])
        return 1
    _reply(ready=True, kernel_pid=kernel.pid)
    for line in sys.stdin:
        task = json.loads(line)
        with open(task["log"], "w") as log, redirect_stdout(log), redirect_stderr(log):
            handler = logging.StreamHandler(log)
            logging.getLogger("papermill").addHandler(handler)
            logging.getLogger("papermill").setLevel(logging.INFO)
            try:
                kernel.execute(task["notebook"], task["output"], yaml.safe_load(Path(task["params"]).read_text()),
                               log)
                error = tail = None
            except Exception as e:  # noqa: BLE001 - the stage's failure goes back to the runner
                text = str(e)
                print(text, file=log)
                dead = type(e).__name__ == "DeadKernelError" or "Kernel died" in text
                error = DIED if dead else (_error_summary(text) or f"{type(e).__name__}: {e}")
                tail = "\n".join([ln for ln in text.strip().splitlines() if ln.strip()][-25:])
            finally:
                logging.getLogger("papermill").removeHandler(handler)
        _reply(error=error, tail=tail, kernel_pid=kernel.pid)
    kernel.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(worker(sys.argv[1]))
