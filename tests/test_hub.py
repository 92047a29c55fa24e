"""The real study's tasks, offline: every registry entry loads from fixtures written in the
hub's exact schema and layout (through the same ``load_dataset`` call, on a local folder),
its checks refuse bad data, and each task trains, saves, reloads and evaluates end to end
on a tiny XLM-R-architecture encoder."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from xltkit.pipeline import graph, stages
from xltkit.pipeline.params import RunParams
from xltkit.tasks import TASKS, TaskError, get_task
from xltkit.tasks.hub import HubTask

HUB_TASKS = [n for n in TASKS if isinstance(TASKS[n], HubTask)]


@pytest.fixture(scope="session", autouse=True)
def _offline(tmp_path_factory):
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing here may reach the hub
    os.environ["HF_DATASETS_CACHE"] = str(tmp_path_factory.mktemp("hf-datasets"))


def _run(hub_root, cache, **kw) -> RunParams:
    base = dict(hub_root=str(hub_root), n_train=None, n_dev=None, n_test=None, finetune_steps=6,
                intermediate_steps=4, batch_size=8, max_length=48, cache_dir=str(cache), freeze_embeddings=False,
                finetune_lr=1e-3, intermediate_lr=1e-3)
    return RunParams(**{**base, **kw})


def test_every_hub_task_loads_every_language_and_split_through_load_dataset(hub_root, tmp_path):
    data = _run(hub_root, tmp_path, model="hf:x", target_task="xnli", source_lang="eng").data_context()
    for name in HUB_TASKS:
        task = get_task(name)
        every = [*task.sources.items(), *((lang, alt) for lang, alts in task.alternatives.items() for alt in alts)]
        for lang, src in every:
            if not isinstance(src, str):
                _check_source(task, lang, src, data)
            else:  # an alternative source, chosen by name
                choice = _run(hub_root, tmp_path, model="hf:x", target_task="xnli", source_lang="eng",
                              source_choices={name: {lang: src}}).data_context()
                _check_source(task, lang, task.alternatives[lang][src], choice)


def _check_source(task, lang, src, data):
    for split in src.splits:
        ds = task.load(split, lang, data)
        assert len(ds) > 20 and ds["id"] == sorted(ds["id"]), (task.name, lang, split)
        note = task.load_notes()[f"{lang}/{split}"]
        assert note["revision"] == src.revision and note["hub_rows"] >= len(ds)
        assert note["source"] == src.describe()


def test_invalid_labels_are_dropped_and_counted(hub_root, tmp_path):
    data = _run(hub_root, tmp_path, model="hf:x", target_task="paws-x", source_lang="eng").data_context()
    ds = get_task("paws-x").load("train", "eng", data)
    note = get_task("paws-x").load_notes()["eng/train"]
    assert note["dropped_invalid_labels"] == 3 and len(ds) == note["hub_rows"] - 3 and -1 not in ds["label"]


def test_placeholder_labels_are_refused_naming_the_split(tmp_path):
    from xltkit.tasks.hub.fixtures import write_fixtures

    root = write_fixtures(tmp_path / "hub", n=24, placeholder_test=("facebook/xnli",))
    data = _run(root, tmp_path / "cache", model="hf:x", target_task="xnli", source_lang="eng").data_context()
    with pytest.raises(TaskError, match="the test split of 'deu' has placeholder labels"):
        get_task("xnli").load("test", "deu", data)
    assert len(get_task("xnli").load("dev", "deu", data)) == 24


def test_a_dataset_whose_schema_differs_from_the_registry_is_refused(hub_root, tmp_path):
    from datasets import ClassLabel, Dataset, Features, Value

    root = tmp_path / "hub"
    shutil.copytree(hub_root / "facebook", root / "facebook")
    bad = Features({"premise": Value("string"), "hypothesis": Value("string"),
                    "label": ClassLabel(names=["contradiction", "neutral", "entailment"])})  # another order
    for split in ("train", "validation", "test"):  # a config is read with one schema
        Dataset.from_dict({"premise": ["a b"] * 4, "hypothesis": ["c"] * 4, "label": [0, 1, 2, 0]},
                          features=bad).to_parquet(str(root / f"facebook/xnli/de/{split}-00000-of-00001.parquet"))
    data = _run(root, tmp_path / "cache", model="hf:x", target_task="xnli", source_lang="eng").data_context()
    with pytest.raises(TaskError, match=r"label names \['contradiction', 'neutral', 'entailment'\]; the registry "
                                        r"expects \['entailment', 'neutral', 'contradiction'\]"):
        get_task("xnli").load("dev", "deu", data)
    for split in ("train", "validation", "test"):
        Dataset.from_dict({"sentence": ["a b"], "label": [0]}).to_parquet(
            str(root / f"facebook/xnli/fr/{split}-00000-of-00001.parquet"))
    with pytest.raises(TaskError, match="lacks the columns premise, hypothesis"):
        get_task("xnli").load("dev", "fra", data)


def test_languages_without_data_say_why_and_how_to_stand_in():
    data = RunParams(model="hf:x", target_task="copa", source_lang="eng").data_context()
    with pytest.raises(TaskError, match="no Finnish COPA exists on the hub.*task_files: {copa: {fin: <folder>}}"):
        get_task("copa").load("train", "fin", data)
    with pytest.raises(ValueError, match=r"unknown language 'fi' \(ISO 639-1 'fi' is 'fin' here\)"):
        get_task("xnli").source("fi", data)
    with pytest.raises(ValueError, match="intermediate_lang 'fin' is not a language of task 'rte'"):
        RunParams(model="hf:x", target_task="xnli", source_lang="eng", intermediate_task="rte", intermediate_lang="fin")


def test_a_local_folder_stands_in_for_a_language_the_hub_lacks(hub_root, tmp_path):
    folder = tmp_path / "mnli-fi"  # e.g. a machine translation of MNLI, in GLUE's mnli schema
    folder.mkdir()
    rows = [{"premise": f"a{i} b c", "hypothesis": f"a{i} b", "label": i % 3, "idx": i} for i in range(30)]
    pd.DataFrame(rows).to_json(folder / "train.jsonl", orient="records", lines=True)
    run = RunParams(model="hf:x", target_task="xnli", source_lang="eng", hub_root=str(hub_root),
                    intermediate_task="rte", intermediate_lang="fin", task_files={"rte": {"fin": str(folder)}},
                    cache_dir=str(tmp_path / "cache"))
    ds = get_task("rte").load("train", "fin", run.data_context())
    assert len(ds) == 30 and set(ds["label"]) == {0, 1}  # neutral and contradiction: not entailment
    assert "task_files" in graph.STAGES["intermediate"].reads(run)["task_fingerprint"] or \
        "task_files" in json.dumps(graph.STAGES["intermediate"].reads(run))


TARGETS = [("xnli", ["eng", "deu"], "accuracy"), ("paws-x", ["eng", "fra"], "accuracy"),
           ("xcopa", ["ekk", "quz"], "accuracy"), ("udpos", ["eng", "fin", "kaz"], "span_f1"),
           ("panx", ["eng", "swh"], "span_f1")]


@pytest.mark.slow
@pytest.mark.parametrize("task, langs, metric", TARGETS)
def test_each_target_task_trains_saves_reloads_and_evaluates(task, langs, metric, hub_root, encoder, tmp_path):
    run = _run(hub_root, tmp_path / "cache", model=f"hf:{encoder}", target_task=task, source_lang="eng",
               eval_langs=langs, run_dir=str(tmp_path / "run"))
    assert [n.stage.name for n in graph.chain(run)] == ["finetune", "evaluate"]
    m = stages.ensure("evaluate", run)
    assert metric == get_task(task).primary_metric and metric in set(m.metric)
    assert set(m.eval_lang) == set(langs) and m.value.between(0, 1).all()
    for lang in langs:  # each language on the splits it has (Kazakh UD-POS: test only)
        assert set(m[m.eval_lang == lang].split) == set(get_task(task).eval_splits(lang, run.data_context()))
    assert m.dataset_revision.str.contains(get_task(task).sources[langs[-1]].revision).any()
    loaded = json.loads((tmp_path / "run" / "data.json").read_text())  # the evaluation's own loads, none other
    assert "eng/train" not in loaded and {f"{lang}/test" for lang in langs} <= set(loaded)
    if get_task(task).two_languages:  # the generalized setting: second sentences in the source language
        assert set(m.eval_setting) == {"same", "generalized"}
    stats = json.loads((graph.output_dir(graph.chain(run)[0], run) / "stats.json").read_text())
    assert stats["train_examples"] > 20 and "eng/train" in stats["data"]
    run2 = run.model_copy(update={"training": run.training.model_copy(update={"seed": 9})})
    stages.ensure("finetune", run2)  # another fine-tune after an evaluation, in the same process
    again = json.loads((graph.output_dir(graph.chain(run2)[0], run2) / "stats.json").read_text())
    assert not any(k.endswith(("/test", "/dev")) and not k.startswith("eng/") for k in again["data"]), again["data"]


@pytest.mark.slow
@pytest.mark.parametrize("inter, lang, target, langs", [
    ("rte", "hun", "xnli", ["eng", "deu"]), ("copa", "hun", "xcopa", ["ekk"]), ("siqa", "eng", "xcopa", ["ekk"]),
    ("paraphrase", "eng", "paws-x", ["fra"]), ("ud", "fin", "panx", ["fin", "ekk", "hun"]),
])
def test_intermediate_tasks_by_type_feed_the_targets(inter, lang, target, langs, hub_root, encoder, tmp_path):
    run = _run(hub_root, tmp_path / "cache", model=f"hf:{encoder}", target_task=target, source_lang="eng",
               intermediate_task=inter, intermediate_lang=lang, intermediate_examples=30, eval_langs=langs,
               run_dir=str(tmp_path / "run"))
    assert [n.stage.name for n in graph.chain(run)] == ["intermediate", "finetune", "evaluate"]
    m = stages.ensure("evaluate", run)
    inter_stats = json.loads((graph.output_dir(graph.chain(run)[0], run) / "stats.json").read_text())
    assert inter_stats["train_examples"] == 30  # the same number in every language
    seen = m.groupby("eval_lang")[["eval_seen", "eval_relative"]].first()
    if inter == "ud":  # Finnish was seen in intermediate training; Estonian is its close relative
        assert seen.loc["fin"].tolist() == [True, False] and seen.loc["ekk"].tolist() == [False, True]
        assert seen.loc["hun"].tolist() == [False, False]
    assert (m.intermediate_task == inter).all()


def test_metrics_of_fixture_predictions_match_values_computed_by_hand(hub_root, tmp_path):
    from xltkit.modeling.metrics import score

    data = _run(hub_root, tmp_path, model="hf:x", target_task="panx", source_lang="eng").data_context()
    frame = get_task("panx").load("test", "fin", data).to_pandas().iloc[:4]
    gold = [list(t) for t in frame.tags]
    pred = [list(g) for g in gold]
    pred[0] = [0] * len(gold[0])  # the first sentence: every entity missed
    m, _ = score(get_task("panx"), frame, pred)
    spans = [sum(1 for j, t in enumerate(g) if t in (1, 3, 5)) for g in gold]  # B- tags start the spans
    found = sum(spans[1:])
    assert m[(m.metric == "span_f1") & (m.phenomenon == "all")].value.iloc[0] == pytest.approx(
        2 * found / (sum(spans) + found))
    words = sum(len(g) for g in gold)
    wrong = sum(t != 0 for t in gold[0])
    assert m[(m.metric == "token_accuracy") & (m.phenomenon == "all")].value.iloc[0] == pytest.approx(
        (words - wrong) / words)


def test_udpos_f1_counts_seqeval_chunks_of_upos_tags_as_xtreme_does_by_hand():
    """XTREME scores UD-POS with seqeval over bare UPOS tags: seqeval reads a tag's first letter as its
    BIO(ES) prefix and the rest as its type, so a run of equal tags is one chunk (NOUN NOUN), SCONJ is a
    single-word chunk of type CONJ, INTJ an inside tag of type NTJ.  Computed here by hand."""
    from xltkit.modeling.metrics import score

    task = get_task("udpos")
    gold = [["NOUN", "NOUN", "VERB", "SCONJ", "SCONJ", "INTJ", "PUNCT"], ["PROPN", "PROPN", "AUX"]]
    pred = [["NOUN", "ADJ", "VERB", "SCONJ", "SCONJ", "INTJ", "PUNCT"], ["PROPN", "PROPN", "AUX"]]
    # gold chunks: NOUN-NOUN (0-1), VERB, SCONJ, SCONJ, INTJ, PUNCT = 6; PROPN-PROPN (0-1), AUX = 2
    # predicted: NOUN (0), ADJ (1), VERB, SCONJ, SCONJ, INTJ, PUNCT = 7, of which 5 are gold's; 2 of 2
    ids = lambda tags: [[task.labels.index(t) for t in s] for s in tags]  # noqa: E731
    frame = pd.DataFrame({"id": [0, 1], "words": [list("abcdefg"), list("xyz")], "tags": ids(gold)})
    m, per = score(task, frame, ids(pred))
    value = m.set_index("metric").value
    assert value["span_f1"] == pytest.approx(2 * (5 + 2) / (6 + 7 + 2 + 2))  # 14/17: one wrong tag, two chunks
    assert value["token_accuracy"] == pytest.approx(9 / 10)
    assert per.num.tolist() == [10, 4] and per.den.tolist() == [13, 4]


@pytest.mark.slow
def test_a_hub_encoder_has_its_untrained_control(hub_root, encoder, tmp_path):
    from xltkit.modeling.models import get_model

    assert get_model(f"hf:{encoder}").untrained_control == f"hf-untrained:{encoder}"
    assert get_model(f"hf-untrained:{encoder}").role == "untrained"
    runs = {m: _run(hub_root, tmp_path / "cache", model=m, target_task="xnli", source_lang="eng", eval_langs=["deu"],
                    run_dir=str(tmp_path / m.split(":")[0])) for m in (f"hf:{encoder}", f"hf-untrained:{encoder}")}
    assert graph.run_id(runs[f"hf:{encoder}"]) != graph.run_id(runs[f"hf-untrained:{encoder}"])
    m = stages.ensure("evaluate", runs[f"hf-untrained:{encoder}"])
    assert set(m.model) == {f"hf-untrained:{encoder}"} and m.value.between(0, 1).all()


REAL = ["real_check", "real_xnli", "real_pawsx", "real_xcopa", "real_udpos", "real_panx"]


@pytest.mark.parametrize("name", REAL)
def test_the_real_study_params_validate_and_plan_their_cost(name, repo):
    from xltkit.pipeline.experiment import load_experiment
    from xltkit.pipeline.plan import plan, summary

    exp = load_experiment(repo / "params" / f"{name}.yaml")
    runs = exp.runs()
    table = plan(runs)
    assert set(table.stage) >= {"finetune", "evaluate"} and not table.done.any()
    assert "device hours" in summary(table)
    if name != "real_check":  # the grid: no intermediate task vs English, Finnish and Hungarian ones, 3 seeds
        langs = {r.intermediate.intermediate_lang for r in runs}
        assert {"none", "eng", "fin", "hun"} <= langs and {r.training.seed for r in runs} >= {1, 2, 3}
        noises = {"none", "rs-rp", "adv"} | ({"rs-da"} if name != "real_xcopa" else set())  # no words to rewrite
        assert {r.target.noise for r in runs} == noises
        assert not any(r.intermediate_same_data for r in runs)  # no intermediate task on the target's own data
        assert any(r.model.role == "untrained" for r in runs) and any(r.model.role == "encoder" for r in runs)
        trained = [r for r in runs if r.model.trainable]
        assert {r.target.finetune_lr for r in trained} == {2e-5} and {r.encoder.max_length for r in trained} == {128}


def test_plan_prices_a_grid_with_a_measured_rate_from_the_gpu_check(repo, tmp_path):
    import subprocess
    import sys

    from xltkit.modeling.throughput import THROUGHPUT, measured
    from xltkit.pipeline.experiment import load_experiment
    from xltkit.pipeline.plan import plan

    report = {"device": "NVIDIA H100", "size": "base", "model": "xlm-roberta-base", "batch": 8, "seq": 64, "ok": True,
              "checks": {"sequence": {"bf16_tokens_per_second": 40_000, "bf16_seconds_per_step": 0.02},
                         "token": {"bf16_tokens_per_second": 30_000, "bf16_seconds_per_step": 0.03}}}
    rate = measured(report)["xlm-roberta-base"]
    assert (rate.tokens_per_second, rate.step_seconds) == (30_000, 0.03)  # the slower head, the longer step
    runs = load_experiment(repo / "params" / "real_check.yaml").runs()
    est, meas = plan(runs), plan(runs, rates={"xlm-roberta-base": rate})
    fine = lambda t: t[(t.stage == "finetune") & (t.model == "hf:xlm-roberta-base")].iloc[0]  # noqa: E731
    ex, tok = fine(meas).examples, fine(meas).tokens_est
    steps = -(-ex // 8) + -(-fine(meas).dev_examples // 64)  # micro-batch 8; dev at 64
    by_hand = max((tok + fine(meas).dev_examples * (tok / ex) / 3) / 30_000, steps * 0.03) / 3600
    assert fine(meas).device_hours == pytest.approx(by_hand)
    assert fine(meas).device_hours != pytest.approx(fine(est).device_hours)
    assert fine(meas).rate_source.startswith("measured: NVIDIA H100, bf16, batch 8 x 64")
    assert THROUGHPUT["xlm-roberta-base"].source.startswith("estimate")  # the table itself is unchanged
    for bad, why in [({**report, "size": "tiny", "model": "tiny"}, "tiny size"), ({**report, "ok": False},
                                                                                   "checks failed")]:
        with pytest.raises(ValueError, match=why):
            measured(bad)
    f = tmp_path / "gpu.json"
    f.write_text(json.dumps(report))
    cmd = [sys.executable, "-m", "xltkit.pipeline.cli", "plan", str(repo / "params" / "real_check.yaml")]
    out = subprocess.run(cmd + ["--rates", str(f)], capture_output=True, text=True, cwd=repo)
    assert out.returncode == 0 and "rate: measured: NVIDIA H100" in out.stdout, out.stderr[-2000:]
    f.write_text(json.dumps({**report, "size": "tiny", "model": "tiny"}))
    out = subprocess.run(cmd + ["--rates", str(f)], capture_output=True, text=True, cwd=repo)
    assert out.returncode == 2 and "tiny size" in out.stderr


def test_the_tagging_grids_are_priced_from_the_cards_split_sizes(repo, hub_root):
    """UD-POS and PAN-X (issue #10): every split the real grids read has its card size
    (xltkit/tasks/hub/sizes.py), so `xltkit plan` prices every job, and the sizes name the hub
    splits the registry reads (and the fixtures write), not others."""
    from xltkit.pipeline import plan as plan_module
    from xltkit.pipeline.experiment import load_experiment
    from xltkit.tasks.hub import sizes

    for name in ("real_udpos", "real_panx"):
        table = plan_module.plan(load_experiment(repo / "params" / f"{name}.yaml").runs())
        assert not plan_module.UNKNOWN, (name, sorted(plan_module.UNKNOWN))
        assert table.device_hours.notna().all() and table.examples.notna().all(), name
    for name, n in (("udpos", 38), ("panx", 48), ("ud", 3)):
        task = get_task(name)
        assert len(task.sources) == n
        for lang, src in task.sources.items():
            assert set(src.splits.values()) <= set(src.sizes or {}), (name, lang)  # every split read has a size
            for hub in src.splits.values():  # ... and it is a split the fixtures lay out as the hub does
                written = (hub_root / src.path / src.data_files[hub].replace("*", "0000") if src.data_files else
                           hub_root / src.path / src.config / f"{hub}-00000-of-00001.parquet")
                assert written.is_file(), (name, lang, hub)
    udpos, panx = get_task("udpos"), get_task("panx")
    assert (udpos.split_size("eng", "train"), udpos.split_size("eng", "dev")) == (21_253, 3_974)
    assert udpos.split_size("kaz", "test") == 1_047 and udpos.split_size("kaz", "train") is None  # test only
    assert udpos.split_size("lit", "dev") == sizes.UD["lt_alksnis"][1] and panx.split_size("quz", "test") == 100
    assert get_task("ud").split_size("fin", "train") == 12_217 == sizes.UD["fi_tdt"][0]


def test_offline_preflight_lists_everything_missing_before_any_training(repo, tmp_path, monkeypatch):
    import subprocess
    import sys

    import yaml

    doc = yaml.safe_load((repo / "params" / "real_check.yaml").read_text())
    doc["shared"]["precision"] = "fp32"  # this machine has no GPU; the check must still stop the run first
    pfile = tmp_path / "check.yaml"
    pfile.write_text(yaml.safe_dump(doc))
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-hf-home")}
    cmd = [sys.executable, "-m", "xltkit.pipeline.cli"]
    check = subprocess.run(cmd + ["check", str(pfile)], capture_output=True, text=True, env=env)
    assert check.returncode == 1
    for what in ("model xlm-roberta-base", "dataset facebook/xnli @ b8dd5d7", "dataset NYTK/HuRTE",
                 "hf download facebook/xnli --repo-type dataset --revision b8dd5d7"):
        assert what in check.stdout, what
    run = subprocess.run(cmd + ["run", str(pfile), "--outputs", str(tmp_path / "out")], capture_output=True,
                         text=True, env=env)
    assert run.returncode == 2 and "nothing was run" in run.stderr and "hf download xlm-roberta-base" in run.stderr
    assert not (tmp_path / "out" / "real_check" / "runs").exists()  # stopped before any work
    bf16 = subprocess.run(cmd + ["run", str(repo / "params" / "real_check.yaml"), "--outputs", str(tmp_path / "o2")],
                          capture_output=True, text=True, env=env)
    assert bf16.returncode == 2 and "needs a CUDA GPU" in bf16.stderr  # no GPU here: refused before any work
    assert "hf download xlm-roberta-base" in bf16.stderr  # in the same list as what the hub must give


def test_every_split_a_grid_reads_is_checked_before_any_training(hub_root, encoder, tmp_path, repo):
    """``xltkit check --load`` reads exactly the splits the runs read (no English dev for TyDiQA, whose
    GoldP dev is its test; no training split for Tatoeba, which trains nothing), and ``xltkit run``
    reads them all before the first stage starts."""
    import subprocess
    import sys

    import yaml

    from xltkit.tasks.hub.fixtures import write_fixtures

    def grid(root, target, langs, name, **kw):
        shared = dict(model="rule-bow", target_task=target, source_lang="eng", eval_langs=langs, hub_root=str(root),
                      n_train=None, n_dev=None, n_test=None, cache_dir=str(tmp_path / "c"))
        shared.update(kw)
        pfile = tmp_path / f"{name}.yaml"
        pfile.write_text(yaml.safe_dump({"experiment": name, "shared": shared, "grid": [{"seed": [0]}]}))
        return pfile

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", *map(str, args), "--outputs",
                               tmp_path / "o"], capture_output=True, text=True, cwd=repo)

    from xltkit.pipeline.experiment import load_experiment
    from xltkit.pipeline.preflight import reads

    expected = {"tydiqa": {("tydiqa", "eng", "train"), ("tydiqa", "fin", "test"), ("tydiqa", "swh", "test")},
                "tatoeba": {("tatoeba", "fin", "test"), ("tatoeba", "deu", "test")}}
    for target, want in expected.items():
        pfile = grid(hub_root, target, ["fin", "swh" if target == "tydiqa" else "deu"], target,
                     model=f"hf-untrained:{encoder}", max_length=64, qa_stride=16)
        run = load_experiment(pfile, tmp_path / "o").runs(tmp_path / "o")[0]
        assert {(t.name, lang, split) for t, _, lang, splits, _ in reads(run) for split in splits} == want
        check = cli("check", pfile, "--load")
        assert check.returncode == 0 and "0 problems" in check.stdout, check.stdout + check.stderr[-2000:]
    pairs = load_experiment(grid(hub_root, "paws-x", ["eng", "deu", "fra"], "pairs", generalized_pairs="all"),
                            tmp_path / "o").runs(tmp_path / "o")[0]
    assert {(lang, lang2) for _, _, lang, _, lang2 in reads(pairs)} == {  # every pair the evaluation loads
        ("eng", None), ("deu", None), ("fra", None), ("eng", "deu"), ("eng", "fra"), ("deu", "eng"), ("deu", "fra"),
        ("fra", "eng"), ("fra", "deu")}
    bad_root = write_fixtures(tmp_path / "bad", n=20, placeholder_test=("facebook/xnli",))
    bad = grid(bad_root, "xnli", ["eng", "deu"], "bad")
    run = cli("run", bad)
    assert run.returncode == 2 and "xnli deu test: " in run.stderr and "placeholder labels" in run.stderr, run.stderr
    assert "nothing was run" in run.stderr and not (tmp_path / "o" / "bad" / "runs").exists()  # before any stage


def test_the_gpu_check_runs_at_a_tiny_size_on_the_cpu(repo, tmp_path):
    import subprocess
    import sys

    out = tmp_path / "gpu.json"
    proc = subprocess.run([sys.executable, str(repo / "benchmarks" / "gpu_check.py"), "--size", "tiny", "--steps", "80",
                           "--batch", "16", "--seq", "32", "--vocab", "500", "--lr", "3e-3", "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["ok"] and all(c["loss_falls"] and c["bf16_matches_fp32"] for c in report["checks"].values())


@pytest.mark.parametrize("name", ["real_xquad", "real_mlqa", "real_tydiqa", "real_tatoeba"])
def test_the_qa_and_retrieval_params_validate_follow_xtreme_and_plan_their_cost(name, repo):
    from xltkit.pipeline.experiment import load_experiment
    from xltkit.pipeline.plan import plan, summary

    exp = load_experiment(repo / "params" / f"{name}.yaml")
    runs = exp.runs()
    table = plan(runs)
    assert "device hours" in summary(table) and not table.done.any()
    langs = {r.intermediate.intermediate_lang for r in runs}
    assert {"none", "eng", "fin", "hun"} <= langs and {r.training.seed for r in runs} >= {1, 2, 3}
    assert any(r.model.role == "untrained" for r in runs)
    if name == "real_tatoeba":  # the encoder as it is: no fine-tuning stage, the pooling recorded
        assert "finetune" not in set(table.stage) and {r.encoder.retrieval_layer for r in runs} == {8}
        assert "squad" in {r.intermediate.intermediate_task for r in runs if r.has_intermediate}
        assert {(r.encoder.qa_stride, r.encoder.qa_stride_mode) for r in runs
                if r.has_intermediate and r.intermediate.intermediate_task == "squad"} == {(128, "step")}
        return
    trained = [r for r in runs if r.model.trainable]
    # XTREME-R's QA recipe (google-research/xtreme scripts/train_qa.sh), its --doc_stride the step between windows
    assert {(r.target.finetune_lr, r.target.finetune_epochs, r.encoder.max_length, r.encoder.qa_stride,
             r.encoder.qa_stride_mode, r.training.batch_size * r.training.gradient_accumulation_steps,
             r.training.warmup_ratio) for r in trained} == {(3e-5, 3, 384, 128, "step", 32, 0.06)}
    assert {r.intermediate.intermediate_task for r in runs if r.has_intermediate} == {"squad"}
    same = {r.intermediate.intermediate_lang for r in runs if r.intermediate_same_data}
    assert same == ({"eng", "fin"} if name != "real_tydiqa" else set())  # SQuAD (or its translation) is the target's


@pytest.mark.slow
def test_a_hub_grid_of_every_target_and_intermediate_type_runs_through_the_notebooks(hub_root, encoder, tmp_path,
                                                                                    repo):
    """Every classification and tagging target, each fed by an intermediate task of its type (Turku NER
    from a researcher's local files), through ``xltkit run`` and the stage notebooks (kept kernels, as a
    researcher runs it), to the analysis."""
    import subprocess
    import sys

    import yaml

    shared = dict(model=f"hf:{encoder}", target_task="xnli", source_lang="eng", eval_langs=["eng", "swh"],
                  hub_root=str(hub_root), n_train=None, n_dev=None, n_test=None, finetune_steps=6,
                  intermediate_steps=4, batch_size=8, max_length=48, freeze_embeddings=False, finetune_lr=1e-3,
                  intermediate_lr=1e-3, intermediate_task="rte", intermediate_examples=30)
    block = [{"target_task": [t], "eval_langs": [langs], "intermediate_task": [i], "intermediate_lang": [lang]}
             for t, langs, i, lang in [("paws-x", ["eng", "fra"], "paraphrase", "eng"),
                                       ("xcopa", ["ekk", "quz"], "copa", "hun"), ("xcopa", ["ekk"], "siqa", "eng"),
                                       ("udpos", ["fin", "ekk", "kaz"], "ud", "fin"),
                                       ("panx", ["fin", "hun"], "panx", "hun")]]
    turku = {"turku-ner": {"fin": _turku_folder(tmp_path / "turku")}}
    block.append({"target_task": ["panx"], "eval_langs": [["fin"]], "intermediate_task": ["turku-ner"],
                  "intermediate_lang": ["fin"], "task_files": [turku]})
    doc = {"experiment": "hubgrid", "workers": 2, "shared": shared, "analysis": {"n_boot": 200},
           "grid": [{"intermediate_lang": ["none", "hun"], "seed": [0]},
                    {"model": [f"hf-untrained:{encoder}"]}, {"model": ["rule-bow"]}, *block]}
    pfile = tmp_path / "grid.yaml"
    pfile.write_text(yaml.safe_dump(doc))
    env = {**__import__("os").environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "run", str(pfile), "--outputs",
                           str(tmp_path / "out")], capture_output=True, text=True, env=env, cwd=repo)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = tmp_path / "out" / "hubgrid"
    res = pd.read_parquet(out / "results.parquet")
    assert res.run_id.nunique() == 10 and {"eval_seen", "eval_low_resource", "dataset_revision"} <= set(res.columns)
    assert set(res.target_task) == {"xnli", "paws-x", "xcopa", "udpos", "panx"}
    assert set(res.intermediate_task) == {"none", "rte", "paraphrase", "copa", "siqa", "ud", "panx", "turku-ner"}
    for task, rows in res.groupby("target_task"):  # each scored by its own metric, on every split it has
        assert get_task(task).primary_metric in set(rows.metric) and rows.value.between(0, 1).all(), task
    executed = {p.name.split("-")[0] for p in (out / "stages").glob("*.ipynb")}  # papermill's executed notebooks
    assert executed == {"intermediate", "finetune"} and len(list((out / "runs").glob("*/04_evaluate.ipynb"))) == 10
    assert json.loads((out / "runner.json").read_text())["executor"] == "warm"
    udpos = res[res.target_task == "udpos"].groupby("eval_lang")[["eval_seen", "eval_relative"]].first()
    assert udpos.loc["fin"].tolist() == [True, False] and udpos.loc["ekk"].tolist() == [False, True]
    manifests = {m["params"]["intermediate_task"] if m["params"].get("intermediate_lang") != "none" else "none":
                 m for m in (json.loads(f.read_text()) for f in (out / "runs").glob("*/manifest.json"))
                 if m["params"]["model"] == f"hf:{encoder}"}  # what each run read, at its pinned revision
    xnli, hurte = get_task("xnli").sources["swh"], get_task("rte").sources["hun"]
    assert manifests["rte"]["hub"]["xnli/swh"] == f"{xnli.path}:{xnli.config}@{xnli.revision}"
    assert manifests["rte"]["hub"]["rte/hun"] == f"{hurte.path}{':' + hurte.config if hurte.config else ''}@" \
        f"{hurte.revision}" and "rte/hun" not in manifests["none"]["hub"]
    assert manifests["turku-ner"]["hub"]["turku-ner/fin"] == f"task_files:{turku['turku-ner']['fin']}"
    turku = res[res.intermediate_task == "turku-ner"]  # Finnish NER before Finnish PAN-X
    assert turku.eval_seen.all() and turku.dataset_revision.str.startswith("unimelb-nlp/wikiann@").all()
    assert res[res.eval_lang == "swh"].eval_low_resource.all() and not res[res.eval_lang == "eng"].eval_low_resource.any()
    controls = pd.read_csv(out / "analysis" / "controls.csv")
    hf = controls[controls.condition.str.startswith("hf:") & (controls.target_task == "xnli")]
    assert set(hf.metric) == {"accuracy"} and hf.untrained.notna().all() and hf.bow_rule.notna().all()
    figures = {p.name for p in (out / "analysis").glob("scores_by_language_*.png")}
    assert figures == {f"scores_by_language_{t}.png" for t in ("xnli", "paws-x", "xcopa", "udpos", "panx")}
    gains = pd.read_csv(out / "analysis" / "gains.csv")
    assert set(gains.intermediate_lang) == {"hun"} and (gains.ci_low <= gains.gain).all()
    assert {"eval_seen", "eval_low_resource", "intermediate_same_data"} <= set(gains.columns)  # to select or weight
    assert not gains.eval_seen.any() and gains.set_index("eval_lang").eval_low_resource.to_dict() == {"eng": False,
                                                                                                     "swh": True}
    langs = pd.read_csv(out / "analysis" / "languages.csv").set_index("lang")  # real languages, as the lab's are
    assert {"eng", "swh", "hun"} <= set(langs.index) and langs.loc["swh", "resource"] == "low"
    assert langs.loc["hun", "joshi_class"] == 4 and langs.fertility.notna().all() and "target_fertility" in gains


def _turku_folder(folder):
    """The Turku NER corpus as a researcher converts it for ``task_files``: tokens and tag names."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    words = ["Sauli", "Niinistö", "puhui", "Helsingissä", "tänään", "ja", "eilen"]
    tags = {"Sauli": "B-PER", "Niinistö": "I-PER", "Helsingissä": "B-LOC", "tänään": "B-DATE"}
    rows = [{"tokens": (t := list(rng.choice(words, size=5))), "ner_tags": [tags.get(w, "O") for w in t]}
            for _ in range(40)]
    for split in ("train", "validation"):
        pd.DataFrame(rows).to_json(folder / f"{split}.jsonl", orient="records", lines=True)
    return str(folder)
