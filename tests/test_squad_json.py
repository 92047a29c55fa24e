"""SQuAD's nested JSON with both layouts of a question's answers: SQuAD's list and
SzegedAI/MILQA's long and short answers read to the same rows, anything else is refused naming
the question, and MILQA's checks (answers at their start, the seeded dev hold-out) hold for both."""

import json

import pytest

from xltkit.tasks import TaskError, get_task
from xltkit.tasks.base import DataContext
from xltkit.tasks.hub.fixtures import _nested, milqa_answers, write_fixtures
from xltkit.tasks.hub.params import HubParams
from xltkit.tasks.hub.squad_json import nested_rows

MILQA = ("SzegedAI", "MILQA")


@pytest.fixture(scope="module", autouse=True)
def _offline():
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    return write_fixtures(tmp_path_factory.mktemp("hub"), n=30)


def _data(root, cache, train=None, **hub) -> DataContext:
    return DataContext(cache_dir=str(cache), sizes={"train": train, "dev": None, "test": None},
                       params={"hub": HubParams(hub_root=str(root) if root else None, **hub)})


def _milqa_root(hub_root, folder, edit=None):
    """A hub root holding only SzegedAI/MILQA, its files rewritten in MILQA's long / short layout
    (``edit(file name, doc)`` changes them further)."""
    dst = folder.joinpath(*MILQA)
    dst.mkdir(parents=True)
    for f in hub_root.joinpath(*MILQA).glob("*.json"):
        doc = milqa_answers(json.loads(f.read_text()))
        if edit:
            edit(f.name, doc)
        (dst / f.name).write_text(json.dumps(doc, ensure_ascii=False))
    return folder


def _questions(doc):
    return [qa for a in doc["data"] for p in a["paragraphs"] for qa in p["qas"]]


def _squad_rows(n: int, misplaced: int = 0) -> list[dict]:
    rows = []
    for k in range(n):
        context = f"alpha beta{k} gamma . delta{k} epsilon ."
        start = context.index(f"delta{k}") + (1 if k < misplaced else 0)
        rows.append({"id": f"q{k:04d}", "title": "t", "context": context, "question": f"gamma {k}?",
                     "answers": {"text": [f"delta{k}"], "answer_start": [start]}})
    return rows


def test_milqa_long_and_short_answers_load_to_the_same_rows_as_squad_lists(hub_root, tmp_path):
    root = _milqa_root(hub_root, tmp_path / "milqa")
    doc = json.loads(root.joinpath(*MILQA, "train.MILQA-2023-03-27.squad.s.json").read_text())
    qa = next(q for q in _questions(doc) if q["answers"]["short"])
    assert set(qa["answers"]) == {"long", "short"} and isinstance(qa["answers"]["short"][0]["start"], str)
    assert any(q["is_impossible"] and q["answers"] == {"long": [], "short": []} for q in _questions(doc))
    task = get_task("squad")
    for unanswerable in ("keep", "drop"):
        for split in ("train", "dev", "test"):
            plain = task.load(split, "hun", _data(hub_root, tmp_path / "c1", qa_unanswerable=unanswerable))
            notes = task.load_notes()[f"hun/{split}"]
            dicts = task.load(split, "hun", _data(root, tmp_path / "c2", qa_unanswerable=unanswerable))
            assert dicts.to_list() == plain.to_list() and len(plain) > 0, (split, unanswerable)
            assert task.load_notes()[f"hun/{split}"] == notes  # the same counts: hold-out, unanswerable, dropped
    assert notes["dropped_long_answer_only"] == 0 and notes["unanswerable_dropped"] > 0


def test_the_seeded_dev_hold_out_of_milqa_holds_for_its_own_layout(hub_root, tmp_path):
    task = get_task("squad")
    data = _data(_milqa_root(hub_root, tmp_path / "milqa"), tmp_path / "c", qa_unanswerable="keep")
    train, dev = task.load("train", "hun", data), task.load("dev", "hun", data)
    notes = task.load_notes()["hun/train"]
    contexts = len(set(train["context"]) | set(dev["context"]))
    assert len(set(dev["context"])) == round(0.1 * contexts)  # a tenth of the contexts, with all their questions
    assert not set(train["context"]) & set(dev["context"]) and not set(train["id"]) & set(dev["id"])
    assert notes["held_out_as_dev"] == len(dev) and len(train) + len(dev) == notes["rows_in_hub_split"]
    assert task.load("dev", "hun", data)["id"] == dev["id"]  # deterministic
    other = task.load("dev", "hun", _data(data.params["hub"].hub_root, tmp_path / "c", subsample_seed=3,
                                          qa_unanswerable="keep"))
    assert other["id"] != dev["id"]  # seeded by subsample_seed


def test_a_milqa_question_with_a_long_answer_only_is_dropped_and_counted(hub_root, tmp_path):
    def long_only(name, doc):
        if name.startswith("train"):
            qa = next(q for q in _questions(doc) if q["answers"]["short"])
            qa["answers"]["short"], qa["id"] = [], "long-only"

    task = get_task("squad")
    data = _data(_milqa_root(hub_root, tmp_path / "milqa", long_only), tmp_path / "c", qa_unanswerable="keep")
    rows = task.load("train", "hun", data).to_list() + task.load("dev", "hun", data).to_list()
    notes = task.load_notes()
    plain = _data(hub_root, tmp_path / "c2", qa_unanswerable="keep")
    n = len(task.load("train", "hun", plain)) + len(task.load("dev", "hun", plain))
    assert "long-only" not in {r["id"] for r in rows} and len(rows) == n - 1
    assert notes["hun/train"]["dropped_long_answer_only"] + notes["hun/dev"]["dropped_long_answer_only"] == 1
    for split in ("train", "dev"):  # not unanswerable either
        assert notes[f"hun/{split}"]["unanswerable_kept"] == task.load_notes()[f"hun/{split}"]["unanswerable_kept"]


@pytest.mark.parametrize("answers, found", [
    ({"short": [{"text": "delta0"}], "long": []}, r"a dict with long, short, an answer without 'text' \(a string\) "
                                                  r"or 'start': a dict with text"),
    ({"short": [{"text": "delta0", "start": "fourteen"}]}, r"a dict with short, an answer whose 'start' is str "
                                                           r"'fourteen', not an integer"),
    ({"spans": [{"text": "delta0", "start": 14}]}, r"a dict with spans"),
    ({"short": {"text": "delta0", "start": 14}}, r"a dict with short, its short a dict with start, text, not a list"),
    ([{"text": "delta0", "start": 14}], r"a list, an answer without 'text' \(a string\) or 'answer_start': a dict "
                                        r"with start, text"),
    ([["delta0", 14]], r"a list, an answer a list of 2 whose first is str 'delta0'"),
    ("delta0", r"str 'delta0'"),
])
def test_an_answer_layout_other_than_squads_or_milqas_is_refused_naming_the_question(answers, found):
    doc = _nested(_squad_rows(3), "milqa")
    _questions(doc)[1]["answers"] = answers
    with pytest.raises(TaskError, match=r"where: question 'q0001' has answers in a layout xltkit does not read: "
                                        + found + r".*; it reads SQuAD's list \[\{text, answer_start\}"):
        nested_rows(doc, "where")


def test_milqa_starts_as_strings_and_is_impossible_as_words_are_read():
    doc = milqa_answers(_nested(_squad_rows(3), "milqa"))
    qas = _questions(doc)
    qas[0]["is_impossible"], qas[1]["is_impossible"] = "false", "True"
    rows = nested_rows(doc, "where")
    assert [r["answers"] for r in rows] == [{"text": ["delta0"], "answer_start": [20]},
                                            {"text": [], "answer_start": []},  # marked impossible: no answers
                                            {"text": ["delta2"], "answer_start": [20]}]
    qas[2]["is_impossible"] = "perhaps"
    with pytest.raises(TaskError, match="question 'q0002' has is_impossible str 'perhaps'; xltkit reads true or false"):
        nested_rows(doc, "where")


def test_milqa_answers_not_at_their_start_are_counted_and_refused_above_one_percent(tmp_path):
    task = get_task("squad")

    def load(name, misplaced):
        folder = tmp_path / name
        folder.mkdir()
        doc = milqa_answers(_nested(_squad_rows(200, misplaced=misplaced), "milqa"))
        (folder / "train.MILQA-2023-03-27.squad.s.json").write_text(json.dumps(doc))
        return task.load("train", "hun", _data(None, tmp_path / "c", task_files={"squad": {"hun": str(folder)}}))

    ds = load("few", 1)
    note = task.load_notes()["hun/train"]
    assert len(ds) == 199 and note["dropped_misaligned"] == note["misaligned_in_split"] == 1 and "q0000" not in ds["id"]
    with pytest.raises(TaskError, match=r"5 of 200 questions have an answer that is not in the context at its "
                                        r"answer_start \(more than 1%\): q0000: answer 'delta0' at 21, the context has "
                                        r"'elta0 ';"):
        load("many", 5)
