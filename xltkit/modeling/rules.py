"""Surface-cue rules: the controls every result stands beside.

A zero-shot score above chance proves nothing if a rule that looks only at surface
cues scores as well.  Each rule is fitted on the source-language training set, exactly
like the encoder, and evaluated on every language's test set.  A rule name has one
version per head kind it applies to (:data:`RULES`); a task lists the names that apply to it
in its ``controls``, and a run naming another is refused before any work starts.

- ``rule-length``: majority label for each sentence length (in words); for token tasks the
  most frequent tag at each word position; for multiple choice the longest or the shortest
  choice, whichever was right more often in training.
- ``rule-bow``: multinomial Naive Bayes on word forms plus (word, position third)
  features, the strongest cheap surface model of the prototypes (FACTS.md); for token
  tasks the most frequent tag of each word form; for pair tasks the words of each
  sentence and the words only one of them has.  For extractive QA the sliding-window
  word-overlap baseline (Richardson et al. 2013; Rajpurkar et al. 2016's SQuAD baseline):
  the context words next to the question's rarest match in the window that matches it
  best (:mod:`xltkit.modeling.qa_rules`).  For retrieval, TF-IDF vectors of character
  n-grams and their cosine, top-1 in both directions (:class:`CharNgramRetrievalRule`):
  names, numbers and shared cognates, the surface cues a bitext miner can use.
- ``rule-overlap`` (pair tasks): gradient-boosted trees on word-overlap features (Jaccard
  overlap, words only in one sentence, words in the same position, both lengths and
  their difference), the cue that hypothesis-only and overlap heuristics exploit in NLI
  and paraphrase data (McCoy et al. 2019; Zhang et al. 2019, PAWS).  For multiple choice
  the choice sharing the most (or, as fitted, the fewest) words with the premise.

For multiple choice (XCOPA, COPA, SIQa) ``rule-bow`` is the choice-only cue: Naive Bayes on
each candidate's own words, right vs wrong, without reading the premise (the hypothesis-only
baseline of Gururangan et al. 2018; Kavumba et al. 2019 found such single-word cues in COPA).
Fitted on English, it finds few of its words in another language and falls back to its prior:
there it measures little, which is what a zero-shot control should show.  ``xltkit models`` lists each rule's versions by head kind.
"""

from __future__ import annotations

import pickle
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.naive_bayes import MultinomialNB

from xltkit.modeling.qa_rules import SlidingWindowRule

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

    summary = "majority label per sentence length (pairs: per length difference)"

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
    """Multinomial Naive Bayes on words and word positions (pairs: each sentence's words and those only one has)."""

    summary = "Naive Bayes on words and word positions"

    def fit(self, train: pd.DataFrame) -> "BowRule":
        pair = "words2" in train
        self.vec = CountVectorizer(analyzer=_pair_bow_features if pair else _bow_features)
        self.nb = MultinomialNB().fit(self.vec.fit_transform(_inputs(train)), train["label"].to_numpy())
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.nb.predict(self.vec.transform(_inputs(df)))


class OverlapRule:
    """Pair tasks: gradient-boosted trees on :func:`overlap_features`."""

    summary = "gradient-boosted trees on word-overlap features"

    def fit(self, train: pd.DataFrame) -> "OverlapRule":
        x = np.array([overlap_features(a, b) for a, b in _inputs(train)])
        self.model = HistGradientBoostingClassifier(max_iter=100, random_state=0).fit(x, train["label"].to_numpy())
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        return self.model.predict(np.array([overlap_features(a, b) for a, b in _inputs(df)]))


class WordTagRule:
    """Token tasks: each word form gets its most frequent training tag (else the overall one)."""

    summary = "each word's most frequent tag"

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

    summary = "the most frequent tag at each word position"

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


def _choice_words(text: str) -> list[str]:
    """Case-folded words of a premise or a choice (every script: the QA rule's word splitter)."""
    from xltkit.modeling.qa_rules import words

    return [form for form, _, _ in words(text)]


def _choice_features(item) -> list[str]:
    """A candidate's surface: its words, and each word tagged with the question (cause / effect)."""
    question, choice = item
    ws = _choice_words(choice)
    return ws + [f"{question}:{w}" for w in ws]


class _ExtremeChoice:
    """A choice picked by where its surface measure ranks among the candidates (the largest or the
    smallest), as fitted: per question where a question recurs (COPA's cause / effect: at least
    :attr:`MIN_VOTES` training examples), else over all questions; a tie between candidates, or
    an extreme never right in training: the most frequent answer index."""

    MIN_VOTES = 20
    names = ("largest", "smallest")

    def measure(self, row) -> np.ndarray:  # one value per candidate
        raise NotImplementedError

    def fit(self, train: pd.DataFrame) -> "_ExtremeChoice":
        votes: dict = defaultdict(Counter)
        for row, y in zip(train.to_dict("records"), train["label"]):
            m = self.measure(row)
            if m.max() > m.min():
                won = self.names[0] if m[int(y)] == m.max() else self.names[1] if m[int(y)] == m.min() else "neither"
                votes[row["question"]][won] += 1
                votes[None][won] += 1
        self.pick = {q: c.most_common(1)[0][0] for q, c in votes.items()
                     if q is None or sum(c.values()) >= self.MIN_VOTES}
        self.majority = Counter(int(y) for y in train["label"]).most_common(1)[0][0]
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        out = []
        for row in df.to_dict("records"):
            m, pick = self.measure(row), self.pick.get(row["question"], self.pick.get(None, "neither"))
            if pick == "neither" or m.max() == m.min():
                out.append(min(self.majority, len(m) - 1))
            else:
                out.append(int(m.argmax() if pick == self.names[0] else m.argmin()))
        return np.array(out)


class ChoiceLengthRule(_ExtremeChoice):
    """Multiple choice: the longest candidate (in words), or the shortest, whichever was right more
    often in training."""

    summary = "the longest or the shortest choice, whichever was right more often in training"
    names = ("longest", "shortest")

    def measure(self, row) -> np.ndarray:
        return np.array([len(_choice_words(c)) for c in row["choices"]])


class ChoiceBowRule:
    """Multiple choice: Naive Bayes on each candidate's own words (and the words tagged with the
    question), trained on right vs wrong candidates; the candidate most likely right is chosen.  It
    never reads the premise: the choice-only cue (Gururangan et al. 2018's hypothesis-only baseline;
    Kavumba et al. 2019 on single-word cues in COPA's answers)."""

    summary = "Naive Bayes on each choice's words alone (the premise unread): the choice-only cue"

    def fit(self, train: pd.DataFrame) -> "ChoiceBowRule":
        items, right = [], []
        for q, choices, y in zip(train["question"], train["choices"], train["label"]):
            items += [(q, c) for c in choices]
            right += [int(j == int(y)) for j in range(len(choices))]
        self.vec = CountVectorizer(analyzer=_choice_features)
        self.nb = MultinomialNB().fit(self.vec.fit_transform(items), np.array(right))
        return self

    def predict(self, df: pd.DataFrame) -> np.ndarray:
        out = []
        for q, choices in zip(df["question"], df["choices"]):
            logp = self.nb.predict_log_proba(self.vec.transform([(q, c) for c in choices]))
            out.append(int(np.argmax(logp[:, 1] - logp[:, 0])))  # ties: the first
        return np.array(out)


class ChoiceOverlapRule(_ExtremeChoice):
    """Multiple choice: the candidate sharing the most words with the premise (Jaccard overlap of
    word types), or the fewest, whichever was right more often in training."""

    summary = "the choice with the most (or fewest) words in common with the premise, as fitted"
    names = ("most", "fewest")

    def measure(self, row) -> np.ndarray:
        p = set(_choice_words(row["premise"]))
        return np.array([len(p & (w := set(_choice_words(c)))) / max(1, len(p | w)) for c in row["choices"]])


NGRAMS = (2, 4)  # the retrieval rule's character n-gram lengths


class CharNgramRetrievalRule:
    """Retrieval: TF-IDF vectors of character n-grams, nearest neighbour by cosine, top-1 in both
    directions, as :class:`xltkit.modeling.retrieval.RetrievalHead` ranks embeddings.

    Character n-grams of :data:`NGRAMS` characters inside word boundaries (scikit-learn's
    ``char_wb``: a word padded with one space each side), lower-cased, sublinear term
    frequency, L2-normalised, so the dot product is the cosine.  Nothing is fitted on labels:
    as the encoder is used without training on Tatoeba, the rule is too, and its IDF weights
    come from the set's own sentences, both sides (no alignment read).  It needs no spaces:
    in Chinese or Thai a "word" is the run between spaces and its n-grams are still n-grams.
    A prediction is ``(forward, backward)``: the id of the nearest ``text2`` row of each ``text``
    row (``accuracy``) and of the nearest ``text`` row of each ``text2`` row
    (``accuracy_reverse``); ties go to the first row.
    """

    summary = f"TF-IDF of character {NGRAMS[0]}-{NGRAMS[1]}-grams, nearest neighbour by cosine both ways"

    def fit(self, train=None) -> "CharNgramRetrievalRule":
        return self  # nothing to fit: retrieval has no training set

    def predict(self, df: pd.DataFrame) -> list[tuple[int, int]]:
        vec = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAMS, lowercase=True, sublinear_tf=True)
        vec.fit([*df["text"], *df["text2"]])
        sim = cosine_similarity(vec.transform(df["text"]), vec.transform(df["text2"]))  # (n, n): text x text2
        ids = df["id"].tolist()
        return [(ids[f], ids[b]) for f, b in zip(sim.argmax(1).tolist(), sim.argmax(0).tolist())]


#: each rule's class per head kind; a rule applies to a task when the task lists it in its
#: ``controls`` and its head kind has a class here
RULES: dict[str, dict[str, type]] = {
    "rule-length": {"sequence": LengthRule, "pair": LengthRule, "token": PositionTagRule,
                    "multiple_choice": ChoiceLengthRule},
    "rule-bow": {"sequence": BowRule, "pair": BowRule, "token": WordTagRule, "multiple_choice": ChoiceBowRule,
                 "extractive_qa": SlidingWindowRule, "retrieval": CharNgramRetrievalRule},
    "rule-overlap": {"pair": OverlapRule, "multiple_choice": ChoiceOverlapRule},
}


def describe(name: str) -> str:
    """What rule ``name`` does for each head kind it applies to ("sequence, pair: ...; token: ...")."""
    by_class: dict[type, list[str]] = {}
    for head, cls in RULES[name].items():
        by_class.setdefault(cls, []).append(head)
    return "; ".join(f"{', '.join(heads)}: {cls.summary}" for cls, heads in by_class.items())


RULE_DESCRIPTIONS = {name: describe(name) for name in RULES}


def rules_for(head: str) -> list[str]:
    """The rule names that have a version for head kind ``head``."""
    return [name for name, heads in RULES.items() if head in heads]


def make_rule(name: str, head: str):
    """A new (unfitted) rule ``name`` for head kind ``head``; an unknown name or a head kind the
    rule has no version for raises, naming what is allowed."""
    if name not in RULES:
        raise ValueError(f"unknown rule {name!r}; allowed: {', '.join(RULES)}")
    if head not in RULES[name]:
        raise ValueError(f"{name} has no version for {head} tasks; it applies to: {', '.join(RULES[name])} (rules "
                         f"for {head} tasks: {', '.join(rules_for(head)) or 'none'})")
    return RULES[name][head]()


def fit_rule(name: str, head: str, train: pd.DataFrame):
    """The rule ``name`` fitted on a task frame of head kind ``head``."""
    return make_rule(name, head).fit(train)


# ---- saving and loading: a pickle that can only rebuild the rules' own kinds of object -------
#: what a rule is made of: classes of its own, of scikit-learn and of scipy (a constructor is all
#: a pickle can call on them), its feature functions, numpy's array and scalar rebuilders, counters
_NUMPY = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
          ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "scalar"),
          ("numpy._core.multiarray", "scalar"), ("numpy.random._pickle", "__generator_ctor"),
          ("numpy.random._pickle", "__bit_generator_ctor"), ("numpy.random._pickle", "__randomstate_ctor")}
_BUILTINS = {"set", "frozenset", "slice", "range", "complex", "bytearray", "dict", "list", "tuple", "int", "float",
             "str", "bool", "object"}
_FUNCTIONS = {"_bow_features", "_pair_bow_features", "_choice_features"}
_OWN = (__name__, "xltkit.modeling.qa_rules")  # the modules whose classes a rule file may hold


class _RuleUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if "." in name:  # a path through a module's imports (protocol 4: "np.memmap" of this module): never a rule's
            raise pickle.UnpicklingError(f"a rule file may not name {module}.{name}: an attribute path, not loaded")
        if (module == "builtins" and name in _BUILTINS) or (module, name) in _NUMPY or \
                (module == "collections" and name in ("Counter", "defaultdict", "OrderedDict")) or \
                (module == __name__ and name in _FUNCTIONS):
            return super().find_class(module, name)
        if module in _OWN or module.startswith(("sklearn.", "scipy.", "numpy.dtypes", "numpy.random")):
            obj = super().find_class(module, name)
            if isinstance(obj, type) or (name.startswith("__pyx_unpickle_") and module not in _OWN):
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
