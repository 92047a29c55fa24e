"""Task heads: how a head kind's column contract becomes model inputs, which transformers
Auto class carries it, and how logits become predictions.

One entry per head kind of :data:`xltkit.tasks.base.HEADS` that has a model head:

- ``sequence`` / ``pair``: ``AutoModelForSequenceClassification`` on ``[CLS] a [SEP]``
  (pairs: ``[CLS] a [SEP] b [SEP]`` with segment ids 0/1, the longer sentence truncated
  first); one label per example.
- ``token``: ``AutoModelForTokenClassification``; the label of a word goes to its first
  subword, the other subwords get -100 and are ignored by the loss, as in the Hugging Face
  token-classification examples (and XTREME); a word's prediction is its first subword's.

- ``multiple_choice``: ``AutoModelForMultipleChoice`` on ``[CLS] premise question [SEP]
  choice [SEP]`` for every choice (the question is the task's text, e.g. XCOPA's "What was the
  cause?"); one score per choice, the highest wins.

- ``extractive_qa``: ``AutoModelForQuestionAnswering`` on windows of ``question [SEP]
  context`` (:mod:`xltkit.modeling.qa`); the prediction is the answer text.
- ``retrieval``: the bare encoder's mean-pooled sentence embeddings, nearest neighbours by
  cosine (:mod:`xltkit.modeling.retrieval`); no training.

A head's settings that are not the model's (QA's stride and answer length, retrieval's
layer and pooling) come from the encoder parameters: :func:`get_head` ``(kind, encoder)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xltkit.core.registry import Registry
from xltkit.modeling.head import Head, _quiet_libraries  # noqa: F401  (the interface, re-exported)
from xltkit.modeling.qa import ExtractiveQAHead
from xltkit.modeling.retrieval import RetrievalHead
from xltkit.tasks.base import HEADS as CONTRACTS


class ClassificationHead(Head):
    auto_class = "AutoModelForSequenceClassification"

    def __init__(self, name: str, pair: bool):
        self.name, self.pair = name, pair

    def encode(self, tokenizer, ds):
        _quiet_libraries()
        pair = self.pair

        def fn(batch):
            enc = tokenizer(batch["words"], batch["words2"] if pair else None, is_split_into_words=True,
                            truncation=True, max_length=tokenizer.model_max_length, return_token_type_ids=pair)
            out = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
            if pair:
                out["token_type_ids"] = enc["token_type_ids"]
            out["labels"] = [int(y) for y in batch["label"]]
            out["length"] = [len(x) for x in enc["input_ids"]]
            return out

        return ds.map(fn, batched=True, remove_columns=ds.column_names)

    def collator(self, tokenizer, pad_to_multiple_of: int | None = None):
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_to_multiple_of)

    def decode(self, logits, labels) -> list:
        return [int(p) for p in logits.argmax(-1)]  # logits: (batch, labels)

    def eval_pairs(self, logits, label_ids):
        return list(label_ids), list(np.asarray(logits).argmax(-1))


class TokenHead(Head):
    name = "token"
    auto_class = "AutoModelForTokenClassification"

    def encode(self, tokenizer, ds):
        _quiet_libraries()

        def fn(batch):
            enc = tokenizer(batch["words"], is_split_into_words=True, truncation=True,
                            max_length=tokenizer.model_max_length)
            labels, words = [], []
            for i, tags in enumerate(batch["tags"]):
                prev, row, first = None, [], []
                for w in enc.word_ids(i):
                    row.append(-100 if w is None or w == prev else int(tags[w]))
                    if w is not None and w != prev:
                        first.append(w)
                    prev = w
                labels.append(row)
                words.append(first)
            return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labels,
                    "length": [len(x) for x in enc["input_ids"]], "word_index": words}

        return ds.map(fn, batched=True, remove_columns=ds.column_names)

    #: the word each labelled position belongs to: a word without subwords (or truncated away) has
    #: none, so predictions are placed by word, not by count
    extra_columns = ("word_index",)

    def place(self, pred: list, word_index: list) -> list:
        from xltkit.modeling.metrics import NO_PREDICTION

        out = [NO_PREDICTION] * (max(word_index) + 1 if word_index else 0)
        for w, p in zip(word_index, pred):
            out[w] = p
        return out

    def collator(self, tokenizer, pad_to_multiple_of: int | None = None):
        from transformers import DataCollatorForTokenClassification

        return DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=pad_to_multiple_of)

    def decode(self, logits, labels) -> list:
        pred = logits.argmax(-1)  # (batch, seq)
        return [p_row[l_row != -100].tolist() for p_row, l_row in zip(pred, labels)]  # first subword per word

    def eval_pairs(self, logits, label_ids):
        pred = np.asarray(logits).argmax(-1)
        keep = np.asarray(label_ids) != -100
        return ([row[k].tolist() for row, k in zip(label_ids, keep)], [row[k].tolist() for row, k in zip(pred, keep)])


class MultipleChoiceHead(Head):
    name = "multiple_choice"
    auto_class = "AutoModelForMultipleChoice"

    takes_num_labels = False  # a score per choice

    def encode(self, tokenizer, ds):
        _quiet_libraries()

        def fn(batch):
            firsts, seconds, counts = [], [], []
            for premise, question, choices in zip(batch["premise"], batch["question"], batch["choices"]):
                firsts += [f"{premise} {question}".strip()] * len(choices)
                seconds += list(choices)
                counts.append(len(choices))
            enc = tokenizer(firsts, seconds, truncation=True, max_length=tokenizer.model_max_length)
            out: dict[str, list] = {k: [] for k in enc}
            start = 0
            for n in counts:  # (examples, choices, seq)
                for k in enc:
                    out[k].append(enc[k][start:start + n])
                start += n
            out["labels"] = [int(y) for y in batch["label"]]
            out["length"] = [max(len(x) for x in ids) for ids in out["input_ids"]]
            return out

        return ds.map(fn, batched=True, remove_columns=ds.column_names)

    def collator(self, tokenizer, pad_to_multiple_of: int | None = None):
        from transformers import DataCollatorForMultipleChoice

        return DataCollatorForMultipleChoice(tokenizer, pad_to_multiple_of=pad_to_multiple_of)

    def decode(self, logits, labels) -> list:
        return [int(p) for p in logits.argmax(-1)]  # logits: (batch, choices)

    def eval_pairs(self, logits, label_ids):
        return list(label_ids), list(np.asarray(logits).argmax(-1))


HEAD_MODELS: Registry[Head] = Registry("head")
for _h in (ClassificationHead("sequence", pair=False), ClassificationHead("pair", pair=True), TokenHead(),
           MultipleChoiceHead(), ExtractiveQAHead(), RetrievalHead()):
    HEAD_MODELS.register(_h.name, _h)


def get_head(kind: str, encoder=None, task=None) -> Head:
    """The model head of a head kind, with its settings from ``encoder`` (EncoderParams) and
    ``task`` (whether its questions can be unanswerable); a kind without a head says so."""
    if kind in CONTRACTS and kind not in HEAD_MODELS:
        cols = ", ".join(CONTRACTS[kind].columns)
        raise NotImplementedError(f"head kind {kind!r} (columns {cols}) has a column contract but no model head "
                                  f"yet; heads: {', '.join(HEAD_MODELS.names())}")
    head = HEAD_MODELS[kind]
    return head.for_run(encoder, task) if encoder is not None else head


def predict(model, tokenizer, ds, head: Head, batch_size: int | None = None) -> list:
    """The head's predictions on a task dataset (:meth:`Head.predict`)."""
    return head.predict(model, tokenizer, ds) if batch_size is None else head.predict(model, tokenizer, ds, batch_size)
