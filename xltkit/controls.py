"""Surface-cue rules: the controls every lab result stands beside.

A zero-shot score above chance proves nothing if a rule that looks only at surface
cues scores as well.  Each rule is fitted on the source-language training set, exactly
like the encoder, and evaluated on every language's test set.

- ``rule-length``: majority label for each sentence length (in words).
- ``rule-bow``: multinomial Naive Bayes on word forms plus (word, position third)
  features, the strongest cheap surface model of the prototypes (FACTS.md); for token
  tasks the most frequent tag of each word form.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB

RULES = ("rule-length", "rule-bow")


def _bow_features(words: list[str]) -> list[str]:
    n = max(len(words), 1)
    return list(words) + [f"{w}@{3 * j // n}" for j, w in enumerate(words)]


class LengthRule:
    def fit(self, train: pd.DataFrame) -> "LengthRule":
        table: dict[int, Counter] = defaultdict(Counter)
        for words, y in zip(train["words"], train["label"]):
            table[len(words)][int(y)] += 1
        self.majority = Counter(int(y) for y in train["label"]).most_common(1)[0][0]
        self.by_length = {k: c.most_common(1)[0][0] for k, c in table.items()}
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return np.array([self.by_length.get(len(w), self.majority) for w in df["words"]])


class BowRule:
    def fit(self, train: pd.DataFrame) -> "BowRule":
        self.vec = CountVectorizer(analyzer=_bow_features)
        self.nb = MultinomialNB().fit(self.vec.fit_transform(train["words"]), train["label"].to_numpy())
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.nb.predict(self.vec.transform(df["words"]))


class WordTagRule:
    """Token tasks: each word form gets its most frequent training tag (else the overall one)."""

    def fit(self, train: pd.DataFrame) -> "WordTagRule":
        counts: dict[str, Counter] = defaultdict(Counter)
        for words, tags in zip(train["words"], train["tags"]):
            for w, t in zip(words, tags):
                counts[w][int(t)] += 1
        self.default = Counter(t for tags in train["tags"] for t in tags).most_common(1)[0][0]
        self.best = {w: c.most_common(1)[0][0] for w, c in counts.items()}
        return self

    def predict(self, df: pd.DataFrame) -> list[list[int]]:
        return [[self.best.get(w, self.default) for w in words] for words in df["words"]]


class PositionTagRule:
    """Token tasks: the most frequent tag at each word position."""

    def fit(self, train: pd.DataFrame) -> "PositionTagRule":
        counts: dict[int, Counter] = defaultdict(Counter)
        for tags in train["tags"]:
            for j, t in enumerate(tags):
                counts[j][int(t)] += 1
        self.best = {j: c.most_common(1)[0][0] for j, c in counts.items()}
        self.default = Counter(t for tags in train["tags"] for t in tags).most_common(1)[0][0]
        return self

    def predict(self, df: pd.DataFrame) -> list[list[int]]:
        return [[self.best.get(j, self.default) for j in range(len(words))] for words in df["words"]]


def fit_rule(name: str, kind: str, train: pd.DataFrame):
    """The rule ``name`` ("rule-length" | "rule-bow") fitted on ``train`` for a task of ``kind``."""
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r}; allowed: {', '.join(RULES)}")
    if kind == "sequence":
        return (LengthRule() if name == "rule-length" else BowRule()).fit(train)
    return (PositionTagRule() if name == "rule-length" else WordTagRule()).fit(train)
