"""Grambank in URIEL+: a language's Grambank values and their feature IDs, URIEL+'s resource
levels, and a morphological richness index (:func:`morphology_index`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import lru_cache

import pandas as pd

from xltkit.typology.codes import Proxy, _imitates_none, _no_glottocode, glottocode, resolve
from xltkit.typology.uriel import _urielplus_file

# Categories of inflectional morphology, each a set of Grambank features (their URIEL+
# column names in urielplus's grambank_data.csv, Grambank IDs in the comments; the mapping
# is urielplus's feature_mappings.json).  A category is present if any of its features is
# (so prefixing and suffixing languages count alike), absent if all are coded absent, and
# missing otherwise.
MORPHOLOGY_FEATURES: dict[str, tuple[str, ...]] = {
    # nouns
    "noun_case": ("M_MORPH_CASE_CORE_ARGS", "M_MORPH_CASE_OBL_NP"),  # GB070 core-argument case, GB072 oblique case
    "noun_number": ("M_PROD_PLURAL_MARK", "M_PROD_DUAL_MARK"),  # GB044 productive plural, GB043 productive dual
    "noun_possessor_index": ("M_PREFIX_POSSESSED_NOUN", "M_SUFFIX_POSSESSED_NOUN"),  # GB431, GB433 possessive affix
    # verbs
    "verb_subject_index": ("M_INTRANS_SUFFIX_INDEX", "M_INTRANS_PREFIX_INDEX",  # GB089, GB090 (S argument)
                           "M_TRANS_AGENT_SUFFIX_INDEX", "M_TRANS_AGENT_PREFIX_INDEX"),  # GB091, GB092 (A argument)
    "verb_object_index": ("M_TRANS_PATIENT_SUFFIX_INDEX", "M_TRANS_PATIENT_PREFIX_INDEX"),  # GB093, GB094
    "verb_tense": ("M_PRESENT_MARK", "M_PAST_MARK", "M_FUTURE_MARK"),  # GB082, GB083, GB084
    "verb_aspect": ("S_PERFECTIVE_VS_IMPERFECTIVE_MARK",),  # GB086 morphological perfective/imperfective
    "verb_mood": ("M_MOOD_MORPHOLOGY_VERB",),  # GB312
    "verb_negation": ("M_NEGATION_VERB_MARK",),  # GB107 negation by affix, clitic or verb modification
    "verb_passive": ("M_MORPH_PASSIVE_VERB",),  # GB147 morphological passive
}


@lru_cache(maxsize=1)
def _grambank_all() -> pd.DataFrame:
    """The Grambank table urielplus ships: glottocode x URIEL+ column, values 1 / 0 / -1 = unknown."""
    return pd.read_csv(_urielplus_file("grambank_data.csv")).set_index("language_id")


def _grambank() -> pd.DataFrame:
    """The Grambank columns of ``MORPHOLOGY_FEATURES``."""
    return _grambank_all()[sorted({c for cs in MORPHOLOGY_FEATURES.values() for c in cs})]


@lru_cache(maxsize=1)
def grambank_ids() -> dict[str, str]:
    """URIEL+ column name -> Grambank feature ID (``M_MORPH_CASE_CORE_ARGS`` -> ``GB070``), from
    urielplus's ``feature_mappings.json``."""
    import json

    mappings = json.loads(_urielplus_file("feature_mappings.json").read_text())
    return {c: r["source_features"][0]["id"] for r in mappings if r.get("database") == "GRAMBANK"
            for c in r["bundled_columns"]}


def grambank_values(iso: str) -> dict[str, int]:
    """The Grambank values (1 or 0; unknown ones left out) of an ISO code, by URIEL+ column name;
    empty where the language has no glottocode or no Grambank row."""
    glotto = glottocode(iso)
    table = _grambank_all()
    if glotto is None or glotto not in table.index:
        return {}
    row = table.loc[glotto]
    return {c: int(v) for c, v in row.items() if v != -1}


@lru_cache(maxsize=1)
def _resource_lists() -> dict[str, str]:
    import json

    levels = json.loads(_urielplus_file("resource_languages.json").read_text())
    return {g: level for level, glottos in levels.items() for g in glottos}


def resource_level(iso: str) -> str | None:
    """URIEL+'s resource level of a language: "high-resource", "medium-resource" or "low-resource"
    (urielplus's ``resource_languages.json``, by glottocode); None where it has no glottocode
    or the lists do not name it.

    The lists follow the taxonomy of Joshi et al. (2020), "The state and fate of linguistic
    diversity and inclusion in the NLP world" (ACL): the 7 high-resource languages are its
    class 5 (English, Spanish, German, Japanese, French, Arabic, Mandarin), the 46
    medium-resource ones its classes 4 and 3 (18 + 28 languages), all others classes 0-2.
    """
    glotto = glottocode(iso)
    return None if glotto is None else _resource_lists().get(glotto)


def _category(values: pd.Series) -> float:
    """Three-valued OR: 1 if any feature is present, 0 if all are coded absent, else NaN."""
    if (values == 1).any():
        return 1.0
    return 0.0 if (values == 0).all() else math.nan


def morphology_index(langs: list[str], proxies: Mapping[str, Proxy] | None = None) -> pd.DataFrame:
    """Typological morphological richness: the share of inflectional categories a language marks.

    For each category of ``MORPHOLOGY_FEATURES`` (case, number and possessor marking on
    nouns; subject and object indexing, tense, aspect, mood, negation and passive on
    verbs) Grambank says whether the language marks it morphologically; the index is
    present / known categories, in [0, 1].  It reads the Grambank table shipped with
    urielplus directly (a fraction of a second), so it needs no URIEL+ instance or cache.

    Args:
        langs: ISO 639-3 codes, and codes of ``proxies`` (a proxy takes the values of the
            language it imitates; one that imitates none gets NaN, with the reason in ``missing``).
        proxies: code -> :class:`~xltkit.typology.codes.Proxy` for languages URIEL+ does not know.

    Returns:
        Columns ``lang, morphology_index, n_features`` (categories with a value),
        ``n_missing`` (categories without), ``glottocode`` ("" if none), ``proxy_for`` (the
        ISO code a proxy stands for, else ""), ``missing`` (why the index is NaN, ""
        otherwise), then one 1/0/NaN column per category.

    Reference: Skirgård et al. (2023), "Grambank reveals the importance of genealogical
    constraints on linguistic diversity and highlights the impact of language loss",
    Science Advances 9(16), eadg6175.

    Example::

        >>> morphology_index(["fin", "eng"])[["lang", "morphology_index"]]
    """
    proxies = proxies or {}
    grambank = _grambank()
    rows = []
    for lang in langs:
        if _imitates_none(lang, proxies):
            rows.append({"lang": lang, "morphology_index": math.nan, "n_features": 0,
                         "n_missing": len(MORPHOLOGY_FEATURES), "glottocode": "", "proxy_for": "",
                         "missing": f"{lang} imitates no real language, so Grambank has nothing on it"})
            continue
        iso, proxy = resolve(lang, proxies)
        glotto = glottocode(iso)
        row = {"lang": lang, "morphology_index": math.nan, "n_features": 0, "n_missing": len(MORPHOLOGY_FEATURES),
               "glottocode": glotto or "", "proxy_for": proxy or "", "missing": ""}
        if glotto is None:
            row["missing"] = _no_glottocode(iso)
        elif glotto not in grambank.index:
            row["missing"] = f"no Grambank data for {iso} ({glotto})"
        else:
            values = {c: _category(grambank.loc[glotto, list(cs)]) for c, cs in MORPHOLOGY_FEATURES.items()}
            known = [v for v in values.values() if not math.isnan(v)]
            row.update(values, n_features=len(known), n_missing=len(values) - len(known),
                       morphology_index=sum(known) / len(known) if known else math.nan)
            if not known:
                row["missing"] = f"Grambank codes none of the morphology features for {iso} ({glotto})"
        rows.append(row)
    return pd.DataFrame(rows)
