"""Answer normalization and SQuAD-style exact match / F1 for extractive QA, as the benchmarks score it.

An answer is compared after *normalization*: lower-case, drop punctuation, drop articles
(replaced by a space), split into tokens, join with single spaces.  Exact match (EM) is
whether the normalized prediction equals a normalized gold answer; F1 is the harmonic mean
of precision and recall of the bag of tokens they share; both take the maximum over the
gold answers.  Which punctuation, which articles and which tokenization a language gets is
the *rule* (``qa_normalization``), one entry of :data:`RULES`:

- ``squad``: SQuAD v1.1's English rule for every language: ``str.lower``, drop the 32 ASCII
  characters of ``string.punctuation``, drop ``a``/``an``/``the`` as whole words (``\\b`` on
  Unicode word characters, so "theory" keeps its "the"), split on whitespace.  XTREME scores
  XQuAD and TyDiQA-GoldP with it in every language [xtreme evaluate.py L200-212,
  scripts/eval_qa.sh L41-62], so a Chinese or Thai answer without spaces is one token and
  its F1 is almost its EM.
- ``mlqa``: MLQA's rule, only for its 7 languages (ar de en es hi vi zh; any other raises, as
  the script does): ``str.lower``; drop every character of Unicode category P* and the
  ASCII ``string.punctuation`` (which adds the symbols ``$+<=>^`|~``); drop per-language
  articles -- en a/an/the; es un/una/unos/unas/el/la/los/las; de ein/eine/einen/einem/
  eines/einer/der/die/das/den/dem/des; vi của/là/cái/chiếc/những (a copula and "of" among
  them); ar, see below; hi and zh none; split on whitespace, except zh: *mixed
  segmentation*, each character in U+4E00-U+9FA5 (not the whole CJK block, which ends at
  U+9FFF; Extension A is left out too) and each punctuation character its own token, other
  runs split on whitespace.  EM compares the space-joined tokens, so for zh "北京 大学" and
  "北京大学" are equal, and F1 counts characters.
  **Arabic**: the script's pattern is ``'\\sال^|ال'``.  Its first branch can never match
  (``^`` after two consumed characters), so every "ال" is replaced by a space wherever it
  stands, inside words too: "الكتاب" -> "كتاب", but also "بالكتاب" -> "ب كتاب" (two tokens) and
  "مال" ("money") -> "م".  Reproduced as it is, so scores match the published ones.
- ``xltkit``: MLQA's rule where MLQA covers the language, plus rules for the real study's
  languages that it does not (whitespace tokens, Unicode punctuation, as MLQA's rule):
  fi (Finnish) and et (Estonian) have no articles; hu (Hungarian) drops ``a``, ``az``
  (definite) and ``egy`` (indefinite).  Sources: Grambank (Skirgård et al. 2023, as
  urielplus ships it, ``grambank_data.csv``): GB020 "definite or specific articles" and
  GB021 "indefinite articles" are 0/0 for fin and ekk and 1/1 for hun (GB022: before the
  noun); the forms are the standard ones (a before a consonant, az before a vowel, egy),
  checked against a learner's grammar (magyarnyelv.online, "Hungarian Articles: a/az and
  egy").  ``egy`` is also the numeral "one" (and ``az`` the demonstrative "that"):
  dropping it is a documented choice, the one MLQA makes for es un/una and de ein/eine,
  and it follows how the Hungarian QA set is written (SzegedAI/MILQA marks the shortest
  answer span, so a gold "Duna" and a predicted "a Duna" should match).  A gold answer
  "egy" alone then normalizes to "" and, as in SQuAD 2.0, counts as no answer.  Any other
  language raises: add its rule here.

None of the rules normalizes Unicode (NFC/NFD): the scripts do not, and nor does this.

Unanswerable questions follow SQuAD 2.0 [evaluate-v2.0.py, as in huggingface/evaluate
metrics/squad_v2/compute_score.py L79-123]: gold answers that normalize to "" are dropped;
if none is left (an empty gold list included) the only gold answer is "", so predicting ""
scores EM 1, F1 1, and anything else 0; F1 where either side has no tokens is 1 if both
have none, else 0.  The v1.1 and MLQA scripts differ from this in one case only, where a
gold answer *and* the prediction both normalize to "" (gold "The", prediction "a"): they
keep that gold and give EM 1 but F1 0; here it is dropped, so both are 1 if no other gold
is left and are scored against the others if some are.  Nothing else changes (checked on
20,000 random strings against the scripts).

XTREME reports EM and F1 (x100) per language, averages each over languages, and takes
(avg EM + avg F1) / 2 as a QA task's score in its overall and per-group scores
[xtreme evaluate.py L286-291, L311-319]; :func:`xtreme_average`.

Reimplemented from (read, not copied): google-research/xtreme@838c13b69daafb9328785d16caae2711e4012123
``third_party/evaluate_squad.py`` (SQuAD v1.1, L26-66), ``third_party/evaluate_mlqa.py``
(= facebookresearch/MLQA@5ef5c731 ``mlqa_evaluation_v1.py``; L21-111), ``evaluate.py``;
huggingface/evaluate@a7dd338386a4fae9a1767e05eb9ef9479513d9e8 ``metrics/squad_v2/compute_score.py``
(the official SQuAD 2.0 script).

Example::

    >>> f1("北京大学", ["北京"], "mlqa", "zh")   # 4 chars vs 2, 2 shared: P 1/2, R 1
    0.6666666666666666
    >>> exact_match("az Országház", ["Országház"], "xltkit", "hun")
    1.0
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from xltkit.core.registry import Registry, UnknownName
from xltkit.typology.languages import LANGUAGES

ANY = "*"  # the articles key of a rule that applies to every language

# ISO 639-3 codes of the covered languages that are not the table's own choice
# (xltkit.typology.languages picks cmn, ekk, arb for the macrolanguages)
_ISO3_ALIASES = {"zho": "zh", "est": "et", "ara": "ar"}


class QAMetricError(ValueError):
    """An unknown rule, a language the rule has no normalization for, or malformed gold answers."""


@dataclass(frozen=True)
class Rule:
    """One answer-normalization rule (see the module docstring).

    Attributes:
        articles: ISO 639-1 code -> regex of the words dropped as articles ("" for none); the
            key ``ANY`` makes the rule apply to every language.  A language without a key
            (and no ``ANY``) is not covered.
        unicode_punctuation: drop every Unicode P* character (MLQA) and not only ASCII's.
        mixed_segmentation: languages tokenized one character per CJK ideograph (MLQA's zh).
        fix: what to use instead, for the error on a language the rule does not cover.
    """

    name: str
    description: str
    articles: Mapping[str, str]
    unicode_punctuation: bool
    mixed_segmentation: frozenset[str] = field(default_factory=frozenset)
    fix: str = ""

    def covers(self, lang1: str) -> bool:
        return ANY in self.articles or lang1 in self.articles

    def languages(self) -> list[str]:
        """The ISO 639-1 codes it covers (["*"] for every language)."""
        return [ANY] if ANY in self.articles else sorted(self.articles)

    def normalize(self, text: str, lang1: str) -> str:
        """Lower-case, drop punctuation, drop articles, tokenize, join with single spaces (this order)."""
        text = text.lower().translate(_punctuation_table(self.unicode_punctuation))
        pattern = self.articles.get(lang1, self.articles.get(ANY, ""))
        if pattern:
            text = re.sub(pattern, " ", text)
        words = _mixed_segmentation(text) if lang1 in self.mixed_segmentation else text.split()
        return " ".join(words)


@lru_cache(maxsize=1)
def unicode_punctuation() -> frozenset[str]:
    """MLQA's punctuation: every character of a Unicode P* category, plus ``string.punctuation``."""
    chars = (chr(i) for i in range(sys.maxunicode + 1))
    return frozenset(c for c in chars if unicodedata.category(c).startswith("P")) | set(string.punctuation)


@lru_cache(maxsize=2)
def _punctuation_table(unicode: bool) -> dict[int, None]:
    chars = unicode_punctuation() if unicode else string.punctuation
    return {ord(c): None for c in chars}


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fa5"  # MLQA's range, narrower than the CJK Unified Ideographs block


def _mixed_segmentation(text: str) -> list[str]:
    """Each CJK ideograph and each punctuation character alone; the runs between them split on whitespace."""
    punct, out, run = unicode_punctuation(), [], []
    for ch in text:
        if _is_cjk(ch) or ch in punct:
            out.extend("".join(run).split())
            run = []
            out.append(ch)
        else:
            run.append(ch)
    out.extend("".join(run).split())
    return out


def _words(*forms: str) -> str:
    """A regex matching any of ``forms`` as a whole word (Python's Unicode ``\\b``)."""
    return r"\b(?:" + "|".join(forms) + r")\b"


_ENGLISH = _words("a", "an", "the")
_MLQA_ARTICLES = {
    "en": _ENGLISH,
    "es": _words("un", "una", "unos", "unas", "el", "la", "los", "las"),
    "de": _words("ein", "eine", "einen", "einem", "eines", "einer", "der", "die", "das", "den", "dem", "des"),
    "vi": _words("của", "là", "cái", "chiếc", "những"),
    "ar": "ال",  # the script's '\sال^|ال': its first branch never matches (see the module docstring)
    "hi": "",
    "zh": "",
}
_XLTKIT_ARTICLES = {**_MLQA_ARTICLES, "fi": "", "et": "", "hu": _words("a", "az", "egy")}

_SQUAD_FIX = "qa_normalization: squad (the English rule, as XTREME scores XQuAD and TyDiQA)"
_ADDED = ", ".join(sorted(set(_XLTKIT_ARTICLES) - set(_MLQA_ARTICLES)))  # et, fi, hu

RULES: Registry[Rule] = Registry("qa_normalization")
RULES.register("squad", Rule(
    "squad", "SQuAD v1.1's English rule for every language (ASCII punctuation, a/an/the, whitespace tokens)",
    {ANY: _ENGLISH}, unicode_punctuation=False))
RULES.register("mlqa", Rule(
    "mlqa", "MLQA's per-language rule (Unicode punctuation, its articles, zh mixed segmentation)",
    _MLQA_ARTICLES, unicode_punctuation=True, mixed_segmentation=frozenset({"zh"}),
    fix=f"use {_SQUAD_FIX} or xltkit (MLQA's rule plus {_ADDED})"))
RULES.register("xltkit", Rule(
    "xltkit", "MLQA's rule, plus fi and et (no articles) and hu (a, az, egy)",
    _XLTKIT_ARTICLES, unicode_punctuation=True, mixed_segmentation=frozenset({"zh"}),
    fix=f"use {_SQUAD_FIX}, or add the language's articles to xltkit.modeling.qa_metrics"))


def iso1(lang: str) -> str:
    """The benchmarks' two-letter code of ``lang``, given as ISO 639-1 (``fi``) or ISO 639-3 (``fin``)."""
    code = str(lang).strip().lower()
    if code in _ISO3_ALIASES:
        return _ISO3_ALIASES[code]
    if code in LANGUAGES:
        return LANGUAGES[code].iso1
    return code


def check_rule(rule: str, lang: str) -> Rule:
    """The rule named ``rule``, after checking it normalizes ``lang`` (ISO 639-1 or 639-3).

    Raises:
        QAMetricError: for an unknown rule, or a language the rule has no normalization for;
            the message names the rule, the language, the languages it covers and the fix.
    """
    try:
        entry = RULES[rule]
    except UnknownName as e:
        raise QAMetricError(f"{e} (see xltkit.modeling.qa_metrics)") from None
    code = iso1(lang)
    if not entry.covers(code):
        shown = f"{lang!r}" if code == lang else f"{lang!r} ({code!r})"
        raise QAMetricError(
            f"qa_normalization {rule!r} has no normalization for language {shown}: it covers "
            f"{', '.join(entry.languages())}; {entry.fix}")
    return entry


def normalizer(rule: str, lang: str) -> Callable[[str], str]:
    """``normalize`` for one rule and language, checked once (for scoring many answers)."""
    entry, code = check_rule(rule, lang), iso1(lang)
    return lambda text: entry.normalize(text, code)


def normalize(text: str, rule: str, lang: str) -> str:
    """``text`` normalized by ``rule`` for ``lang``: tokens joined by single spaces ("" for none)."""
    return normalizer(rule, lang)(text)


def tokens(text: str, rule: str, lang: str) -> list[str]:
    """The tokens F1 counts: the normalized text split on spaces (zh under mlqa/xltkit: one per ideograph)."""
    return normalize(text, rule, lang).split()


def _gold_forms(golds: Sequence[str], norm: Callable[[str], str]) -> list[str]:
    """The normalized gold answers, those that normalize to "" dropped; [""] if none is left (SQuAD 2.0)."""
    if isinstance(golds, str):
        raise QAMetricError(f"gold answers must be a list of strings, got the string {golds!r}; "
                            "wrap it in a list ([] for an unanswerable question)")
    return [g for g in map(norm, golds) if g] or [""]


def _token_f1(pred: list[str], gold: list[str]) -> float:
    if not pred or not gold:  # no answer on either side: right only if both have none
        return float(pred == gold)
    shared = sum((Counter(pred) & Counter(gold)).values())
    if shared == 0:
        return 0.0
    precision, recall = shared / len(pred), shared / len(gold)
    return 2 * precision * recall / (precision + recall)


def _em_f1(prediction: str, golds: Sequence[str], norm: Callable[[str], str]) -> tuple[float, float]:
    forms = _gold_forms(golds, norm)
    pred = norm(prediction)
    em = max(float(pred == g) for g in forms)
    f = max(_token_f1(pred.split(), g.split()) for g in forms)
    return em, f


def exact_match(prediction: str, golds: Sequence[str], rule: str, lang: str) -> float:
    """1.0 if the normalized prediction equals a normalized gold answer, else 0.0 (``golds=[]``: unanswerable)."""
    return _em_f1(prediction, golds, normalizer(rule, lang))[0]


def f1(prediction: str, golds: Sequence[str], rule: str, lang: str) -> float:
    """The best token F1 of the prediction against any gold answer (``golds=[]``: unanswerable)."""
    return _em_f1(prediction, golds, normalizer(rule, lang))[1]


def em_f1_arrays(predictions: Sequence[str], golds: Sequence[Sequence[str]], rule: str,
                 lang: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-example EM and F1 (each in [0, 1]; the scripts report 100 x their mean) for one language.

    Returns:
        (em, f1): two float arrays of shape (n_examples,).
    """
    if len(predictions) != len(golds):
        raise QAMetricError(f"{len(predictions)} predictions for {len(golds)} examples' gold answers")
    norm = normalizer(rule, lang)
    scores = [_em_f1(p, g, norm) for p, g in zip(predictions, golds)]
    em = np.array([s[0] for s in scores], dtype=float)  # (n_examples,)
    f = np.array([s[1] for s in scores], dtype=float)  # (n_examples,)
    return em, f


def xtreme_average(em: float, f1_value: float) -> float:
    """XTREME's score of a QA task: (EM + F1) / 2, each already averaged over languages [evaluate.py L291]."""
    return (em + f1_value) / 2
