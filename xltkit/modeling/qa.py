"""The extractive-QA head: question and context as windows of subword features, answer spans
as start and end positions, and predictions mapped back to the context's characters.

As the Hugging Face question-answering examples and XTREME's ``run_squad.py`` do it (read,
not copied; settings from XTREME-R's scripts: max length 384, stride 128, n-best 20,
maximum answer length 30 subwords):

- **features**: ``tokenizer(question, context, truncation="only_second", stride=...,
  return_overflowing_tokens=True, return_offsets_mapping=True)``: a long context becomes
  several windows overlapping by ``stride`` tokens; every window starts with the question.
- **training labels**: the answer's first and last subword in the window; a window that
  does not hold the whole answer, and an unanswerable question (SQuAD 2.0), point both at
  the first token (``<s>`` / ``[CLS]``), as SQuAD 2.0 training does.
- **prediction**: over all windows of an example, the ``n_best`` highest start and end
  logits of context tokens; a span is valid if it lies in the context, ends after it starts
  and is at most ``max_answer_length`` subwords; the best valid span by start + end logit
  is cut from the context by its character offsets.  Where the task has unanswerable
  questions, "" (no answer) wins when the first token's score (the lowest over the windows)
  beats the best span.

A prediction is the answer text; the metrics (``exact_match``, ``f1``) compare it with the
gold answers after the task's answer normalization.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from xltkit.modeling.head import Head, _quiet_libraries, on_device


MAX_QUESTION = 64  # XTREME's max_query_length: longer questions are cut to their first 64 subwords


@dataclass(frozen=True)
class QASettings:
    stride: int = 128
    max_answer_length: int = 30
    n_best: int = 20
    allow_null: bool = False  # predict "" where the null score wins (SQuAD 2.0-style sets)


class ExtractiveQAHead(Head):
    name = "extractive_qa"
    auto_class = "AutoModelForQuestionAnswering"
    takes_num_labels = False  # a start and an end logit per token

    def __init__(self, settings: QASettings | None = None):
        self.settings = settings or QASettings()

    def configured(self, **kw) -> "ExtractiveQAHead":
        return ExtractiveQAHead(replace(self.settings, **kw))

    def for_run(self, encoder, task) -> "ExtractiveQAHead":
        return self.configured(stride=encoder.qa_stride, max_answer_length=encoder.qa_max_answer_length,
                               n_best=encoder.qa_n_best, allow_null=bool(getattr(task, "unanswerable", False)))

    def _tokenize(self, tokenizer, batch):
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError("extractive QA needs a fast tokenizer (character offsets of every subword); "
                             f"{type(tokenizer).__name__} is not one")
        stride = min(self.settings.stride, tokenizer.model_max_length // 2)
        questions = [q.lstrip() for q in batch["question"]]  # leading spaces only take room
        # a question longer than the window leaves no room for context (the tokenizer panics): cut it to
        # MAX_QUESTION tokens, as XTREME's max_query_length does, and shorter where the window needs it
        room = max(1, min(MAX_QUESTION, tokenizer.model_max_length - 2 * stride - 4))  # context keeps > stride
        q_enc = tokenizer(questions, add_special_tokens=False, return_offsets_mapping=True)
        questions = [q[: off[room - 1][1]] if len(off) > room else q for q, off in zip(questions, q_enc["offset_mapping"])]
        return tokenizer(questions, batch["context"], truncation="only_second", max_length=tokenizer.model_max_length,
                         stride=stride, return_overflowing_tokens=True, return_offsets_mapping=True)

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

        return [self.best_span(contexts[ex], [(logits[i], enc["offset_mapping"][i], context_mask[i])
                                              for i in windows.get(ex, [])])
                for ex in range(len(contexts))]

    def best_span(self, context: str, windows: list[tuple]) -> str:
        """The answer text of one example from its windows' (start, end) logits, offsets and
        context masks."""
        cfg = self.settings
        best, best_score, null = "", -np.inf, np.inf
        for (start, end), offsets, in_context in windows:
            null = min(null, float(start[0] + end[0]))
            top_s = np.argsort(start)[::-1][: cfg.n_best]
            top_e = np.argsort(end)[::-1][: cfg.n_best]
            for s in top_s:
                if not in_context[s]:
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
