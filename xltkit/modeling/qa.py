"""The extractive-QA head: question and context as windows of subword features, answer spans
as start and end positions, and predictions mapped back to the context's characters.

As the Hugging Face question-answering examples and XTREME's ``run_squad.py`` do it (read,
not copied; settings from XTREME-R's scripts: max length 384, stride 128, n-best 20,
maximum answer length 30 subwords):

- **features**: ``tokenizer(question, context, truncation="only_second", stride=...,
  return_overflowing_tokens=True, return_offsets_mapping=True)``: a long context becomes
  several windows; every window starts with the question.  ``stride_mode`` says how ``stride``
  reads (:data:`STRIDE_MODES`): ``overlap``, the context tokens two windows share (the
  tokenizers' ``stride``, as Hugging Face's ``run_qa.py`` passes ``doc_stride``), or ``step``,
  the context tokens from one window's start to the next, as XTREME's ``run_squad.py`` reads
  ``doc_stride``: its features (``third_party/processors/squad.py``, a copy of transformers'
  ``squad_convert_example_to_features``) start window *k* at context token ``k * doc_stride``
  and pass the tokenizer an overlap of ``max_seq_length - doc_stride - len(truncated_query) -
  sequence_pair_added_tokens``, the question cut to ``max_query_length`` (64) tokens and the
  special tokens of a pair counted (XLM-R 4, BERT 3): about 240 tokens at 384 / 128.  Both
  modes cover every context token; ``step`` only spaces the windows.
- **training labels**: the answer's first and last subword in the window; a window that
  does not hold the whole answer, and an unanswerable question (SQuAD 2.0), point both at
  the first token (``<s>`` / ``[CLS]``), as SQuAD 2.0 training does.
- **prediction**: over all windows of an example, the ``n_best`` highest start and end
  logits of context tokens; a span is valid if it lies in the context, ends after it starts
  and is at most ``max_answer_length`` subwords; the best valid span by start + end logit
  is cut from the context by its character offsets.  Where the task has unanswerable
  questions, "" (no answer) wins when the first token's score (the lowest over the windows)
  beats the best span.  With XTREME's windows (``step``) a span counts only where its start
  token has its *max context* (XTREME's and BERT's ``token_is_max_context``:
  :mod:`xltkit.modeling.qa_windows`), so a span two windows hold is scored in one of them, the
  one where its start sits most centrally; with ``overlap`` every window scores it, as Hugging
  Face's ``run_qa.py`` does (``QASettings.max_context`` sets it either way).

A prediction is the answer text; the metrics (``exact_match``, ``f1``) compare it with the
gold answers after the task's answer normalization.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from xltkit.modeling import qa_windows
from xltkit.modeling.head import Head, _quiet_libraries, on_device


MAX_QUESTION = 64  # XTREME's max_query_length: longer questions are cut to their first 64 subwords
#: how ``stride`` reads: the tokens two windows share, or the tokens between their starts (XTREME)
STRIDE_MODES = ("overlap", "step")


@dataclass(frozen=True)
class QASettings:
    stride: int = 128
    max_answer_length: int = 30
    n_best: int = 20
    allow_null: bool = False  # predict "" where the null score wins (SQuAD 2.0-style sets)
    stride_mode: str = "overlap"  # one of STRIDE_MODES
    #: a span's start counts only in its max-context window (XTREME's run_squad.py); None: as the windows'
    #: source does it, on for step (XTREME's) and off for overlap (Hugging Face's run_qa.py)
    max_context: bool | None = None

    def __post_init__(self):
        if self.stride_mode not in STRIDE_MODES:
            raise ValueError(f"unknown stride_mode {self.stride_mode!r}; allowed: {', '.join(STRIDE_MODES)}")

    @property
    def uses_max_context(self) -> bool:
        """Whether predictions apply the max-context rule (EncoderParams.qa_max_context hashes the same)."""
        return self.stride_mode == "step" if self.max_context is None else self.max_context


class ExtractiveQAHead(Head):
    name = "extractive_qa"
    auto_class = "AutoModelForQuestionAnswering"
    takes_num_labels = False  # a start and an end logit per token

    def __init__(self, settings: QASettings | None = None):
        self.settings = settings or QASettings()

    def configured(self, **kw) -> "ExtractiveQAHead":
        return ExtractiveQAHead(replace(self.settings, **kw))

    def for_run(self, encoder, task) -> "ExtractiveQAHead":
        return self.configured(stride=encoder.qa_stride, stride_mode=encoder.qa_stride_mode,
                               max_answer_length=encoder.qa_max_answer_length, n_best=encoder.qa_n_best,
                               allow_null=bool(getattr(task, "unanswerable", False)))

    def _tokenize(self, tokenizer, batch):
        """Every example's windows (see the module docstring), in example order."""
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("extractive QA needs a fast tokenizer (character offsets of every subword); "
                             f"{type(tokenizer).__name__} is not one")
        length, step = tokenizer.model_max_length, self.settings.stride_mode == "step"
        special = tokenizer.num_special_tokens_to_add(pair=True)  # XLM-R: <s> q </s></s> c </s>
        stride = min(self.settings.stride, length // 2)
        if step and self.settings.stride + special + 1 > length:
            raise ValueError(f"stride={self.settings.stride} (the step between windows) leaves no room for the "
                             f"question in a window of {length} tokens ({special} of them special)")
        questions = [q.lstrip() for q in batch["question"]]  # leading spaces only take room
        room = self._question_room(length, special)
        q_enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
        questions = [q[: off[room - 1][1]] if len(off) > room else q for q, off in zip(questions, q_enc["offset_mapping"])]
        if not step:
            return self._windows(tokenizer, questions, batch["context"], stride)
        # XTREME's overlap: the window's context tokens (length - question - special) less the step
        n_question = [len(ids) for ids in tokenizer(questions, add_special_tokens=False)["input_ids"]]
        return self._windows(tokenizer, questions, batch["context"],
                             [length - self.settings.stride - n - special for n in n_question])

    def _question_room(self, length: int, special: int) -> int:
        """The most question tokens a window of ``length`` keeps: a question longer than the window
        leaves no room for context (the tokenizer panics), so it is cut to MAX_QUESTION tokens, as
        XTREME's max_query_length does, and shorter where the window needs it."""
        if self.settings.stride_mode == "step":
            return min(MAX_QUESTION, length - self.settings.stride - special)
        return max(1, min(MAX_QUESTION, length - 2 * min(self.settings.stride, length // 2) - 4))  # context > stride

    def inputs_per_example(self, max_length: int, context_tokens: int, question_tokens: int, special: int = 4) -> int:
        """The windows an example makes whose context and question have the given lengths in
        subwords (``special``: a pair's special tokens, XLM-R's 4), as :meth:`_tokenize` cuts
        them: one while the context fits beside the question, then one more per ``advance``
        context tokens, the step (``step``) or a window's context less the overlap (``overlap``).
        For cost estimates (``xltkit plan``), from a typical length.

        Example: max_length 128, qa_stride 32, a question of 14 and a context of 180: a window holds
        128 - 14 - 4 = 110 context tokens; step mode 1 + ceil(70 / 32) = 4 windows, overlap mode
        1 + ceil(70 / (110 - 32)) = 2."""
        room = max_length - min(question_tokens, self._question_room(max_length, special)) - special
        step = self.settings.stride_mode == "step"
        advance = self.settings.stride if step else room - min(self.settings.stride, max_length // 2)
        return 1 if context_tokens <= room else 1 + math.ceil((context_tokens - room) / max(1, advance))

    @staticmethod
    def _windows(tokenizer, questions: list[str], contexts: list[str], overlap):
        """The tokenizer's overflowing windows with ``overlap`` context tokens shared by two
        neighbours: one number for every example, or one per example (tokenized in groups of
        equal overlap, then put back in example order)."""
        def windows(q, c, o):
            return tokenizer(q, c, truncation="only_second", max_length=tokenizer.model_max_length, stride=o,
                             return_overflowing_tokens=True, return_offsets_mapping=True)

        if isinstance(overlap, int) or not questions:
            return windows(questions, contexts, overlap if isinstance(overlap, int) else 0)
        from transformers import BatchEncoding

        groups: dict[int, list[int]] = {}
        for i, o in enumerate(overlap):
            groups.setdefault(o, []).append(i)
        rows = []  # (example, its group's encoding, window in it)
        for o, idx in groups.items():
            enc = windows([questions[i] for i in idx], [contexts[i] for i in idx], o)
            rows += [(idx[s], enc, w) for w, s in enumerate(enc["overflow_to_sample_mapping"])]
        rows.sort(key=lambda r: r[0])  # stable: an example's windows stay in their order
        keys = [k for k in rows[0][1].keys() if k != "overflow_to_sample_mapping"]
        data = {k: [enc[k][w] for _, enc, w in rows] for k in keys}
        data["overflow_to_sample_mapping"] = [ex for ex, _, _ in rows]
        return BatchEncoding(data, encoding=[enc.encodings[w] for _, enc, w in rows])

    @staticmethod
    def _inputs(enc, i: int) -> dict:
        """Window ``i``'s model inputs (segment ids too where the tokenizer makes them: BERT's)."""
        return {k: enc[k][i] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}

    def encode(self, tokenizer, ds):
        """Training features: one row per window with ``start_positions`` / ``end_positions``."""
        _quiet_libraries()

        def fn(batch):
            enc = self._tokenize(tokenizer, batch)
            starts, ends = [], []
            for i, offsets in enumerate(enc["offset_mapping"]):
                answers = batch["answers"][enc["overflow_to_sample_mapping"][i]]
                seq = enc.sequence_ids(i)
                s = e = 0
                if answers["text"]:
                    a0 = int(answers["answer_start"][0])
                    a1 = a0 + len(answers["text"][0])
                    ctx = [k for k, sid in enumerate(seq) if sid == 1]
                    if ctx and offsets[ctx[0]][0] <= a0 and offsets[ctx[-1]][1] >= a1:  # the whole answer is here
                        s = next(k for k in ctx if offsets[k][1] > a0)
                        e = next(k for k in reversed(ctx) if offsets[k][0] < a1)
                starts.append(s)
                ends.append(e)
            inputs = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in enc}
            return {**inputs, "start_positions": starts, "end_positions": ends,
                    "length": [len(x) for x in enc["input_ids"]]}

        return ds.map(fn, batched=True, remove_columns=ds.column_names)

    def collator(self, tokenizer, pad_to_multiple_of: int | None = None):
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)

    def predict(self, model, tokenizer, ds, batch_size: int = 64) -> list[str]:
        """The answer text of every example of ``ds`` (see the module docstring)."""
        import torch

        _quiet_libraries()
        model.eval()
        contexts = list(ds["context"])
        enc = self._tokenize(tokenizer, {"question": list(ds["question"]), "context": contexts})
        n = len(enc["input_ids"])
        sample = list(enc["overflow_to_sample_mapping"])
        context_mask = [[sid == 1 for sid in enc.sequence_ids(i)] for i in range(n)]
        collator = self.collator(tokenizer)
        order = np.argsort([len(x) for x in enc["input_ids"]], kind="stable")
        logits: list = [None] * n
        with torch.no_grad():
            for b in range(0, n, batch_size):
                idx = order[b: b + batch_size]
                batch = collator([self._inputs(enc, j) for j in idx])
                out = model(**on_device(batch, model))
                start, end = out.start_logits.float().cpu(), out.end_logits.float().cpu()
                for row, j in enumerate(idx):
                    k = len(enc["input_ids"][j])
                    logits[j] = (start[row, :k].numpy(), end[row, :k].numpy())
        windows: dict[int, list[int]] = {}
        for i, s in enumerate(sample):
            windows.setdefault(s, []).append(i)

        def answer(ex: int) -> str:
            idx = windows.get(ex, [])
            offsets, masks = [enc["offset_mapping"][i] for i in idx], [context_mask[i] for i in idx]
            starts = qa_windows.max_context(offsets, masks) if self.settings.uses_max_context and len(idx) > 1 else None
            return self.best_span(contexts[ex], list(zip([logits[i] for i in idx], offsets, masks)), starts)

        return [answer(ex) for ex in range(len(contexts))]

    def best_span(self, context: str, windows: list[tuple], starts: list | None = None) -> str:
        """The answer text of one example from its windows' (start, end) logits, offsets and
        context masks; ``starts``: per window, the tokens a span may start at (their max-context
        window, :func:`~xltkit.modeling.qa_windows.max_context`), None for every context token."""
        cfg = self.settings
        best, best_score, null = "", -np.inf, np.inf
        for w, ((start, end), offsets, in_context) in enumerate(windows):
            null = min(null, float(start[0] + end[0]))  # every window's, as XTREME's score_null
            top_s = np.argsort(start)[::-1][: cfg.n_best]
            top_e = np.argsort(end)[::-1][: cfg.n_best]
            for s in top_s:
                if not in_context[s] or (starts is not None and not starts[w][s]):
                    continue
                for e in top_e:
                    if not in_context[e] or e < s or e - s + 1 > cfg.max_answer_length:
                        continue
                    score = float(start[s] + end[e])
                    if score > best_score:
                        best_score, best = score, context[offsets[s][0]: offsets[e][1]]
        if cfg.allow_null and null > best_score:
            return ""
        return best
