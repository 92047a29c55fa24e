"""Corpus measures of morphological richness.

Each takes whitespace-tokenized text (an iterable of sentences) and returns one number;
:func:`richness_table` computes all of them per language.  Richer morphology packs more
grammatical information into each word form, so it shows as more distinct word types
(higher MATTR and unigram entropy), longer words and more subwords per word.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable

import pandas as pd


def _words(sentences: Iterable[str]) -> list[str]:
    return [w for s in sentences for w in s.split()]


def mattr(sentences: Iterable[str], window: int = 500) -> float:
    """Moving-average type-token ratio: the mean type/token ratio over every window of
    ``window`` consecutive words, which, unlike plain TTR, does not fall with text length.

    Covington & McFall (2010), "Cutting the Gordian knot: the moving-average type-token
    ratio (MATTR)", Journal of Quantitative Linguistics 17(2).  Texts shorter than the
    window fall back to plain TTR.
    """
    words = _words(sentences)
    if not words:
        raise ValueError("mattr: no words in the text")
    if len(words) <= window:
        return len(set(words)) / len(words)
    counts = Counter(words[:window])
    total = len(counts)
    for i in range(window, len(words)):  # slide: one word in, one out
        counts[words[i]] += 1
        out = words[i - window]
        counts[out] -= 1
        if counts[out] == 0:
            del counts[out]
        total += len(counts)
    return total / (len(words) - window + 1) / window


def unigram_entropy(sentences: Iterable[str]) -> float:
    """Shannon entropy (bits) of the word unigram distribution, plug-in estimate.

    Used as a morphological-complexity measure by Bentz et al. (2016), "A comparison
    between morphological complexity measures", Proc. CL4LC.  Compare languages on
    samples of equal length: the plug-in estimate grows with sample size.
    """
    counts = Counter(_words(sentences))
    n = sum(counts.values())
    if not n:
        raise ValueError("unigram_entropy: no words in the text")
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def chars_per_word(sentences: Iterable[str]) -> float:
    """Mean word length in characters."""
    words = _words(sentences)
    if not words:
        raise ValueError("chars_per_word: no words in the text")
    return sum(map(len, words)) / len(words)


def fertility(sentences: Iterable[str], tokenizer) -> float:
    """Subword fertility: mean number of subword tokens per word under ``tokenizer``.

    Rust et al. (2021), "How Good is Your Tokenizer? On the Monolingual Performance of
    Multilingual Language Models", ACL, sec. 3.
    """
    words = _words(sentences)
    if not words:
        raise ValueError("fertility: no words in the text")
    if hasattr(tokenizer, "encode_batch"):  # a bare `tokenizers.Tokenizer`
        enc = [e.ids for e in tokenizer.encode_batch(words, add_special_tokens=False)]
    else:  # a transformers tokenizer
        enc = tokenizer(words, add_special_tokens=False)["input_ids"]
    return sum(map(len, enc)) / len(words)


def richness_table(corpora: dict[str, list[str]], tokenizer=None, n_words: int = 20000,
                   window: int = 500) -> pd.DataFrame:
    """All measures per language on the first ``n_words`` words of each corpus (equal
    samples, since entropy depends on sample size)."""
    rows = []
    for lang, sents in corpora.items():
        sample, count = [], 0
        for s in sents:
            if count >= n_words:
                break
            sample.append(s)
            count += len(s.split())
        row = {"lang": lang, "n_words": count, "mattr": mattr(sample, window),
               "unigram_entropy": unigram_entropy(sample), "chars_per_word": chars_per_word(sample)}
        if tokenizer is not None:
            row["fertility"] = fertility(sample, tokenizer)
        rows.append(row)
    return pd.DataFrame(rows)
