"""Surface-cue rules for multiple choice (XCOPA, COPA, SIQa): each picks the candidate a surface
measure points at, checked by hand on tiny frames, saved and reloaded, and run as an XCOPA
control through the stages on the hub fixtures."""

import numpy as np
import pandas as pd
import pytest

from xltkit.modeling.rules import (ChoiceBowRule, ChoiceLengthRule, ChoiceOverlapRule, fit_rule, load_rule,
                                   rules_for, save_rule)


def _frame(rows):
    return pd.DataFrame([{"id": i, "premise": p, "question": q, "choices": c, "label": y}
                         for i, (p, q, c, y) in enumerate(rows)])


TRAIN = _frame([  # the right choice is the longer one three times in four; right ones say "good", wrong ones "bad"
    ("the man fell", "cause", ["he slipped on good ice", "bad luck"], 0),
    ("the man fell", "effect", ["bad", "he hurt his good knee"], 1),
    ("it rained", "effect", ["the street got good and wet", "bad sun"], 0),
    ("it rained", "cause", ["good clouds", "the bad weather was dry"], 0),
])


def test_the_length_rule_picks_the_extreme_that_was_right_more_often():
    rule = ChoiceLengthRule().fit(TRAIN)
    assert rule.pick == {None: "longest"}  # 3 of 4; too few examples to fit cause and effect apart
    test = _frame([("x", "cause", ["a b", "a b c"], 0), ("x", "effect", ["a b c d", "a"], 0),
                   ("x", "cause", ["a b", "c d"], 1)])
    assert rule.predict(test).tolist() == [1, 0, 0]  # a tie: the most frequent answer index (0)


def test_the_choice_only_rule_reads_the_candidates_words_and_never_the_premise():
    rule = ChoiceBowRule().fit(TRAIN)
    test = _frame([("anything", "cause", ["something bad", "something good"], 0),
                   ("good good good", "effect", ["good", "bad"], 1),
                   ("x", "cause", ["unseen", "words"], 0)])
    assert rule.predict(test).tolist() == [1, 0, 0]  # unseen words: both equally likely, the first
    other = test.assign(premise=["bad", "bad", "bad"])
    assert rule.predict(other).tolist() == rule.predict(test).tolist()  # the premise is never read


def test_the_overlap_rule_picks_the_choice_sharing_most_or_fewest_words_with_the_premise():
    train = _frame([("a b c", "cause", ["a b", "d e"], 0), ("d e f", "cause", ["x", "d f"], 1),
                    ("g h", "effect", ["g", "z"], 1)])  # most overlap right twice, fewest once
    rule = ChoiceOverlapRule().fit(train)
    assert rule.pick == {None: "most"}
    test = _frame([("p q r", "cause", ["s", "q r"], 0), ("p q", "effect", ["p", "p q"], 0)])
    # Jaccard: {s} vs {p,q,r}: 0; {q,r}: 2/3 -> 1.  {p}: 1/2; {p,q}: 1 -> 1
    assert rule.predict(test).tolist() == [1, 1]


def test_question_types_are_fitted_apart_where_each_has_enough_examples():
    rows = [("p", "cause", ["a b c", "a"], 0)] * 20 + [("p", "effect", ["a b c", "a"], 1)] * 21
    rule = ChoiceLengthRule().fit(_frame(rows))
    assert rule.pick == {None: "shortest", "cause": "longest", "effect": "shortest"}
    assert rule.predict(_frame([("p", "cause", ["a", "a b"], 0), ("p", "effect", ["a", "a b"], 0),
                                ("p", "why?", ["a", "a b"], 0)])).tolist() == [1, 0, 0]  # unseen: overall


@pytest.mark.parametrize("name", ["rule-length", "rule-bow", "rule-overlap"])
def test_each_choice_rule_saves_and_reloads_with_the_same_predictions(name):
    assert name in rules_for("multiple_choice")
    rule = fit_rule(name, "multiple_choice", TRAIN)
    again = load_rule(save_rule(rule))
    np.testing.assert_array_equal(again.predict(TRAIN), rule.predict(TRAIN))


@pytest.mark.slow
def test_choice_rules_are_xcopas_controls_through_the_stages(tmp_path, monkeypatch):
    from xltkit.pipeline import stages
    from xltkit.pipeline.params import RunParams
    from xltkit.tasks import get_task
    from xltkit.tasks.hub.fixtures import write_fixtures

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    root = write_fixtures(tmp_path / "hub")
    assert set(get_task("xcopa").controls) == {"rule-length", "rule-bow", "rule-overlap"}
    for name in get_task("xcopa").controls:
        run = RunParams(model=name, target_task="xcopa", source_lang="eng", eval_langs=["ekk", "quz"],
                        hub_root=str(root), n_train=None, n_dev=None, n_test=None, cache_dir=str(tmp_path / "c"),
                        run_dir=str(tmp_path / name))
        m = stages.ensure("evaluate", run)
        assert set(m.metric) == {"accuracy"} and set(m.eval_lang) == {"ekk", "quz"} and m.value.between(0, 1).all()
        train = get_task("xcopa").load("train", "eng", run.data_context()).to_pandas()
        test = get_task("xcopa").load("test", "ekk", run.data_context()).to_pandas()
        right = (fit_rule(name, "multiple_choice", train).predict(test) == test.label.to_numpy()).mean()
        assert m[(m.eval_lang == "ekk") & (m.split == "test")].value.iloc[0] == pytest.approx(right)
