"""Pretraining data like the real world's: parallel text with the source language,
translation language modelling (TLM), the lab's lexicon knobs, and the cache keys they enter."""

import json
import random

import pandas as pd
import pytest

from xltkit.core.params import ParamsError
from xltkit.lab import PRESETS, Lab
from xltkit.lab.corpora import meaning_concepts, parallel_pairs
from xltkit.modeling import pretraining
from xltkit.modeling.tokenization import load_tokenizer
from xltkit.pipeline.graph import key
from xltkit.pipeline.params import RunParams
from xltkit.pipeline.stages import ensure

LOW = next(c for c, s in PRESETS.items() if s.resource == "low")  # a low-resource preset


def _run(tiny_params=None, **kw) -> RunParams:
    return RunParams(**(tiny_params(**kw) if tiny_params else kw))


def _starts_a_word(form: str, words: list[str]) -> bool:
    return any(w.startswith(form) for w in words)


def test_a_parallel_pair_renders_one_meaning_in_both_languages():
    lab = Lab(["lab_eng", "lab_fin"], lab_seed=0)
    pairs = parallel_pairs(lab, "lab_eng", "lab_fin", 60)
    assert len(pairs) == 60 and set(pairs.lang) == {"lab_fin"}
    eng, fin = lab.language("lab_eng").lexicon, lab.language("lab_fin").lexicon
    for row in pairs.itertuples():
        concepts = row.concepts.split()
        assert concepts and any(k.startswith("v") for k in concepts)
        for k in concepts:  # every concept of the meaning is worded on both sides (stems; suffixes follow)
            assert _starts_a_word(eng[k], row.src_text.split()), (k, row.src_text)
            assert _starts_a_word(fin[k], row.text.split()), (k, row.text)
    # deterministic, and a stream of its own: not the monolingual corpus
    assert pairs.equals(parallel_pairs(Lab(["lab_eng", "lab_fin"], lab_seed=0), "lab_eng", "lab_fin", 60))
    assert not set(pairs.src_text) >= set(lab.corpus("lab_eng", 60)[:10])


def test_meaning_concepts_follow_the_meaning():
    lab = Lab(["lab_eng"], lab_seed=0)
    r = random.Random(3)
    for _ in range(50):
        m = lab.world.meaning(r)
        keys = meaning_concepts(m)
        assert f"v{m.verb}" in keys and f"n{m.patient}" in keys
        assert (f"n{m.agent}" in keys) == (m.agent_person is None)


@pytest.mark.parametrize("low_too", [True, False])
def test_low_resource_languages_get_pairs_only_when_asked(tiny_params, low_too):
    p = _run(tiny_params, langs=["lab_eng", "lab_fin", LOW], parallel_sentences=30, parallel_low_resource=low_too)
    d = ensure("data", p)
    pairs = pd.read_parquet(d / "parallel.parquet")
    expect = {"lab_fin", LOW} if low_too else {"lab_fin"}
    assert set(pairs.lang) == expect and pairs.groupby("lang").size().eq(30).all()
    assert json.loads((d / "stats.json").read_text())["parallel_pairs"] == {c: 30 for c in expect}
    # the monolingual corpora and the tokenizer do not change with parallel text
    d0 = ensure("data", _run(tiny_params, langs=["lab_eng", "lab_fin", LOW]))
    assert pd.read_parquet(d / "corpus.parquet").equals(pd.read_parquet(d0 / "corpus.parquet"))
    assert (d / "tokenizer" / "tokenizer.json").read_text() == (d0 / "tokenizer" / "tokenizer.json").read_text()
    assert not (d0 / "parallel.parquet").exists()


def test_tlm_batches_hold_both_languages_with_segment_ids(tiny_params, monkeypatch):
    p = _run(tiny_params, parallel_sentences=40, tlm_share=0.5)
    d = ensure("data", p)
    tok = load_tokenizer(d / "tokenizer")
    tok.model_max_length = p.encoder.max_length
    corpus = pd.read_parquet(d / "corpus.parquet")
    pairs = pd.read_parquet(d / "parallel.parquet")
    seen = {}

    def fake_run(model, args, dataset, collator, desc, noise=None, **kw):
        seen.update(dataset=dataset, collator=collator)
        return {"steps": args.max_steps, "seconds": 0.0, "final_loss": 0.0, "loss_curve": []}

    monkeypatch.setattr(pretraining, "run_trainer", fake_run)
    stats = pretraining.pretrain_mlm(None, tok, {k: g.text.tolist() for k, g in corpus.groupby("lang")}, 4, 32, 1e-3, 0.3,
                               0.5, 0, parallel={k: list(zip(g.src_text, g.text)) for k, g in pairs.groupby("lang")},
                               tlm_share=0.5)
    ds = seen["dataset"]
    rows = [r for r in ds.to_list() if 1 in r["token_type_ids"]]
    assert len(rows) == 64 == sum(stats["tlm_sequences"].values())
    assert sum(stats["mlm_sequences"].values()) == 64 and len(ds) == 128
    assert set(stats["tlm_sequences"]) == {"lab_fin", "lab_tur"} and set(stats["tlm_tokens"]) == {"lab_eng", "lab_fin",
                                                                                                   "lab_tur"}
    # (this tiny vocabulary splits words finely: long pairs lose tokens from their longer side)
    pair_ids = {tuple(tok(a, b, truncation=True)["input_ids"]) for a, b in zip(pairs.src_text, pairs.text)}
    for r in rows[:20]:  # [CLS] source [SEP] | other [SEP], segment ids 0 then 1, one pair of the data
        types, ids = r["token_type_ids"], r["input_ids"]
        cut = types.index(1)
        assert types == [0] * cut + [1] * (len(ids) - cut)
        assert ids[0] == tok.cls_token_id and ids[cut - 1] == ids[-1] == tok.sep_token_id
        assert tuple(ids) in pair_ids
    batch = seen["collator"]([{k: r[k] for k in ("input_ids", "token_type_ids")} for r in rows[:32]])
    masked = batch["labels"] != -100  # (batch, seq)
    assert masked[batch["token_type_ids"] == 0].any() and masked[batch["token_type_ids"] == 1].any()
    mono = [r for r in ds.to_list() if 1 not in r["token_type_ids"]]
    assert all(set(r["token_type_ids"]) == {0} for r in mono)


def test_pretraining_with_tlm_records_what_it_saw(tiny_params):
    p = _run(tiny_params, langs=["lab_eng", "lab_fin", LOW], parallel_sentences=30, parallel_low_resource=False,
             tlm_share=0.25)
    stats = json.loads((ensure("pretrain", p) / "stats.json").read_text())
    n = p.pretraining.pretrain_steps * p.pretraining.pretrain_batch_size
    assert stats["tlm_sequences"] == {"lab_fin": n // 4}
    assert sum(stats["mlm_sequences"].values()) == n - n // 4 and set(stats["mlm_sequences"]) == set(p.lab.langs)
    assert stats["tlm_tokens"]["lab_eng"] > 0 and stats["tlm_tokens"]["lab_fin"] > 0
    assert stats["tokens"] == sum(stats["mlm_tokens"].values()) + sum(stats["tlm_tokens"].values())
    assert set(stats["heldout_unigram_accuracy"]) == set(p.lab.langs)
    assert all(0 < v < 1 for v in stats["heldout_unigram_accuracy"].values())
    # plain MLM records its sequences too, and no TLM
    plain = json.loads((ensure("pretrain", _run(tiny_params)) / "stats.json").read_text())
    assert sum(plain["mlm_sequences"].values()) == n and "tlm_sequences" not in plain


def test_lab_knobs_enter_the_keys_that_depend_on_them_and_unused_ones_do_not():
    base = _run()
    for k, v in [("cognate_share", 0.3), ("synonym_rate", 0.2), ("n_synonyms", 3), ("numeral_share", 0.3),
                 ("parallel_sentences", 100), ("vocab_size", 500)]:
        assert key("data", _run(**{k: v})) != key("data", base), k
        assert key("evaluate", _run(**{k: v})) != key("evaluate", base), k
    assert key("pretrain", _run(init_std=0.02)) != key("pretrain", base)
    assert key("data", _run(init_std=0.02)) == key("data", base)  # the corpora do not depend on the encoder
    # the parallel knobs mean nothing without parallel text
    assert key("data", _run(parallel_low_resource=False)) == key("data", base)
    # TLM: its share and the amount of parallel text change the pretraining
    tlm = _run(parallel_sentences=100, tlm_share=0.3)
    assert key("pretrain", tlm) != key("pretrain", _run(parallel_sentences=100, tlm_share=0.4))
    assert key("pretrain", tlm) != key("pretrain", _run(parallel_sentences=200, tlm_share=0.3))
    # the untrained control ignores the pretraining recipe, TLM included (but not the lab's data)
    untrained = _run(model="lab-bert-untrained")
    assert key("pretrain", _run(model="lab-bert-untrained", tlm_share=0.3, parallel_sentences=0, pretrain_steps=7,
                                pretrain_lr=1e-2)) == key("pretrain", untrained)
    # a surface-cue rule needs neither the lab's corpora nor an encoder: no data or pretraining stage
    rule = _run(model="rule-bow")
    assert key("data", rule) is None and key("pretrain", rule) is None and key("finetune", rule) is not None


@pytest.mark.parametrize("values, needle", [
    ({"tlm_share": 0.3}, "needs parallel text: set parallel_sentences > 0"),
    ({"tlm_share": 0.3, "parallel_sentences": 10, "max_length": 32}, "max_length must be at least 64"),
    ({"parallel_sentences": 10, "langs": ["lab_fin", "lab_tur"]}, "parallel_source 'lab_eng' is not in langs"),
    ({"parallel_sentences": 10, "langs": ["lab_eng", LOW], "parallel_low_resource": False},
     "no language besides parallel_source"),
    ({"shared_share": 0.6, "cognate_share": 0.5}, "at most 1"),
    ({"synonym_rate": 0.2, "n_synonyms": 0}, "needs n_synonyms >= 1"),
    ({"tlm_share": 1.0, "parallel_sentences": 10}, "tlm_share"),
])
def test_invalid_combinations_are_refused_with_the_key(values, needle):
    with pytest.raises(ParamsError, match=needle):
        RunParams.from_flat(values)


def test_lexicon_knobs_reach_the_lab(tiny_params):
    p = _run(tiny_params, cognate_share=0.4, synonym_rate=0.3, n_synonyms=2)
    lab = p.lab.build()
    assert (lab.cognate_share, lab.synonym_rate, lab.n_synonyms) == (0.4, 0.3, 2)
    lexicon = pd.read_parquet(ensure("data", p) / "lexicon.parquet")
    assert lexicon.cognate.any() and not (lexicon.cognate & lexicon.shared).any()
    assert not pd.read_parquet(ensure("data", _run(tiny_params)) / "lexicon.parquet").cognate.any()


def test_numeral_share_reaches_the_lab_and_keys_only_when_used(tiny_params):
    assert key("data", _run(numeral_share=0.0)) == key("data", _run())
    assert key("data", _run(numeral_share=0.3)) != key("data", _run())
    lab = _run(tiny_params, numeral_share=0.3).lab.build()
    assert lab.numeral_share == 0.3 and lab.world.numeral_share == 0.3
    assert any(w.isdigit() for s in lab.corpus("lab_fin", 100) for w in s.split())
    assert _run(tiny_params).lab.build().world.numeral_share == 0.0
