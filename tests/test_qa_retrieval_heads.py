"""The extractive-QA and retrieval heads on a tiny XLM-R-architecture encoder: windows and
their labels map back to the answer's characters, post-processing picks the best valid span
over all windows, and retrieval pools the chosen layer and finds translations by cosine."""

from types import SimpleNamespace

import numpy as np
import pytest
from datasets import Dataset

from xltkit.modeling.heads import get_head
from xltkit.modeling.qa import ExtractiveQAHead, QASettings
from xltkit.modeling.retrieval import RetrievalError, RetrievalHead, RetrievalSettings

WORDS = ("river stone bread house music window garden yellow seven winter market letter teacher mountain "
         "bridge quiet forest candle silver morning").split()


def _sentence(rng, n):
    return " ".join(rng.choice(WORDS, n))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from xltkit.modeling.tiny import tiny_xlmr
    from xltkit.modeling.tokenization import load_tokenizer

    rng = np.random.default_rng(0)
    texts = [_sentence(rng, 12) for _ in range(200)] + ["Who? What? Where is it?"]
    folder = tiny_xlmr(tmp_path_factory.mktemp("qa") / "enc", texts, vocab_size=120, max_length=48)
    tok = load_tokenizer(folder)
    tok.model_max_length = 48
    return folder, tok


def _qa_rows(rng, n=6, words=40):
    """Contexts of ``words`` words (several 48-token windows) with the answer at a known place."""
    rows = {"id": [], "context": [], "question": [], "answers": []}
    for i in range(n):
        ctx = _sentence(rng, words)
        ws = ctx.split()
        k = int(rng.integers(0, len(ws) - 2))
        answer = " ".join(ws[k:k + 2])
        start = len(" ".join(ws[:k])) + (1 if k else 0)
        assert ctx[start:start + len(answer)] == answer
        rows["id"].append(f"q{i}")
        rows["context"].append(ctx)
        rows["question"].append("Where is it?")
        rows["answers"].append({"text": [answer], "answer_start": [start]})
    return rows


def test_qa_windows_overlap_and_their_labels_point_at_the_answer_characters(tiny):
    _, tok = tiny
    rng = np.random.default_rng(1)
    rows = _qa_rows(rng)
    rows["answers"][0] = {"text": [], "answer_start": []}  # unanswerable (SQuAD 2.0): the first token
    ds = Dataset.from_dict(rows)
    head = ExtractiveQAHead(QASettings(stride=12))
    feats = head.encode(tok, ds)
    enc = head._tokenize(tok, rows)
    assert len(feats) > len(ds)  # 40-word contexts do not fit one 48-token window
    assert max(feats["length"]) <= 48
    found = set()
    for i, (s, e) in enumerate(zip(feats["start_positions"], feats["end_positions"])):
        ex = enc["overflow_to_sample_mapping"][i]
        if s == 0:
            assert e == 0
            continue
        off = enc["offset_mapping"][i]
        span = rows["context"][ex][off[s][0]:off[e][1]].strip()
        assert span == rows["answers"][ex]["text"][0]  # the labels cut out exactly the answer
        found.add(ex)
    assert 0 not in found and found == set(range(1, len(ds)))  # every answerable one is in some window


class _Oracle:
    """A stand-in QA model whose logits peak where the training labels of the window point."""

    def __init__(self, feats):
        self.where = {tuple(ids): (s, e) for ids, s, e in
                      zip(feats["input_ids"], feats["start_positions"], feats["end_positions"])}

    def eval(self):
        return self

    def __call__(self, input_ids, attention_mask, **segments):
        import torch

        start = torch.full(input_ids.shape, -5.0)
        end = torch.full(input_ids.shape, -5.0)
        for row, (ids, mask) in enumerate(zip(input_ids.tolist(), attention_mask.tolist())):
            s, e = self.where[tuple(i for i, m in zip(ids, mask) if m)]
            start[row, s] += 10
            end[row, e] += 10
        return SimpleNamespace(start_logits=start, end_logits=end)


def test_qa_prediction_takes_the_best_span_over_all_windows_and_maps_it_to_characters(tiny):
    _, tok = tiny
    rows = _qa_rows(np.random.default_rng(2))
    ds = Dataset.from_dict(rows)
    head = ExtractiveQAHead(QASettings(stride=12))
    pred = head.predict(_Oracle(head.encode(tok, ds)), tok, ds, batch_size=3)
    assert [p.strip() for p in pred] == [a["text"][0] for a in rows["answers"]]


def test_qa_span_rules_length_limit_context_only_and_no_answer():
    context = "alpha beta gamma"
    offsets = [(0, 0), (0, 0), (0, 5), (6, 10), (11, 16), (0, 0)]  # <s> question-token | 3 words | </s>
    in_ctx = [False, False, True, True, True, False]
    start = np.array([1.0, 9.0, 2.0, 0.5, 0.0, 0.0])  # the best start is a question token: not allowed
    end = np.array([1.0, 0.0, 0.0, 0.0, 3.0, 9.0])  # the best end is </s>: not allowed
    head = ExtractiveQAHead(QASettings(n_best=6, max_answer_length=30))
    assert head.best_span(context, [((start, end), offsets, in_ctx)]) == "alpha beta gamma"  # 2 + 3
    short = ExtractiveQAHead(QASettings(n_best=6, max_answer_length=2))
    assert short.best_span(context, [((start, end), offsets, in_ctx)]) == "beta gamma"  # 0.5 + 3 beats 2 + 0 and 0 + 3
    null_start = start.copy()
    null_start[0] = 10.0  # the null score 10 + 1 beats every span (at most 2 + 3)
    window = [((null_start, end), offsets, in_ctx)]
    assert ExtractiveQAHead(QASettings(allow_null=True)).best_span(context, window) == ""
    assert ExtractiveQAHead(QASettings(allow_null=False)).best_span(context, window) == "alpha beta gamma"


def test_qa_head_settings_come_from_the_encoder_params():
    from xltkit.modeling.params import EncoderParams

    enc = EncoderParams(model="hf:x", qa_stride=64, qa_max_answer_length=12, qa_n_best=5)
    head = get_head("extractive_qa", enc, SimpleNamespace(unanswerable=True))
    assert head.settings == QASettings(stride=64, max_answer_length=12, n_best=5, allow_null=True)
    assert "qa_stride" not in enc.canonical()  # hashed by the stages whose task has the head, not with the encoder
    assert enc.head_knobs("extractive_qa") == {"qa_stride": 64, "qa_max_answer_length": 12, "qa_n_best": 5}
    assert enc.head_knobs("pair") == {}


def test_retrieval_pools_the_chosen_layer_and_finds_translations(tiny):
    import torch
    from transformers import AutoModel

    folder, tok = tiny
    model = AutoModel.from_pretrained(str(folder))
    rng = np.random.default_rng(3)
    texts = [_sentence(rng, 6) for _ in range(12)]
    head = RetrievalHead(RetrievalSettings(layer=1, pool_special=True))
    emb = head.embed(model, tok, texts, batch_size=5)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)
    with torch.no_grad():  # by hand: the mean of hidden state 1 over every token, then unit length
        enc = tok(texts[0], return_tensors="pt")
        h = model(**enc, output_hidden_states=True).hidden_states[1][0].mean(0).numpy()
    np.testing.assert_allclose(emb[0], h / np.linalg.norm(h), rtol=1e-4, atol=1e-5)
    without = RetrievalHead(RetrievalSettings(layer=1, pool_special=False)).embed(model, tok, texts[:1])
    with torch.no_grad():
        inner = model(**enc, output_hidden_states=True).hidden_states[1][0][1:-1].mean(0).numpy()
    np.testing.assert_allclose(without[0], inner / np.linalg.norm(inner), rtol=1e-4, atol=1e-5)
    ds = Dataset.from_dict({"id": list(range(12)), "text": texts, "text2": texts[::-1]})
    pred = head.predict(model, tok, ds)
    assert [f for f, _ in pred] == list(range(12))[::-1]  # each sentence's twin sits at the mirrored row
    assert [b for _, b in pred] == list(range(12))[::-1]
    with pytest.raises(RetrievalError, match="hidden states 0 .* to 1"):
        RetrievalHead(RetrievalSettings(layer=5)).embed(model, tok, texts[:2])


def test_retrieval_and_qa_scores_through_the_metrics():
    import pandas as pd

    from xltkit.modeling.metrics import score

    task = SimpleNamespace(name="t", head="retrieval", metrics=("accuracy", "accuracy_reverse"),
                           primary_metric="accuracy", labels=())
    frame = pd.DataFrame({"id": [10, 11, 12, 13], "text": list("abcd"), "text2": list("ABCD")})
    pred = [(10, 11), (12, 11), (12, 13), (13, 13)]  # forward right 3 of 4 (not row 2), backward 2 of 4 (rows 2, 4)
    rows, preds = score(task, frame, pred, lang="fin")
    got = dict(zip(rows.metric, rows.value))
    assert got == {"accuracy": 0.75, "accuracy_reverse": 0.5}
    assert preds["correct"].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert preds["prediction"].tolist()[1] == "[12, 11]"  # what was retrieved, kept for error analysis


def test_a_question_longer_than_the_window_is_cut_not_a_crash(tiny):
    _, tok = tiny
    rows = _qa_rows(np.random.default_rng(4), n=2)
    rows["question"][0] = " ".join(["Where is it"] * 40)  # about 120 subwords: more than a 48-token window
    feats = ExtractiveQAHead(QASettings(stride=12)).encode(tok, Dataset.from_dict(rows))
    assert len(feats) >= 2 and max(feats["length"]) <= 48
