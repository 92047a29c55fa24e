"""Extractive QA and retrieval through the pipeline, offline: the hub's QA and Tatoeba fixtures,
a tiny XLM-R-architecture encoder, the same stages as every other task (retrieval without
target fine-tuning), and a grid through ``xltkit run`` (the stage notebooks) to the analysis
and the XTREME-R score."""

import json

import pandas as pd
import pytest

from xltkit.pipeline import graph, stages
from xltkit.modeling.heads import get_head
from xltkit.pipeline.params import RunParams
from xltkit.tasks import get_task


@pytest.fixture(scope="module", autouse=True)
def _offline(tmp_path_factory):
    import os

    old = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "HF_DATASETS_CACHE")}
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing here may reach the hub
    os.environ["HF_DATASETS_CACHE"] = str(tmp_path_factory.mktemp("hf-datasets"))
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    from xltkit.tasks.hub.fixtures import write_fixtures

    return write_fixtures(tmp_path_factory.mktemp("hub"))


@pytest.fixture(scope="module")
def encoder(tmp_path_factory, hub_root):
    from xltkit.modeling.tiny import tiny_xlmr
    from xltkit.tasks.hub.fixtures import fixture_text

    return tiny_xlmr(tmp_path_factory.mktemp("enc") / "tiny-xlmr", fixture_text(hub_root), num_hidden_layers=2)


def _run(hub_root, encoder, tmp_path, **kw) -> RunParams:
    base = dict(model=f"hf:{encoder}", hub_root=str(hub_root), n_train=None, n_dev=None, n_test=None,
                finetune_steps=6, intermediate_steps=4, batch_size=8, max_length=64, qa_stride=16,
                cache_dir=str(tmp_path / "cache"), run_dir=str(tmp_path / "run"), freeze_embeddings=False,
                finetune_lr=1e-3, intermediate_lr=1e-3, source_lang="eng")
    return RunParams(**{**base, **kw})


@pytest.mark.slow
def test_a_qa_target_trains_on_english_windows_and_scores_f1_and_exact_match(hub_root, encoder, tmp_path):
    run = _run(hub_root, encoder, tmp_path, target_task="xquad", eval_langs=["eng", "deu", "ron"],
               finetune_epochs=1, max_length=32, qa_stride=8)  # several windows per context
    assert [n.stage.name for n in graph.chain(run)] == ["finetune", "evaluate"]
    m = stages.ensure("evaluate", run)
    assert set(m.metric) == {"f1", "exact_match"} and set(m.eval_lang) == {"eng", "deu", "ron"}
    assert set(m.split) == {"test"}  # XQuAD has one split, scored as the test set
    assert m.value.between(0, 1).all()
    f1 = m[m.metric == "f1"].set_index("eval_lang").value
    em = m[m.metric == "exact_match"].set_index("eval_lang").value
    assert (f1 >= em).all()  # an exact answer has F1 1: F1 is never below exact match
    stats = json.loads((graph.output_dir(graph.chain(run)[0], run) / "stats.json").read_text())
    assert stats["train_features"] > stats["train_examples"]  # long contexts: several windows each
    assert stats["steps"] == -(-stats["train_features"] // 8)  # one epoch over the windows, not the questions
    preds = pd.read_parquet(tmp_path / "run" / "predictions.parquet")
    assert len(preds) == m[m.metric == "f1"].n_examples.sum() and preds.correct.between(0, 1).all()


@pytest.mark.slow
def test_a_qa_target_trains_and_scores_on_xtreme_step_windows(hub_root, encoder, tmp_path):
    """qa_stride_mode: step (XTREME's doc_stride) through the stages: more windows than the same
    qa_stride as an overlap, its own training key, predictions scored."""
    from xltkit.modeling.tokenization import load_tokenizer

    kw = dict(target_task="xquad", eval_langs=["eng", "deu"], finetune_epochs=1, max_length=32, qa_stride=4)
    step = _run(hub_root, encoder, tmp_path, qa_stride_mode="step", **kw)
    overlap = _run(hub_root, encoder, tmp_path, **kw)
    assert graph.key("finetune", step) != graph.key("finetune", overlap)
    m = stages.ensure("evaluate", step)
    assert set(m.metric) == {"f1", "exact_match"} and m.value.between(0, 1).all()
    stats = json.loads((graph.output_dir(graph.chain(step)[0], step) / "stats.json").read_text())
    head = get_head("extractive_qa", overlap.encoder, get_task("xquad"))
    tok = load_tokenizer(encoder)
    tok.model_max_length = 32
    train = get_task("xquad").load("train", "eng", overlap.data_context())
    assert stats["train_features"] > len(head.encode(tok, train)) > stats["train_examples"]  # 4 apart, not 4 shared


@pytest.mark.slow
def test_intermediate_qa_in_hungarian_feeds_tydiqa(hub_root, encoder, tmp_path):
    run = _run(hub_root, encoder, tmp_path, target_task="tydiqa", eval_langs=["fin", "swh"],
               intermediate_task="squad", intermediate_lang="hun", intermediate_examples=30)
    assert [n.stage.name for n in graph.chain(run)] == ["intermediate", "finetune", "evaluate"]
    m = stages.ensure("evaluate", run)
    inter = json.loads((graph.output_dir(graph.chain(run)[0], run) / "stats.json").read_text())
    assert inter["train_examples"] == 30 and (m.intermediate_task == "squad").all()
    assert not m.eval_seen.any() and m.groupby("eval_lang").eval_low_resource.first().to_dict() == \
        {"fin": False, "swh": True}


@pytest.mark.slow
def test_retrieval_runs_on_the_encoder_without_fine_tuning_and_records_its_pooling(hub_root, encoder, tmp_path):
    run = _run(hub_root, encoder, tmp_path, target_task="tatoeba", eval_langs=["fin", "hun"], retrieval_layer=1)
    assert [n.stage.name for n in graph.chain(run)] == ["evaluate"]  # a hub encoder as it is: nothing before
    m = stages.ensure("evaluate", run)
    assert set(m.metric) == {"accuracy", "accuracy_reverse"} and set(m.split) == {"test"}
    assert (m.retrieval_pooling == "mean(layer=1,special=in)").all()
    other = _run(hub_root, encoder, tmp_path, target_task="tatoeba", eval_langs=["fin", "hun"], retrieval_layer=2,
                 run_dir=str(tmp_path / "run2"))
    assert graph.run_id(other) != graph.run_id(run)  # the layer is part of what the score depends on
    after = _run(hub_root, encoder, tmp_path, target_task="tatoeba", eval_langs=["fin"], retrieval_layer=1,
                 intermediate_task="squad", intermediate_lang="fin", intermediate_examples=20,
                 run_dir=str(tmp_path / "run3"))
    assert [n.stage.name for n in graph.chain(after)] == ["intermediate", "evaluate"]
    m3 = stages.ensure("evaluate", after)
    assert m3[m3.eval_lang == "fin"].eval_seen.all()
    from transformers import AutoModel

    from xltkit.modeling.heads import get_head
    from xltkit.modeling.tokenization import load_tokenizer

    head, texts = get_head("retrieval", after.encoder), ["a few words", "other words here"]
    embed = {name: head.embed(AutoModel.from_pretrained(str(folder)), load_tokenizer(folder), texts)
             for name, folder in (("hub", encoder), ("intermediate", graph.output_dir(graph.chain(after)[0], after)))}
    assert abs(embed["hub"] - embed["intermediate"]).max() > 1e-4  # retrieval reads the intermediate-trained encoder
    untrained = _run(hub_root, encoder, tmp_path, model=f"hf-untrained:{encoder}", target_task="tatoeba",
                     eval_langs=["fin"], retrieval_layer=1, run_dir=str(tmp_path / "run4"))
    m4 = stages.ensure("evaluate", untrained)  # random weights, not the encoder's: another model's numbers
    assert set(m4.metric) == {"accuracy", "accuracy_reverse"} and (m4.model == f"hf-untrained:{encoder}").all()


def _names_in(reads) -> set[str]:
    import re

    return set(re.findall(r'"([^"]*)"', json.dumps(reads)))  # every string of the reads, keys and values


def test_xquad_and_mlqa_plan_one_squad_fine_tune_and_tydiqa_its_own(hub_root, tmp_path):
    """XQuAD and MLQA both train on English SQuAD v1.1 (issue #11): with the same settings one
    fine-tune serves both, keyed by the data and not the target's name; each is evaluated apart."""
    from xltkit.pipeline.runner import plan

    def run(target, **kw):
        return RunParams(**{**dict(model="hf:xlm-roberta-base", hub_root=str(hub_root), source_lang="eng",
                                   n_train=None, finetune_epochs=1, max_length=64, qa_stride=16,
                                   cache_dir=str(tmp_path / "cache"), run_dir=str(tmp_path / target)),
                            "target_task": target, **kw})

    runs = [run("xquad"), run("mlqa"), run("tydiqa")]
    jobs = plan(runs, tmp_path / "exp")
    tunes = sorted((j for j in jobs.values() if j.stage.name == "finetune"), key=lambda j: len(j.runs))
    assert [len(j.runs) for j in tunes] == [1, 2]  # TyDiQA's own; XQuAD's and MLQA's shared
    assert tunes[1].runs == [graph.run_id(runs[0]), graph.run_id(runs[1])]
    assert len({graph.run_id(r) for r in runs}) == sum(j.stage.name == "evaluate" for j in jobs.values()) == 3
    finetune = lambda r: graph.key("finetune", r)  # noqa: E731
    assert finetune(runs[0]) == finetune(runs[1]) != finetune(runs[2])
    reads = graph.STAGES["finetune"].reads(runs[0])
    assert reads == graph.STAGES["finetune"].reads(runs[1]) and not {"xquad", "mlqa"} & _names_in(reads)
    assert reads["training_data"]["source"][:2] == ["rajpurkar/squad", "plain_text"]
    # anything the training depends on keeps them apart: the subsample, the learning rate, the seed, the noise
    for change in (dict(n_train=20), dict(finetune_lr=1e-4), dict(seed=1), dict(noise="rs-rp", noise_scale=0.5),
                   dict(qa_stride=8), dict(dataset_revisions={"rajpurkar/squad": "main"})):
        assert finetune(run("xquad", **change)) == finetune(run("mlqa", **change)) != finetune(runs[1]), change
    assert finetune(run("xquad", n_train=20)) != finetune(run("mlqa", n_train=30))
    # a dev set picking the checkpoint is each target's own (XQuAD's: SQuAD dev; MLQA's: its English dev)
    data = runs[0].data_context()
    assert get_task("xquad").training_identity("eng", ("train", "dev"), data) is None
    assert get_task("xquad").training_identity("deu", ("train",), data) is None  # no German training split


@pytest.mark.slow
def test_mlqa_is_scored_with_the_fine_tune_an_xquad_run_built(hub_root, encoder, tmp_path):
    xquad = _run(hub_root, encoder, tmp_path, target_task="xquad", eval_langs=["deu"], finetune_steps=3,
                 run_dir=str(tmp_path / "xquad"))
    mlqa = _run(hub_root, encoder, tmp_path, target_task="mlqa", eval_langs=["deu"], finetune_steps=3,
                run_dir=str(tmp_path / "mlqa"))
    folder = stages.ensure("finetune", xquad)
    assert stages.ensure("finetune", mlqa) == folder  # done already: not trained again
    done = json.loads((folder / "_done.json").read_text())
    assert not {"xquad", "mlqa"} & _names_in(done)  # the shared fine-tune claims neither target
    m = stages.ensure("evaluate", mlqa)
    assert set(m.target_task) == {"mlqa"} and set(m.split) == {"dev", "test"} and m.value.between(0, 1).all()


@pytest.mark.slow
def test_a_shared_fine_tune_stopped_under_xquad_resumes_under_mlqa(hub_root, encoder, tmp_path, monkeypatch):
    from xltkit.modeling import checkpoints, training

    kw = dict(eval_langs=["deu"], finetune_steps=6, checkpoint_every=2)
    xquad = _run(hub_root, encoder, tmp_path, target_task="xquad", run_dir=str(tmp_path / "xquad"), **kw)
    mlqa = _run(hub_root, encoder, tmp_path, target_task="mlqa", run_dir=str(tmp_path / "mlqa"), **kw)
    out = graph.output_dir(graph.chain(xquad)[0], xquad)
    assert graph.output_dir(graph.chain(mlqa)[0], mlqa) == out  # one stage output for both targets
    step_end = training.TextProgress.on_step_end

    def stop_at_5(self, args, state, control, **k):  # a preempted job, in this process
        if state.global_step == 5:
            raise KeyboardInterrupt("stopped at step 5")
        return step_end(self, args, state, control, **k)

    monkeypatch.setattr(training.TextProgress, "on_step_end", stop_at_5)
    with pytest.raises(KeyboardInterrupt):
        stages.ensure("finetune", xquad)
    monkeypatch.setattr(training.TextProgress, "on_step_end", step_end)
    assert [p.name for p in checkpoints.folder_for(out).rglob("checkpoint-*") if p.is_dir()] == ["checkpoint-4"]
    stages.ensure("finetune", mlqa)  # the same job, named by its stage, not by the target that started it
    stats = json.loads((out / "stats.json").read_text())
    assert stats["resumed_from_step"] == 4 and stats["steps"] == 6


def test_no_other_targets_share_a_fine_tune():
    """Only XQuAD and MLQA train on the same data with the same head: every other hub target's
    fine-tune (and the SQuAD intermediate task's, whose head may predict no answer) is its own."""
    from xltkit.tasks import TASKS
    from xltkit.tasks.base import HEADS

    keys: dict[str, list[str]] = {}
    for name in TASKS.names():
        task = get_task(name)
        if "hub" not in task.reads or not HEADS[task.head].trained or "eng" not in task.sources:
            continue  # the lab's, retrieval (not trained), Turku NER (Finnish by task_files only)
        run = RunParams(model="hf:xlm-roberta-base", target_task=name, source_lang="eng", n_train=None, max_length=384)
        keys.setdefault(graph.key("finetune", run), []).append(name)
    assert sum(map(len, keys.values())) >= 14
    assert [sorted(v) for v in keys.values() if len(v) > 1] == [["mlqa", "xquad"]]


def test_qa_and_retrieval_settings_that_cannot_work_are_refused_before_any_work(hub_root, encoder, tmp_path):
    with pytest.raises(ValueError, match="without target fine-tuning.*noise: none"):
        _run(hub_root, encoder, tmp_path, target_task="tatoeba", noise="rs-rp", noise_scale=0.1)
    with pytest.raises(ValueError, match="scoring its dev set during training is not built yet; set eval_every: null"):
        _run(hub_root, encoder, tmp_path, target_task="xquad", eval_every=5)
    with pytest.raises(ValueError, match="qa_stride=40 must be at most half of max_length=64"):
        _run(hub_root, encoder, tmp_path, target_task="mlqa", qa_stride=40)
    with pytest.raises(ValueError, match="qa_stride=60 with qa_stride_mode: step .* at most max_length=64 less 16"):
        _run(hub_root, encoder, tmp_path, target_task="mlqa", qa_stride=60, qa_stride_mode="step")
    with pytest.raises(ValueError, match="rewrites the words"):
        _run(hub_root, encoder, tmp_path, target_task="xquad", noise="word-dropout", noise_scale=0.1)


@pytest.mark.slow
def test_a_qa_and_retrieval_grid_runs_through_the_notebooks_to_the_analysis_and_the_score(hub_root, encoder,
                                                                                          tmp_path, repo):
    import subprocess
    import sys

    import yaml

    shared = dict(model=f"hf:{encoder}", source_lang="eng", hub_root=str(hub_root), n_train=None, n_dev=None,
                  n_test=None, finetune_steps=6, intermediate_steps=4, batch_size=8, max_length=64, qa_stride=16,
                  freeze_embeddings=False, finetune_lr=1e-3, intermediate_lr=1e-3, intermediate_task="squad",
                  intermediate_examples=20, retrieval_layer=1)
    doc = {"experiment": "qagrid", "workers": 2, "shared": shared, "analysis": {"n_boot": 200},
           "grid": [{"target_task": ["xquad"], "eval_langs": [["eng", "deu"]], "intermediate_lang": ["none", "hun"],
                     "seed": [0]},
                    {"target_task": ["mlqa"], "eval_langs": [["eng", "cmn"]], "intermediate_lang": ["none"], "seed": [0]},
                    {"target_task": ["tydiqa"], "eval_langs": [["fin", "swh"]], "intermediate_lang": ["fin"],
                     "seed": [0]},
                    {"target_task": ["tatoeba"], "eval_langs": [["fin", "deu"]], "intermediate_lang": ["none", "hun"],
                     "seed": [0]},
                    {"target_task": ["xquad"], "eval_langs": [["eng", "deu"]], "model": ["rule-bow"]},  # the controls
                    {"target_task": ["tatoeba"], "eval_langs": [["fin", "deu"]], "model": ["rule-bow"]}]}
    pfile = tmp_path / "grid.yaml"
    pfile.write_text(yaml.safe_dump(doc))
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "run", str(pfile), "--outputs", str(out)],
                          capture_output=True, text=True, env=env, cwd=repo)  # the stage notebooks, kept kernels
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = pd.read_parquet(out / "qagrid" / "results.parquet")
    executed = {p.name.split("-")[0] for p in (out / "qagrid" / "stages").glob("*.ipynb")}  # papermill's notebooks
    assert executed == {"intermediate", "finetune"}
    assert len(list((out / "qagrid" / "runs").glob("*/04_evaluate.ipynb"))) == 8
    assert set(res.target_task) == {"xquad", "mlqa", "tydiqa", "tatoeba"} and res.run_id.nunique() == 8
    assert set(res[res.target_task == "mlqa"].eval_lang) == {"eng", "cmn"}  # Chinese: MLQA's mixed segmentation
    assert {"f1", "exact_match", "accuracy", "accuracy_reverse"} <= set(res.metric)
    gains = pd.read_csv(out / "qagrid" / "analysis" / "gains.csv")
    assert {"f1", "accuracy"} <= set(gains.metric) and (gains.ci_low <= gains.gain).all()  # by each primary metric
    controls = pd.read_csv(out / "qagrid" / "analysis" / "controls.csv")  # each score beside the surface rule's
    ruled = controls.groupby("target_task").bow_rule.apply(lambda s: s.notna().all()).to_dict()
    assert ruled == {"xquad": True, "tatoeba": True, "mlqa": False, "tydiqa": False}
    figures = {p.name for p in (out / "qagrid" / "analysis").glob("*.png")}
    assert {"scores_by_language_xquad.png", "scores_by_language_tatoeba.png"} <= figures  # one per task
    proc = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "score", str(out / "qagrid" / "results.parquet"),
                           "--out", str(tmp_path / "score.csv")], capture_output=True, text=True, env=env, cwd=repo)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    score = pd.read_csv(tmp_path / "score.csv")
    overall = score[(score.level == "overall") & (score.variant == "all")]
    assert len(overall) and not overall.complete.any()  # two tasks of eleven: never the benchmark's score
    assert overall.tasks_missing.str.contains("xnli").all()
