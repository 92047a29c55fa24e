import random

import numpy as np
import pytest

from xltkit.controls import fit_rule
from xltkit.lab import Lab
from xltkit.tasks import ROLE_TAGS, _draw, get_task, make_examples

LANGS = ["lab_eng", "lab_fin", "lab_tur", "lab_jpn"]


@pytest.fixture(scope="module")
def lab():
    return Lab(LANGS, lab_seed=0)


def test_anim_label_is_the_agents_animacy(lab):
    r = random.Random(0)
    for _ in range(200):
        m, y = _draw(lab, "anim", r)
        assert y == int(m.agent in lab.world.animate)
        assert (m.agent in lab.world.animate) != (m.patient in lab.world.animate)


def test_test_sets_are_parallel_and_train_sets_are_not(lab):
    a = make_examples(lab, "anim", "lab_eng", "test", 100)
    b = make_examples(lab, "anim", "lab_tur", "test", 100)
    assert (a.label.to_numpy() == b.label.to_numpy()).all()
    ta = make_examples(lab, "anim", "lab_eng", "train", 100)
    tb = make_examples(lab, "anim", "lab_tur", "train", 100)
    assert not (ta.label.to_numpy() == tb.label.to_numpy()).all()


def test_labels_are_balanced_and_length_does_not_solve_them(lab):
    train = make_examples(lab, "anim", "lab_eng", "train", 2000)
    test = make_examples(lab, "anim", "lab_eng", "test", 1000)
    assert 0.45 < train.label.mean() < 0.55
    acc = (fit_rule("rule-length", "sequence", train).predict(test) == test.label.to_numpy()).mean()
    assert acc < 0.58, f"length alone predicts the label ({acc:.2f})"


def test_roles_tags_align_with_words(lab):
    df = make_examples(lab, "roles", "lab_fin", "test", 50)
    for words, tags in zip(df.words, df.tags):
        assert len(words) == len(tags)
        names = [ROLE_TAGS[t] for t in tags]
        assert names.count("B-AGENT") == 1 and names.count("B-PATIENT") == 1
        assert all(n != "I-AGENT" or p in ("B-AGENT", "I-AGENT") for p, n in zip(names, names[1:]))


def test_phenomena_are_labelled(lab):
    df = make_examples(lab, "anim", "lab_tur", "test", 300)
    flat = {p for ph in df.phenomena for p in ph}
    assert {"negation", "modifier", "plural_agent"} <= flat
    hun_like = make_examples(Lab(["lab_hun"], 0), "anim", "lab_hun", "test", 300)
    assert any("patient_first" in ph for ph in hun_like.phenomena)


def test_unknown_task_names_the_allowed_ones():
    with pytest.raises(ValueError, match="allowed: anim, vagent, roles, pos"):
        get_task("nli")


def test_bow_rule_learns_english_but_is_a_fair_control(lab):
    train = make_examples(lab, "anim", "lab_eng", "train", 2000)
    rule = fit_rule("rule-bow", "sequence", train)
    eng = make_examples(lab, "anim", "lab_eng", "test", 500)
    assert (rule.predict(eng) == eng.label.to_numpy()).mean() > 0.9
    wt = fit_rule("rule-bow", "token", make_examples(lab, "pos", "lab_eng", "train", 300))
    test = make_examples(lab, "pos", "lab_eng", "test", 50)
    pred = wt.predict(test)
    assert np.mean([np.mean(np.array(p) == np.array(t)) for p, t in zip(pred, test.tags)]) > 0.8
