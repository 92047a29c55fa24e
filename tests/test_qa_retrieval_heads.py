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


# ---- windows whose stride is the step between their starts (XTREME's doc_stride) ----------------
def _context_starts(tok, enc, contexts):
    """Per example: (the context token each window starts at, its context tokens), the context's
    tokens counted as the context alone tokenizes."""
    out: dict[int, list[tuple[int, int]]] = {}
    for i, ex in enumerate(enc["overflow_to_sample_mapping"]):
        ctx = [k for k, sid in enumerate(enc.sequence_ids(i)) if sid == 1]
        alone = tok(contexts[ex], add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        first = [j for j, (a, b) in enumerate(alone) if (a, b) == tuple(enc["offset_mapping"][i][ctx[0]])]
        out.setdefault(ex, []).append((first[0], len(ctx)))
    return out


def test_step_windows_start_exactly_qa_stride_context_tokens_apart(tiny):
    _, tok = tiny
    rng = np.random.default_rng(5)
    rows = _qa_rows(rng, n=4, words=60)
    rows["question"][1] = "Where is it? Who? What?"  # a longer question: its windows hold less context
    head = ExtractiveQAHead(QASettings(stride=12, stride_mode="step"))
    enc = head._tokenize(tok, rows)
    assert max(len(x) for x in enc["input_ids"]) <= 48
    assert list(enc["overflow_to_sample_mapping"]) == sorted(enc["overflow_to_sample_mapping"])  # example order
    # by hand for the first example: "Where is it?" is 11 subwords of this tokenizer, a pair adds 4 special
    # tokens (<s> q </s></s> c </s>), so a window holds 48 - 11 - 4 = 33 context tokens and shares
    # 33 - 12 = 21 with the next (XTREME: max_seq_length - doc_stride - len(truncated_query) - 4)
    assert len(tok("Where is it?", add_special_tokens=False)["input_ids"]) == 11
    assert len(tok(rows["context"][0], add_special_tokens=False)["input_ids"]) == 62
    starts = _context_starts(tok, enc, rows["context"])
    # XTREME's loop: window k starts at 12k and holds min(62 - 12k, 33) tokens while tokens overflow it
    assert starts[0] == [(0, 33), (12, 33), (24, 33), (36, 26)]  # 36 + 26 = 62: nothing overflows, the last
    # the longer question (22 subwords) leaves 48 - 22 - 4 = 22 context tokens a window, still 12 apart
    assert len(tok(rows["question"][1], add_special_tokens=False)["input_ids"]) == 22
    assert starts[1] == [(0, 22), (12, 22), (24, 22), (36, 22), (48, 17)]  # 65 context tokens
    for ex, windows in starts.items():
        q = len(tok(rows["question"][ex], add_special_tokens=False)["input_ids"])
        n = len(tok(rows["context"][ex], add_special_tokens=False)["input_ids"])
        assert [s for s, _ in windows] == [12 * k for k in range(len(windows))]
        assert all(length == 48 - q - 4 for _, length in windows[:-1])
        s, length = windows[-1]
        assert s + length == n and (len(windows) == 1 or windows[-2][0] + windows[-2][1] < n)  # no extra window


def test_step_windows_label_and_predict_the_answer_characters(tiny):
    _, tok = tiny
    rows = _qa_rows(np.random.default_rng(6), n=6, words=40)
    rows["question"][2] = "Where is it? Who?"
    ds = Dataset.from_dict(rows)
    head = ExtractiveQAHead(QASettings(stride=12, stride_mode="step"))
    feats, enc = head.encode(tok, ds), head._tokenize(tok, rows)
    assert len(feats) == len(enc["input_ids"]) > len(ExtractiveQAHead(QASettings(stride=12)).encode(tok, ds))
    found = set()
    for i, (s, e) in enumerate(zip(feats["start_positions"], feats["end_positions"])):
        if s == 0:
            continue
        ex, off = enc["overflow_to_sample_mapping"][i], enc["offset_mapping"][i]
        assert rows["context"][ex][off[s][0]:off[e][1]].strip() == rows["answers"][ex]["text"][0]
        found.add(ex)
    assert found == set(range(len(ds)))  # every answer lies whole in some window
    pred = head.predict(_Oracle(feats), tok, ds, batch_size=4)
    assert [p.strip() for p in pred] == [a["text"][0] for a in rows["answers"]]


def test_the_default_windows_are_unchanged_overlapping_by_qa_stride(tiny):
    from xltkit.modeling.params import EncoderParams

    _, tok = tiny
    rows = _qa_rows(np.random.default_rng(7), n=3, words=30)
    enc = EncoderParams(model="hf:x", qa_stride=12)
    head = get_head("extractive_qa", enc, SimpleNamespace(unanswerable=False))
    assert enc.qa_stride_mode == "overlap" and head.settings.stride_mode == "overlap"
    got = head._tokenize(tok, rows)
    before = tok(rows["question"], rows["context"], truncation="only_second", max_length=48, stride=12,
                 return_overflowing_tokens=True, return_offsets_mapping=True)  # the head's call before step mode
    assert got["input_ids"] == before["input_ids"] and got["offset_mapping"] == before["offset_mapping"]
    for windows in _context_starts(tok, got, rows["context"]).values():
        assert all(b[0] == a[0] + a[1] - 12 for a, b in zip(windows, windows[1:]))  # 12 tokens shared
    # the mode is hashed only away from the default, so every QA stage key cached before it stands
    assert enc.head_knobs("extractive_qa", training=True) == {"qa_stride": 12}
    step = EncoderParams(model="hf:x", qa_stride=12, qa_stride_mode="step")
    assert step.head_knobs("extractive_qa", training=True) == {"qa_stride": 12, "qa_stride_mode": "step"}
    assert "qa_stride_mode" not in step.canonical()
    with pytest.raises(ValueError, match="unknown stride_mode 'steps'; allowed: overlap, step"):
        QASettings(stride_mode="steps")
    with pytest.raises(ValueError, match="stride=45 .* leaves no room for the question in a window of 48 tokens"):
        ExtractiveQAHead(QASettings(stride=45, stride_mode="step"))._tokenize(tok, rows)


def test_check_head_accepts_xtreme_step_windows_and_refuses_impossible_ones():
    from xltkit.modeling.params import EncoderParams
    from xltkit.pipeline.checks import check_head

    task = SimpleNamespace(name="xquad", head="extractive_qa")

    def run(**enc):
        return SimpleNamespace(model=SimpleNamespace(trainable=True), encoder=EncoderParams(model="hf:x", **enc),
                               eval_every=lambda stage: None, has_intermediate=False)

    check_head(run(max_length=384, qa_stride=128, qa_stride_mode="step"), task, "finetune")  # XTREME-R's
    check_head(run(max_length=384, qa_stride=128), task, "finetune")
    check_head(run(max_length=64, qa_stride=40, qa_stride_mode="step"), task, "finetune")  # a step of 40 fits 64
    with pytest.raises(ValueError, match=r"qa_stride=60 with qa_stride_mode: step .* must be at most "
                                         r"max_length=64 less 16 tokens"):
        check_head(run(max_length=64, qa_stride=60, qa_stride_mode="step"), task, "finetune")
    with pytest.raises(ValueError, match="qa_stride=40 must be at most half of max_length=64"):
        check_head(run(max_length=64, qa_stride=40), task, "finetune")


# ---- XTREME's max-context rule on the tokenizer's windows ------------------------------------
def test_the_windows_are_placed_in_the_context_from_the_tokenizers_offsets(tiny):
    from xltkit.modeling.qa_windows import context_starts

    _, tok = tiny
    rows = _qa_rows(np.random.default_rng(5), n=4, words=60)
    rows["question"][1] = "Where is it? Who? What?"
    for settings in (QASettings(stride=12, stride_mode="step"), QASettings(stride=12)):
        enc = ExtractiveQAHead(settings)._tokenize(tok, rows)
        by_hand = _context_starts(tok, enc, rows["context"])  # matched against the context tokenized alone
        for ex, windows in by_hand.items():
            idx = [i for i, s in enumerate(enc["overflow_to_sample_mapping"]) if s == ex]
            ctx = [[o for o, sid in zip(enc["offset_mapping"][i], enc.sequence_ids(i)) if sid == 1] for i in idx]
            assert context_starts(ctx) == [s for s, _ in windows], (settings.stride_mode, ex)
    assert [s for s, _ in _context_starts(tok, ExtractiveQAHead(QASettings(stride=12, stride_mode="step"))
                                         ._tokenize(tok, rows), rows["context"])[0]] == [0, 12, 24, 36]


class _Decoy(_Oracle):
    """The oracle, plus a higher one-token span (7 + 7 against the answer's 5 + 5) at the first
    context token of every window but an example's first: a token with no context on its left
    there, whose max-context window is an earlier one."""

    def __init__(self, feats, enc):
        super().__init__(feats)
        self.decoy, seen = {}, set()
        for i, ex in enumerate(enc["overflow_to_sample_mapping"]):
            if ex in seen:
                self.decoy[tuple(enc["input_ids"][i])] = enc.sequence_ids(i).index(1)
            seen.add(ex)

    def __call__(self, input_ids, attention_mask, **segments):
        out = super().__call__(input_ids, attention_mask, **segments)
        for row, (ids, mask) in enumerate(zip(input_ids.tolist(), attention_mask.tolist())):
            k = self.decoy.get(tuple(i for i, m in zip(ids, mask) if m))
            if k is not None:
                out.start_logits[row, k] += 12
                out.end_logits[row, k] += 12
        return out


def test_step_windows_score_a_span_only_where_its_start_has_max_context(tiny):
    """XTREME's windows drop the decoy (its start is no window's max-context token where it
    peaks) and find every answer; without the rule, and with the default overlap windows (which
    do not apply it, as run_qa.py does not), the decoy wins wherever a context has several windows."""
    _, tok = tiny
    rows = _qa_rows(np.random.default_rng(6), n=6, words=40)
    ds = Dataset.from_dict(rows)
    answers = [a["text"][0] for a in rows["answers"]]
    for settings, rule in ((QASettings(stride=12, stride_mode="step"), True),
                           (QASettings(stride=12, stride_mode="step", max_context=False), False),
                           (QASettings(stride=12), False)):
        head = ExtractiveQAHead(settings)
        enc = head._tokenize(tok, rows)
        several = {ex for ex in enc["overflow_to_sample_mapping"]
                   if list(enc["overflow_to_sample_mapping"]).count(ex) > 1}
        assert several == set(range(6))  # 40 words: several 48-token windows each
        pred = [p.strip() for p in head.predict(_Decoy(head.encode(tok, ds), enc), tok, ds, batch_size=4)]
        assert (pred == answers) if rule else all(p != a for p, a in zip(pred, answers)), settings


def test_the_rule_is_hashed_only_where_it_is_on_so_overlap_keys_stand():
    from xltkit.modeling.params import EncoderParams

    overlap = EncoderParams(model="hf:x", qa_stride=128)
    step = EncoderParams(model="hf:x", qa_stride=128, qa_stride_mode="step")
    assert overlap.head_knobs("extractive_qa") == {"qa_stride": 128, "qa_max_answer_length": 30, "qa_n_best": 20}
    assert step.head_knobs("extractive_qa") == {"qa_stride": 128, "qa_stride_mode": "step", "qa_max_answer_length": 30,
                                                "qa_n_best": 20, "qa_max_context": True}  # a new evaluation key
    # the training reads no prediction knob: the step fine-tunes stand
    assert step.head_knobs("extractive_qa", training=True) == {"qa_stride": 128, "qa_stride_mode": "step"}
    for enc in (overlap, step):
        head = get_head("extractive_qa", enc, SimpleNamespace(unanswerable=False))
        assert head.settings.uses_max_context == enc.qa_max_context
    assert "qa_max_context" not in step.canonical() and "qa_max_context" not in EncoderParams.model_fields


def test_the_window_estimate_counts_the_windows_the_tokenizer_makes(tiny):
    """inputs_per_example (xltkit plan's window count) from a context's and a question's lengths
    gives the windows _tokenize makes of them, in both modes (this tokenizer: 4 special tokens)."""
    _, tok = tiny
    rows = _qa_rows(np.random.default_rng(8), n=6, words=60)
    rows["question"][1] = "Where is it? Who? What?"
    rows["context"][2] = " ".join(rows["context"][2].split()[:9])  # one window
    assert tok.num_special_tokens_to_add(pair=True) == 4
    for settings in (QASettings(stride=12, stride_mode="step"), QASettings(stride=12), QASettings(stride=5)):
        head = ExtractiveQAHead(settings)
        made = list(head._tokenize(tok, rows)["overflow_to_sample_mapping"])
        for ex, (q, c) in enumerate(zip(rows["question"], rows["context"])):
            n_q, n_c = (len(tok(t, add_special_tokens=False)["input_ids"]) for t in (q, c))
            assert head.inputs_per_example(48, n_c, n_q) == made.count(ex), (settings, ex)
    # by hand, step mode: "Where is it?" is 11 subwords, a window 48 - 11 - 4 = 33 context tokens, the first
    # context 62: 1 + ceil(29 / 12) = 4; overlap 12: one window every 33 - 12 = 21 tokens, 1 + ceil(29 / 21) = 3
    assert ExtractiveQAHead(QASettings(stride=12, stride_mode="step")).inputs_per_example(48, 62, 11) == 4
    assert ExtractiveQAHead(QASettings(stride=12)).inputs_per_example(48, 62, 11) == 3
