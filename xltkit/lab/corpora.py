"""The lab's data: monolingual corpora by resource level, the lexicon table and parallel
text, all rendered from one world (deterministic per lab seed)."""

from __future__ import annotations

import random

import pandas as pd

from xltkit.lab.lab import Lab
from xltkit.lab.world import Meaning, concept_keys


def meaning_concepts(m: Meaning) -> list[str]:
    """The concept keys a meaning puts into words (a pronoun agent names no noun), in a fixed order."""
    keys = [] if m.agent_person is not None else [f"n{m.agent}"] + [f"a{a}" for a in m.agent_adjs]
    keys += [f"v{m.verb}", f"n{m.patient}"] + [f"a{a}" for a in m.patient_adjs]
    return keys + ([f"n{m.possessor}"] if m.possessor is not None else [])


def parallel_pairs(lab: Lab, src: str, lang: str, n: int) -> pd.DataFrame:
    """``n`` translation pairs: one meaning per pair rendered in ``src`` and in ``lang``
    (free word order and synonyms drawn independently per side), from a stream of their
    own, independent of the monolingual corpora and of other languages' pairs.

    Columns: lang, src_text, text, concepts (the meaning's concept keys, space-separated).
    """
    r = random.Random(f"{lab.lab_seed}-parallel-{src}-{lang}")
    a, b, rows = lab.language(src), lab.language(lang), []
    for _ in range(n):
        m = lab.world.meaning(r)
        rows.append((lang, a.sentence(m, r), b.sentence(m, r), " ".join(meaning_concepts(m))))
    return pd.DataFrame(rows, columns=["lang", "src_text", "text", "concepts"])


def corpus_frame(params) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every lab language's pretraining sentences (columns lang, text; a low-resource language
    gets ``low_resource_ratio`` of ``sentences_high``) and the number per language."""
    lab = params.build()
    rows, sizes = [], {}
    for code in params.langs:
        low = lab.language(code).spec.resource == "low"
        n = max(10, round(params.sentences_high * (params.low_resource_ratio if low else 1.0)))
        sizes[code] = n
        rows += [(code, s) for s in lab.corpus(code, n)]
    return pd.DataFrame(rows, columns=["lang", "text"]), sizes


def tokenizer_texts(corpus: pd.DataFrame, sizes: dict[str, int], langs: list[str]) -> list[str]:
    """An equal share of every language's sentences: the tokenizer sees every language equally."""
    n = min(sizes.values())
    return [t for code in langs for t in corpus.loc[corpus.lang == code, "text"].iloc[:n]]


def lexicon_frame(params) -> pd.DataFrame:
    """Every concept's form in every language, and whether it is shared or a cognate."""
    lab = params.build()
    return pd.DataFrame([(k, code, lab.language(code).lexicon[k], k in lab.shared_forms,
                          k in lab.language(code).cognate_keys)
                         for k in concept_keys() for code in params.langs],
                        columns=["concept", "lang", "form", "shared", "cognate"])


def parallel_frame(params) -> pd.DataFrame | None:
    """The parallel pairs of every language that gets them (None without parallel text)."""
    plangs = params.parallel_langs()
    if not plangs:
        return None
    lab = params.build()
    return pd.concat([parallel_pairs(lab, params.parallel_source, c, params.parallel_sentences) for c in plangs],
                     ignore_index=True)
