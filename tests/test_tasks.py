import random
from pathlib import Path

import numpy as np
import pytest

from xltkit.lab import Lab, Meaning
from xltkit.modeling.rules import fit_rule
from xltkit.tasks import get_task
from xltkit.tasks.lab.definitions import ROLE_TAGS
from xltkit.tasks.lab.pairs import inherent, is_paraphrase, nli_label


def make_examples(lab, task, lang, split, n, lang2=None):
    return get_task(task).make(lab, lang, split, n, lang2)

LANGS = ["lab_eng", "lab_fin", "lab_tur", "lab_jpn"]


@pytest.fixture(scope="module")
def lab():
    return Lab(LANGS, lab_seed=0)


def test_anim_label_is_the_agents_animacy(lab):
    r = random.Random(0)
    for _ in range(200):
        m, y = get_task("anim").draw(lab, r)
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
    with pytest.raises(ValueError, match="allowed: anim, vagent, roles, pos, feats, nli, paws, xnli, paws-x"):
        get_task("mnli")


def test_bow_rule_learns_english_but_is_a_fair_control(lab):
    train = make_examples(lab, "anim", "lab_eng", "train", 2000)
    rule = fit_rule("rule-bow", "sequence", train)
    eng = make_examples(lab, "anim", "lab_eng", "test", 500)
    assert (rule.predict(eng) == eng.label.to_numpy()).mean() > 0.9
    wt = fit_rule("rule-bow", "token", make_examples(lab, "pos", "lab_eng", "train", 300))
    test = make_examples(lab, "pos", "lab_eng", "test", 50)
    pred = wt.predict(test)
    assert np.mean([np.mean(np.array(p) == np.array(t)) for p, t in zip(pred, test.tags)]) > 0.8


# ---- pair tasks ------------------------------------------------------------------------
def _m(lab, **kw):
    animate = sorted(lab.world.animate)
    base = dict(agent=animate[0], verb=3, patient=[n for n in range(80) if n not in lab.world.animate][0],
                agent_adjs=(4,), patient_adjs=(), tense=0, neg=False)
    return Meaning(**{**base, **kw})


def test_nli_labels_follow_the_meanings(lab):
    p = _m(lab, agent_adjs=(4, 6))
    ent, neu, con = 0, 1, 2
    assert nli_label(lab, p, _m(lab, agent_adjs=(6,))) == ent  # modifier dropped
    assert nli_label(lab, p, _m(lab, agent_adjs=(6, 4))) == ent  # modifiers reordered
    assert nli_label(lab, p, _m(lab, agent_adjs=(4, 6, 8))) == neu  # modifier added
    assert nli_label(lab, p, _m(lab, agent_adjs=(5, 6))) == con  # antonym of 4
    assert nli_label(lab, p, _m(lab, agent_adjs=(4, 6), neg=True)) == con  # polarity
    assert nli_label(lab, p, _m(lab, agent_adjs=(6,), tense=1)) == neu  # another time
    assert nli_label(lab, p, _m(lab, agent_adjs=(4, 6), tense=2, neg=True)) == neu  # another time, not a contradiction
    assert nli_label(lab, p, _m(lab, agent=p.patient, patient=p.agent, agent_adjs=(), patient_adjs=(4, 6))) == neu
    # the inherent property: an animate agent is "alive" (adjective 0), never "lifeless" (1)
    assert inherent(lab, p.agent) == 0
    assert nli_label(lab, p, _m(lab, agent_adjs=(4, 6, 0))) == ent
    assert nli_label(lab, p, _m(lab, agent_adjs=(4, 6, 1))) == con


def test_nli_is_balanced_and_surface_cues_stay_near_chance(lab):
    train = make_examples(lab, "nli", "lab_eng", "train", 3000)
    test = make_examples(lab, "nli", "lab_eng", "test", 1500)
    counts = np.bincount(train.label, minlength=3) / len(train)
    assert counts.min() > 0.3, counts
    for rule, bound in (("rule-length", 0.38), ("rule-overlap", 0.6)):
        acc = (fit_rule(rule, "pair", train).predict(test) == test.label.to_numpy()).mean()
        assert acc < bound, f"{rule} solves NLI ({acc:.2f})"
    flat = {p for ph in test.phenomena for p in ph}
    assert {"negation", "antonym", "modifier_dropped", "modifier_added", "role_swap", "tense"} <= flat
    # every language's training set has the same mix of phenomena (balanced on one reference language)
    fin = make_examples(lab, "nli", "lab_fin", "train", 3000)
    share = {df_name: sum("role_swap" in ph for ph in df.phenomena) / len(df) for df_name, df in
             (("eng", train), ("fin", fin))}
    assert share["fin"] > 0.05 and abs(share["fin"] - share["eng"]) < 0.03, share


def test_paws_pairs_have_the_same_words_and_overlap_does_not_solve_them(lab):
    train = make_examples(lab, "paws", "lab_eng", "train", 2000)
    test = make_examples(lab, "paws", "lab_eng", "test", 1000)
    for df in (test, make_examples(lab, "paws", "lab_fin", "test", 300), make_examples(lab, "paws", "lab_tur", "test", 300)):
        assert all(sorted(a) == sorted(b) for a, b in zip(df.words, df.words2))  # the same bag in every language
    assert 0.45 < test.label.mean() < 0.55
    for rule in ("rule-length", "rule-bow", "rule-overlap"):
        acc = (fit_rule(rule, "pair", train).predict(test) == test.label.to_numpy()).mean()
        assert acc < 0.58, f"{rule} solves PAWS ({acc:.2f})"
    p = _m(lab, agent_adjs=(4, 6), patient_adjs=(8,))
    assert is_paraphrase(p, _m(lab, agent_adjs=(6, 4), patient_adjs=(8,)))
    assert not is_paraphrase(p, _m(lab, agent_adjs=(8, 6), patient_adjs=(4,)))


def test_pair_test_sets_are_parallel_and_generalized_pairs_mix_languages(lab):
    eng = make_examples(lab, "nli", "lab_eng", "test", 200)
    fin = make_examples(lab, "nli", "lab_fin", "test", 200)
    mixed = make_examples(lab, "nli", "lab_fin", "test", 200, "lab_eng")
    assert (eng.label == fin.label).all() and (mixed.label == eng.label).all()
    assert list(mixed.words) == list(fin.words) and list(mixed.words2) == list(eng.words2)
    assert list(fin.words2) != list(eng.words2)
    from xltkit.lab.params import LabParams
    from xltkit.tasks import DataContext

    with pytest.raises(ValueError, match="needs a pair task"):
        get_task("anim").frame("test", "lab_fin", DataContext("unused", params={"lab": LabParams(langs=LANGS)}), "lab_eng")


def test_overlap_rule_needs_a_pair_task(lab):
    with pytest.raises(ValueError, match="rule-overlap has no version for sequence tasks; it applies to: pair"):
        fit_rule("rule-overlap", "sequence", make_examples(lab, "anim", "lab_eng", "train", 50))


def test_feats_tags_are_the_ud_features_the_forms_mark(lab):
    fin = make_examples(lab, "feats", "lab_fin", "test", 300)
    eng = make_examples(lab, "feats", "lab_eng", "test", 300)
    labels = get_task("feats").labels
    fin_feats = {labels[t] for tags in fin.tags for t in tags}
    eng_feats = {labels[t] for tags in eng.tags for t in tags}
    assert "Case=Acc|Number=Plur" in fin_feats and not any("Case=" in f for f in eng_feats)
    assert any("Tense=Past" in f for f in eng_feats) and all(len(w) == len(t) for w, t in zip(fin.words, fin.tags))
    # parallel: the same meanings, so both languages' verbs mark the same tense wherever both mark it
    def tenses(df):
        return [sorted(f for t in tags for f in labels[t].split("|") if f.startswith("Tense=")) for tags in df.tags]
    assert tenses(fin) == tenses(eng) and any(t == ["Tense=Past"] for t in tenses(fin))


def _run(**kw):
    from xltkit.pipeline.params import RunParams

    return RunParams(**kw)


def test_task_sets_are_rebuilt_when_the_task_definition_changes(tiny_params, monkeypatch):
    run = _run(**tiny_params())
    task, data = get_task("anim"), run.data_context()
    assert len(task.fingerprint) == 10 and task.fingerprint == type(task)().fingerprint  # deterministic
    monkeypatch.setitem(task.__dict__, "fingerprint", "old")
    fresh = task.frame("test", "lab_eng", data)
    stale = fresh.assign(label=0)  # what an earlier definition of the task would have cached
    path = next(Path(run.run.cache_dir, "tasks").glob("*/anim-old/lab_eng-test-*.parquet"))
    stale.to_parquet(path)
    assert (task.frame("test", "lab_eng", data).label == 0).all()  # same definition: the cache is used
    monkeypatch.setitem(task.__dict__, "fingerprint", "new")
    assert (task.frame("test", "lab_eng", data).label == fresh.label).all()  # changed definition: rebuilt


def test_run_keys_follow_the_definitions_of_the_tasks_they_use(monkeypatch):
    from xltkit.pipeline.graph import key, run_id

    inter, base, nli = _run(intermediate_lang="lab_fin"), _run(), _run(target_task="nli")
    before = [run_id(r) for r in (inter, base, nli)]
    monkeypatch.setitem(get_task("roles").__dict__, "fingerprint", "edited")  # the intermediate task changed
    assert run_id(inter) != before[0] and key("intermediate", inter) is not None
    assert run_id(base) == before[1] and run_id(nli) == before[2]  # runs that never train on roles keep their keys


def test_content_of_noise_files_enters_the_run_keys(tmp_path):
    from xltkit.pipeline.graph import run_id

    d = tmp_path / "en-fi.txt"
    d.write_text("ve va\n")
    kw = dict(noise="code-switch", noise_scale=0.3, code_switch_files={"xx": str(d)})
    before = run_id(_run(**kw))
    d.write_text("ve vo\n")  # the same path, another dictionary
    assert run_id(_run(**kw)) != before


def test_adding_a_task_is_one_registry_entry_and_changes_nothing_else(tiny_params, tmp_path):
    """A new lab task ("is the sentence negated?") as a user would add it: one class, one
    registration.  No other task's fingerprint, no existing run's key and no notebook change,
    and the new task runs through the stages like the others."""
    from xltkit.pipeline.graph import chain
    from xltkit.pipeline.notebooks import stage_notebook
    from xltkit.pipeline.stages import ensure
    from xltkit.tasks import TASKS, register_task
    from xltkit.tasks.lab.base import SentenceTask

    class Negated(SentenceTask):
        name = "negated"
        labels = ("affirmative", "negated")
        description = "Is the sentence negated?"

        def draw(self, lab, r):
            m = lab.world.meaning(r)
            return m, int(m.neg)

    runs = [_run(**tiny_params(intermediate_lang="lab_fin")), _run(**tiny_params(target_task="nli"))]
    keys = [[n.key for n in chain(r)] for r in runs]
    prints = {t: TASKS[t].fingerprint for t in TASKS}
    notebooks = {s: stage_notebook(s) for s in ("intermediate", "finetune", "evaluate")}
    register_task(Negated())
    try:
        assert {t: TASKS[t].fingerprint for t in prints} == prints
        assert [[n.key for n in chain(r)] for r in runs] == keys
        assert {s: stage_notebook(s) for s in notebooks} == notebooks
        m = ensure("evaluate", _run(**tiny_params(target_task="negated", run_dir=str(tmp_path / "r"))))
        assert set(m.metric) == {"accuracy"} and set(m.eval_lang) == set(tiny_params()["langs"])
        df = get_task("negated").make(Lab(["lab_eng"]), "lab_eng", "test", 200)
        assert 0.1 < df.label.mean() < 0.5 and all(("negation" in p) == bool(y) for p, y in zip(df.phenomena, df.label))
    finally:
        TASKS.unregister("negated")


def test_a_dataset_without_its_heads_columns_is_refused_naming_them():
    from datasets import Dataset

    from xltkit.tasks import TaskError

    ds = Dataset.from_dict({"id": [0], "sentence": [["a", "b"]], "label": [1]})
    with pytest.raises(TaskError, match="the sequence head needs columns id, words, label; missing words "
                                        r"\(found id, sentence, label\)"):
        get_task("anim").check_columns(ds)


def test_a_stage_a_run_does_not_have_passes_on_its_upstream_output(tiny_params):
    from xltkit.pipeline.params import RunParams
    from xltkit.pipeline.stages import ensure

    run = RunParams(**tiny_params())  # no intermediate task: the intermediate notebook passes the encoder on
    assert ensure("intermediate", run) == ensure("pretrain", run)
    assert ensure("pretrain", RunParams(**tiny_params(model="rule-bow"))) is None
