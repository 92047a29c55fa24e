"""How hub data is found, read and checked: the hub's snapshot cache offline, label numbering
read per split, parallel subsamples, dropped rows, the same-data flag, and the checks a grid
gets before any training (``xltkit check --load``)."""

import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from xltkit.pipeline.params import RunParams
from xltkit.tasks import TaskError, get_task
from xltkit.tasks.hub import definitions as d

XNLI_PATTERNS = ("README.md", "de/*")


@pytest.fixture(scope="module", autouse=True)
def _offline():
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    from xltkit.tasks.hub.fixtures import write_fixtures

    return write_fixtures(tmp_path_factory.mktemp("hub"), n=40)


def _run(root, cache, **kw) -> RunParams:
    base = dict(model="hf:x", target_task="xnli", source_lang="eng", n_train=None, n_dev=None, n_test=None,
                cache_dir=str(cache))
    if root is not None:
        base["hub_root"] = str(root)
    return RunParams(**{**base, **kw})


def _snapshot(cache, repo: str, sha: str, src_folder, patterns) -> None:
    """A Hugging Face hub cache holding ``repo`` at ``sha`` with the files matching ``patterns``:
    what `hf download --include ...` leaves behind."""
    import fnmatch

    snap = cache / f"datasets--{repo.replace('/', '--')}" / "snapshots" / sha
    for f in src_folder.rglob("*"):
        rel = str(f.relative_to(src_folder))
        if f.is_file() and any(fnmatch.fnmatch(rel, p) for p in patterns):
            (snap / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f, snap / rel)


def test_offline_loading_reads_the_pinned_snapshot_of_the_hub_cache(hub_root, hf_cache, tmp_path):
    from xltkit.pipeline.preflight import missing, needs

    run = _run(None, tmp_path / "c", eval_langs=["deu"])
    task, data = get_task("xnli"), run.data_context()
    with pytest.raises(TaskError, match=r"hf download facebook/xnli --repo-type dataset --revision b8dd5d7\w+ "
                                        r"--include 'README.md' --include 'de/\*'"):
        task.load("dev", "deu", data)
    _snapshot(hf_cache, "facebook/xnli", d.XNLI_REV, hub_root / "facebook/xnli", ("de/*",))  # no README
    with pytest.raises(TaskError, match="has no README.md"):
        task.load("dev", "deu", data)
    lacking = {n.repo: why for n, why in missing([n for n in needs([run]) if n.repo == "facebook/xnli"])}
    assert "README.md" in lacking["facebook/xnli"]  # the pre-flight sees what loading would miss
    _snapshot(hf_cache, "facebook/xnli", d.XNLI_REV, hub_root / "facebook/xnli", XNLI_PATTERNS)
    ds = task.load("dev", "deu", data)
    assert len(ds) == 40 and task.load_notes()["deu/dev"]["revision"] == d.XNLI_REV
    lacking = {n.repo: why for n, why in missing([n for n in needs([run]) if n.repo == "facebook/xnli"])}
    assert lacking["facebook/xnli"].endswith("lacks en/*")  # the English config is still not fetched
    other = _run(None, tmp_path / "c", eval_langs=["deu"], dataset_revisions={"facebook/xnli": "0" * 40})
    with pytest.raises(TaskError, match="cannot get facebook/xnli"):  # another revision is never read instead
        task.load("dev", "deu", other.data_context())


def test_choice_labels_are_numbered_per_split(hub_root, tmp_path):
    data = _run(hub_root, tmp_path, target_task="xcopa", intermediate_task="copa", intermediate_lang="hun").data_context()
    raw_train = json.loads((hub_root / "NYTK/HuCoPA/data/train.json").read_text())
    raw_val = json.loads((hub_root / "NYTK/HuCoPA/data/val.json").read_text())
    assert {r["label"] for r in raw_train} == {"1", "2"} and {r["label"] for r in raw_val} == {0, 1}  # as on GitHub
    train, dev = get_task("copa").load("train", "hun", data), get_task("copa").load("dev", "hun", data)
    assert train["label"] == [int(r["label"]) - 1 for r in raw_train]
    assert dev["label"] == [r["label"] for r in raw_val]
    with pytest.raises(TaskError, match=r"choice labels \[1, 3\] are neither 0..1 nor 1..2"):
        d._offset([1, 3], 2, "x")
    assert d._offset([1, 3, 2], 3, "x") == 1 and d._offset([0, 2], 3, "x") == 0


def test_a_parallel_subsample_takes_the_same_hub_rows_in_every_language(hub_root, tmp_path):
    data = _run(hub_root, tmp_path, n_dev=12, n_test=12).data_context()
    ids = {lang: get_task("xnli").load("dev", lang, data)["id"] for lang in ("deu", "fra", "swh")}
    assert len(ids["deu"]) == 12 and ids["deu"] == ids["fra"] == ids["swh"]
    other = _run(hub_root, tmp_path, n_dev=12, subsample_seed=1).data_context()
    assert get_task("xnli").load("dev", "deu", other)["id"] != ids["deu"]


def test_generalized_pairs_match_by_the_hubs_own_id_and_count_what_they_drop(hub_root, tmp_path):
    from datasets import Dataset

    task = get_task("paws-x")
    first = Dataset.from_dict({"id": [5, 6, 7, 8, 9], "words": [["a"]] * 5, "words2": [["b"]] * 5,
                               "label": [0, 1, 0, 1, 0]})
    second = Dataset.from_dict({"id": [9, 8, 7, 6, 5], "words": [["c"]] * 5, "words2": [["x9"], ["x8"], ["x7"], ["x6"],
                                                                                  ["x5"]], "label": [0, 1, 0, 1, 0]})
    pairs = task._pair_with(first, second, "deu", "eng")
    assert pairs["id"] == [5, 6, 7, 8, 9] and pairs["words2"] == [["x5"], ["x6"], ["x7"], ["x8"], ["x9"]]
    data = _run(hub_root, tmp_path, target_task="paws-x").data_context()
    ds = task.load("test", "fra", data, "eng")
    note = task.load_notes()["fra+eng/test"]
    assert note["used"] == len(ds) and note["unpaired_or_disagreeing"] == 0


def test_all_invalid_labels_are_placeholders_and_too_many_dropped_rows_are_refused(hub_root, tmp_path):
    from datasets import Dataset, load_dataset

    root = tmp_path / "hub"
    shutil.copytree(hub_root / "google-research-datasets", root / "google-research-datasets")
    folder = root / "google-research-datasets/paws-x"
    for config, labels in (("de", [-1] * 40), ("fr", [0, 1] * 8 + [-1] * 24)):
        path = folder / config / "test-00000-of-00001.parquet"
        ds = load_dataset("parquet", data_files=str(path), split="train")
        ds = ds.map(lambda row, i: {"label": labels[i]}, with_indices=True)
        Dataset.from_dict(ds.to_dict(), features=ds.features).to_parquet(str(path))
    data = _run(root, tmp_path / "c", target_task="paws-x").data_context()
    with pytest.raises(TaskError, match="the test split of 'deu' has placeholder labels"):
        get_task("paws-x").load("test", "deu", data)
    with pytest.raises(TaskError, match=r"loses 24 of 40 rows \(24 invalid labels, 0 without text\)"):
        get_task("paws-x").load("test", "fra", data)


def test_ud_treebanks_map_tags_by_name_and_drop_multiword_surface_tokens(hub_root, tmp_path):
    from datasets import load_dataset

    data = _run(hub_root, tmp_path, target_task="udpos", intermediate_task="ud", intermediate_lang="fin").data_context()
    raw = load_dataset("parquet", data_files=str(hub_root / "universal-dependencies/universal_dependencies/fi_tdt/"
                                                               "train/0000.parquet"), split="train")
    ds = get_task("ud").load("train", "fin", data)
    names = raw.features["upos"].feature.names
    for tokens, upos, words, tags in zip(raw["tokens"], raw["upos"], ds["words"], ds["tags"]):
        kept = [(w, names[t]) for w, t in zip(tokens, upos) if names[t] != "_"]
        assert words == [w for w, _ in kept] and [d.UPOS17[t] for t in tags] == [n for _, n in kept]
    assert sum(len(t) for t in raw["tokens"]) > sum(len(w) for w in ds["words"])  # some multiword tokens dropped
    # Greek, French, Russian, Chinese, German: one modern treebank, not the hub config that merges older varieties
    assert get_task("udpos").sources["ell"].config == "el_gdt"


def test_turku_ner_reads_tag_names_from_task_files(tmp_path):
    import pandas as pd

    folder = tmp_path / "turku"
    folder.mkdir()
    rows = [{"tokens": ["Sauli", "Niinistö", "puhui", "Helsingissä"], "ner_tags": ["B-PER", "I-PER", "O", "B-LOC"]},
            {"tokens": ["Tänään", "sataa"], "ner_tags": ["B-DATE", "O"]}] * 8
    for split in ("train", "validation", "test"):
        pd.DataFrame(rows).to_json(folder / f"{split}.jsonl", orient="records", lines=True)
    run = _run(None, tmp_path / "c", target_task="panx", intermediate_task="turku-ner", intermediate_lang="fin",
               task_files={"turku-ner": {"fin": str(folder)}})
    ds = get_task("turku-ner").load("train", "fin", run.data_context("intermediate"))
    assert [d.TURKU_NER[t] for t in ds["tags"][0]] == ["B-PER", "I-PER", "O", "B-LOC"]
    assert "CC-BY-NC-SA" in get_task("turku-ner").__doc__ and "CC-BY-NC-SA" in get_task("turku-ner").description
    bad = tmp_path / "bad"
    bad.mkdir()
    pd.DataFrame([{"tokens": ["a"], "ner_tags": ["B-MISC"]}] * 4).to_json(bad / "train.jsonl", orient="records",
                                                                         lines=True)
    run = _run(None, tmp_path / "c", target_task="panx", intermediate_task="turku-ner", intermediate_lang="fin",
               task_files={"turku-ner": {"fin": str(bad)}})
    with pytest.raises(TaskError, match="tag 'B-MISC' is not one of"):
        get_task("turku-ner").load("train", "fin", run.data_context("intermediate"))


def test_an_intermediate_task_on_the_targets_own_data_is_flagged(hub_root, tmp_path):
    kw = dict(target_task="xnli", intermediate_task="rte")
    assert _run(hub_root, tmp_path, intermediate_lang="eng", **kw).intermediate_same_data  # MNLI is XNLI's train
    assert not _run(hub_root, tmp_path, intermediate_lang="hun", **kw).intermediate_same_data
    chosen = _run(hub_root, tmp_path, intermediate_lang="eng", source_choices={"rte": {"eng": "superglue-rte"}}, **kw)
    assert not chosen.intermediate_same_data
    assert _run(hub_root, tmp_path, target_task="paws-x", intermediate_task="paraphrase",
                intermediate_lang="eng").intermediate_same_data
    with pytest.raises(ValueError, match="no alternative source 'qqp' for 'eng'; allowed: superglue-rte"):
        _run(hub_root, tmp_path, intermediate_lang="eng", source_choices={"rte": {"eng": "qqp"}}, **kw)


def test_bad_run_params_for_hub_tasks_are_refused_before_work(hub_root, tmp_path):
    with pytest.raises(ValueError, match="noise='rs-da' rewrites the words.*'xcopa' \\(multiple_choice head\\) has "
                                         "no word columns.*rs-rp, adv"):
        _run(hub_root, tmp_path, target_task="xcopa", noise="rs-da", noise_scale=1.0, synonym_source="neighbours")
    with pytest.raises(ValueError, match="intermediate_examples=1000 is more than the 400 training examples of task "
                                         "'copa' in 'hun'"):
        _run(hub_root, tmp_path, target_task="xcopa", intermediate_task="copa", intermediate_lang="hun",
             intermediate_examples=1000)
    with pytest.raises(ValueError, match="intermediate_eval_every=50 is more than intermediate_steps=20"):
        _run(hub_root, tmp_path, target_task="xcopa", intermediate_task="copa", intermediate_lang="hun",
             intermediate_eval_every=50, intermediate_steps=20, eval_every=10)


def test_token_predictions_are_placed_by_word_and_lost_words_counted():
    import pandas as pd

    from xltkit.modeling.heads import get_head
    from xltkit.modeling.metrics import NO_PREDICTION, score

    head = get_head("token")
    assert head.place([5, 6], [0, 2]) == [5, NO_PREDICTION, 6]  # word 1 had no subword: not shifted
    frame = pd.DataFrame({"id": [0, 1], "words": [["a", "b", "c"], ["d"]], "tags": [[1, 0, 2], [0]]})
    m, _ = score(get_task("panx"), frame, [[1, NO_PREDICTION, 2], [0]])
    acc = m[(m.metric == "token_accuracy") & (m.phenomenon == "all")].iloc[0]
    assert acc.value == pytest.approx(3 / 4) and acc.unpredicted_words == pytest.approx(1 / 4)


def test_the_cost_plan_counts_augmented_copies_and_dev_evaluations(hub_root, tmp_path):
    from xltkit.pipeline.plan import plan

    kw = dict(target_task="paws-x", finetune_epochs=1, batch_size=8, eval_every=2, model="hf:xlm-roberta-base")
    plain = plan([_run(hub_root, tmp_path, **kw)])
    rsda = plan([_run(hub_root, tmp_path, noise="rs-da", noise_scale=1.0, synonym_source="neighbours",
                      rs_da_copies=3, **kw)])
    fine = lambda t: t[t.stage == "finetune"].iloc[0]  # noqa: E731
    assert fine(rsda).examples == pytest.approx(3 * fine(plain).examples, abs=64)  # rounded to whole steps
    assert fine(plain).dev_evals == fine(plain).examples // 8 // 2 and fine(plain).dev_examples > 0
    assert fine(rsda).device_hours > 2.5 * fine(plain).device_hours


def test_check_load_reads_every_split_a_grid_uses(hub_root, tmp_path, repo):
    import yaml

    from xltkit.tasks.hub.fixtures import write_fixtures

    def check(root):
        shared = dict(model="rule-bow", target_task="xnli", source_lang="eng", eval_langs=["eng", "deu"],
                      hub_root=str(root), n_train=None, n_dev=None, n_test=None, cache_dir=str(tmp_path / "c"))
        pfile = tmp_path / "g.yaml"
        pfile.write_text(yaml.safe_dump({"experiment": "g", "shared": shared, "grid": [{"seed": [0]}]}))
        return subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "check", str(pfile), "--load",
                               "--outputs", str(tmp_path / "o")], capture_output=True, text=True, cwd=repo)

    ok = check(hub_root)
    assert ok.returncode == 0 and "0 problems" in ok.stdout, ok.stdout + ok.stderr[-2000:]
    bad = check(write_fixtures(tmp_path / "bad", n=20, placeholder_test=("facebook/xnli",)))
    assert bad.returncode == 1 and "xnli deu test: " in bad.stdout and "placeholder labels" in bad.stdout


# ---- the generalized setting with every pair of languages (Huang et al. 2021) --------------
PAIR_LANGS = ["eng", "deu", "fra"]


@pytest.fixture(scope="module")
def pawsx_two_dropped(hub_root, tmp_path_factory):
    """The PAWS-X fixtures with two French test rows labelled -1 (dropped and counted when loaded)."""
    from datasets import Dataset, load_dataset

    root = tmp_path_factory.mktemp("hub-pairs")
    shutil.copytree(hub_root / "google-research-datasets", root / "google-research-datasets")
    path = root / "google-research-datasets/paws-x/fr/test-00000-of-00001.parquet"
    ds = load_dataset("parquet", data_files=str(path), split="train")
    ds = ds.map(lambda row, i: {"label": -1 if i in (3, 7) else row["label"]}, with_indices=True)
    Dataset.from_dict(ds.to_dict(), features=ds.features).to_parquet(str(path))
    return root


def _pair_run(root, tmp, pairs: str | None, **kw) -> RunParams:
    extra = {"generalized_pairs": pairs} if pairs else {}
    return _run(root, tmp / "cache", model="rule-bow", target_task="paws-x", eval_langs=PAIR_LANGS,
                run_dir=str(tmp / f"run-{pairs}"), **extra, **kw)


def test_every_pair_of_evaluation_languages_is_its_own_row_with_the_pairs_counted(pawsx_two_dropped, tmp_path,
                                                                                   monkeypatch):
    from xltkit.pipeline import stages

    run = _pair_run(pawsx_two_dropped, tmp_path, "all")
    m = stages.ensure("evaluate", run)
    acc = m[(m.metric == "accuracy") & (m.phenomenon == "all")]
    pairs = [(a, b) for a in PAIR_LANGS for b in PAIR_LANGS if a != b]  # 3 languages: 6 ordered pairs
    expected = {("same", a, "", s) for a in PAIR_LANGS for s in ("dev", "test")} | \
        {("generalized", a, b, s) for a, b in pairs for s in ("dev", "test")}
    got = list(zip(acc.eval_setting, acc.eval_lang, acc.eval_lang2, acc.split))
    assert len(got) == len(set(got)) and set(got) == expected
    n = {(a, b, s): k for a, b, s, k in zip(acc.eval_lang, acc.eval_lang2, acc.split, acc.n_examples)}
    for (a, b, s), k in n.items():  # 40 rows a split; French test lost two, and so does every pair with it
        assert k == (38 if s == "test" and "fra" in (a, b) else 40), (a, b, s)
    notes = json.loads((tmp_path / "run-all" / "data.json").read_text())
    assert notes["fra/test"]["dropped_invalid_labels"] == 2
    assert notes["eng+fra/test"] == {"first": "eng/test", "second": "fra/test", "unpaired_or_disagreeing": 2,
                                     "used": 38}
    assert notes["fra+eng/test"]["unpaired_or_disagreeing"] == 0 and notes["fra+eng/test"]["used"] == 38
    preds = pd.read_parquet(tmp_path / "run-all" / "predictions.parquet")
    counted = preds.groupby(["eval_lang", "eval_lang2", "split"]).size().to_dict()
    assert counted == n  # one prediction per example of every pair

    # by hand: the pair (deu, fra) of one hub id has the German first sentence and the French second one
    task, data = get_task("paws-x"), run.data_context()
    raw = {lang: pd.read_parquet(pawsx_two_dropped / f"google-research-datasets/paws-x/{c}/test-00000-of-00001.parquet")
           .set_index("id") for lang, c in (("deu", "de"), ("fra", "fr"))}
    pair = task.load("test", "deu", data, "fra").to_pandas().set_index("id")
    i = 11
    assert list(pair.loc[i, "words"]) == raw["deu"].loc[i, "sentence1"].split()
    assert list(pair.loc[i, "words2"]) == raw["fra"].loc[i, "sentence2"].split()
    assert raw["deu"].loc[i, "sentence1"] != raw["fra"].loc[i, "sentence1"]  # the fixtures' languages differ
    assert 3 not in pair.index and 7 not in pair.index  # French lost them: no pair
    # ... and the evaluation labels each pair with its languages in that order: a predictor that reads which
    # language each sentence is in (the fixtures' words end with the language's first letter)
    code = {"e": 1, "d": 2, "f": 3}
    spy = lambda ds: [10 * code[a[0][-1]] + code[b[0][-1]] for a, b in zip(ds["words"], ds["words2"])]  # noqa: E731
    monkeypatch.setattr(run.model, "predictor", lambda *a, **k: spy)
    stages.ensure("evaluate", run)
    seen = pd.read_parquet(tmp_path / "run-all" / "predictions.parquet")
    second = seen.eval_lang2.where(seen.eval_lang2 != "", seen.eval_lang)
    want = 10 * seen.eval_lang.str[0].map(code) + second.str[0].map(code)
    assert (seen.pred == want).all() and set(want) == {11, 12, 13, 21, 22, 23, 31, 32, 33}


def test_the_source_pairs_are_the_default_and_keep_their_rows_and_keys(pawsx_two_dropped, tmp_path):
    from xltkit.pipeline import graph, stages

    default, source = _pair_run(pawsx_two_dropped, tmp_path, None), _pair_run(pawsx_two_dropped, tmp_path, "source")
    every = _pair_run(pawsx_two_dropped, tmp_path, "all")
    assert default.evaluation.generalized_pairs == "source"
    assert [n.key for n in graph.chain(default)] == [n.key for n in graph.chain(source)]
    assert graph.run_id(every) != graph.run_id(default)  # another evaluation, another run
    assert graph.key("finetune", every) == graph.key("finetune", default)  # ... of the same fitted rule
    one = dict(target_task="xcopa", eval_langs=["ekk"])  # a one-sentence task has no pairs: nothing changes
    assert graph.run_id(_run(pawsx_two_dropped, tmp_path, generalized_pairs="all", **one)) == \
        graph.run_id(_run(pawsx_two_dropped, tmp_path, **one))
    with pytest.raises(ValueError, match="generalized_pairs: all chooses the pairs.*set generalized: true"):
        _pair_run(pawsx_two_dropped, tmp_path, "all", generalized=False)

    m = stages.ensure("evaluate", default)
    gen = m[m.eval_setting == "generalized"]
    assert set(zip(gen.eval_lang, gen.eval_lang2)) == {("deu", "eng"), ("fra", "eng")}  # second sentence: source
    assert set(m[m.eval_setting == "same"].eval_lang2) == {""}
    a = stages.ensure("evaluate", every)
    cols = ["eval_setting", "eval_lang", "eval_lang2", "split", "metric", "phenomenon"]
    both = m.merge(a, on=cols, suffixes=("", "_all"))
    assert len(both) == len(m) and (both.value == both.value_all).all()  # the same numbers, a subset of the cells


def test_the_plan_counts_every_pair_of_languages(tmp_path):
    from xltkit.pipeline.plan import plan, summary

    task = get_task("xnli")  # 15 languages, sizes from the dataset card: dev 2,490, test 5,010 in each
    runs = {p: _run(None, tmp_path, model="hf:xlm-roberta-base", generalized_pairs=p) for p in ("source", "all")}
    table = {p: plan([r]) for p, r in runs.items()}
    ev = {p: t[t.stage == "evaluate"].iloc[0] for p, t in table.items()}
    langs = runs["all"].eval_langs()
    assert len(langs) == 15 and ev["all"].lang_pairs == 15 * 14 == 210 and ev["source"].lang_pairs == 14
    size = {lang: sum(task.split_size(lang, s) for s in ("dev", "test")) for lang in langs}
    assert set(size.values()) == {2_490 + 5_010}
    same = sum(size.values())
    assert ev["source"].examples == same + sum(v for lang, v in size.items() if lang != "eng")
    assert ev["all"].examples == same + sum(size[a] for a in langs for b in langs if a != b)
    assert ev["all"].examples - ev["source"].examples == 196 * 7_500 == 1_470_000
    assert ev["all"].pair_examples == 210 * 7_500 and ev["all"].device_hours > 7 * ev["source"].device_hours
    assert "generalized setting: up to 210 pairs of languages per run, 1,575,000 of the 1,687,500" in \
        summary(table["all"])


def test_the_analysis_keeps_each_pair_of_languages_apart_and_writes_the_pair_matrix(pawsx_two_dropped, tmp_path):
    from xltkit.analysis.params import AnalysisParams
    from xltkit.analysis.report import analyze
    from xltkit.pipeline.experiment import Experiment
    from xltkit.pipeline.runner import Runner

    shared = dict(target_task="paws-x", source_lang="eng", eval_langs=PAIR_LANGS, hub_root=str(pawsx_two_dropped),
                  n_train=None, n_dev=None, n_test=None, generalized_pairs="all", cache_dir=str(tmp_path / "cache"))
    exp = Experiment(experiment="pairs", workers=1, shared=shared, grid={"model": ["rule-bow", "rule-length"],
                                                                         "seed": [0, 1]})
    runner = Runner(exp, outputs=tmp_path, echo=lambda s: None, executor="inline")
    res = runner.run()
    assert not runner.failed and set(res.eval_lang2) == {"", *PAIR_LANGS}
    a = analyze(AnalysisParams(experiment_dir=str(tmp_path / "pairs"), n_boot=100))
    g = a.generalized
    assert len(g) == 2 * 6 and not g.duplicated(["model", "eval_lang", "eval_lang2"]).any()  # a row per pair
    res = res[(res.split == "test") & (res.metric == "accuracy") & (res.phenomenon == "all")]
    for row in g.itertuples():  # each pair's pooled score is its own runs' score in that pair, nothing else
        cell = res[(res.model == row.model) & (res.eval_lang == row.eval_lang) & (res.eval_lang2 == row.eval_lang2)]
        assert len(cell) == 2 and row.score == pytest.approx((cell.value * cell.n_examples).sum() /
                                                             cell.n_examples.sum())
        same = res[(res.model == row.model) & (res.eval_setting == "same")].set_index("eval_lang").value
        assert row.same_score == pytest.approx(same[row.eval_lang]) and \
            row.same_score2 == pytest.approx(same[row.eval_lang2])
    pairs = pd.read_csv(tmp_path / "pairs" / "analysis" / "pairs.csv")
    assert len(pairs) == 2 * 9 and pairs.same.sum() == 2 * 3  # 3 x 3 per model, the same-language diagonal
    assert (pairs[pairs.same].eval_lang == pairs[pairs.same].eval_lang2).all()
    text = (tmp_path / "pairs" / "analysis" / "summary.txt").read_text()
    assert "every pair of languages" in text and "rule-bow/none: paws-x from eng, accuracy" in text


def test_a_subsample_counts_usable_rows_and_the_load_check_refuses_too_few_before_training(pawsx_two_dropped,
                                                                                           tmp_path):
    """Rows are dropped before the subsample: n_test=12 gives 12 usable French rows though two of the
    drawn ones are -1, the first 12 usable in the seeded order that gives every language the same rows;
    and a data check refuses intermediate_examples above a language's usable rows, before any stage."""
    from xltkit.pipeline.preflight import load_all

    task = get_task("paws-x")
    full = _run(pawsx_two_dropped, tmp_path, target_task="paws-x").data_context()
    usable = task.load("test", "fra", full)["id"]
    data = _run(pawsx_two_dropped, tmp_path, target_task="paws-x", n_test=len(usable) - 1).data_context()
    fra, deu = (task.load("test", lang, data)["id"] for lang in ("fra", "deu"))
    assert len(fra) == len(usable) - 1 == len(deu)  # the number asked for, though two rows were dropped
    assert len(set(fra) - set(deu)) <= 2 and set(fra) <= set(usable)  # the same rows but where French lost some
    assert task.load_notes()["fra/test"]["dropped_invalid_labels"] == 2
    runs = [_run(pawsx_two_dropped, tmp_path, target_task="xnli", intermediate_task="paraphrase",
                 intermediate_lang="eng", intermediate_examples=n) for n in (10, 10_000)]
    assert not [p for p in load_all(runs[:1]) if "paraphrase" in p]
    too_many = [p for p in load_all(runs[1:]) if "paraphrase" in p]
    assert len(too_many) == 1 and "intermediate_examples=10000" in too_many[0] and "paraphrase eng train" in too_many[0]
