"""Surface-cue rules: the controls every result stands beside.

A zero-shot score above chance proves nothing if a rule that looks only at surface
cues scores as well.  Each rule is fitted on the source-language training set, exactly
like the encoder, and evaluated on every language's test set.

- ``rule-length``: majority label for each sentence length (in words).
- ``rule-bow``: multinomial Naive Bayes on word forms plus (word, position third)
  features, the strongest cheap surface model of the prototypes (FACTS.md); for token
  tasks the most frequent tag of each word form; for pair tasks the words of each
  sentence and the words only one of them has.
- ``rule-overlap`` (pair tasks): gradient-boosted trees on word-overlap features (Jaccard
  overlap, words only in one sentence, words in the same position, both lengths and
  their difference), the cue that hypothesis-only and overlap heuristics exploit in NLI
  and paraphrase data (McCoy et al. 2019; Zhang et al. 2019, PAWS).
"""

from __future__ import annotations

import pickle
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB

def _bow_features(words: list[str]) -> list[str]:
    n = max(len(words), 1)
    return list(words) + [f"{w}@{3 * j // n}" for j, w in enumerate(words)]


def _pair_bow_features(pair) -> list[str]:
    a, b = pair
    return [f"1:{w}" for w in a] + [f"2:{w}" for w in b] + [f"-{w}" for w in set(a) - set(b)] + \
        [f"+{w}" for w in set(b) - set(a)]


def overlap_features(a: list[str], b: list[str]) -> list[float]:
    """Surface features of a sentence pair: lengths, their difference, Jaccard overlap of
    word types, words only in the first / second, words equal at the same position."""
    sa, sb = set(a), set(b)
    same_pos = sum(x == y for x, y in zip(a, b))
    return [len(a), len(b), len(b) - len(a), len(sa & sb) / max(1, len(sa | sb)), len(sa - sb), len(sb - sa),
            same_pos, max(len(a), len(b)) - same_pos]


def _inputs(df: pd.DataFrame) -> list:
    """Sentences, or (sentence, sentence) for pair frames."""
    return list(zip(df["words"], df["words2"])) if "words2" in df else list(df["words"])


def _length(x) -> int | tuple[int, int]:
    return len(x) if not isinstance(x, tuple) else len(x[1]) - len(x[0])


class LengthRule:
    """Majority label per sentence length (pairs: per length difference)."""

    def fit(self, train: pd.DataFrame) -> "LengthRule":
        table: dict = defaultdict(Counter)
        for x, y in zip(_inputs(train), train["label"]):
            table[_length(x)][int(y)] += 1
        self.majority = Counter(int(y) for y in train["label"]).most_common(1)[0][0]
        self.by_length = {k: c.most_common(1)[0][0] for k, c in table.items()}
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return np.array([self.by_length.get(_length(x), self.majority) for x in _inputs(df)])


class BowRule:
    def fit(self, train: pd.DataFrame) -> "BowRule":
        pair = "words2" in train
        self.vec = CountVectorizer(analyzer=_pair_bow_features if pair else _bow_features)
        self.nb = MultinomialNB().fit(self.vec.fit_transform(_inputs(train)), train["label"].to_numpy())
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.nb.predict(self.vec.transform(_inputs(df)))


class OverlapRule:
    """Pair tasks: gradient-boosted trees on :func:`overlap_features`."""

    def fit(self, train: pd.DataFrame) -> "OverlapRule":
        x = np.array([overlap_features(a, b) for a, b in _inputs(train)])
        self.model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(x, train["label"].to_numpy())
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.model.predict(np.array([overlap_features(a, b) for a, b in _inputs(df)]))


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


#: each rule's class per head kind; a rule applies to a task when the task lists it in its
#: ``controls`` and its head kind has a class here
RULES: dict[str, dict[str, type]] = {
    "rule-length": {"sequence": LengthRule, "pair": LengthRule, "token": PositionTagRule},
    "rule-bow": {"sequence": BowRule, "pair": BowRule, "token": WordTagRule},
    "rule-overlap": {"pair": OverlapRule},
}
RULE_DESCRIPTIONS = {
    "rule-length": "majority label per sentence length (token tasks: per word position)",
    "rule-bow": "Naive Bayes on words and word positions (token tasks: each word's most frequent tag)",
    "rule-overlap": "gradient-boosted trees on word-overlap features; pair tasks only",
}


def fit_rule(name: str, head: str, train: pd.DataFrame):
    """The rule ``name`` fitted on a task frame of head kind ``head``."""
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r}; allowed: {', '.join(RULES)}")
    if head not in RULES[name]:
        raise ValueError(f"{name} has no version for {head} tasks; it applies to: {', '.join(RULES[name])}")
    return RULES[name][head]().fit(train)


# ---- saving and loading: a pickle that can only rebuild the rules' own kinds of object -------
#: what a rule is made of: classes of its own, of scikit-learn and of scipy (a constructor is all
#: a pickle can call on them), its feature functions, numpy's array and scalar rebuilders, counters
_NUMPY = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
          ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
          ("numpy._core.multiarray", "scalar"), ("numpy.random._pickle", "__generator_ctor"),
          ("numpy.random._pickle", "__bit_generator_ctor"), ("numpy.random._pickle", "__randomstate_ctor")}
_BUILTINS = {"set", "frozenset", "slice", "range", "complex", "bytearray", "dict", "list", "tuple", "int", "float",
             "str", "bool", "object"}
_FUNCTIONS = {"_bow_features", "_pair_bow_features"}


class _RuleUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if "." in name:  # a path through a module's imports (protocol 4: "np.memmap" of this module): never a rule's
            raise pickle.UnpicklingError(f"a rule file may not name {module}.{name}: an attribute path, not loaded")
        if (module == "builtins" and name in _BUILTINS) or (module, name) in _NUMPY or \
                (module == "collections" and name in ("Counter", "defaultdict", "OrderedDict")) or \
                (module == __name__ and name in _FUNCTIONS):
            return super().find_class(module, name)
        if module == __name__ or module.startswith(("sklearn.", "scipy.", "numpy.dtypes", "numpy.random")):
            obj = super().find_class(module, name)
            if isinstance(obj, type) or (name.startswith("__pyx_unpickle_") and not module.startswith(__name__)):
                return obj  # a class, or Cython's rebuilder of one of the module's own classes
        if module == "numpy":  # scalar types: numpy.int64, numpy.float32, ...
            obj = super().find_class(module, name)
            if isinstance(obj, type) and issubclass(obj, np.generic):
                return obj
        raise pickle.UnpicklingError(f"a rule file may hold only rules, scikit-learn and numpy objects; it refers "
                                     f"to {module}.{name}: not loaded (was the file replaced?)")


def save_rule(rule) -> bytes:
    return pickle.dumps(rule)


def load_rule(data: bytes):
    """A fitted rule from :func:`save_rule`'s bytes; refuses any other kind of object."""
    import io

    return _RuleUnpickler(io.BytesIO(data)).load()
