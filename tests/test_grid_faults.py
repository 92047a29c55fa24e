"""Grids at scale lose nothing: each fault a long grid meets is injected here, and the test
checks what is left (issue #13).  The runner's own SIGKILL mid-grid and a failing / dying
notebook are in test_pipeline.py; here: a kill inside training, broken checkpoints, a disk
that fills half-way through a write, a corrupt results file, a diverging run in a grid, two
processes on one stage, a run that fails three times, GPU pinning, SLURM through submitit,
and bad input refused before any run starts."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from xltkit.core import results
from xltkit.core.io import building, is_done, locked, read_json, write_json, write_parquet
from xltkit.core.params import ParamsError
from xltkit.modeling import checkpoints
from xltkit.pipeline import graph, stages
from xltkit.pipeline.executors import ProcessExecutor, gpu_slots
from xltkit.pipeline.experiment import Experiment, load_experiment
from xltkit.pipeline.params import RunParams
from xltkit.pipeline.runner import Runner

REPO = Path(__file__).resolve().parent.parent


def _quiet(s):
    return None


# ---- a kill inside a training stage -----------------------------------------------------------
KILL_AT_STEP = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    from conftest import tiny
    from xltkit.modeling import training
    from xltkit.pipeline import stages
    from xltkit.pipeline.params import RunParams

    step_end = training.TextProgress.on_step_end
    def on_step_end(self, args, state, control, **kw):  # SIGKILL, as a preempted job gets it
        if self.desc.startswith("finetune") and state.global_step == 7:
            os.kill(os.getpid(), signal.SIGKILL)
        return step_end(self, args, state, control, **kw)
    training.TextProgress.on_step_end = on_step_end
    stages.ensure("finetune", RunParams.from_flat(tiny({cache!r}, **{extra!r}), "test"))
""")


@pytest.mark.parametrize("extra", [{}, {"noise": "adv", "noise_scale": 0.05}], ids=["clean", "adversarial"])
def test_a_training_stage_killed_mid_way_resumes_from_its_checkpoint_to_the_same_result(cache_dir, tmp_path, extra):
    from conftest import tiny

    kw = dict(checkpoint_every=3, finetune_steps=10, run_dir=str(tmp_path / "run"), **extra)
    run = RunParams.from_flat(tiny(cache_dir, **kw), "test")
    node = graph.chain(run)[-2]
    assert node.stage.name == "finetune"
    out = graph.output_dir(node, run)
    uninterrupted = stages.ensure("evaluate", run)  # data and pretraining: the session's cache
    weights = (out / "model.safetensors").read_bytes()
    stats = read_json(out / "stats.json")
    assert "resumed_from_step" not in stats and not checkpoints.folder_for(out).exists()  # removed once done
    import shutil

    shutil.rmtree(out)
    script = KILL_AT_STEP.format(tests=str(REPO / "tests"), cache=str(cache_dir), extra=kw)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == -9, proc.stderr[-2000:]  # killed at step 7
    assert not is_done(out)
    saved = sorted(p.name for p in checkpoints.folder_for(out).rglob("checkpoint-*") if p.is_dir())
    assert saved == ["checkpoint-6"], saved  # every 3 steps, the newest kept (checkpoint_keep 1)

    resumed = stages.ensure("evaluate", run)
    again = read_json(out / "stats.json")
    assert again["resumed_from_step"] == 6 and again["loss_curve"] == stats["loss_curve"]
    assert (out / "model.safetensors").read_bytes() == weights  # identical weights on CPU
    pd.testing.assert_frame_equal(resumed, uninterrupted)
    assert not checkpoints.folder_for(out).exists()


def _checkpoint(folder: Path, step: int, complete: bool = True) -> Path:
    from safetensors.torch import save_file

    ck = folder / f"checkpoint-{step}"
    ck.mkdir(parents=True)
    save_file({"w": torch.arange(64, dtype=torch.float32)}, str(ck / "model.safetensors"))
    torch.save({"state": {}, "param_groups": []}, ck / "optimizer.pt")
    (ck / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    if complete:
        checkpoints.mark_complete(ck, step, [p.name for p in ck.iterdir()])
    return ck


def test_a_truncated_or_half_saved_checkpoint_is_detected_and_the_one_before_is_used(tmp_path):
    _checkpoint(tmp_path, 3)
    truncated = _checkpoint(tmp_path, 6)
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[: len(data) - 40])  # cut short, as a full disk leaves it
    _checkpoint(tmp_path, 9, complete=False)  # killed while saving: no completion marker
    problems: list[str] = []
    assert checkpoints.latest(tmp_path, problems) == str(tmp_path / "checkpoint-3")
    assert len(problems) == 2 and "checkpoint-9: no completion marker" in problems[0]
    assert "checkpoint-6: model.safetensors" in problems[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint-3"]  # the broken ones are removed
    (tmp_path / "checkpoint-3" / "optimizer.pt").write_bytes(b"not a torch file")
    assert checkpoints.latest(tmp_path, problems) is None and "optimizer.pt cannot be read" in problems[-1]


# ---- a disk that fills half-way through a write -----------------------------------------------
def test_a_write_that_fails_half_way_leaves_no_file_that_looks_complete(tmp_path, monkeypatch):
    target = tmp_path / "metrics.parquet"
    real = pd.DataFrame.to_parquet

    def full_disk(self, path, *a, **kw):
        Path(path).write_bytes(b"PAR1 half")  # some bytes reach the disk, then it is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_parquet(pd.DataFrame({"a": [1]}), target)
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary copy
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    write_parquet(pd.DataFrame({"a": [1]}), target)
    with pytest.raises(OSError):  # the old file stays whole when the next write fails
        _fail_json(tmp_path / "a.json")
    assert pd.read_parquet(target).a.tolist() == [1] and not (tmp_path / "a.json").exists()
    with pytest.raises(OSError):
        with building(tmp_path / "stage", {"k": 1}) as tmp:
            (tmp / "model.safetensors").write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert not is_done(tmp_path / "stage") and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.parquet"]


def _fail_json(path: Path):
    class Unserialisable:
        def __str__(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    write_json({"x": Unserialisable()}, path)


# ---- grids run inline: corrupt tables, a diverging run, three failures -------------------------
def _exp(cache, name, grid, **shared):
    from conftest import tiny

    return Experiment(experiment=name, workers=1, shared=tiny(cache, **shared), grid=grid)


def test_a_corrupt_results_file_is_found_and_its_evaluation_run_again(cache_dir, tmp_path):
    exp = _exp(cache_dir, "c", [{"seed": [0, 1]}])
    df = Runner(exp, outputs=tmp_path, echo=_quiet, executor="inline").run()
    victim = sorted((tmp_path / "c" / "runs").glob("*/metrics.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:100])  # truncated
    with pytest.raises(ValueError, match="cannot be read.*xltkit run PARAMS.yaml"):
        results.collect(tmp_path / "c")
    log: list[str] = []
    df2 = Runner(exp, outputs=tmp_path, echo=log.append, executor="inline").run()
    assert any("metrics.parquet cannot be read" in line and "executed again" in line for line in log)
    assert any("1 already done" in line for line in log) and any("[evaluate 1/1]" in line for line in log)
    assert results.compare(df, df2)["n_different"] == 0 and len(df2) == len(df)


def test_a_diverging_run_fails_with_the_step_and_learning_rate_and_the_grid_goes_on(cache_dir, tmp_path):
    exp = _exp(cache_dir, "nan", [{"finetune_lr": [1e-3, 1e6]}], finetune_steps=30)
    runner = Runner(exp, outputs=tmp_path, echo=_quiet, executor="inline")
    df = runner.run()
    assert len(runner.failed) == 1 and set(df.run_id) == {r for r in runner.ids.values() if r not in runner.failed}
    (err,) = runner.failed.values()
    assert "NonFiniteLossError" in err and "at step" in err and "peak 1e+06" in err
    assert df.value.notna().all()  # nothing of the diverged run reaches the table


def test_a_run_that_failed_three_times_is_left_failed_with_its_errors(cache_dir, tmp_path):
    exp = _exp(cache_dir, "thrice", [{"finetune_lr": [1e6]}], finetune_steps=30)  # diverges every time
    for attempt in range(1, 4):
        runner = Runner(exp, outputs=tmp_path, echo=_quiet, executor="inline", retry_failed=True)
        runner.run()
        (man,) = [read_json(m) for m in (tmp_path / "thrice" / "runs").glob("*/manifest.json")]
        assert man["status"] == "failed" and man["attempts"] == attempt
        assert "NonFiniteLossError" in man["failures"][-1]["error"]
    log: list[str] = []
    Runner(exp, outputs=tmp_path, echo=log.append, executor="inline", retry_failed=True).run()
    assert "0 of" in log[0] and any("failed 3 times and is left failed" in line for line in log)
    from xltkit.pipeline.cli import main

    pfile = tmp_path / "thrice.yaml"
    pfile.write_text(yaml.safe_dump(exp.model_dump()))
    assert main(["run", str(pfile), "--outputs", str(tmp_path), "--executor", "inline", "--no-analysis"]) == 1
    assert sum("stage finetune: NonFiniteLossError" in line for line in log) == 3  # each error, listed


# ---- two processes on one stage ------------------------------------------------------------
def _build_once(args):
    flat, counter = args
    import time

    run = RunParams.from_flat(flat, "test")
    real = stages.FUNCTIONS["data"]

    def counted(run, upstream, out):
        with open(counter, "a") as f:
            f.write(f"{os.getpid()} start {time.time()}\n")
        time.sleep(0.5)  # long enough for the other process to arrive while this one builds
        out = real(run, upstream, out)
        with open(counter, "a") as f:
            f.write(f"{os.getpid()} end {time.time()}\n")
        return out

    stages.FUNCTIONS["data"] = counted
    return str(stages.ensure("data", run))


def _build_when_both_are_there(flat, counter, barrier, outs):
    barrier.wait(60)  # both call ensure() at the same moment
    outs.put(_build_once((flat, counter)))


def test_two_processes_never_build_one_stage_at_once(tmp_path):
    from conftest import tiny

    flat = tiny(tmp_path / "cache", run_dir=str(tmp_path / "run"))
    counter = tmp_path / "builds.txt"
    ctx = multiprocessing.get_context("fork")  # two processes of this one, torch already imported
    barrier, outs = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_build_when_both_are_there, args=(flat, str(counter), barrier, outs))
             for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    a, b = outs.get(timeout=5), outs.get(timeout=5)
    assert a == b and is_done(a)
    lines = counter.read_text().split()
    assert lines[1::3] == ["start", "end"], counter.read_text()  # built once; the other waited, then used it


def test_two_runners_on_one_outputs_folder_finish_one_intact_grid(cache_dir, tmp_path):
    """Two ``xltkit run`` started at once on the same file and outputs (two job arrays on a
    shared file system): both finish, and the grid's table is whole and as one runner makes it."""
    from conftest import tiny

    doc = {"experiment": "two", "workers": 1, "shared": tiny(tmp_path / "cache"),
           "grid": [{"model": ["rule-length"], "seed": [0, 1]}]}
    pfile = tmp_path / "two.yaml"
    pfile.write_text(yaml.safe_dump(doc))
    cmd = [sys.executable, "-m", "xltkit.pipeline.cli", "run", str(pfile), "--outputs", str(tmp_path / "out"),
           "--no-analysis", "--executor", "inline"]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for _ in range(2)]
    outs = [p.communicate()[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    df = pd.read_parquet(tmp_path / "out" / "two" / "results.parquet")
    single = Runner(Experiment(**{**doc, "shared": tiny(tmp_path / "cache1")}), outputs=tmp_path / "one",
                    echo=_quiet, executor="inline").run()
    c = results.compare(df, single)
    assert c["matched"] == len(single) == len(df) and c["n_different"] == 0
    assert all(read_json(m)["status"] == "done" for m in (tmp_path / "out" / "two" / "runs").glob("*/manifest.json"))


def test_analyze_after_a_killed_grid_rebuilds_the_table_and_names_what_is_missing(cache_dir, tmp_path):
    from xltkit.pipeline.cli import main

    exp = _exp(cache_dir, "a", [{"intermediate_lang": ["none", "lab_fin"], "seed": [0, 1]}, {"model": ["rule-bow"]}])
    Runner(exp, outputs=tmp_path, echo=_quiet, executor="inline").run()
    (tmp_path / "a" / "results.parquet").unlink()  # killed before the table was written
    victim = sorted((tmp_path / "a" / "runs").glob("*/manifest.json"))[0]
    write_json({**read_json(victim), "status": "running"}, victim)  # ... and mid-run
    assert main(["analyze", str(tmp_path / "a"), "--n-boot", "100"]) == 0
    df = pd.read_parquet(tmp_path / "a" / "results.parquet")
    assert df.run_id.nunique() == 4 and victim.parent.name not in set(df.run_id)
    summary = (tmp_path / "a" / "analysis" / "summary.txt").read_text()
    assert "1 of 5 runs of the grid have not finished" in summary and victim.parent.name in summary


def test_a_lock_is_released_when_its_holder_is_killed(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from xltkit.core.io import locked
        with locked({str(tmp_path / 'stage')!r}):
            print('held', flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    with locked(tmp_path / "stage"):  # no stale lock: this returns at once
        pass


# ---- GPUs, executors and bad input -----------------------------------------------------------
def test_each_worker_gets_its_own_gpus(monkeypatch, tmp_path):
    assert gpu_slots(2, None, []) == [None, None]  # no GPU: the variable is left alone
    assert gpu_slots(4, None, ["0", "1", "2", "3"]) == ["0", "1", "2", "3"]
    assert gpu_slots(2, 2, ["0", "1", "2", "3"]) == ["0,1", "2,3"]
    for args, msg in [((3, 2, ["0", "1", "2", "3"]), "needs 6 GPUs.*use --workers 2"),
                      ((1, 8, ["0", "1"]), "has 2 GPUs"), ((1, 2, []), "none visible"), ((0, None, []), "at least 1")]:
        with pytest.raises(ParamsError, match=msg):
            gpu_slots(*args)
    seen: list[tuple[str, str]] = []
    import threading
    import time

    from xltkit.pipeline import executors
    busy: set[str] = set()
    lock = threading.Lock()

    def fake(notebook, params, output, env=None, processes=1):
        gpus = env["CUDA_VISIBLE_DEVICES"]
        with lock:
            assert gpus not in busy, "two tasks on one GPU at once"
            busy.add(gpus)
        time.sleep(0.05)
        with lock:
            busy.discard(gpus)
            seen.append((params["i"], gpus))
        return 0.05

    monkeypatch.setattr(executors, "stage_task", fake)
    ex = ProcessExecutor(2, 2, gpus=["0", "1", "2", "3"])
    futures = ex.submit([("nb", {"i": i}, tmp_path / f"{i}.ipynb") for i in range(8)])
    assert all(f.result()[0] is None for f, _ in futures)
    ex.shutdown()
    assert len(seen) == 8 and {g for _, g in seen} == {"0,1", "2,3"}


def test_bad_grids_and_executor_settings_are_refused_before_any_run(cache_dir, tmp_path, monkeypatch):
    from conftest import tiny

    def write(doc):
        p = tmp_path / "p.yaml"
        p.write_text(yaml.safe_dump(doc))
        return p

    base = {"experiment": "bad", "shared": tiny(cache_dir)}
    with pytest.raises(ParamsError, match="are the same run"):
        load_experiment(write({**base, "grid": {"seed": [0, 0]}}), tmp_path)
    with pytest.raises(ParamsError, match="are the same run"):
        load_experiment(write({**base, "grid": [{"seed": [0, 1]}, {"seed": [1]}]}), tmp_path)
    with pytest.raises(ParamsError, match="expands to no runs|non-empty list"):
        load_experiment(write({**base, "grid": {"seed": []}}), tmp_path)
    with pytest.raises(ParamsError, match="executor block.*partitio"):
        load_experiment(write({**base, "executor": {"partitio": "gpu"}}), tmp_path)
    exp = load_experiment(write({**base, "executor": {"partition": "gpu", "gpus_per_node": 1}}), tmp_path)
    with pytest.raises(ParamsError, match="at least 1"):
        Runner(exp, outputs=tmp_path, workers=0)
    with pytest.raises(ParamsError, match="sbatch is not on this machine"):
        Runner(exp, outputs=tmp_path, executor="slurm")
    with pytest.raises(ParamsError, match="inline runs one stage at a time"):
        Runner(exp, outputs=tmp_path, executor="inline", workers=2)
    monkeypatch.setitem(sys.modules, "submitit", None)  # not installed
    with pytest.raises(ParamsError, match="needs the submitit package"):
        Runner(exp, outputs=tmp_path, executor="submitit-local")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(ParamsError, match="needs 2 GPUs"):
        Runner(exp, outputs=tmp_path, workers=2)  # asked for: refused
    assert Runner(exp, outputs=tmp_path).executor.capacity == 1  # the file's default of 2: fitted to one GPU
    assert not (tmp_path / "bad").exists()  # nothing was started
    cli = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "run", str(tmp_path / "p.yaml"), "--outputs",
                          str(tmp_path), "--workers", "0"], capture_output=True, text=True, cwd=REPO)
    assert cli.returncode == 2 and "--workers must be at least 1" in cli.stderr


def test_slurm_jobs_through_submitit_record_their_ids_and_results(cache_dir, tmp_path, monkeypatch):
    exp = _exp(cache_dir, "sl", [{"model": ["rule-length"]}])
    runner = Runner(exp, outputs=tmp_path, echo=_quiet, executor="submitit-local")
    df = runner.run()
    assert not runner.failed and df.run_id.nunique() == 1
    mans = [read_json(m) for m in (tmp_path / "sl" / "runs").glob("*/manifest.json")]
    assert all(m["status"] == "done" and m["jobs"].get("evaluate") for m in mans)
    assert all(m["runner"]["executor"] == "submitit-local" for m in mans)
    assert list((tmp_path / "sl" / "slurm").glob("*/*_submitted.pkl"))  # submitit's job folders
    from xltkit.pipeline.status import status

    st = status(tmp_path / "sl")
    assert set(st.status) == {"done"} and st.jobs.str.contains("evaluate:").all()
    # on a login node, SLURM's own state of each job (sacct; a stand-in here)
    from xltkit.pipeline.status import with_slurm_states

    fake = tmp_path / "bin" / "sacct"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nfor a in \"$@\"; do last=$a; done\n"
                    "echo \"$last\" | tr ',' '\\n' | sed 's/$/|COMPLETED/'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    st = with_slurm_states(st)
    assert st.job_states.str.contains("evaluate:COMPLETED").all() and "?" not in "".join(st.job_states)
    debug = Runner(_exp(cache_dir, "sl2", [{"model": ["rule-length"]}]), outputs=tmp_path,
                   echo=_quiet, executor="submitit-debug").run()  # submitit's debug executor: in this process
    assert results.compare(df, debug)["n_different"] == 0 and len(debug) == len(df)


# ---- safe by default -------------------------------------------------------------------------
def test_a_parameter_that_looks_like_code_reaches_the_notebook_as_a_string(tmp_path, monkeypatch):
    import nbformat

    from xltkit.pipeline.executors import execute_notebook

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    params = nbformat.v4.new_code_cell("value = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("open('seen.txt', 'w').write(repr(value))")]
    (tmp_path / "nb").mkdir()
    nbformat.write(nb, tmp_path / "nb" / "probe.ipynb")
    monkeypatch.setenv("XLTKIT_NOTEBOOKS", str(tmp_path / "nb"))
    monkeypatch.chdir(tmp_path)
    evil = "x'\nopen('PWNED', 'w').write('1')\n'"
    execute_notebook("probe.ipynb", {"value": evil}, tmp_path / "out.ipynb")
    assert not (tmp_path / "PWNED").exists()
    assert (tmp_path / "seen.txt").read_text() == repr(evil)


def test_files_are_read_with_safe_loaders_only():
    import re

    bad = []
    for path in (REPO / "xltkit").rglob("*.py"):
        text = path.read_text()
        for m in re.finditer(r"yaml\.load\(|yaml\.unsafe_load|pickle\.loads?\(|torch\.load\(([^)]*)\)", text):
            if m.group(0).startswith("torch.load") and "weights_only=True" in (m.group(1) or ""):
                continue
            bad.append(f"{path.relative_to(REPO)}: {m.group(0)[:60]}")
    assert not bad, bad
    import pickle

    from xltkit.modeling.rules import load_rule

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo rule files run no code",))

    with pytest.raises(pickle.UnpicklingError, match="refers to .*system"):  # the surface rules' files
        load_rule(pickle.dumps(Evil()))
    import numpy as np

    class Loader:  # a numpy function that unpickles a file of its own: refused too
        def __reduce__(self):
            return (np.load, ("elsewhere.npy", None, True))

    with pytest.raises(pickle.UnpicklingError, match="numpy.load"):
        load_rule(pickle.dumps(Loader()))
    # protocol 4 names an attribute path: numpy's memmap (a class that creates files) through the rules' own import
    with pytest.raises(pickle.UnpicklingError, match="an attribute path, not loaded"):
        load_rule(b"\x80\x04\x8c\x15xltkit.modeling.rules\x8c\tnp.memmap\x93.")
    saved = [p for p in (REPO / "xltkit").rglob("*.py") if "torch.save(" in p.read_text()]
    assert [p.name for p in saved] == ["trainer.py"]  # the noise generators' states: tensors only


# ---- one model on several processes ----------------------------------------------------------
def test_a_training_stage_under_torchrun_trains_one_model_over_two_processes(cache_dir, tmp_path):
    """Two CPU processes (gloo) stand in for two GPUs: the same global batch split over them,
    the logged loss per example (not multiplied by the world size), the stage's outputs as
    one process leaves them."""
    from conftest import tiny

    fields = [f for g in graph.STAGES["finetune"].groups for f in __import__(
        "xltkit.pipeline.params", fromlist=["GROUPS"]).GROUPS[g].model_fields]
    one = RunParams.from_flat(tiny(cache_dir, finetune_steps=20, run_dir=str(tmp_path / "one")), "test")
    out_one = stages.ensure("finetune", one)  # upstream stages from the session's cache
    two_cache = tmp_path / "cache2"
    import shutil

    for stage in ("data", "pretrain"):  # the same upstream, so that only the finetuning differs
        node = next(n for n in graph.chain(one) if n.stage.name == stage)
        src = graph.output_dir(node, one)
        shutil.copytree(src, two_cache / src.relative_to(cache_dir))
    flat = {k: v for k, v in tiny(two_cache, finetune_steps=20, run_dir=str(tmp_path / "two")).items() if k in fields}
    pfile = tmp_path / "two.yaml"
    pfile.write_text(yaml.safe_dump(flat))
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "xltkit.pipeline.launch", "finetune", str(pfile)], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("finetune anim/lab_eng: 100%") == 2  # both processes trained
    out_two = graph.output_dir(graph.chain(RunParams.from_flat(flat, "t"))[-2], RunParams.from_flat(flat, "t"))
    a, b = read_json(Path(out_one) / "stats.json"), read_json(out_two / "stats.json")
    assert b["processes"] == 2 and "processes" not in a and b["steps"] == a["steps"] == 20
    ratio = sum(b["loss_curve"]) / sum(a["loss_curve"])
    assert 0.9 < ratio < 1.1, (a["loss_curve"], b["loss_curve"])  # per example, not x2
    assert sorted(p.name for p in out_two.iterdir()) == sorted(p.name for p in Path(out_one).iterdir())
    ev = stages.ensure("evaluate", RunParams.from_flat({**tiny(two_cache, finetune_steps=20,
                                                                 run_dir=str(tmp_path / "two"))}, "t"))
    assert ev.value.between(0, 1).all()  # the model it saved loads and evaluates as any other


def test_the_cause_of_a_failure_is_found_under_its_messengers():
    from xltkit.pipeline.executors import exception_line

    torchrun = ["[rank1]: Traceback (most recent call last):", "[rank1]:   File x.py, line 3",
                "[rank1]: xltkit.modeling.trainer.NonFiniteLossError: finetune: non-finite loss at step 4",
                "torch.distributed.elastic.multiprocessing.errors.ChildFailedError: ", "  xltkit.pipeline.launch FAILED"]
    assert exception_line(torchrun) == "xltkit.modeling.trainer.NonFiniteLossError: finetune: non-finite loss at step 4"
    assert exception_line(["all went well"]) == ""


def test_training_stages_go_to_torchrun_when_a_worker_has_several_gpus(monkeypatch, tmp_path):
    from xltkit.pipeline import executors

    calls = []
    monkeypatch.setattr(executors, "launch_distributed",
                        lambda stage, params, out, n, env=None, log=None: calls.append(("torchrun", stage, n, env)))
    monkeypatch.setattr(executors, "execute_notebook",
                        lambda nb, params, out, log=None, env=None: calls.append(("papermill", nb, 1, env)))
    ex = ProcessExecutor(1, 2, gpus=["0", "1"])
    futs = ex.submit([("03_finetune.ipynb", {}, tmp_path / "f.ipynb"), ("04_evaluate.ipynb", {}, tmp_path / "e.ipynb")])
    assert all(f.result()[0] is None for f, _ in futs)
    ex.shutdown()
    assert calls == [("torchrun", "finetune", 2, {"CUDA_VISIBLE_DEVICES": "0,1"}),
                     ("papermill", "04_evaluate.ipynb", 1, {"CUDA_VISIBLE_DEVICES": "0,1"})]
