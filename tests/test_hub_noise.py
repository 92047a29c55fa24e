"""Robust training on hub tasks (issue #10, item 5): every noise method runs on a tiny
XLM-R-architecture encoder, through the fine-tuning and evaluation stages, on every hub head
kind that allows it (pair, token, multiple choice, extractive QA); stats.json records the
noise actually applied; RS-DA reads the encoder's embedding neighbours and Huang et al.'s
JSON neighbour files and trains on a fixed number of copies; every method a head kind
cannot take is refused before any work, naming the ones it can."""

import json
import math

import pytest

from xltkit.modeling.noise import NOISE_METHODS, embedding_methods, token_methods
from xltkit.pipeline import graph, stages
from xltkit.pipeline.checks import allowed_noise
from xltkit.pipeline.params import RunParams
from xltkit.tasks import get_task

#: one target task per hub head kind, with the evaluation language it is scored in
KINDS = {"pair": ("xnli", "deu"), "token": ("panx", "fin"), "multiple_choice": ("xcopa", "ekk"),
         "extractive_qa": ("xquad", "deu"), "retrieval": ("tatoeba", "fin")}
#: what each kind can train with (the README's table): token noise needs word columns; word dropout and
#: swaps can change the label of a pair or a choice; retrieval trains nothing
ALLOWED = {"pair": ["none", "rs-rp", "adv", "char-noise", "rs-da", "code-switch"],
           "token": NOISE_METHODS.names(), "multiple_choice": ["none", "rs-rp", "adv"],
           "extractive_qa": ["none", "rs-rp", "adv"], "retrieval": ["none"]}
#: each method's strength and knobs in these runs (embedding methods relative to the encoder's embeddings)
SETTINGS = {"none": dict(noise_scale=0),
            "rs-rp": dict(noise_scale=0.5, noise_scale_unit="relative", noise_samples=2),
            "adv": dict(noise_scale=0.05, noise_scale_unit="relative", adv_steps=2),
            "word-dropout": dict(noise_scale=0.3), "word-swap": dict(noise_scale=0.3),
            "char-noise": dict(noise_scale=0.3), "rs-da": dict(noise_scale=1.0, synonym_source="neighbours"),
            "code-switch": dict(noise_scale=0.5)}
STEPS, BATCH = 2, 8


@pytest.fixture(scope="session", autouse=True)
def _offline(tmp_path_factory):
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing here may reach the hub
    os.environ["HF_DATASETS_CACHE"] = str(tmp_path_factory.mktemp("hf-datasets"))


@pytest.fixture(scope="session")
def pretrained(encoder):
    """The tiny encoder and its tokenizer as fine-tuning starts from them."""
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(str(encoder)), AutoTokenizer.from_pretrained(str(encoder))


def _run(hub_root, encoder, tmp_path, task, lang, **kw) -> RunParams:
    base = dict(model=f"hf:{encoder}", target_task=task, source_lang="eng", eval_langs=[lang],
                hub_root=str(hub_root), n_train=24, n_dev=10, n_test=10, finetune_steps=STEPS, batch_size=BATCH,
                max_length=64, qa_stride=16, freeze_embeddings=False, finetune_lr=1e-3,
                cache_dir=str(tmp_path / "cache"), run_dir=str(tmp_path / "run"))
    return RunParams(**{**base, **kw})


class Spy:
    """Records what the training of a stage read: every (clean, noisy) frame of token noise and the
    rows of the dataset the Trainer got."""

    def __init__(self, monkeypatch):
        from xltkit.modeling import training
        from xltkit.modeling.noise import tokens

        self.frames, self.trained_rows = [], []
        perturb, run_trainer = tokens.perturb_frame, training.run_trainer

        def perturb_spy(df, cfg, copy=0, synonyms=None):
            out = perturb(df, cfg, copy, synonyms)
            self.frames.append((copy, df, out, synonyms if synonyms is not None else cfg.synonyms, cfg))
            return out

        def trainer_spy(model, args, dataset, *a, **kw):
            self.trained_rows.append(len(dataset))
            return run_trainer(model, args, dataset, *a, **kw)

        monkeypatch.setattr(tokens, "perturb_frame", perturb_spy)
        monkeypatch.setattr(training, "run_trainer", trainer_spy)

    def pairs(self, column="words"):
        """(clean word, noisy word) of every position of every copy (methods that keep the words' places)."""
        for _, before, after, *_ in self.frames:
            for w0, w1 in zip(before[column], after[column]):
                yield from zip(list(w0), list(w1), strict=True)


def _stats(run) -> dict:
    return json.loads((graph.output_dir(graph.chain(run)[0], run) / "stats.json").read_text())


def _cases():
    for kind, (task, lang) in KINDS.items():
        if kind != "retrieval":
            for method in allowed_noise(get_task(task)):
                yield pytest.param(kind, task, lang, method, id=f"{task}-{method}")


def test_the_allowed_methods_of_every_hub_head_kind():
    """The truth the README states: which noise methods each hub head kind trains with."""
    for kind, (task, _) in KINDS.items():
        assert get_task(task).head == kind
        assert allowed_noise(get_task(task)) == ALLOWED[kind], kind
    for name in ("paws-x", "rte", "paraphrase"):  # every pair task as XNLI; every tagging task as PAN-X
        assert allowed_noise(get_task(name)) == ALLOWED["pair"]
    for name in ("udpos", "ud", "turku-ner"):
        assert allowed_noise(get_task(name)) == ALLOWED["token"]
    for name in ("copa", "siqa"):
        assert allowed_noise(get_task(name)) == ALLOWED["multiple_choice"]
    for name in ("mlqa", "tydiqa", "squad"):
        assert allowed_noise(get_task(name)) == ALLOWED["extractive_qa"]


@pytest.mark.slow
@pytest.mark.parametrize("kind, task, lang, method", list(_cases()))
def test_every_allowed_method_fine_tunes_and_evaluates_a_hub_task(kind, task, lang, method, hub_root, encoder,
                                                                 pretrained, tmp_path, monkeypatch):
    from xltkit.modeling.noise.embedding import embedding_unit

    extra = dict(SETTINGS[method])
    dictionary = {}
    if method == "code-switch":  # a hub task has no dictionaries of its own: a MUSE-style file
        words = sorted({w for ws in get_task(task).load("train", "eng", _run(hub_root, encoder, tmp_path, task, lang)
                                                         .data_context())["words"] for w in ws})
        dictionary = {w: f"{w}ü" for w in words[::2]}
        (tmp_path / "en-de.txt").write_text("".join(f"{w} {t}\n" for w, t in dictionary.items()))
        extra["code_switch_files"] = {"deu": str(tmp_path / "en-de.txt")}
    run = _run(hub_root, encoder, tmp_path, task, lang, noise=method, **extra)
    spy = Spy(monkeypatch)
    m = stages.ensure("evaluate", run)

    assert set(m.noise_setting) == {run.noise_label("finetune")} and m.value.map(math.isfinite).all()
    assert get_task(task).primary_metric in set(m.metric)
    stats = _stats(run)
    noise = stats["noise"]
    assert stats["steps"] == STEPS and len(stats["loss_curve"]) == STEPS
    assert all(math.isfinite(x) for x in stats["loss_curve"]), stats["loss_curve"]
    assert noise["method"] == method and noise["scale"] == extra["noise_scale"]
    if method in embedding_methods():  # relative: measured on this encoder's own word embeddings
        unit = embedding_unit(pretrained[0].get_input_embeddings().weight, "l2")
        assert noise["unit"] == "relative" and noise["embedding_unit"] == pytest.approx(unit, rel=1e-5)
        assert noise["applied_scale"] == pytest.approx(extra["noise_scale"] * unit, rel=1e-5)
        if method == "rs-rp":
            assert noise["samples"] == 2
        else:
            assert noise["steps"] == 2 and noise["applied_step_size"] == pytest.approx(
                2.5 * noise["applied_scale"] / 2)
    if method not in token_methods():
        assert not spy.frames  # the training words are left as they are
        return
    # token noise: as many fresh copies as the steps consume, the rows trained on are those copies
    copies = math.ceil(STEPS * BATCH / stats["train_examples"])
    assert noise["copies"] == copies == len(spy.frames) and [c for c, *_ in spy.frames] == list(range(copies))
    assert spy.trained_rows == [copies * stats["train_examples"]]
    changed = sum(list(a) != list(b) for _, before, after, *_ in spy.frames
                  for a, b in zip(before["words"], after["words"]))
    assert changed > 0 and noise["changed_examples"] == round(changed / (copies * stats["train_examples"]), 4)
    _check_rewrites(method, spy, get_task(task), dictionary)


def _check_rewrites(method, spy, task, dictionary):
    """Each token method changed the words as it should (tests/test_noise.py's lab checks, on hub data)."""
    columns = [c for c in ("words", "words2") if c in spy.frames[0][1]]
    for _, before, after, table, _ in spy.frames:
        assert (after["id"] == before["id"]).all() and list(after.columns) == list(before.columns)
        if "label" in before:
            assert (after["label"] == before["label"]).all()
        if "tags" not in before:
            continue
        names = task.labels
        for t0, t1, w1 in zip(before["tags"], after["tags"], after["words"]):
            assert len(t1) == len(w1) >= 1
            for i, t in enumerate(t1):  # spans stay valid BIO
                assert not names[t].startswith("I-") or (i > 0 and names[t1[i - 1]][2:] == names[t][2:])
    if method == "word-dropout":  # an ordered subsequence of the words
        for _, before, after, *_ in spy.frames:
            for w0, w1 in zip(before["words"], after["words"]):
                it = iter(list(w0))
                assert all(w in it for w in w1)
    elif method == "word-swap":  # the same words, each moved at most one place
        for _, before, after, *_ in spy.frames:
            for w0, w1 in zip(before["words"], after["words"]):
                w0, w1 = list(w0), list(w1)
                assert sorted(w0) == sorted(w1) and all(w1[i] in w0[max(0, i - 1): i + 2] for i in range(len(w1)))
    elif method == "char-noise":  # one character edit in some words
        for col in columns:
            assert all(abs(len(a) - len(b)) <= 1 for a, b in spy.pairs(col))
    elif method == "rs-da":
        for col in columns:
            assert all(a == b or b in spy.frames[0][3].get(a, ()) for a, b in spy.pairs(col))
    elif method == "code-switch":  # only listed words, only to their translation
        for col in columns:
            assert all(b == a or b == dictionary.get(a) for a, b in spy.pairs(col))


@pytest.mark.slow
def test_rs_da_with_copies_trains_on_that_many_perturbed_copies_only(hub_root, encoder, tmp_path, monkeypatch):
    """Huang et al.'s setting: a fixed number of perturbed copies, the original not kept; with epochs,
    the steps count the copies."""
    run = _run(hub_root, encoder, tmp_path, "xnli", "deu", noise="rs-da", noise_scale=1.0, rs_da_copies=2,
               finetune_epochs=1)
    spy = Spy(monkeypatch)
    m = stages.ensure("evaluate", run)
    stats = _stats(run)
    n = stats["train_examples"]
    assert n == 24 and stats["noise"]["copies"] == 2 and [c for c, *_ in spy.frames] == [0, 1]
    assert spy.trained_rows == [2 * n] and stats["steps"] == math.ceil(2 * n / BATCH)  # 2x the examples
    assert set(m.noise_setting) == {"rs-da(p=1.0,neighbours=5,copies=2)"}


@pytest.mark.slow
def test_rs_da_embedding_neighbours_on_a_sentencepiece_tokenizer_change_words(hub_root, encoder, pretrained,
                                                                              tmp_path, monkeypatch):
    from xltkit.modeling.noise.resources import embedding_synonyms

    model, tok = pretrained
    assert any(t.startswith("▁") for t in tok.get_vocab())  # SentencePiece-style pieces, as XLM-R's
    run = _run(hub_root, encoder, tmp_path, "xnli", "deu", noise="rs-da", noise_scale=1.0, synonym_neighbours=3)
    spy = Spy(monkeypatch)
    stages.ensure("finetune", run)
    _, clean, _, table, _ = spy.frames[0]
    words = {w for col in ("words", "words2") for ws in clean[col] for w in ws}
    assert table == embedding_synonyms(model, tok, words, k=3) and _stats(run)["noise"]["synonym_table_words"] == \
        len(table) > 0
    for w, neighbours in table.items():  # whole words of the text, each one token of the vocabulary
        assert len(neighbours) == 3 and w not in neighbours
        assert all(s in words and tok.tokenize(s) == ["▁" + s] for s in neighbours)
    changed = {(a, b) for col in ("words", "words2") for a, b in spy.pairs(col) if a != b}
    assert changed and all(b in table[a] for a, b in changed)


@pytest.mark.slow
def test_rs_da_with_huangs_json_neighbours_changes_exactly_the_words_that_have_neighbours(
        hub_root, encoder, tmp_path, monkeypatch):
    from collections import Counter

    run0 = _run(hub_root, encoder, tmp_path, "xnli", "deu")
    train = get_task("xnli").load("train", "eng", run0.data_context())
    counts = Counter(w for col in ("words", "words2") for ws in train[col] for w in ws)
    common = [w for w, _ in counts.most_common(6)]
    neighbours = {common[0]: [common[1], "zzneighbour"], common[2]: ["yyneighbour"], common[3]: [],
                  "notinthedata": ["xx"], common[4]: [common[4]]}  # the word itself is no neighbour
    path = tmp_path / "counterfitted_neighbors.json"
    path.write_text(json.dumps(neighbours))
    run = _run(hub_root, encoder, tmp_path, "xnli", "deu", noise="rs-da", noise_scale=1.0, synonym_file=str(path),
               rs_da_copies=2)
    spy = Spy(monkeypatch)
    m = stages.ensure("evaluate", run)
    label = run.noise_label("finetune")
    assert set(m.noise_setting) == {label} and label.startswith("rs-da(p=1.0,file=counterfitted_neighbors.json@")
    assert label.endswith(",copies=2)")
    table = spy.frames[0][3]
    assert table == {k: [x for x in v if x != k] for k, v in neighbours.items()}
    changed = [(a, b) for col in ("words", "words2") for a, b in spy.pairs(col) if a != b]
    assert all(b in table[a] for a, b in changed)  # only to a listed neighbour
    assert {a for a, _ in changed} == {common[0], common[2]}  # every word with neighbours, no other word
    assert _stats(run)["noise"]["copies"] == 2 and spy.trained_rows == [2 * len(train)]


@pytest.mark.slow
def test_adversarial_noise_in_intermediate_training_on_a_multiple_choice_task(hub_root, encoder, tmp_path):
    """Multiple-choice models flatten (batch, choices, seq) before their embeddings: the adversarial
    perturbation has that shape (it had the ids' shape, and failed)."""
    run = _run(hub_root, encoder, tmp_path, "xcopa", "ekk", intermediate_task="copa", intermediate_lang="hun",
               intermediate_examples=24, intermediate_steps=STEPS, intermediate_noise="adv",
               intermediate_noise_scale=0.05, adv_variant="freelb", adv_norm="linf", adv_steps=2)
    m = stages.ensure("evaluate", run)
    inter = json.loads((graph.output_dir(graph.chain(run)[0], run) / "stats.json").read_text())
    assert inter["noise"]["method"] == "adv" and inter["noise"]["variant"] == "freelb"
    assert all(math.isfinite(x) for x in inter["loss_curve"]) and inter["steps"] == STEPS
    assert set(m.intermediate_noise_setting) == {"adv(freelb,linf,K=2,eps=0.05)"}


def _refused():
    for kind, (task, lang) in KINDS.items():
        for method in NOISE_METHODS.names():
            if method not in ALLOWED[kind]:
                yield pytest.param(kind, task, lang, method, id=f"{task}-{method}")


@pytest.mark.parametrize("kind, task, lang, method", list(_refused()))
def test_a_method_a_head_kind_cannot_take_is_refused_before_any_work_naming_the_allowed(
        kind, task, lang, method, hub_root, encoder, tmp_path):
    settings = {k: v for k, v in SETTINGS[method].items() if k != "noise_samples"}
    with pytest.raises(ValueError) as err:
        _run(hub_root, encoder, tmp_path, task, lang, noise=method, **settings)
    msg = str(err.value)
    if kind == "retrieval":
        assert "without target fine-tuning" in msg and "set noise: none" in msg
    else:
        assert f"noise={method!r}" in msg and f"allowed for it: {', '.join(ALLOWED[kind])}" in msg
        assert ("no word columns" in msg) == (kind in ("multiple_choice", "extractive_qa"))
    assert not (tmp_path / "cache").exists() and not (tmp_path / "run").exists()  # nothing was started


@pytest.mark.parametrize("extra, needle", [
    (dict(noise="code-switch", noise_scale=0.3), "code-switch on task '{task}' needs code_switch_files"),
    (dict(noise="rs-da", noise_scale=0.5, synonym_source="lab"), "task '{task}' has none: use synonym_source 'file'"),
])
def test_lexical_resources_a_hub_task_lacks_are_refused_before_any_work(extra, needle, hub_root, encoder, tmp_path):
    with pytest.raises(ValueError, match=needle.format(task="xnli")):
        _run(hub_root, encoder, tmp_path, "xnli", "deu", **extra)
    inter = {"intermediate_" + k if k.startswith("noise") else k: v for k, v in extra.items()}
    with pytest.raises(ValueError, match=needle.format(task="rte")):  # in intermediate training too
        _run(hub_root, encoder, tmp_path, "xnli", "deu", intermediate_task="rte", intermediate_lang="hun", **inter)
    assert not (tmp_path / "cache").exists()
