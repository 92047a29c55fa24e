"""Metrics: one registry entry each, declaring its primary value and whether higher is better.

Every metric here is a function of sums over examples: each example contributes a
numerator and a denominator (:meth:`Metric.stats`) and the value over any set of examples
is :meth:`Metric.aggregate` of their sums.  That makes per-phenomenon scores and
bootstrap intervals (resampling examples) exact for every metric, F1 included:

- ``accuracy``: share of examples whose label is right (num = right, den = 1);
- ``token_accuracy``: share of *words* tagged right over all words (micro: num = right
  words of the sentence, den = its words), not the mean of per-sentence accuracies;
- ``span_f1``: seqeval's micro F1 over BIO spans, 2 TP / (gold spans + predicted spans)
  (Ramshaw & Marcus 1995 chunks; Nakayama 2018, seqeval; as XTREME scores PAN-X);
- ``f1`` / ``exact_match`` (extractive QA): SQuAD's per-question token F1 and exact match,
  the best over the gold answers, after the task's answer normalization in the evaluated
  language (:mod:`xltkit.modeling.qa_metrics`), averaged over questions;
- ``accuracy`` on retrieval: share of sentences whose nearest neighbour on the other side is
  their translation, xx -> en (XTREME's direction); ``accuracy_reverse``: en -> xx.

A word with no prediction (lost to truncation) is wrong: for tags it never equals the
gold tag, and for spans it reads as outside every span ("O").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from xltkit.core.registry import Registry

if TYPE_CHECKING:
    from xltkit.tasks.base import Task

NO_PREDICTION = -1  # a word the model gave no label (truncated away)


@dataclass(frozen=True)
class Metric:
    """A metric (see the module docstring).

    Attributes:
        proportion: the value is a share of independent examples, so a Wilson interval on
            pooled counts is valid (accuracy); otherwise intervals come from the bootstrap.
    """

    name: str
    description: str
    stats: Callable[..., tuple[np.ndarray, np.ndarray]]  # (task, gold, pred[, lang]) -> (num, den)
    greater_is_better: bool = True
    proportion: bool = False
    needs_lang: bool = False  # stats takes the evaluated language (QA's answer normalization)

    def aggregate(self, num: np.ndarray, den: np.ndarray) -> float:
        if self.proportion:  # den is 1 everywhere: the mean of the per-example scores
            return float(np.asarray(num, float).mean()) if len(num) else float("nan")
        total = float(np.sum(den))
        return float(np.sum(num)) / total if total > 0 else 0.0

    def value(self, task: "Task", gold: list, pred: list, lang: str | None = None) -> float:
        return self.aggregate(*self.sufficient(task, gold, pred, lang))

    def sufficient(self, task: "Task", gold: list, pred: list, lang: str | None = None):
        """Per-example (num, den) of ``pred`` against ``gold``."""
        return self.stats(task, gold, pred, lang) if self.needs_lang else self.stats(task, gold, pred)


METRICS: Registry[Metric] = Registry("metric")


def _accuracy(task, gold, pred):
    if len(pred) and isinstance(pred[0], (tuple, list)):  # retrieval: (forward, backward); xx -> en is forward
        right = np.array([p[0] == g for p, g in zip(pred, gold)], float)
    else:
        right = (np.asarray(pred) == np.asarray(gold)).astype(float)
    return right, np.ones(len(right))


def _accuracy_reverse(task, gold, pred):
    right = np.array([p[1] == g for p, g in zip(pred, gold)], float)
    return right, np.ones(len(right))


def _qa(which: str):
    def stats(task, gold, pred, lang):
        from xltkit.modeling import qa_metrics

        rule = getattr(task, "qa_normalization", "squad")
        fn = qa_metrics.exact_match if which == "em" else qa_metrics.f1
        num = np.array([fn(p, list(g), rule, lang) for p, g in zip(pred, gold)], float)
        return num, np.ones(len(num))
    return stats


def _token_accuracy(task, gold, pred):
    num = np.array([sum(int(p == g) for p, g in zip(ps, gs)) for gs, ps in zip(gold, pred)], float)
    return num, np.array([len(gs) for gs in gold], float)


def _spans(names: list[str]) -> set[tuple]:
    """seqeval's chunks of a tag sequence; tags without a BIO prefix (UD-POS, scored this way
    by XTREME) form one chunk per run of equal tags, which seqeval warns about each time."""
    import warnings

    from seqeval.metrics.sequence_labeling import get_entities

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*seems not to be NE tag", category=UserWarning)
        return set(get_entities(names))


def _span_f1(task, gold, pred):
    labels = task.labels
    num, den = np.zeros(len(gold)), np.zeros(len(gold))
    for i, (gs, ps) in enumerate(zip(gold, pred)):
        g = _spans([labels[t] for t in gs])
        p = _spans([labels[t] if t != NO_PREDICTION else "O" for t in ps])
        num[i], den[i] = 2 * len(g & p), len(g) + len(p)
    return num, den


for _m in (
    Metric("accuracy", "share of examples labelled right", _accuracy, proportion=True),
    Metric("token_accuracy", "share of words tagged right, over all words (micro)", _token_accuracy),
    Metric("span_f1", "micro F1 of BIO spans (seqeval)", _span_f1),
    Metric("f1", "SQuAD token F1 of the answer, best over the gold answers, mean over questions", _qa("f1"),
           needs_lang=True),
    Metric("exact_match", "SQuAD exact match of the normalized answer, mean over questions", _qa("em"),
           proportion=True, needs_lang=True),
    Metric("accuracy_reverse", "retrieval: share of English sentences whose nearest neighbour is their "
           "translation (en -> xx)", _accuracy_reverse, proportion=True),
):
    METRICS.register(_m.name, _m)


def get_metric(name: str) -> Metric:
    return METRICS[name]


def align(pred, n: int, where: str = "") -> list[int]:
    """Word-level predictions of one sentence of ``n`` words: words lost to truncation get
    :data:`NO_PREDICTION`; more predictions than words is an error, not a truncation."""
    pred = [int(x) for x in pred]
    if len(pred) > n:
        raise ValueError(f"{where}{len(pred)} word predictions for a sentence of {n} words: predictions and "
                         "gold tags are misaligned (were the predictions made on other data?)")
    return pred + [NO_PREDICTION] * (n - len(pred))


def _gold(task: "Task", frame: pd.DataFrame) -> list | np.ndarray:
    from xltkit.tasks.base import HEADS

    contract = HEADS[task.head]
    if contract.per_word:
        return [[int(t) for t in tags] for tags in frame[contract.label]]
    if task.head == "extractive_qa":  # the gold answers' texts (none: an unanswerable question)
        return [list(a["text"]) for a in frame[contract.label]]
    return frame[contract.label].to_numpy()


def score(task: "Task", frame: pd.DataFrame, pred: list, lang: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tidy metric rows (metric, value, n_examples, phenomenon) of ``pred`` on ``frame`` (the
    task's columns) in language ``lang``, overall and per phenomenon (where the frame has
    ``phenomena``), and one prediction row per example with the sufficient statistics of the
    primary metric."""
    from xltkit.tasks.base import HEADS

    if len(pred) != len(frame):
        raise ValueError(f"task {task.name!r}: {len(pred)} predictions for {len(frame)} examples; each example "
                         "needs exactly one prediction")
    contract = HEADS[task.head]
    tagged = contract.per_word
    gold = _gold(task, frame)
    if tagged:
        pred = [align(p, len(g), f"task {task.name!r}, example {i}: ") for i, (p, g) in enumerate(zip(pred, gold))]
    stats = {name: get_metric(name).sufficient(task, gold, pred, lang) for name in task.metrics}
    phen = frame["phenomena"].map(list) if "phenomena" in frame.columns else pd.Series([[]] * len(frame))
    subsets = {"all": np.ones(len(frame), bool)}
    for name in sorted({x for ph in phen for x in ph}):
        subsets[name] = phen.map(lambda ph, n=name: n in ph).to_numpy()
    rows = [{"metric": m, "value": get_metric(m).aggregate(num[mask], den[mask]), "n_examples": int(mask.sum()),
             "phenomenon": name}
            for m, (num, den) in stats.items() for name, mask in subsets.items() if mask.any()]
    if tagged:  # words the model gave no label (truncated at max_length, or no subword): scored as wrong
        lost = np.array([sum(t == NO_PREDICTION for t in p) for p in pred], float)
        words = np.array([len(g) for g in gold], float)
        for row in rows:
            mask = subsets[row["phenomenon"]]
            row["unpredicted_words"] = float(lost[mask].sum() / max(1.0, words[mask].sum()))
    num, den = stats[task.primary_metric]
    with np.errstate(invalid="ignore", divide="ignore"):
        correct = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    scalar = task.head in ("sequence", "pair", "multiple_choice")  # one label index per example
    preds = pd.DataFrame({
        "example_id": frame["id"].to_numpy(),
        "label": np.asarray(gold) if scalar else -1,
        "pred": np.asarray(pred) if scalar else -1,
        "correct": correct,
        "num": num,
        "den": den,
        "phenomena": phen.map(lambda ph: ",".join(ph)),
    })
    if not scalar and not tagged:  # an answer text, or the retrieved (forward, backward) ids: kept for error analysis
        import json

        preds["prediction"] = [p if isinstance(p, str) else json.dumps(p, default=str) for p in pred]
    return pd.DataFrame(rows), preds
