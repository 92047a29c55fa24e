"""Extractive QA and retrieval from the hub, offline: XQuAD, MLQA, TyDiQA-GoldP, the SQuAD-style
intermediate task and Tatoeba load from fixtures in the hub's schemas into their head contracts,
and refuse what cannot be scored (misplaced answers, placeholder answers, unaligned bitext)."""

import json

import pandas as pd
import pytest

from xltkit.tasks import TaskError, get_task
from xltkit.tasks.base import HEADS, DataContext
from xltkit.tasks.hub.params import HubParams

QA = ("xquad", "mlqa", "tydiqa", "squad")


@pytest.fixture(scope="module", autouse=True)
def _offline():
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    from xltkit.tasks.hub.fixtures import write_fixtures

    return write_fixtures(tmp_path_factory.mktemp("hub"), n=30)


def _data(root, cache, train=None, dev=None, test=None, **hub) -> DataContext:
    return DataContext(cache_dir=str(cache), sizes={"train": train, "dev": dev, "test": test},
                       params={"hub": HubParams(hub_root=str(root) if root else None, **hub)})


def _in_contract(task, ds):
    assert set(HEADS[task.head].columns) <= set(ds.column_names)
    for row in ds:
        a = row["answers"]
        assert isinstance(row["id"], str) and len(a["text"]) == len(a["answer_start"])
        assert all(row["context"][s:s + len(t)] == t for t, s in zip(a["text"], a["answer_start"]))


@pytest.mark.parametrize("name", QA)
def test_each_qa_task_loads_its_splits_in_the_contract(name, hub_root, tmp_path):
    task, data = get_task(name), _data(hub_root, tmp_path)
    assert task.head == "extractive_qa" and task.primary_metric == "f1" and task.metrics == ("f1", "exact_match")
    for lang in task.languages(data):
        for split in {*task.source(lang, data).splits, *getattr(task.train_sources.get(lang), "splits", {})}:
            ds = task.load(split, lang, data)
            _in_contract(task, ds)
            note = task.load_notes()[f"{lang}/{split}"]
            assert len(ds) == note["used"] > 0 and note["dropped_misaligned"] == 0, (name, lang, split)
    assert {n: get_task(n).qa_normalization for n in QA} == {"xquad": "squad", "tydiqa": "squad", "mlqa": "mlqa",
                                                             "squad": "xltkit"}


def test_xquad_and_mlqa_train_in_english_on_squad_v1_1(hub_root, tmp_path):
    data = _data(hub_root, tmp_path)
    xquad, mlqa, squad = get_task("xquad"), get_task("mlqa"), get_task("squad")
    for task in (xquad, mlqa):
        task.load("train", "eng", data)
        assert task.load_notes()["eng/train"]["source"].startswith("rajpurkar/squad (plain_text)")
        assert task.split_size("eng", "train", data) == 87_599 and task.train_corpora("eng", data) == ("squad",)
        assert [s.path for s in task.sources_of("eng", data)] == [task.sources["eng"].path, "rajpurkar/squad"]
        assert task.data_identity(data)["train_sources"]["eng"][0] == "rajpurkar/squad"
    assert xquad.eval_splits("eng", data) == xquad.eval_splits("deu", data) == ("test",)  # XQuAD is all test
    assert mlqa.eval_splits("deu", data) == ("dev", "test")
    assert "eng" in xquad.eval_languages(data) and "ron" in xquad.eval_languages(data)
    # XQuAD's English questions are SQuAD dev's: the English dev set leaves them out
    dev, test = xquad.load("dev", "eng", data), xquad.load("test", "eng", data)
    assert xquad.load_notes()["eng/dev"]["dropped_in_test"] > 0 and not set(dev["id"]) & set(test["id"])
    mlqa.load("dev", "eng", data)
    assert mlqa.load_notes()["eng/dev"]["source"].startswith("google/xtreme (MLQA.en.en)")
    # an English SQuAD intermediate task trains on the targets' own data; Hungarian MILQA does not; TyDiQA's is its own
    same = lambda inter, lang, target: bool(set(squad.train_corpora(lang, data)) &  # noqa: E731
                                            set(get_task(target).train_corpora("eng", data)))
    assert same(squad, "eng", "xquad") and same(squad, "fin", "mlqa") and not same(squad, "hun", "xquad")
    assert not same(squad, "eng", "tydiqa")


def test_a_xquad_subsample_takes_the_same_questions_in_every_language(hub_root, tmp_path):
    xquad = get_task("xquad")
    ids = {lang: xquad.load("test", lang, _data(hub_root, tmp_path, test=12))["id"] for lang in ("deu", "tha", "eng")}
    assert len(ids["deu"]) == 12 and ids["deu"] == ids["tha"] == ids["eng"]
    other = xquad.load("test", "deu", _data(hub_root, tmp_path, test=12, subsample_seed=1))["id"]
    assert other != ids["deu"] and len(other) == 12


def test_tydiqa_splits_the_mixed_set_by_the_language_of_each_id(hub_root, tmp_path):
    task, data = get_task("tydiqa"), _data(hub_root, tmp_path)
    train = task.load("train", "eng", data)
    assert all(i.startswith("english-") for i in train["id"]) and len(train) == 30
    assert task.load_notes()["eng/train"]["rows_all_languages"] == 9 * 30
    fin = task.load("test", "fin", data)  # the GoldP dev set is the test
    assert all(i.startswith("finnish-") for i in fin["id"]) and task.eval_splits("fin", data) == ("test",)
    assert task.split_size("fin", "test") == 782 and task.split_size("eng", "train") == 3_696
    with pytest.raises(TaskError, match=r"no question of the train split has an id starting with 'finnish-'.*"
                                        r"the prefixes found: arabic, bengali"):
        task._select([{"id": "arabic-1-0"}, {"id": "bengali-2-0"}], "train", "fin", data)


def test_milqa_holds_out_a_deterministic_dev_set_disjoint_from_train(hub_root, tmp_path):
    task = get_task("squad")
    data = _data(hub_root, tmp_path, qa_unanswerable="keep")
    train, dev = task.load("train", "hun", data), task.load("dev", "hun", data)
    assert len(dev) > 0 and not set(train["id"]) & set(dev["id"]) and not set(train["context"]) & set(dev["context"])
    notes = task.load_notes()
    assert notes["hun/train"]["held_out_as_dev"] == len(dev)
    assert len(train) + len(dev) == notes["hun/train"]["rows_in_hub_split"]
    assert task.load("dev", "hun", data)["id"] == dev["id"]  # deterministic
    small = task.load("train", "hun", _data(hub_root, tmp_path, train=50, qa_unanswerable="keep"))
    assert len(small) == 50 and not set(small["id"]) & set(dev["id"])  # the train used never holds dev questions
    other = task.load("dev", "hun", _data(hub_root, tmp_path, subsample_seed=3, qa_unanswerable="keep"))
    assert other["id"] != dev["id"]  # the hold-out is seeded by subsample_seed
    assert task.split_size("hun", "dev", data) is None and task.eval_splits("hun", data) == ("dev", "test")


def test_unanswerable_questions_are_kept_or_dropped_and_counted(hub_root, tmp_path):
    task = get_task("squad")
    assert HubParams().qa_unanswerable == "drop"
    kept = task.load("train", "fin", _data(hub_root, tmp_path, qa_unanswerable="keep"))
    k = task.load_notes()["fin/train"]
    dropped = task.load("train", "fin", _data(hub_root, tmp_path))
    d = task.load_notes()["fin/train"]
    assert k["unanswerable_kept"] == d["unanswerable_dropped"] > 0
    assert k["unanswerable_dropped"] == d["unanswerable_kept"] == 0
    assert len(kept) - len(dropped) == k["unanswerable_kept"]
    assert sum(not a["text"] for a in kept["answers"]) == k["unanswerable_kept"]
    assert all(a["text"] for a in dropped["answers"])
    assert task.keeps_unanswerable(_data(hub_root, tmp_path, qa_unanswerable="keep"))
    assert not get_task("xquad").keeps_unanswerable(_data(hub_root, tmp_path, qa_unanswerable="keep"))
    keys = [task.data_identity(_data(hub_root, tmp_path, qa_unanswerable=v)) for v in ("keep", "drop")]
    assert keys[0] != keys[1]


def test_the_squad_v2_alternative_is_chosen_through_source_choices(hub_root, tmp_path):
    task = get_task("squad")
    data = _data(hub_root, tmp_path, source_choices={"squad": {"eng": "squad-v2"}}, qa_unanswerable="keep")
    ds = task.load("train", "eng", data)
    note = task.load_notes()["eng/train"]
    assert note["source"].startswith("rajpurkar/squad_v2 (squad_v2)") and note["unanswerable_kept"] > 0
    assert sum(not a["text"] for a in ds["answers"]) == note["unanswerable_kept"]
    assert task.train_corpora("eng", data) == ("squad", "squad2")
    with pytest.raises(TaskError, match="no alternative source 'squad-v3' for 'eng'; allowed: squad-v2"):
        task.load("train", "eng", _data(hub_root, tmp_path, source_choices={"squad": {"eng": "squad-v3"}}))


def _squad_rows(n: int, misplaced: int = 0, no_answer: int = 0) -> list[dict]:
    rows = []
    for k in range(n):
        context = f"alpha beta{k} gamma delta{k} epsilon."
        start = context.index(f"delta{k}") + (1 if k < misplaced else 0)
        answers = {"text": [f"delta{k}"], "answer_start": [start]} if k < n - no_answer else \
            {"text": [], "answer_start": []}
        rows.append({"id": f"q{k:04d}", "title": "t", "context": context, "question": f"gamma {k}?",
                     "answers": answers})
    return rows


def _files(folder, split: str, rows) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_json(folder / f"{split}.jsonl", orient="records", lines=True, force_ascii=False)
    return str(folder)


def test_answers_not_at_their_start_are_dropped_and_counted_or_refused_with_examples(tmp_path):
    task = get_task("squad")
    few = _files(tmp_path / "few", "train", _squad_rows(200, misplaced=1))
    ds = task.load("train", "fin", _data(None, tmp_path, task_files={"squad": {"fin": few}}))
    note = task.load_notes()["fin/train"]
    assert len(ds) == 199 and note["dropped_misaligned"] == note["misaligned_in_split"] == 1 and "q0000" not in ds["id"]
    many = _files(tmp_path / "many", "train", _squad_rows(200, misplaced=5))
    with pytest.raises(TaskError, match=r"5 of 200 questions have an answer that is not in the context at its "
                                        r"answer_start \(more than 1%\): q0000: answer 'delta0' at 19, the context has "
                                        r"'elta0 ';.*q0002: answer 'delta2' at 19"):
        task.load("train", "fin", _data(None, tmp_path, task_files={"squad": {"fin": many}}))


def test_squad_json_in_task_files_stands_in_for_a_language(tmp_path):
    from xltkit.tasks.hub.fixtures import _nested

    folder = tmp_path / "fi"
    folder.mkdir()
    rows = _squad_rows(40, no_answer=10)
    (folder / "train-v2.0.json").write_text(json.dumps(_nested(rows, "squad_fi")))
    ds = get_task("squad").load("train", "fin", _data(None, tmp_path, task_files={"squad": {"fin": str(folder)}}))
    assert len(ds) == 30 and get_task("squad").load_notes()["fin/train"]["unanswerable_dropped"] == 10


def test_placeholder_answers_on_a_test_split_are_refused(tmp_path):
    from xltkit.tasks.hub.fixtures import write_fixtures

    root = write_fixtures(tmp_path / "hub", n=24, placeholder_test=("google/xquad",))
    with pytest.raises(TaskError, match=r"the test split of 'deu' has placeholder answers.*answer_start: 0, text: ''"):
        get_task("xquad").load("test", "deu", _data(root, tmp_path / "c"))
    # a target whose questions all have answers by design refuses a test set where many have none
    folder = _files(tmp_path / "de", "test", _squad_rows(40, no_answer=12))
    with pytest.raises(TaskError, match="12 of 40 questions of the test split of 'deu' have no answer, and this task "
                                        "has none by design"):
        get_task("xquad").load("test", "deu", _data(None, tmp_path, task_files={"xquad": {"deu": folder}}))


def test_tatoeba_pairs_each_sentence_with_its_english_translation(hub_root, tmp_path):
    task, data = get_task("tatoeba"), _data(hub_root, tmp_path)
    assert task.head == "retrieval" and task.labels == () and task.metrics == ("accuracy", "accuracy_reverse")
    assert "eng" in task.languages(data) and "eng" not in task.eval_languages(data)  # the pivot, with no set
    assert len(task.eval_languages(data)) == 41 and task.train_corpora("fin", data) == ()
    raw = task.raw("test", "fin", data)
    ds = task.load("test", "fin", data)
    assert list(ds.column_names) == ["id", "text", "text2"] and ds["id"] == list(range(30))
    assert ds["text"] == [s.strip() for s in raw["source_sentence"]]  # the loading script kept each line's newline
    assert ds["text2"] == [s.strip() for s in raw["target_sentence"]] and raw["target_sentence"][0].endswith("\n")
    ukr = task.load("test", "ukr", data)  # XTREME-R's additions, from MTEB's Tatoeba
    assert task.load_notes()["ukr/test"]["source"].startswith("mteb/tatoeba-bitext-mining (ukr-eng)")
    assert ukr["text2"] == task.raw("test", "ukr", data)["sentence2"]
    assert task.sources["arb"].config == "tatoeba.ara" and task.sources["azj"].config == "aze-eng"
    with pytest.raises(TaskError, match="English is the pivot side"):
        task.load("test", "eng", data)
    assert len(task.load("test", "fin", _data(hub_root, tmp_path, test=12))) == 12


def test_tatoeba_refuses_sides_of_unequal_length_and_a_sorted_english_side(tmp_path):
    task = get_task("tatoeba")

    def load(name, first, second):
        folder = _files(tmp_path / name, "test", [{"sentence1": a, "sentence2": b} for a, b in zip(first, second)])
        return task.load("test", "fin", _data(None, tmp_path, task_files={"tatoeba": {"fin": folder}}))

    fin, eng = [f"lause {k} on tässä" for k in range(200)], [f"sentence {(k * 7) % 200} is here" for k in range(200)]
    with pytest.raises(TaskError, match=r"its two sides differ in length \(200 sentences in fin, 195 in English\)"):
        load("short", fin, eng[:195] + [None] * 5)
    ds = load("one", fin, eng[:199] + [""])  # one empty side of 200: dropped and counted
    assert len(ds) == 199 and task.load_notes()["fin/test"]["dropped_empty_side"] == 1
    with pytest.raises(TaskError, match="English side of the test set of 'fin' is sorted"):
        load("sorted", fin, sorted(eng))


def test_qa_settings_leave_the_lab_runs_keys_alone():
    from xltkit.pipeline.graph import chain
    from xltkit.pipeline.params import RunParams

    keys = lambda run: {n.stage.name: n.key for n in chain(run)}  # noqa: E731
    assert keys(RunParams(qa_unanswerable="keep")) == keys(RunParams())
