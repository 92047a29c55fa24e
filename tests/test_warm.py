"""Warm kernels (xltkit.pipeline.warm): one kernel serves notebook after notebook, each as a
fresh kernel would run it; a kernel that dies or fails is replaced, and says why."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from xltkit.pipeline.executors import StageFailed
from xltkit.pipeline.warm import WarmExecutor, WarmKernel

BODY = """\
import os, sys
assert "leftover" not in globals(), "a variable of the last notebook survived"
assert os.getcwd() == home, (os.getcwd(), home)
leftover = x
print("pid", os.getpid(), "x", x, "torch loaded", "torch" in sys.modules)
if action == "chdir":
    os.chdir("/")
elif action == "fail":
    raise ValueError("planted failure " + str(x))
elif action == "die":
    import signal
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture()
def notebooks(tmp_path, monkeypatch):
    nb = new_notebook(cells=[new_code_cell("x = 0\naction = ''\nhome = ''", metadata={"tags": ["parameters"]}),
                             new_code_cell(BODY)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, tmp_path / "probe.ipynb")
    monkeypatch.setenv("XLTKIT_NOTEBOOKS", str(tmp_path))
    return tmp_path


def _pid(output) -> str:
    nb = nbformat.read(output, as_version=4)
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    return text.split()[1]


def test_one_kernel_serves_notebook_after_notebook_each_in_a_fresh_namespace(notebooks):
    k = WarmKernel(tasks_per_kernel=3)
    try:
        outs = [notebooks / f"out{i}.ipynb" for i in range(4)]
        for i, out in enumerate(outs):  # the first leaves a variable and another working directory behind
            k.run("probe.ipynb", {"x": i, "action": "chdir" if i == 0 else "", "home": os.getcwd()}, out)
        pids = [_pid(o) for o in outs]
        assert pids[0] == pids[1] == pids[2] != pids[3]  # three tasks a kernel, then a new one
        assert len(k.start_seconds) == 2
        executed = nbformat.read(outs[1], as_version=4)  # papermill's own record of the run
        assert "papermill" in executed.metadata and "x = 1" in executed.cells[1].source  # the injected parameters
        assert "torch loaded True" in "".join(o.get("text", "") for o in executed.cells[-1].outputs)
        assert outs[1].with_suffix(".log").is_file() and outs[1].with_suffix(".params.yaml").is_file()
    finally:
        k.close()
    assert k.proc is None


def test_a_failed_or_dead_kernel_is_replaced_and_the_cause_named(notebooks):
    k = WarmKernel()
    try:
        home = os.getcwd()
        k.run("probe.ipynb", {"x": 1, "home": home}, notebooks / "a.ipynb")
        with pytest.raises(StageFailed, match="planted failure 2") as e:
            k.run("probe.ipynb", {"x": 2, "action": "fail", "home": home}, notebooks / "b.ipynb")
        assert "ValueError" in e.value.tail and nbformat.read(notebooks / "b.ipynb", as_version=4)  # saved, to read
        k.run("probe.ipynb", {"x": 3, "home": home}, notebooks / "c.ipynb")  # a fresh kernel after a failure
        assert _pid(notebooks / "a.ipynb") != _pid(notebooks / "c.ipynb")
        with pytest.raises(StageFailed, match="kernel died"):
            k.run("probe.ipynb", {"x": 4, "action": "die", "home": home}, notebooks / "d.ipynb")
        k.run("probe.ipynb", {"x": 5, "home": home}, notebooks / "e.ipynb")
        assert len(k.start_seconds) == 3
    finally:
        k.close()


def test_the_warm_executor_keeps_one_kernel_per_worker(notebooks):
    ex = WarmExecutor(2, gpus=[])
    try:
        tasks = [("probe.ipynb", {"x": i, "home": os.getcwd()}, notebooks / f"w{i}.ipynb") for i in range(4)]
        results = [f.result() for f, _ in ex.submit(tasks)]
        assert all(err is None for err, _, _ in results), results
        assert len({_pid(t[2]) for t in tasks}) == 2 and ex.kernel_starts["count"] == 2
    finally:
        ex.shutdown()


def test_a_training_stage_on_several_gpus_runs_under_torchrun_and_the_rest_in_the_kernel(tmp_path, monkeypatch):
    from xltkit.pipeline import executors, warm

    calls = []
    monkeypatch.setattr(executors, "launch_distributed",
                        lambda stage, params, out, n, env=None, log=None: calls.append(("torchrun", stage, n, env)))
    monkeypatch.setattr(warm.WarmKernel, "run", lambda self, nb, params, out: calls.append(("kernel", nb, 1, self.env)))
    ex = WarmExecutor(1, 2, gpus=["0", "1"])
    futs = ex.submit([("03_finetune.ipynb", {}, tmp_path / "f.ipynb"), ("04_evaluate.ipynb", {}, tmp_path / "e.ipynb")])
    assert all(f.result()[0] is None for f, _ in futs)
    ex.shutdown()
    assert calls[0] == ("torchrun", "finetune", 2, {"CUDA_VISIBLE_DEVICES": "0,1"})
    kind, nb, _, env = calls[1]
    assert (kind, nb) == ("kernel", "04_evaluate.ipynb")
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1" and env["OMP_NUM_THREADS"] == "1"  # the slot's GPUs, one thread
