"""Syntactic feature rows: URIEL+'s ``S_`` features of real languages (by source, and aggregated
as URIEL+ does), the rows of lab languages, and URIEL+'s syntactic distance between two rows.

Lab languages are rows of the same syntactic features as real ones (:func:`feature_table`):
the URIEL+ ``S_`` features their parameters determine (:func:`lab_syntax_features`).  A
lab language that imitates no real language (the morphology series) takes its syntactic
distance from that row, with URIEL+'s own definition (:func:`syntactic_distance`).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from xltkit.results import write_parquet
from xltkit.typology.codes import _check_iso, _lab_only, resolve
from xltkit.typology.uriel import DEFAULT_CACHE, _cache_folder, _new_uriel

SYNTAX_CACHE_COLUMNS = ["lang", "feature", "source", "value"]  # one URIEL+ source's known value of one S_ feature
ORDERS = ("SVO", "SOV", "VSO", "VOS", "OVS", "OSV")

# The URIEL+ syntactic features a LanguageSpec determines (see lab_syntax_features), with
# the WALS chapter each one encodes where URIEL takes it from WALS (Littell et al. 2017
# fill the same S_ features from WALS, SSWL and Ethnologue).
WALS_CHAPTERS = {
    **{f"S_{o}": "81A" for o in ORDERS},
    "S_SUBJECT_BEFORE_VERB": "82A", "S_SUBJECT_AFTER_VERB": "82A",
    "S_OBJECT_BEFORE_VERB": "83A", "S_OBJECT_AFTER_VERB": "83A",
    "S_ADPOSITION_BEFORE_NOUN": "85A", "S_ADPOSITION_AFTER_NOUN": "85A",
    "S_POSSESSOR_BEFORE_NOUN": "86A", "S_POSSESSOR_AFTER_NOUN": "86A",
    "S_ADJECTIVE_BEFORE_NOUN": "87A", "S_ADJECTIVE_AFTER_NOUN": "87A",
    "S_CASE_SUFFIX": "51A", "S_CASE_PREFIX": "51A", "S_CASE_ENCLITIC": "51A", "S_CASE_PROCLITIC": "51A",
    "S_TEND_PREFIX": "26A", "S_TEND_SUFFIX": "26A",
    "S_PLURAL_PREFIX": "33A", "S_PLURAL_SUFFIX": "33A", "S_PLURAL_WORD": "33A",
    "S_POSSESSIVE_PREFIX": "57A", "S_POSSESSIVE_SUFFIX": "57A",
    "S_PAST_VS_PRESENT_MARK": "66A", "S_FUTURE_AFFIX": "67A",
    "S_TAM_PREFIX": "69A", "S_TAM_SUFFIX": "69A",
    "S_NEGATIVE_AFFIX": "112A", "S_NEGATIVE_WORD": "112A",
    "S_PROSUBJECT_AFFIX": "101A", "S_PROSUBJECT_WORD": "101A", "S_PROSUBJECT_CLITIC": "101A",
    "S_NOMINATIVE_VS_ACCUSATIVE_MARK": "98A", "S_ERGATIVE_VS_ABSOLUTIVE_MARK": "98A",
}
LAB_SYNTAX_FEATURES = (
    *(f"S_{o}" for o in ORDERS),
    "S_SUBJECT_BEFORE_VERB", "S_SUBJECT_AFTER_VERB", "S_OBJECT_BEFORE_VERB", "S_OBJECT_AFTER_VERB",
    "S_SUBJECT_BEFORE_OBJECT", "S_SUBJECT_AFTER_OBJECT",
    "S_ADJECTIVE_BEFORE_NOUN", "S_ADJECTIVE_AFTER_NOUN", "S_POSSESSOR_BEFORE_NOUN", "S_POSSESSOR_AFTER_NOUN",
    "S_CASE_SUFFIX", "S_CASE_PREFIX", "S_CASE_ENCLITIC", "S_CASE_PROCLITIC", "S_CASE_MARK",
    "S_NOMINATIVE_VS_ACCUSATIVE_MARK",
    "S_PLURAL_PREFIX", "S_PLURAL_SUFFIX", "S_PLURAL_WORD", "S_POSSESSIVE_PREFIX", "S_POSSESSIVE_SUFFIX",
    "S_PAST_VS_PRESENT_MARK", "S_FUTURE_AFFIX", "S_TAM_PREFIX", "S_TAM_SUFFIX",
    "S_NEGATIVE_AFFIX", "S_NEGATIVE_WORD", "S_NEGATIVE_PREFIX", "S_NEGATIVE_SUFFIX",
)
_CASE_FEATURE = {"suffixes": "S_CASE_SUFFIX", "prefixes": "S_CASE_PREFIX",
                 "postpositions": "S_CASE_ENCLITIC", "prepositions": "S_CASE_PROCLITIC"}


def lab_syntax_features(spec) -> dict[str, float]:
    """The URIEL+ syntactic features a lab language's parameters determine, as URIEL codes them.

    1.0 / 0.0 for each of ``LAB_SYNTAX_FEATURES`` the grammar settles, NaN where it says
    nothing.  Word order is the
    basic order (``order_freedom`` does not change it); case particles count as
    adpositional clitics (WALS 51A), as URIEL codes Japanese; a plural marker is a plural
    word (WALS 33A) in an isolating language and a suffix otherwise; tense, negation and
    possession are affixes only in a language that is not isolating.  Adposition order and
    the prefixing/suffixing tendency stay NaN: the lab renders no oblique phrases.

    Example::

        >>> f = lab_syntax_features(get_spec("lab_tur"))
        >>> f["S_SOV"], f["S_SVO"], f["S_CASE_SUFFIX"]
        (1.0, 0.0, 1.0)
    """
    f = dict.fromkeys(LAB_SYNTAX_FEATURES, math.nan)
    order = spec.word_order
    s, o, v = order.index("S"), order.index("O"), order.index("V")
    f.update({f"S_{x}": float(order == x) for x in ORDERS})
    f.update(S_SUBJECT_BEFORE_VERB=float(s < v), S_SUBJECT_AFTER_VERB=float(s > v),
             S_OBJECT_BEFORE_VERB=float(o < v), S_OBJECT_AFTER_VERB=float(o > v),
             S_SUBJECT_BEFORE_OBJECT=float(s < o), S_SUBJECT_AFTER_OBJECT=float(s > o))
    f.update(S_ADJECTIVE_BEFORE_NOUN=float(spec.adjective_position == "before"),
             S_ADJECTIVE_AFTER_NOUN=float(spec.adjective_position == "after"))
    f.update(S_POSSESSOR_BEFORE_NOUN=float(spec.genitive_position == "before"),
             S_POSSESSOR_AFTER_NOUN=float(spec.genitive_position == "after"))
    f.update({feat: float(spec.case_marking == c) for c, feat in _CASE_FEATURE.items()})
    marked = spec.case_marking != "none"  # the lab marks the patient (accusative) or both core roles
    f.update(S_CASE_MARK=float(marked), S_NOMINATIVE_VS_ACCUSATIVE_MARK=float(marked))
    bound = spec.morphology != "isolating"
    number, possession = "number" in spec.noun_categories, "possession" in spec.noun_categories
    f.update(S_PLURAL_PREFIX=0.0, S_PLURAL_SUFFIX=float(number and bound), S_PLURAL_WORD=float(number and not bound),
             S_POSSESSIVE_PREFIX=0.0, S_POSSESSIVE_SUFFIX=float(possession and bound))
    tense, prefix = "tense" in spec.verb_categories, spec.verb_affixes == "prefix"
    f.update(S_PAST_VS_PRESENT_MARK=float(tense), S_FUTURE_AFFIX=float(tense and bound),
             S_TAM_PREFIX=float(tense and bound and prefix), S_TAM_SUFFIX=float(tense and bound and not prefix))
    neg = bound and "polarity" in spec.verb_categories  # otherwise a negative particle
    f.update(S_NEGATIVE_AFFIX=float(neg), S_NEGATIVE_WORD=float(not neg),
             S_NEGATIVE_PREFIX=float(neg and prefix), S_NEGATIVE_SUFFIX=float(neg and not prefix))
    return f


def _syntax_file(cache_dir: str | Path) -> Path:
    return _cache_folder(cache_dir) / "syntax.parquet"


def _compute_syntax(isos: list[str]) -> pd.DataFrame:
    """Every source's known value of every S_ feature of ``isos``, from the plain URIEL+ instance.

    A language without any known value gets one row with an empty feature, so that the
    cache remembers it was looked up.
    """
    u = _new_uriel()
    feats, langs, data, sources = u.feats[1], list(u.langs[1]), u.data[1], [str(x) for x in u.sources[1]]
    syntax = [i for i, f in enumerate(feats) if str(f).startswith("S_")]
    rows = []
    for iso in isos:
        block = data[langs.index(iso)][syntax] if iso in langs else None  # (features, sources)
        found = [] if block is None else [(iso, str(feats[syntax[i]]), sources[j], float(block[i, j]))
                                          for i in range(block.shape[0]) for j in range(block.shape[1])
                                          if block[i, j] != -1]
        rows += found or [(iso, "", "", math.nan)]
    return pd.DataFrame(rows, columns=SYNTAX_CACHE_COLUMNS)


def syntax_sources(isos: list[str], cache_dir: str | Path = DEFAULT_CACHE) -> pd.DataFrame:
    """Each URIEL+ source's value of each syntactic (``S_``) feature of real languages, cached.

    Rows ``lang, feature, source, value`` (ETHNO, WALS or SSWL; 1.0 or 0.0; unknown values
    are left out) for the ISO codes ``isos``.  The first lookup of a language builds the
    plain URIEL+ (a few seconds); afterwards ``<cache_dir>/urielplus-<version>/syntax.parquet``
    answers.
    """
    isos = list(dict.fromkeys(_check_iso(i) for i in isos))
    path = _syntax_file(cache_dir)
    empty = pd.DataFrame({c: pd.Series(dtype=float if c == "value" else str) for c in SYNTAX_CACHE_COLUMNS})
    cache = pd.read_parquet(path) if path.is_file() else empty
    todo = [i for i in isos if i not in set(cache.lang)]
    if todo:
        new = _compute_syntax(todo)
        old = pd.read_parquet(path) if path.is_file() else empty  # re-read: another process may have added
        cache = pd.concat([old[~old.lang.isin(todo)], new], ignore_index=True)
        write_parquet(cache, path)
    return cache[cache.lang.isin(isos) & (cache.feature != "")].reset_index(drop=True)


def _uriel_rows(isos: list[str], cache_dir) -> dict[str, dict[str, float]]:
    """URIEL+'s syntactic vector of each ISO code: per feature the union (maximum) of its sources' values,
    as URIEL+ aggregates them by default; features no source knows are absent."""
    df = syntax_sources(isos, cache_dir)
    agg = df.groupby(["lang", "feature"]).value.max()
    return {iso: agg[iso].to_dict() if iso in agg.index.get_level_values(0) else {} for iso in isos}


def _feature_rows(codes: list[str], own: set[str], cache_dir) -> dict[str, dict[str, float]]:
    """Feature rows by code: a lab language's own for codes in ``own``, else the (imitated) real language's."""
    from xltkit.lab import get_spec

    isos = [resolve(c)[0] for c in codes if c not in own]
    real = _uriel_rows(isos, cache_dir) if isos else {}
    return {c: ({k: v for k, v in lab_syntax_features(get_spec(c)).items() if not math.isnan(v)} if c in own
                else real[resolve(c)[0]]) for c in codes}


def syntactic_distance(a: dict[str, float], b: dict[str, float]) -> float:
    """URIEL+'s syntactic distance between two feature rows (NaN if they share no known feature).

    The definition of URIEL+ ``new_distance("syntactic", ...)`` with its defaults: the
    features both languages have a value for, each value the union (maximum) over sources,
    then the angular distance ``2 * arccos(cos(a, b)) / pi`` rounded to 4 decimals (an
    all-zero vector is replaced by a tiny constant one, as URIEL+ does).  URIEL+'s other
    ``distance_metric``, cosine (``1 - cos``), is not its default.  Missing values are
    never imputed.

    Reference: Khan et al. (2025), "URIEL+: Enhancing linguistic inclusion and usability in
    a typological and multilingual knowledge base", COLING (``_angular_distance``).
    """
    shared = sorted(k for k in a.keys() & b.keys() if not (math.isnan(a[k]) or math.isnan(b[k])))
    if not shared:
        return math.nan
    u, v = np.array([a[k] for k in shared], float), np.array([b[k] for k in shared], float)
    u = u if np.linalg.norm(u) else np.full(len(u), 1e-10)
    v = v if np.linalg.norm(v) else np.full(len(v), 1e-10)
    cos = np.clip(np.dot(u / np.linalg.norm(u), v / np.linalg.norm(v)), -1.0, 1.0)
    return round(float(2 * np.arccos(cos) / np.pi), 4)


def _row_distance(rows: dict[str, dict[str, float]], s: str, t: str) -> tuple[float, str]:
    d = syntactic_distance(rows[s], rows[t])
    if not math.isnan(d):
        return d, ""
    empty = [c for c in dict.fromkeys((s, t)) if not rows[c]]
    if empty:
        return d, f"no syntactic features for {' or '.join(empty)} in URIEL+"
    return d, f"{s} and {t} share no syntactic feature with known values"


def feature_table(langs: list[str], columns=LAB_SYNTAX_FEATURES, lab_features: str = "own",
                  cache_dir: str | Path = DEFAULT_CACHE) -> pd.DataFrame:
    """Lab and real languages as rows of the same URIEL+ syntactic features.

    A real language's row is URIEL+'s (each feature the union of its sources, NaN where
    no source knows it); a lab language's row is what its parameters determine
    (:func:`lab_syntax_features`), or with ``lab_features="imitated"`` its imitated
    language's URIEL+ row (a lab language that imitates none always has its own).

    Args:
        langs: ISO 639-3 or lab codes.
        columns: the features; default ``LAB_SYNTAX_FEATURES``, those a lab language's
            parameters can settle.  Any URIEL+ ``S_`` features may be asked for: a lab
            row has NaN where its grammar says nothing.
        lab_features: ``"own"`` (default) or ``"imitated"``.
        cache_dir: where the URIEL+ values are cached (see :func:`syntax_sources`).

    Returns:
        Columns ``lang, row_source`` ("URIEL+" or "lab"), ``proxy_for`` (the ISO code whose
        URIEL+ row a lab language took, else ""), then one 1.0/0.0/NaN column per feature.

    Example::

        >>> feature_table(["lab_fin", "fin"], ["S_SVO", "S_SOV", "S_CASE_SUFFIX"])
              lang row_source proxy_for  S_SVO  S_SOV  S_CASE_SUFFIX
        0  lab_fin        lab              1.0    0.0            1.0
        1      fin     URIEL+              1.0    0.0            1.0
    """
    if lab_features not in ("imitated", "own"):
        raise ValueError(f"unknown lab_features {lab_features!r}; allowed: imitated, own")
    codes = list(dict.fromkeys(langs))
    own = {c for c in codes if c.startswith("lab_") and (lab_features == "own" or _lab_only(c))}
    rows_of = _feature_rows(codes, own, cache_dir)
    out = []
    for c in langs:
        proxy = "" if c in own else (resolve(c)[1] or "")
        row = {"lang": c, "row_source": "lab" if c in own else "URIEL+", "proxy_for": proxy}
        out.append({**row, **{f: rows_of[c].get(f, math.nan) for f in columns}})
    return pd.DataFrame(out, columns=["lang", "row_source", "proxy_for", *columns])
