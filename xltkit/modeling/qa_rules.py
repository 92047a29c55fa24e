"""The surface-cue rule of extractive QA: the sliding-window word-overlap baseline.

Richardson et al. (2013, MCTest, section 4.1) slide a window over the passage and score each
window by the question words it holds, each weighted by its inverse count in the passage,
``IC(w) = log(1 + 1/C(w))``; Rajpurkar et al. (2016, SQuAD, section 5.1) use it as their
sliding-window baseline (13% EM, 20% F1 on SQuAD's dev set), choosing among the constituents
of a parse.  Without a parser (so that it runs in every language), the rule here answers with
words next to the best match instead:

1. **words**: runs of letters, marks and digits (``regex``'s ``\\p{L}\\p{M}\\p{N}``), matched
   case-folded; punctuation is not a word.  Scripts written without spaces (Han, hiragana,
   katakana, Thai, Lao, Khmer, Myanmar) have no words to find: there each character (with its
   combining marks, one ``\\X`` grapheme) is a word, so in Chinese, Japanese and Thai the
   rule matches characters and answers with characters.
2. **window**: of the ``window`` consecutive context words, the one with the largest sum of
   ``IC`` over its words that are also question words (the first on ties); the count ``C`` is
   the word's count in the context.
3. **anchor**: the window's question word of largest ``IC`` (the first on ties): the rarest
   match, where the question's topic is.
4. **answer**: the ``length`` context words next to the anchor on its ``side`` ("after" or
   "before"), none of them a question word: question words right beside the anchor are
   stepped over, and the span ends before the next question word or at the context's edge
   (so it may be shorter).  Where that side has no such word, the other side; where the
   context holds no question word at all, its first ``length`` words.  The answer is the
   context's own text from the first word's first character to the last word's last, so it
   is scored by the task's metrics exactly as an encoder's answer is.  It never answers "no
   answer" (a SQuAD 2.0-style question without one scores 0).

``window``, ``length`` and ``side`` are fitted on the source-language training set, like the
other rules: the setting of :data:`WINDOWS` x :data:`LENGTHS` x :data:`SIDES` with the best mean
SQuAD F1 (English normalization, :mod:`xltkit.modeling.qa_metrics`) on at most
:data:`FIT_QUESTIONS` questions spread evenly over it; ties go to the first in that order.  A
word count fitted on English is a character count in the scripts without spaces.

Example::

    >>> rule = SlidingWindowRule(window=5, length=1, side="before")
    >>> rule.answer("When did the Normans conquer England?", "In 1066 the Normans conquered England.")
    '1066'
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass
from itertools import product

import numpy as np
import pandas as pd
import regex

#: scripts written without spaces between words: each character (grapheme) is a word there
_NO_SPACE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
WORD = regex.compile(r"(?=[" + _NO_SPACE + r"])\X|(?:(?![" + _NO_SPACE + r"])[\p{L}\p{M}\p{N}])+")

WINDOWS = (5, 10, 20, 40)  # words
LENGTHS = (1, 2, 3, 4, 5)  # words of the answer
SIDES = ("after", "before")
FIT_QUESTIONS = 2000


def words(text: str) -> list[tuple[str, int, int]]:
    """The words of ``text`` as (case-folded form, first character, end character) (step 1 above)."""
    return [(m.group().casefold(), m.start(), m.end()) for m in WORD.finditer(text)]


@dataclass
class _Parsed:
    """One question's context words, which of them are question words, and their weights."""

    spans: list[tuple[int, int]]  # (first character, end character) of each context word
    asked: list[bool]  # (n_words,): the word is a question word
    weight: np.ndarray  # (n_words,): IC of question words, 0 elsewhere


def _parse(question: str, context: str) -> _Parsed:
    ctx = words(context)
    q = {form for form, _, _ in words(question)}
    counts = Counter(form for form, _, _ in ctx)
    asked = [form in q for form, _, _ in ctx]
    weight = np.array([math.log1p(1 / counts[form]) if a else 0.0 for (form, _, _), a in zip(ctx, asked)])
    return _Parsed([(s, e) for _, s, e in ctx], asked, weight)


def _anchor(weight: np.ndarray, window: int) -> int | None:
    """The index of the best window's rarest question word (None: no question word in the context)."""
    if not len(weight) or weight.max() <= 0:
        return None
    w = min(window, len(weight))
    sums = np.convolve(weight, np.ones(w), mode="valid").round(9)  # (n_words - w + 1,): each window's score
    start = int(sums.argmax())  # the first of the best
    return start + int(weight[start:start + w].argmax())


def _span(asked: list[bool], anchor: int | None, length: int, side: str) -> tuple[int, int] | None:
    """(first word, last word) of the answer (step 4 above); None if every context word is a question word."""
    first = 1 if side == "after" else -1
    walks = [(-1, 1)] if anchor is None else [(anchor, first), (anchor, -first)]
    n = len(asked)
    for at, step in walks:
        k = at + step
        while 0 <= k < n and asked[k]:  # step over question words beside the anchor
            k += step
        taken = []
        while 0 <= k < n and not asked[k] and len(taken) < length:
            taken.append(k)
            k += step
        if taken:
            return min(taken), max(taken)
    return None


def _text(context: str, parsed: _Parsed, span: tuple[int, int] | None) -> str:
    if span is None:
        return ""
    return context[parsed.spans[span[0]][0]: parsed.spans[span[1]][1]]


@dataclass
class SlidingWindowRule:
    """Extractive QA: the sliding-window word-overlap answer (see the module docstring)."""

    window: int = 10
    length: int = 3
    side: str = "after"
    fit_f1: float | None = None  # mean F1 of the fitted setting on the questions it was fitted on
    fit_questions: int = 0

    summary = "the words beside the question's rarest match in the best-matching window (sliding-window baseline)"

    def answer(self, question: str, context: str) -> str:
        parsed = _parse(question, context)
        return _text(context, parsed, _span(parsed.asked, _anchor(parsed.weight, self.window), self.length, self.side))

    def fit(self, train: pd.DataFrame) -> "SlidingWindowRule":
        """The setting with the best mean SQuAD F1 on (up to :data:`FIT_QUESTIONS` of) ``train``."""
        from xltkit.modeling.qa_metrics import em_f1_arrays

        pick = np.unique(np.linspace(0, len(train) - 1, min(len(train), FIT_QUESTIONS)).round().astype(int))
        rows = train.iloc[pick]
        golds = [list(a["text"]) for a in rows["answers"]]
        parsed = [(c, _parse(q, c)) for q, c in zip(rows["question"], rows["context"])]
        best = None
        for window in WINDOWS:
            anchors = [_anchor(p.weight, window) for _, p in parsed]
            for length, side in product(LENGTHS, SIDES):
                preds = [_text(c, p, _span(p.asked, a, length, side)) for (c, p), a in zip(parsed, anchors)]
                f1 = float(em_f1_arrays(preds, golds, "squad", "eng")[1].mean())
                if best is None or f1 > best[0]:
                    best = (f1, window, length, side)
        self.fit_f1, self.window, self.length, self.side = best
        self.fit_questions = len(rows)
        return self

    @property
    def stats(self) -> dict:
        """What was fitted, for the fine-tuning stage's ``stats.json``."""
        return {"rule": asdict(self)}

    def predict(self, df: pd.DataFrame) -> list[str]:
        return [self.answer(q, c) for q, c in zip(df["question"], df["context"])]
