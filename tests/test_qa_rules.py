"""The surface-cue controls of extractive QA and retrieval: the sliding-window rule's exact answers
and the character n-gram rule's exact neighbours, worked out by hand on tiny examples, scored by
the same metric code as an encoder; then both through the pipeline's stages on the hub fixtures,
and in the real grids."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from xltkit.modeling import qa_rules
from xltkit.modeling.metrics import score
from xltkit.modeling.qa_rules import SlidingWindowRule, words
from xltkit.modeling.rules import CharNgramRetrievalRule, fit_rule, load_rule, save_rule
from xltkit.pipeline import graph, stages
from xltkit.pipeline.params import RunParams
from xltkit.tasks import get_task


def test_words_are_runs_of_letters_marks_and_digits_or_characters_where_there_are_no_spaces():
    assert [w for w, _, _ in words("Don't stop, 3.5km!")] == ["don", "t", "stop", "3", "5km"]
    assert [w for w, _, _ in words("हिंदी भाषा")] == ["हिंदी", "भाषा"]  # vowel signs (marks) stay in their word
    assert [w for w, _, _ in words("北京大学 in Beijing")] == ["北", "京", "大", "学", "in", "beijing"]
    assert [w for w, _, _ in words("ภาษาไทย")] == ["ภ", "า", "ษ", "า", "ไ", "ท", "ย"]
    assert words("Rome, Carla") == [("rome", 0, 4), ("carla", 6, 11)]  # character offsets into the text


# "In Rome, Carla met Ben. In Paris Anna married Ben Smith and moved."
#  words: in(0) rome(1) carla(2) met(3) ben(4) in(5) paris(6) anna(7) married(8) ben(9) smith(10) and(11) moved(12)
#  question words in the context: in (0, 5; IC = log 1.5 = 0.405), rome, paris, anna (IC = log 2 = 0.693);
#  "marry" is not "married".  Windows of 3: [5-7] holds in + paris + anna = 1.792, the best; its rarest
#  question word is paris (6; anna ties, the first wins).  A window of 1: the first word of IC 0.693, rome (1).
CONTEXT = "In Rome, Carla met Ben. In Paris Anna married Ben Smith and moved."
QUESTION = "Who did Anna marry in Paris, not Rome?"


@pytest.mark.parametrize("window, length, side, answer", [
    (3, 3, "after", "married Ben Smith"),  # anna (7), a question word beside the anchor, is stepped over
    (3, 3, "before", "Carla met Ben"),  # in (5) stepped over, then ben, met, carla
    (3, 5, "before", "Carla met Ben"),  # stops before the question word rome: three words, not five
    (1, 3, "after", "Carla met Ben"),  # the one-word window picks rome (1)
    (13, 1, "after", "Carla"),  # the whole context: the first word of the largest IC, rome
])
def test_the_sliding_window_rule_answers_beside_the_rarest_match_of_the_best_window(window, length, side, answer):
    assert SlidingWindowRule(window=window, length=length, side=side).answer(QUESTION, CONTEXT) == answer


def test_the_sliding_window_rule_turns_round_at_the_edge_and_answers_without_a_match():
    # met (1) and anna (2) are question words of equal IC: the anchor is met; after it only anna, then the edge
    assert SlidingWindowRule(window=3, length=2, side="after").answer("Who met Anna?", "Ben met Anna") == "Ben"
    # no question word in the context: its first words
    assert SlidingWindowRule(length=2).answer("Xyz?", "Alpha beta, gamma delta.") == "Alpha beta"
    assert SlidingWindowRule().answer("Anna?", "Anna") == ""  # every context word is a question word
    # the answer is the context's own text from its first word to its last, punctuation between them kept
    rule = SlidingWindowRule(window=3, length=3, side="before")
    assert rule.answer("Where is Paris?", CONTEXT) == "met Ben. In"


def test_in_chinese_the_rule_matches_and_answers_with_characters():
    # 李 明 住 在 北 京 大 学: 住在北京 are question characters (IC log 2 each); windows of 5 starting at 1 and 2
    # both hold four of them, the first wins; its first question character 住 (2) is the anchor
    context, question = "李明住在北京大学。", "谁住在北京？"
    assert SlidingWindowRule(window=5, length=2, side="before").answer(question, context) == "李明"
    assert SlidingWindowRule(window=5, length=2, side="after").answer(question, context) == "大学"


def _qa_frame(rows) -> pd.DataFrame:
    return pd.DataFrame([{"id": str(i), "question": q, "context": c,
                          "answers": {"text": [a], "answer_start": [c.index(a)]}} for i, (q, c, a) in enumerate(rows)])


TRAIN = [("What is key?", "alpha beta gamma delta key epsilon zeta", "gamma delta"),
         ("Where is the lock?", "one two three four five lock six", "four five"),
         ("Was it red?", "red", "red"),  # the context is all question words: no answer, F1 0 in every setting
         ("Which door?", "north south east west door up", "east west")]


def test_fitting_picks_the_window_length_and_side_with_the_best_f1_on_the_training_set(monkeypatch):
    # every answer is the two words before the one question word of its context: (2, "before") answers
    # three of the four exactly and no setting does better; every window finds the same anchor, so the
    # first window ties for best
    rule = fit_rule("rule-bow", "extractive_qa", _qa_frame(TRAIN))
    assert isinstance(rule, SlidingWindowRule)
    assert (rule.window, rule.length, rule.side) == (qa_rules.WINDOWS[0], 2, "before")
    assert rule.fit_f1 == pytest.approx(0.75) and rule.fit_questions == 4
    assert rule.stats == {"rule": {"window": 5, "length": 2, "side": "before", "fit_f1": rule.fit_f1,
                                   "fit_questions": 4}}
    monkeypatch.setattr(qa_rules, "FIT_QUESTIONS", 2)  # a large training set: a sample spread over it
    assert SlidingWindowRule().fit(_qa_frame(TRAIN)).fit_questions == 2
    again = load_rule(save_rule(rule))  # what the fine-tuning stage saves, the evaluation loads
    assert again == rule and again.predict(_qa_frame(TRAIN)) == ["gamma delta", "four five", "", "east west"]


def test_a_rule_file_names_no_attribute_path():
    import pickle

    # protocol 4 names "pd.HDFStore" (a class that opens files) through the rule module's own imports
    for module in (b"xltkit.modeling.qa_rules", b"xltkit.modeling.rules"):
        payload = b"\x80\x04\x8c" + bytes([len(module)]) + module + b"\x8c\x0bpd.HDFStore\x93."
        with pytest.raises(pickle.UnpicklingError, match="an attribute path, not loaded"):
            load_rule(payload)


def test_qa_rule_answers_are_scored_by_the_tasks_metrics():
    test = _qa_frame([(QUESTION, CONTEXT, "Ben Smith"), ("Who met Anna?", "Ben met Anna", "Ben")])
    preds = SlidingWindowRule(window=3, length=3, side="after").predict(test)
    assert preds == ["married Ben Smith", "Ben"]
    m, rows = score(get_task("xquad"), test, preds, lang="eng")
    values = m.set_index("metric").value
    assert values["exact_match"] == 0.5  # the second only
    assert values["f1"] == pytest.approx((0.8 + 1) / 2)  # 2 of 3 predicted words right, both gold words found
    assert rows.prediction.tolist() == preds


# "Matti 12 vuotta" shares 21 n-grams with "Matti is 12" and one ("i ") with "Helsinki"; "Helsingissä"
# shares 15 with "Helsinki" and "is" with "Matti is 12"; "Tokio" shares 7 with "Tokyo" and "ki" with
# "Helsinki"; "Öljy" and "oil" share none with anything: their rows are all zero and the first row wins.
RETRIEVAL = pd.DataFrame({"id": [0, 1, 2, 3], "text": ["Matti 12 vuotta", "Helsingissä", "Öljy", "Tokio"],
                          "text2": ["Matti is 12", "Helsinki", "oil", "Tokyo"]})


def test_the_retrieval_rule_finds_names_and_numbers_and_nothing_else():
    rule = fit_rule("rule-bow", "retrieval", None)  # nothing to fit
    assert isinstance(rule, CharNgramRetrievalRule)
    assert rule.predict(RETRIEVAL) == [(0, 0), (1, 1), (0, 0), (3, 3)]
    reordered = RETRIEVAL.assign(text2=RETRIEVAL.text2[::-1].tolist())  # "Tokyo", "oil", "Helsinki", "Matti is 12"
    assert [f for f, _ in rule.predict(reordered)] == [3, 2, 0, 0]  # the same neighbours, by their new rows
    m, _ = score(get_task("tatoeba"), RETRIEVAL, rule.predict(RETRIEVAL), lang="fin")
    assert m.set_index("metric").value.to_dict() == {"accuracy": 0.75, "accuracy_reverse": 0.75}


@pytest.mark.parametrize("model, task, allowed", [
    ("rule-overlap", "xquad", "the rules for extractive_qa tasks: rule-bow"),
    ("rule-length", "tatoeba", "the rules for retrieval tasks: rule-bow"),
    ("rule-overlap", "anim", "the rules for sequence tasks: rule-length, rule-bow"),
])
def test_a_rule_without_a_version_for_the_head_is_refused_naming_what_is_allowed(model, task, allowed):
    with pytest.raises(ValueError, match=f"does not apply to task '{task}'.*{allowed}.*task's controls"):
        RunParams(model=model, target_task=task, source_lang="eng")


# ---- through the stages, on the hub fixtures -------------------------------------------------
@pytest.fixture(scope="module")
def hub_root(tmp_path_factory):
    import os

    from xltkit.tasks.hub.fixtures import write_fixtures

    old = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "HF_DATASETS_CACHE")}
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing here may reach the hub
    os.environ["HF_DATASETS_CACHE"] = str(tmp_path_factory.mktemp("hf-datasets"))
    yield write_fixtures(tmp_path_factory.mktemp("hub"))
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _rule_run(hub_root, tmp_path, **kw) -> RunParams:
    return RunParams(model="rule-bow", hub_root=str(hub_root), source_lang="eng", n_train=None, n_dev=None,
                     n_test=None, cache_dir=str(tmp_path / "cache"), run_dir=str(tmp_path / "run"), **kw)


def test_the_qa_rule_is_fitted_on_english_squad_and_scored_with_f1_and_exact_match(hub_root, tmp_path):
    run = _rule_run(hub_root, tmp_path, target_task="xquad", eval_langs=["eng", "deu", "cmn"])
    assert [n.stage.name for n in graph.chain(run)] == ["finetune", "evaluate"]
    m = stages.ensure("evaluate", run)
    assert set(m.metric) == {"f1", "exact_match"} and set(m.eval_lang) == {"eng", "deu", "cmn"}
    assert (m.model == "rule-bow").all() and m.value.between(0, 1).all()
    folder = graph.output_dir(graph.chain(run)[0], run)
    fitted = json.loads((folder / "stats.json").read_text())["rule"]
    # the fixtures answer every question with the word after its first word: one word, after the match
    assert (fitted["length"], fitted["side"]) == (1, "after") and fitted["fit_questions"] == 48
    rule = load_rule((folder / "rule.pkl").read_bytes())
    task, data = get_task("xquad"), run.data_context()
    for lang in ("eng", "cmn"):  # the stage's numbers are the rule's own answers, scored by the task's metrics
        ds = task.load("test", lang, data).to_pandas()
        expected, _ = score(task, ds, rule.predict(ds), lang=lang)
        got = m[m.eval_lang == lang].set_index("metric").value
        assert got.to_dict() == expected.set_index("metric").value.to_dict()
    assert m[(m.metric == "f1") & (m.eval_lang == "eng")].value.item() > 0.25
    preds = pd.read_parquet(tmp_path / "run" / "predictions.parquet")
    assert len(preds) == m[m.metric == "f1"].n_examples.sum() and (preds.prediction != "").all()


def test_the_retrieval_rule_needs_no_stage_before_its_evaluation(hub_root, tmp_path):
    run = _rule_run(hub_root, tmp_path, target_task="tatoeba", eval_langs=["fin", "hun"])
    assert [n.stage.name for n in graph.chain(run)] == ["evaluate"]  # nothing fitted, nothing to train
    m = stages.ensure("evaluate", run)
    assert set(m.metric) == {"accuracy", "accuracy_reverse"} and set(m.eval_lang) == {"fin", "hun"}
    ds = get_task("tatoeba").load("test", "fin", run.data_context()).to_pandas()
    expected, _ = score(get_task("tatoeba"), ds, CharNgramRetrievalRule().predict(ds), lang="fin")
    got = m[m.eval_lang == "fin"].set_index("metric").value
    assert got.to_dict() == expected.set_index("metric").value.to_dict()


# ---- the real grids ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["real_xquad", "real_mlqa", "real_tydiqa", "real_tatoeba"])
def test_the_real_qa_and_retrieval_grids_carry_the_rule_control(name, repo):
    from xltkit.pipeline.experiment import load_experiment

    runs = load_experiment(repo / "params" / f"{name}.yaml").runs()
    rules = [r for r in runs if r.model.role == "rule"]
    assert [r.encoder.model for r in rules] == ["rule-bow"] and not rules[0].has_intermediate


def test_make_real_writes_the_params_files_byte_for_byte(repo, tmp_path):
    (tmp_path / "params").mkdir()
    proc = subprocess.run([sys.executable, str(repo / "params" / "make_real.py")], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    written = sorted(p.name for p in (tmp_path / "params").glob("real_*.yaml"))
    assert {"real_xquad.yaml", "real_tatoeba.yaml"} <= set(written)
    for name in written:
        assert (tmp_path / "params" / name).read_bytes() == (repo / "params" / name).read_bytes(), name
