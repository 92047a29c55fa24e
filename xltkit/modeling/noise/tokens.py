"""Token-level noise: dataset transforms on the training words (word dropout and swaps,
Lample et al. 2018; character noise, Belinkov & Bisk 2018; RS-DA synonym substitution,
Huang et al. 2021; code-switching, CoSDA-ML, Qin et al. 2020)."""

from __future__ import annotations

import random

import pandas as pd

from xltkit.modeling.noise.methods import NOISE_METHODS, token_methods
from xltkit.modeling.noise.config import NoiseConfig


def _repair_bio(tags: list[int], names: tuple[str, ...] | None) -> list[int]:
    """After words were dropped or moved, make every span start with B- again (a B- right
    after a piece of the same type is joined to it: adjacent spans of one type merge)."""
    if not names or not any(n.startswith("I-") for n in names):
        return tags
    out, prev = [], "O"
    for t in tags:
        name = names[t]
        if name.startswith("I-") and prev[2:] != name[2:]:
            name = "B-" + name[2:]
        elif name.startswith("B-") and prev[2:] == name[2:] and f"I-{name[2:]}" in names:
            name = "I-" + name[2:]  # two pieces of one span moved next to each other
        out.append(names.index(name))
        prev = name
    return out


def word_dropout(words: list[str], tags: list[int] | None, p: float, rng: random.Random):
    """Drop every word with probability ``p`` (at least one word stays), with its tag."""
    keep = [rng.random() >= p for _ in words]
    if not any(keep):
        keep[rng.randrange(len(words))] = True
    return [w for w, k in zip(words, keep) if k], None if tags is None else [t for t, k in zip(tags, keep) if k]


def word_swap(words: list[str], tags: list[int] | None, p: float, rng: random.Random):
    """Swap neighbouring words with probability ``p`` per position (non-overlapping swaps), tags along."""
    words, tags = list(words), None if tags is None else list(tags)
    i = 0
    while i < len(words) - 1:
        if rng.random() < p:
            words[i], words[i + 1] = words[i + 1], words[i]
            if tags is not None:
                tags[i], tags[i + 1] = tags[i + 1], tags[i]
            i += 2
        else:
            i += 1
    return words, tags


def char_noise(word: str, alphabet: str, rng: random.Random) -> str:
    """One random character edit: delete, insert, substitute or swap two neighbours."""
    i = rng.randrange(len(word))
    op = rng.choice(("delete", "insert", "substitute", "swap") if len(word) > 1 else ("insert", "substitute"))
    if op == "delete":
        return word[:i] + word[i + 1:]
    if op == "insert":
        return word[:i] + rng.choice(alphabet) + word[i:]
    if op == "substitute":
        return word[:i] + rng.choice([c for c in alphabet if c != word[i]] or [word[i]]) + word[i + 1:]
    j = i + 1 if i + 1 < len(word) else i - 1
    chars = list(word)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def substitute(words: list[str], table: dict[str, list[str]], p: float, rng: random.Random) -> list[str]:
    """Replace every word found in ``table`` with probability ``p`` by a uniform draw from
    itself and its entries (so ``p=1`` is the authors' RS-DA perturbation)."""
    return [rng.choice([w, *table[w]]) if w in table and table[w] and rng.random() < p else w for w in words]


def code_switch(words: list[str], dictionaries: dict[str, dict[str, str]], p: float, rng: random.Random) -> list[str]:
    """Replace every dictionary word with probability ``p`` by its translation in a random language."""
    langs = sorted(dictionaries)
    out = []
    for w in words:
        if rng.random() < p:
            lang = rng.choice(langs)
            w = dictionaries[lang].get(w, w)
        out.append(w)
    return out


# ---- the token methods' one-sentence transforms (named by their NOISE_METHODS entries) ----
def dropout_step(words, tags, cfg, rng, ctx):
    return word_dropout(words, tags, cfg.scale, rng)


def swap_step(words, tags, cfg, rng, ctx):
    return word_swap(words, tags, cfg.scale, rng)


def char_step(words, tags, cfg, rng, ctx):
    return [char_noise(w, ctx["alphabet"], rng) if w and rng.random() < cfg.scale else w for w in words], tags


def synonym_step(words, tags, cfg, rng, ctx):
    return substitute(words, ctx["synonyms"], cfg.scale, rng), tags


def code_switch_step(words, tags, cfg, rng, ctx):
    return code_switch(words, cfg.dictionaries, cfg.scale, rng), tags


def perturb_frame(df: pd.DataFrame, cfg: NoiseConfig, copy: int = 0, synonyms: dict[str, list[str]] | None = None
                  ) -> pd.DataFrame:
    """A noisy copy of a task frame (columns words, label | tags; pair tasks: words and
    words2, both perturbed): the token-level methods.

    ``copy`` selects an independent draw (copy ``c`` of seed ``s`` is always the same).
    Labels of sequence tasks stay; tags of token tasks follow their words (BIO spans are
    repaired after drops and swaps).  Words are changed only by the chosen method.
    """
    if cfg.method not in token_methods():
        raise ValueError(f"perturb_frame is for token-level noise ({', '.join(token_methods())}), not {cfg.method!r}")
    method = NOISE_METHODS[cfg.method]
    step = method.transform_function()
    rng = random.Random(f"{cfg.seed}-{cfg.method}-{copy}")
    has_tags = "tags" in df.columns
    table = synonyms if synonyms is not None else cfg.synonyms
    if cfg.method == "rs-da" and table is None:
        raise ValueError("rs-da needs a synonym table (synonym_file, or embedding_synonyms(model, tokenizer, words))")
    if cfg.method == "code-switch" and not cfg.dictionaries:
        raise ValueError("code-switch needs bilingual dictionaries (code_switch_langs)")
    pair = "words2" in df.columns
    if cfg.method in cfg.label_changing:
        raise ValueError(f"{cfg.method} can change this task's labels (for a sentence pair, a dropped 'not' turns a "
                         f"contradiction into an entailment); use one of "
                         f"{', '.join(m for m in token_methods() if m not in cfg.label_changing)}")
    columns = ["words", "words2"] if pair else ["words"]
    ctx = {"alphabet": "".join(sorted({c for col in columns for ws in df[col] for w in ws for c in w})),
           "synonyms": table}
    out = df.copy()
    for col in columns:  # a pair's two sentences get independent draws of the same label-preserving noise
        new_words, new_tags = [], []
        for ws, tags in zip(df[col], df["tags"] if has_tags else [None] * len(df)):
            ws, tags = list(ws), None if tags is None else [int(t) for t in tags]
            ws, tags = step(ws, tags, cfg, rng, ctx)
            if tags is not None and method.moves_words:
                tags = _repair_bio(tags, cfg.tag_names)
            new_words.append(ws)
            new_tags.append(tags)
        out[col] = new_words
        if has_tags:
            out["tags"] = new_tags
    return out
