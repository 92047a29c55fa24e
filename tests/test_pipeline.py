"""End to end: stage functions in process, the stage notebooks under papermill, and the
runner (grid expansion, caching, skipping finished work, failure isolation)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from xltkit.core import results
from xltkit.core.io import is_done, read_json
from xltkit.core.params import ParamsError
from xltkit.pipeline import graph, stages
from xltkit.pipeline.experiment import Experiment
from xltkit.pipeline.notebooks import notebook_names, stage_notebook
from xltkit.pipeline.params import GROUPS, RunParams
from xltkit.pipeline.runner import Runner
from xltkit.tasks import get_task

NOTEBOOKS = notebook_names()

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _param_cell(nb):
    return next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))


def _fields(stage):
    return {k for g in graph.STAGES[stage].groups for k in GROUPS[g].model_fields}


@pytest.mark.parametrize("stage", list(NOTEBOOKS))
def test_notebook_parameters_are_the_stage_groups(stage):
    nb = nbformat.read(REPO / "notebooks" / NOTEBOOKS[stage], as_version=4)
    fresh = stage_notebook(stage)
    assert [(c.id, c.source) for c in nb.cells] == [(c.id, c.source) for c in fresh.cells], \
        "notebook out of date: run `make notebooks`"
    ns: dict = {}
    exec(_param_cell(nb).source, ns)
    ns.pop("__builtins__")
    if stage == "analysis":
        from xltkit.analysis.params import AnalysisParams

        assert ns == AnalysisParams().model_dump()
    else:
        assert ns == RunParams().flat(graph.STAGES[stage].groups)
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_each_stage_trains_saves_loads_and_evaluates(tiny_params, tmp_path):
    p = RunParams(**tiny_params(intermediate_lang="lab_fin", target_task="anim", run_dir=str(tmp_path / "r")))
    m = stages.ensure("evaluate", p)
    assert set(m.eval_lang) == set(p.lab.langs)
    nodes = graph.chain(p)
    assert [n.stage.name for n in nodes] == ["data", "pretrain", "intermediate", "finetune", "evaluate"]
    for node in nodes[:-1]:
        assert is_done(graph.output_dir(node, p)) and graph.output_dir(node, p).parent.name == node.stage.name
    acc = m[(m.metric == "accuracy") & (m.phenomenon == "all")]
    assert acc.value.between(0, 1).all() and (acc.n_examples == acc.split.map({"dev": 40, "test": 60})).all()
    assert (tmp_path / "r" / "predictions.parquet").is_file()
    # a token task as target: span F1 from seqeval beside token accuracy
    q = RunParams(**tiny_params(target_task="roles", run_dir=str(tmp_path / "q")))
    mq = stages.ensure("evaluate", q)
    assert {"token_accuracy", "span_f1"} <= set(mq.metric)
    assert [n.stage.name for n in graph.chain(q)] == ["data", "pretrain", "finetune", "evaluate"]


def test_pair_task_runs_in_the_same_and_generalized_setting(tiny_params, tmp_path):
    p = RunParams(**tiny_params(intermediate_lang="lab_fin", intermediate_task="nli", target_task="paws",
                                run_dir=str(tmp_path / "r")))
    m = stages.ensure("evaluate", p)
    acc = m[(m.metric == "accuracy") & (m.phenomenon == "all") & (m.split == "test")]
    same, gen = acc[acc.eval_setting == "same"], acc[acc.eval_setting == "generalized"]
    assert set(same.eval_lang) == set(p.lab.langs) and set(gen.eval_lang) == set(p.lab.langs) - {"lab_eng"}
    # the generalized test set pairs the eval language's first sentences with English second ones
    def words(df, col):
        return [list(w) for w in df[col]]

    paws, data = get_task("paws"), p.data_context()
    mixed = paws.frame("test", "lab_fin", data, "lab_eng")
    assert words(mixed, "words") == words(paws.frame("test", "lab_fin", data), "words")
    assert words(mixed, "words2") == words(paws.frame("test", "lab_eng", data), "words2")
    rule = RunParams(**tiny_params(model="rule-overlap", target_task="nli", run_dir=str(tmp_path / "o")))
    assert set(stages.ensure("evaluate", rule).eval_setting) == {"same", "generalized"}
    assert [n.stage.name for n in graph.chain(rule)] == ["finetune", "evaluate"]  # no corpora, no encoder
    with pytest.raises(ValueError, match="rule-overlap.*no version for sequence tasks"):
        RunParams(**tiny_params(model="rule-overlap", target_task="anim"))


def test_notebook_rejects_unknown_parameters(tiny_params):
    fields = _fields("pretrain")
    ns = {**{k: v for k, v in tiny_params().items() if k in fields}, "pretrain_stepz": 3}
    with pytest.raises(ParamsError, match="unknown key 'pretrain_stepz'.*did you mean 'pretrain_steps'"):
        stages.run_from_notebook("pretrain", ns)


def _papermill(nb, out, pfile):
    return subprocess.run([sys.executable, "-m", "papermill", str(REPO / "notebooks" / nb), str(out), "-f", str(pfile),
                           "--no-progress-bar"], capture_output=True, text=True, cwd=REPO)


def test_plain_papermill_cli_runs_a_stage_and_validates(tiny_params, tmp_path):
    params = {k: v for k, v in tiny_params(run_dir=str(tmp_path / "run")).items() if k in _fields("evaluate")}
    pfile = tmp_path / "p.yaml"
    pfile.write_text(yaml.safe_dump(params))
    proc = _papermill("04_evaluate.ipynb", tmp_path / "out.ipynb", pfile)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "run" / "metrics.parquet").is_file()
    pfile.write_text(yaml.safe_dump({**params, "finetune_stepz": 3}))
    proc = _papermill("04_evaluate.ipynb", tmp_path / "bad.ipynb", pfile)
    assert proc.returncode != 0 and "unknown key 'finetune_stepz'" in proc.stderr


def _experiment(cache_dir, name, grid):
    shared = {k: v for k, v in _tiny_shared(cache_dir).items()}
    return Experiment(experiment=name, workers=2, shared=shared, grid=grid, analysis={"n_boot": 200})


def _tiny_shared(cache_dir):
    from conftest import tiny
    return tiny(cache_dir)


def test_runner_runs_grid_skips_finished_work_and_analyses(cache_dir, tmp_path):
    exp = _experiment(cache_dir, "t", [{"intermediate_lang": ["none", "lab_fin"]},
                                       {"model": ["lab-bert-untrained", "rule-bow"]}])
    log: list[str] = []
    runner = Runner(exp, outputs=tmp_path, echo=log.append, executor="inline")  # papermill workers: the next tests
    df = runner.run()
    assert not runner.failed
    assert list(df.columns[: len(results.METRIC_COLUMNS)]) == results.METRIC_COLUMNS
    assert df.run_id.nunique() == 4 and set(df.eval_lang) == {"lab_eng", "lab_fin", "lab_tur"}
    assert set(df.model) == {"lab-bert", "lab-bert-untrained", "rule-bow"}
    from xltkit import __version__

    mans = [read_json(m) for m in (tmp_path / "t" / "runs").glob("*/manifest.json")]
    man = next(m for m in mans if m["params"]["model"] == "lab-bert")
    assert man["status"] == "done" and man["versions"]["torch"] and "evaluate" in man["timings_s"]
    assert is_done(man["stage_dirs"]["data"]) and man["runner"]["executor"] == "inline"
    assert man["versions"]["xltkit"] == __version__ and man["git_dirty"] in (True, False, None)
    assert set(man["stage_keys"]) == {"data", "pretrain", "finetune", "evaluate"} or "intermediate" in man["stage_keys"]
    rule = next(m for m in mans if m["params"]["model"] == "rule-bow")
    assert set(rule["stage_keys"]) == {"finetune", "evaluate"}  # a rule needs no corpora and no encoder
    # one pretraining (and one untrained init) serves all runs
    assert sorted(j.stage.name for j in runner.jobs.values()).count("pretrain") == 2
    assert sum("[pretrain" in line for line in log) <= 2
    stamp = {p: p.stat().st_mtime_ns for p in (tmp_path / "t" / "runs").glob("*/metrics.parquet")}

    log2: list[str] = []
    Runner(exp, outputs=tmp_path, echo=log2.append).run()  # with papermill workers: nothing left to do
    assert "0 of" in log2[0] and "4 already done" in log2[0]
    assert stamp == {p: p.stat().st_mtime_ns for p in (tmp_path / "t" / "runs").glob("*/metrics.parquet")}

    runner.analyze()
    out = tmp_path / "t" / "analysis"
    for f in ("gains.csv", "controls.csv", "summary.txt", "gain_heatmap.png", "scores_by_language.png",
              "05_analysis.ipynb"):
        assert (out / f).is_file(), f
    gains = pd.read_csv(out / "gains.csv")
    assert set(gains.intermediate_lang) == {"lab_fin"} and (gains.ci_low <= gains.gain).all()

    # a formula naming a column that does not exist: named in the notes, the rest still runs
    from xltkit.analysis.params import AnalysisParams
    from xltkit.analysis.report import analyze

    (out / "gains.csv").unlink()
    a = analyze(AnalysisParams(experiment_dir=str(tmp_path / "t"), n_boot=100, formula="gain_pts ~ no_such_column"))
    assert any("no_such_column" in n and "columns available" in n for n in a.notes)
    # 10 pretraining steps learn nothing: the analysis says so instead of reading the gains as evidence
    assert any("pretraining barely learnt" in n for n in a.notes) and "mlm_accuracy" in a.languages
    assert a.custom_model is None and (out / "gains.csv").is_file() and not a.controls.empty


def test_pair_task_grid_reports_the_generalized_setting_and_drops_stale_runs(cache_dir, tmp_path):
    grid = [{"intermediate_lang": ["none", "lab_fin"], "target_task": ["paws"]},
            {"model": ["rule-overlap"], "target_task": ["paws"]}]
    runner = Runner(_experiment(cache_dir, "p", grid), outputs=tmp_path, echo=lambda s: None, executor="inline")
    df = runner.run()
    assert not runner.failed and set(df.eval_setting) == {"same", "generalized"}
    from xltkit.analysis.params import AnalysisParams
    from xltkit.analysis.report import analyze

    analyze(AnalysisParams(experiment_dir=str(tmp_path / "p"), n_boot=100))
    gen = pd.read_csv(tmp_path / "p" / "analysis" / "generalized.csv")
    assert set(gen.model) == {"lab-bert", "rule-overlap"} and "lab_eng" not in set(gen.eval_lang)
    assert gen.same_score.notna().all() and set(gen.metric) == {"accuracy"}  # each beside its same-language score
    assert "Generalized setting" in (tmp_path / "p" / "analysis" / "summary.txt").read_text()
    # the same experiment with another grid: the old runs stay on disk but are no longer collected
    old = set(df.run_id)
    df2 = Runner(_experiment(cache_dir, "p", [{"model": ["rule-length"], "target_task": ["paws"]}]),
                 outputs=tmp_path, echo=lambda s: None, executor="inline").run()
    assert set(df2.model) == {"rule-length"} and not old & set(df2.run_id)
    assert len(list((tmp_path / "p" / "runs").iterdir())) == len(old) + 1


@pytest.mark.parametrize("executor", ["warm", "process"])
def test_a_failing_run_is_recorded_while_the_others_go_on_then_resumes(cache_dir, tmp_path, monkeypatch, executor):
    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    for name in NOTEBOOKS.values():
        nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
        if name == NOTEBOOKS["evaluate"]:  # per run: never found in the shared cache
            idx = nb.cells.index(_param_cell(nb))
            nb.cells.insert(idx + 1, nbformat.v4.new_code_cell(
                "if seed == 1:\n    raise RuntimeError('planted failure')\n"
                "if seed == 2:  # a kernel that dies, as the out-of-memory killer leaves it\n"
                "    import os, signal\n    os.kill(os.getpid(), signal.SIGKILL)"))
        nbformat.write(nb, nbdir / name)
    monkeypatch.setenv("XLTKIT_NOTEBOOKS", str(nbdir))
    exp = _experiment(cache_dir, "f", [{"seed": [0, 1, 2]}])
    runner = Runner(exp, outputs=tmp_path, echo=lambda s: None, executor=executor)
    df = runner.run()
    assert len(runner.failed) == 2
    by_seed = {read_json(m)["params"]["seed"]: read_json(m)
               for m in (tmp_path / "f" / "runs").glob("*/manifest.json")}
    assert by_seed[1]["status"] == "failed" and "planted failure" in by_seed[1]["error"]
    assert by_seed[1]["attempts"] == 1 and by_seed[1]["failures"][0]["stage"] == "evaluate"
    assert Path(by_seed[1]["failures"][0]["notebook"]).is_file()  # the executed notebook, to open and read
    assert "planted failure" in by_seed[1]["failures"][0]["traceback_tail"]
    assert by_seed[2]["status"] == "failed" and "kernel died" in by_seed[2]["error"]
    assert by_seed[0]["status"] == "done" and set(df.seed) == {0}
    assert Path(by_seed[0]["notebooks"]["evaluate"]).is_file() and by_seed[0]["runner"]["executor"] == executor

    log: list[str] = []
    Runner(exp, outputs=tmp_path, echo=log.append).run()  # failed runs are left alone unless asked
    assert "0 of" in log[0] and any("2 runs failed before and are left failed" in line for line in log)
    monkeypatch.delenv("XLTKIT_NOTEBOOKS")
    log = []
    df = Runner(exp, outputs=tmp_path, echo=log.append, retry_failed=True, executor="inline").run()
    assert "1 already done" in log[0] and set(df.seed) == {0, 1, 2}
    assert read_json(Path(by_seed[1]["failures"][0]["notebook"]).parent / "manifest.json")["attempts"] == 1


def test_same_parameters_give_identical_results_in_a_fresh_cache(tmp_path):
    from conftest import tiny

    a = stages.ensure("evaluate", RunParams(**tiny(tmp_path / "c1", run_dir=str(tmp_path / "a"),
                                                   intermediate_lang="lab_fin")))
    b = stages.ensure("evaluate", RunParams(**tiny(tmp_path / "c2", run_dir=str(tmp_path / "b"),
                                                   intermediate_lang="lab_fin")))
    pd.testing.assert_frame_equal(a, b)
    pa = pd.read_parquet(tmp_path / "a" / "predictions.parquet")
    pb = pd.read_parquet(tmp_path / "b" / "predictions.parquet")
    pd.testing.assert_frame_equal(pa, pb)


def test_a_killed_grid_resumes_where_it_stopped(cache_dir, tmp_path):
    import signal
    import time

    from conftest import tiny

    from xltkit.pipeline.status import status

    exp = {"experiment": "k", "workers": 1, "shared": tiny(tmp_path / "cache"), "grid": {"seed": [0, 1, 2]}}
    pfile = tmp_path / "k.yaml"
    pfile.write_text(yaml.safe_dump(exp))
    cmd = [sys.executable, "-m", "xltkit.pipeline.cli", "run", str(pfile), "--outputs", str(tmp_path), "--no-analysis",
           "--executor", "inline"]  # the stages run in the runner's process: the kill lands inside one
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    runs = tmp_path / "k" / "runs"
    deadline = time.time() + 240
    while time.time() < deadline and not any(
            read_json(m).get("status") == "done" for m in runs.glob("*/manifest.json")):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the runner and anything it started, mid-grid
    proc.wait()
    done_before = {m.parent.name for m in runs.glob("*/manifest.json") if read_json(m)["status"] == "done"}
    assert 1 <= len(done_before) < 3, "the kill should land mid-grid"
    st = status(tmp_path / "k")  # the runs it was working on are not "running" forever
    assert "interrupted" in set(st.status) and "running" not in set(st.status), st

    again = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert f"({len(done_before)} already done)" in again.stdout
    assert "[data" not in again.stdout  # finished stages are not repeated
    df = pd.read_parquet(tmp_path / "k" / "results.parquet")
    assert df.run_id.nunique() == 3 and set(status(tmp_path / "k").status) == {"done"}
    # the same as a grid that was never interrupted (a fresh cache, the same parameters)
    fresh = Experiment(**{**exp, "shared": tiny(tmp_path / "cache2")})
    c = results.compare(df, Runner(fresh, outputs=tmp_path / "fresh", echo=lambda s: None, executor="inline").run())
    assert c["matched"] == len(df) and c["n_different"] == 0 and not len(c["only_first"]) + len(c["only_second"])
    # nothing half-written looks finished: every stage folder that exists is complete
    for stage_dir in (tmp_path / "cache").glob("*/*"):
        assert stage_dir.name.startswith(".") or is_done(stage_dir) or stage_dir.parent.name == "tasks"


def _finish_in_process(runs, exp_dir):
    """An experiment folder as the runner leaves it, built in process (no papermill)."""
    from xltkit.core.io import write_json

    for r in runs:
        stages.ensure("evaluate", r)
        nodes = graph.chain(r)
        write_json({"run_id": nodes[-1].key, "status": "done", "params": r.flat(),
                    "stage_dirs": {n.stage.name: str(graph.output_dir(n, r)) for n in nodes[:-1]}},
                   Path(r.evaluation.run_dir) / "manifest.json")
    results.write_grid(exp_dir, [graph.run_id(r) for r in runs])
    return results.collect(exp_dir)


def test_a_tagging_grid_is_analysed_on_its_primary_metric(tiny_params, tmp_path):
    """Controls, gains, mixed model and figures of a token task come on its F1 (roles: span
    F1), labelled as such; nothing silently falls back to accuracy or drops out."""
    from xltkit.analysis.params import AnalysisParams
    from xltkit.analysis.report import analyze

    exp = tmp_path / "tag"
    points = [dict(intermediate_lang=i, seed=s) for i in ("none", "lab_fin") for s in (0, 1, 2)]
    points += [dict(model="lab-bert-untrained"), dict(model="rule-bow"), dict(model="rule-length")]
    runs = []
    for pt in points:
        r = RunParams(**tiny_params(target_task="roles", intermediate_task="pos", **pt))
        r.evaluation.run_dir = str(exp / "runs" / graph.run_id(r))
        runs.append(r)
    df = _finish_in_process(runs, exp)
    assert {"span_f1", "token_accuracy"} <= set(df.metric)
    a = analyze(AnalysisParams(experiment_dir=str(exp), n_boot=200))
    assert set(a.controls.metric) == {"span_f1"} and set(a.gains.metric) == {"span_f1"}
    assert a.controls.untrained.notna().all() and a.controls.bow_rule.notna().all()
    assert (a.controls.ci_low <= a.controls.score).all() and (a.controls.score <= a.controls.ci_high).all()
    assert set(a.seed_gains.metric) == {"span_f1"} and a.model is not None
    assert "Gain (span_f1 points)" in a.summary() and "Zero-shot score (span_f1" in a.summary()
    assert {"scores_by_language", "gain_heatmap"} <= set(a.figures)
    assert (exp / "analysis" / "controls.csv").is_file()
