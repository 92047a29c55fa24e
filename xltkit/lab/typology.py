"""Lab languages in the URIEL+ typology (:mod:`xltkit.typology`, which knows nothing of the lab).

Lab languages are rows of the same syntactic features as real ones (:func:`feature_table`):
the URIEL+ ``S_`` features their parameters determine (:func:`lab_syntax_features`).  A lab
code (``lab_fin``) stands for the real language it imitates; a lab language that imitates no
real language (the morphology series) takes its syntactic distance from its own row, with
URIEL+'s own definition (:func:`xltkit.typology.syntactic_distance`).  :func:`proxies` makes
the :class:`xltkit.typology.Proxy` of each lab code, and :func:`distance_table`,
:func:`feature_table` and :func:`morphology_index` here accept ISO 639-3 and lab codes
alike and pass the lab's on as proxies.  The presets read their parameters off URIEL+ with
:func:`xltkit.typology.syntax_sources`, :func:`~xltkit.typology.grambank_values` and
:func:`~xltkit.typology.resource_level` (see :mod:`xltkit.lab.derive`, which cites
``WALS_CHAPTERS``).

Example::

    >>> distance_table(["fin", "lab_hun"], ["eng"], kinds=["syntactic", "genetic"])
        source target  syntactic  genetic source_proxy_for target_proxy_for missing
    0      fin    eng     0.5052      1.0
    1  lab_hun    eng     0.5765      1.0              hun
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from xltkit import typology
from xltkit.lab.presets import get_spec
from xltkit.lab.spec import LanguageSpec
from xltkit.typology import DEFAULT_CACHE, DISTANCES, ORDERS, SYNTAX_FEATURES, Proxy

# The URIEL+ syntactic features a LanguageSpec determines (see lab_syntax_features) and those the
# presets' derivation cites (xltkit.lab.derive), with the WALS chapter each one encodes where URIEL
# takes it from WALS (Littell et al. 2017 fill the same S_ features from WALS, SSWL and Ethnologue).
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
# The features lab_syntax_features settles: the typology's default feature columns.
LAB_SYNTAX_FEATURES = SYNTAX_FEATURES
_CASE_FEATURE = {"suffixes": "S_CASE_SUFFIX", "prefixes": "S_CASE_PREFIX",
                 "postpositions": "S_CASE_ENCLITIC", "prepositions": "S_CASE_PROCLITIC"}


def lab_syntax_features(spec: LanguageSpec) -> dict[str, float]:
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




def proxies(codes: Iterable[str]) -> dict[str, Proxy]:
    """The :class:`~xltkit.typology.Proxy` of each lab code among ``codes`` (codes starting ``lab_``).

    Its ``imitates`` is the ISO 639-3 code its preset imitates (None for one that imitates
    none, as the morphology series), its ``features`` what its parameters determine
    (:func:`lab_syntax_features`).  Other codes are left to the typology, which takes them
    as ISO codes.

    Raises:
        ValueError: an unknown lab code, with the allowed ones (:func:`xltkit.lab.get_spec`).
    """
    out = {}
    for code in dict.fromkeys(codes):
        if code.startswith("lab_"):
            spec = get_spec(code)
            out[code] = Proxy(imitates=spec.imitates or None, features=lab_syntax_features(spec))
    return out


def _check_lab_features(lab_features: str) -> None:
    if lab_features not in typology.PROXY_FEATURES:
        raise ValueError(f"unknown lab_features {lab_features!r}; allowed: {', '.join(typology.PROXY_FEATURES)}")


def distance_table(sources: list[str], targets: list[str] | None = None, kinds=DISTANCES,
                   cache_dir: str | Path = DEFAULT_CACHE, lab_features: str = "imitated") -> pd.DataFrame:
    """URIEL+ distances for every (source, target) pair of ISO 639-3 or lab codes, one row per pair.

    :func:`xltkit.typology.distance_table` with the lab codes as proxies (:func:`proxies`).

    Args:
        sources: ISO 639-3 codes (``fin``) or lab codes (``lab_fin``; they take the
            distances of the real language they imitate).  A lab language that imitates
            no real language (``lab_m0`` ...) has only a syntactic distance, computed from
            its own parameters (:func:`lab_syntax_features`); its other kinds are NaN.
        targets: the same kinds of codes; default: ``sources``.
        kinds: which URIEL+ distances, from ``DISTANCES``.  ``morphological`` needs the
            Grambank-integrated URIEL+ (20-50 s the first time).
        cache_dir: computed pairs are kept in ``<cache_dir>/urielplus-<version>/distances.parquet``.
        lab_features: ``"imitated"`` (default): an imitating lab language's syntactic
            distance is its real language's; ``"own"``: every lab language's syntactic
            distance comes from the features its own parameters determine (the grammar the
            lab actually renders); the other kinds still come from the imitated language.

    Returns:
        Columns ``source, target``, one column per kind (angular distance in [0, 1], NaN where
        URIEL+ has none; never imputed), ``source_proxy_for, target_proxy_for`` (the ISO code
        a lab language stands for, "" for a real language or one that imitates none) and
        ``missing`` ("kind: reason; ...", "" when complete).

    Raises:
        ValueError: an unknown lab code, a code URIEL+ does not know, an unknown distance
            kind or ``lab_features``.
    """
    _check_lab_features(lab_features)
    codes = [*sources, *(sources if targets is None else targets)]
    return typology.distance_table(sources, targets, kinds, cache_dir, proxy_features=lab_features,
                                   proxies=proxies(codes))


def feature_table(langs: list[str], columns=LAB_SYNTAX_FEATURES, lab_features: str = "own",
                  cache_dir: str | Path = DEFAULT_CACHE) -> pd.DataFrame:
    """Lab and real languages as rows of the same URIEL+ syntactic features.

    A real language's row is URIEL+'s (each feature the union of its sources, NaN where
    no source knows it); a lab language's row is what its parameters determine
    (:func:`lab_syntax_features`), or with ``lab_features="imitated"`` its imitated
    language's URIEL+ row (a lab language that imitates none always has its own).
    :func:`xltkit.typology.feature_table` with the lab codes as proxies.

    Args:
        langs: ISO 639-3 or lab codes.
        columns: the features; default ``LAB_SYNTAX_FEATURES``, those a lab language's
            parameters can settle.  Any URIEL+ ``S_`` features may be asked for: a lab
            row has NaN where its grammar says nothing.
        lab_features: ``"own"`` (default) or ``"imitated"``.
        cache_dir: where the URIEL+ values are cached (see :func:`xltkit.typology.syntax_sources`).

    Returns:
        Columns ``lang, row_source`` ("URIEL+" or "lab"), ``proxy_for`` (the ISO code whose
        URIEL+ row a lab language took, else ""), then one 1.0/0.0/NaN column per feature.

    Example::

        >>> feature_table(["lab_fin", "fin"], ["S_SVO", "S_SOV", "S_CASE_SUFFIX"])
              lang row_source proxy_for  S_SVO  S_SOV  S_CASE_SUFFIX
        0  lab_fin        lab              1.0    0.0            1.0
        1      fin     URIEL+              1.0    0.0            1.0
    """
    _check_lab_features(lab_features)
    df = typology.feature_table(langs, columns, lab_features, cache_dir, proxies=proxies(langs))
    return df.assign(row_source=df.row_source.replace({"own": "lab"}))  # a lab row is the lab grammar's own


def morphology_index(langs: list[str]) -> pd.DataFrame:
    """Grambank's morphological richness index of ISO 639-3 or lab codes (:func:`xltkit.typology.morphology_index`).

    A lab language takes the values of the language it imitates (``proxy_for``); one that
    imitates none gets NaN, with the reason in ``missing``.
    """
    return typology.morphology_index(langs, proxies=proxies(langs))
