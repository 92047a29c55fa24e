"""Typological distances between languages and a morphological richness index, from URIEL+.

URIEL (Littell et al. 2017, "URIEL and lang2vec: Representing languages as typological,
geographical, and phylogenetic vectors", EACL) describes each language by vectors of
binary features; URIEL+ (Khan et al. 2025, "URIEL+: Enhancing linguistic inclusion and
usability in a typological and multilingual knowledge base", COLING) adds Grambank,
SAPhon, BDProto, APiCS and eWAVE and computes distances only over the features both
languages have values for.  The distances here are URIEL+'s own (``new_distance``,
angular); this module only addresses languages consistently, caches the numbers and says
why a number is missing.

Two URIEL+ instances are needed.  The plain one addresses languages by ISO 639-3 code and
gives the syntactic, genetic, geographic, phonological, inventory and featural distances.
Morphological features (``M_...``) come only from Grambank (Skirgård et al. 2023,
"Grambank reveals the importance of genealogical constraints on linguistic diversity and
highlights the impact of language loss", Science Advances 9(16)); integrating it takes
20-50 s and switches that instance to glottocodes, so morphological distances are
computed there with the glottocodes from urielplus's own ISO -> glottocode table.
URIEL+ writes its databases to disk only when its ``cache`` option is on (off by
default), so the Grambank instance leaves a later plain ``URIELPlus()`` untouched.

Every computed pair is cached on disk (one parquet per urielplus version); a lookup of
cached pairs reads that file and never constructs ``URIELPlus``.

Lab languages are rows of the same syntactic features as real ones (:func:`feature_table`):
the URIEL+ ``S_`` features their parameters determine (:func:`lab_syntax_features`).  A
lab language that imitates no real language (the morphology series) takes its syntactic
distance from that row, with URIEL+'s own definition (:func:`syntactic_distance`); the
presets read their parameters off URIEL+ with :func:`syntax_sources`,
:func:`grambank_values` and :func:`resource_level` (see ``xltkit.presets``).

Example::

    >>> distance_table(["fin", "lab_hun"], ["eng"], kinds=["syntactic", "genetic"])
        source target  syntactic  genetic source_proxy_for target_proxy_for missing
    0      fin    eng     0.5052      1.0
    1  lab_hun    eng     0.5765      1.0              hun
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from functools import lru_cache
from importlib import metadata, resources
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

from xltkit.results import write_parquet

log = logging.getLogger(__name__)

DISTANCES = ("syntactic", "genetic", "geographic", "phonological", "inventory", "featural", "morphological")
GRAMBANK_DISTANCES = ("morphological",)  # computed in the Grambank-integrated instance, by glottocode
DEFAULT_CACHE = "outputs/cache/typology"
CACHE_COLUMNS = ["lang_a", "lang_b", "kind", "distance", "reason"]  # lang_a <= lang_b (distances are symmetric)


# ---------------------------------------------------------------- language codes


def _urielplus_file(name: str) -> Path:
    """A data file shipped in the urielplus wheel (``database/urielplus_csvs/<name>``)."""
    return Path(str(resources.files("urielplus") / "database" / "urielplus_csvs" / name))


@lru_cache(maxsize=1)
def _iso_to_glottocode() -> dict[str, str]:
    """urielplus's ISO 639-3 -> glottocode table (every URIEL language; "" where it has none).

    The same file ``URIELPlus.set_glottocodes`` uses, read the same way (``keep_default_na``
    off, so the ISO code "nan" of Min Nan stays a string).
    """
    df = pd.read_csv(_urielplus_file("uriel_glottocode_map.csv"), dtype=str, keep_default_na=False)
    return dict(zip(df.iso_code.str.strip(), df.glottocode.str.strip()))


def _check_iso(code: str) -> str:
    if code not in _iso_to_glottocode():
        from xltkit.lab import PRESETS

        raise ValueError(
            f"unknown language code {code!r}: not one of the {len(_iso_to_glottocode())} ISO 639-3 codes URIEL+ "
            f"knows (check the spelling; macrolanguages may be listed under their individual codes), "
            f"nor a lab language ({', '.join(PRESETS)})"
        )
    return code


def _no_glottocode(iso: str) -> str:
    return (f"no glottocode for {iso} in urielplus's uriel_glottocode_map.csv, so no Grambank data "
            "(a macrolanguage code? try the individual language's ISO code)")


def glottocode(iso: str) -> str | None:
    """The glottocode URIEL+ uses for an ISO 639-3 code, or None where its table has none.

    Raises ValueError for a code URIEL+ does not know.
    """
    return _iso_to_glottocode()[_check_iso(iso)] or None


def resolve(code: str) -> tuple[str, str | None]:
    """``(iso, proxy_for)``: a lab code stands for the real language it imitates.

    ``resolve("lab_fin") == ("fin", "fin")``, ``resolve("hun") == ("hun", None)``.
    """
    if code.startswith("lab_"):
        from xltkit.lab import get_spec

        iso = get_spec(code).imitates
        if not iso:
            raise ValueError(f"lab language {code!r} imitates no real language (LanguageSpec.imitates is empty), "
                             "so it has no URIEL+ typology; set imitates to an ISO 639-3 code")
        return _check_iso(iso), iso
    return _check_iso(code), None


def _lab_only(code: str) -> bool:
    """A lab language that imitates no real language (the morphology series ``lab_m0`` ...)."""
    if not code.startswith("lab_"):
        return False
    from xltkit.lab import get_spec

    return not get_spec(code).imitates


# ---------------------------------------------------------------- URIEL+ instances


@contextmanager
def _quiet():
    """Run urielplus without changing the process's logging.

    urielplus logs through the root logger: importing ``urielplus.urielplus`` calls
    ``logging.basicConfig(level=INFO)``, every distance call logs at INFO, and each
    module-level ``logging.info`` installs a root handler if there is none (after which a
    user's own ``basicConfig`` silently does nothing).  Drop INFO while it runs, then put
    the root logger's handlers and level back.
    """
    root = logging.getLogger()
    handlers, level, disabled = list(root.handlers), root.level, logging.root.manager.disable
    logging.disable(max(disabled, logging.INFO))
    try:
        yield
    finally:
        logging.disable(disabled)
        root.handlers[:] = handlers
        root.setLevel(level)


def _new_uriel():
    """A fresh plain ``URIELPlus`` (ISO codes, about 1-2 s).

    On first use urielplus copies its ``.npz`` databases inside its own package folder, so
    that folder must be writable once.
    """
    with _quiet():
        from urielplus.urielplus import URIELPlus

        return URIELPlus()


def _grambank_uriel():
    """A ``URIELPlus`` with Grambank integrated (20-50 s); it addresses languages by glottocode."""
    log.info("integrating Grambank into URIEL+ (20-50 s, once per cache)")
    u = _new_uriel()
    with _quiet():
        u.integrate_custom_databases("GRAMBANK")
    if u.get_codes() != "Glotto":
        raise RuntimeError(f"expected URIEL+ to use glottocodes after Grambank integration, it uses {u.get_codes()!r}")
    return u


def _why_missing(u, kind: str, a: str, b: str, names: dict[str, str]) -> str:
    """Why URIEL+ has no ``kind`` distance for a and b: one lacks the features, or they share none."""
    vectors = u.get_vector(kind, [a, b])
    empty = [names[c] for c in dict.fromkeys((a, b)) if all(v == -1 for v in vectors[c])]
    source = " (Grambank)" if kind in GRAMBANK_DISTANCES else ""
    if empty:
        return f"no {kind}{source} features for {' or '.join(empty)} in URIEL+"
    return f"{names[a]} and {names[b]} share no {kind}{source} feature with known values"


def _distance(u, kind: str, a: str, b: str, names: dict[str, str]) -> tuple[float, str]:
    """``(distance, "")`` from ``u.new_distance``, or ``(nan, reason)`` where URIEL+ cannot give one."""
    langs = u.get_languages_arrays()
    matrix = u.map_new_distance_to_loaded_features(kind)
    for code in dict.fromkeys((a, b)):
        # new_distance checks only the genealogy matrix and fails with IndexError for the others
        if code not in langs[0] or code not in langs[matrix]:
            return math.nan, f"{names[code]} has no {kind} vector in URIEL+"
    try:
        return float(u.new_distance(kind, [a, b])), ""
    except ValueError as e:
        if "No shared" not in str(e):
            raise
        return math.nan, _why_missing(u, kind, a, b, names)


def _compute(pairs: list[tuple[str, str]], kinds: list[str]) -> pd.DataFrame:
    """Distances of ISO pairs for ``kinds``, as rows of ``CACHE_COLUMNS``."""
    rows = []
    plain = [k for k in kinds if k not in GRAMBANK_DISTANCES]
    grambank = [k for k in kinds if k in GRAMBANK_DISTANCES]
    if plain:
        u = _new_uriel()
        names = {c: c for p in pairs for c in p}
        with _quiet():
            rows += [(a, b, k, *_distance(u, k, a, b, names)) for a, b in pairs for k in plain]
    if grambank:
        rows += _compute_grambank(pairs, grambank)
    return pd.DataFrame(rows, columns=CACHE_COLUMNS)


def _compute_grambank(pairs: list[tuple[str, str]], kinds: list[str]) -> list[tuple]:
    """Grambank distances by glottocode; pairs with a language that has no glottocode need no URIEL+."""
    glotto = {c: glottocode(c) for p in pairs for c in p}
    rows, todo = [], []
    for a, b in pairs:
        lacking = [c for c in dict.fromkeys((a, b)) if glotto[c] is None]
        if lacking:
            reason = _no_glottocode(" or ".join(lacking))
            rows += [(a, b, k, math.nan, reason) for k in kinds]
        else:
            todo.append((a, b))
    if todo:
        u = _grambank_uriel()
        names = {glotto[c]: f"{c} ({glotto[c]})" for p in todo for c in p}
        with _quiet():
            for (a, b), k in product(todo, kinds):
                rows.append((a, b, k, *_distance(u, k, glotto[a], glotto[b], names)))
    return rows


# ---------------------------------------------------------------- the cached table


def _cache_file(cache_dir: str | Path) -> Path:
    return Path(cache_dir) / f"urielplus-{metadata.version('urielplus')}" / "distances.parquet"


def _read_cache(path: Path) -> pd.DataFrame:
    if path.is_file():
        return pd.read_parquet(path)
    return pd.DataFrame({c: pd.Series(dtype=float if c == "distance" else str) for c in CACHE_COLUMNS})


def cached_distances(pairs: list[tuple[str, str]], kinds: list[str], cache_dir: str | Path) -> pd.DataFrame:
    """Rows of ``CACHE_COLUMNS`` for sorted ISO pairs, computing (and caching) only what the cache lacks."""
    path = _cache_file(cache_dir)
    cache = _read_cache(path)
    have = set(zip(cache.lang_a, cache.lang_b, cache.kind))
    todo = {k: [p for p in pairs if (*p, k) not in have] for k in kinds}
    # one call per group of kinds that lack the same pairs (usually: all kinds lack all new pairs)
    groups: dict[tuple, list[str]] = {}
    for k, missing in todo.items():
        if missing:
            groups.setdefault(tuple(missing), []).append(k)
    if groups:
        new = pd.concat([_compute(list(ps), ks) for ps, ks in groups.items()], ignore_index=True)
        cache = pd.concat([_read_cache(path), new], ignore_index=True)  # re-read: another process may have added
        cache = cache.drop_duplicates(["lang_a", "lang_b", "kind"], keep="last").reset_index(drop=True)
        write_parquet(cache, path)
    return cache


def distance_table(sources: list[str], targets: list[str] | None = None, kinds=DISTANCES,
                   cache_dir: str | Path = DEFAULT_CACHE, lab_features: str = "imitated") -> pd.DataFrame:
    """URIEL+ distances for every (source, target) pair, one row per pair.

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
        ValueError: a code URIEL+ does not know, or an unknown distance kind.

    The syntactic distance of a pair with a lab feature row is URIEL+'s own definition
    (:func:`syntactic_distance`), over the features both rows know; for two real
    languages it is URIEL+'s number.

    References: URIEL (Littell et al. 2017, EACL); URIEL+ (Khan et al. 2025, COLING);
    Grambank (Skirgård et al. 2023, Science Advances).
    """
    kinds = list(kinds)
    bad = [k for k in kinds if k not in DISTANCES]
    if bad:
        raise ValueError(f"unknown distance kind {bad[0]!r}; allowed: {', '.join(DISTANCES)}")
    if lab_features not in ("imitated", "own"):
        raise ValueError(f"unknown lab_features {lab_features!r}; allowed: imitated, own")
    targets = list(sources) if targets is None else list(targets)
    codes = list(dict.fromkeys([*sources, *targets]))
    resolved = {c: (None, None) if _lab_only(c) else resolve(c) for c in codes}
    own = {c for c in codes if resolved[c][0] is None or (lab_features == "own" and c.startswith("lab_"))}
    pairs = sorted({tuple(sorted((resolved[s][0], resolved[t][0]))) for s, t in product(sources, targets)
                    if resolved[s][0] and resolved[t][0]})
    cache = cached_distances(pairs, kinds, cache_dir)
    known = {(a, b, k): (d, r) for a, b, k, d, r in zip(cache.lang_a, cache.lang_b, cache.kind,
                                                        cache.distance, cache.reason)}
    rows_of = _feature_rows(codes, own, cache_dir) if own and "syntactic" in kinds else {}
    rows = []
    for s, t in product(sources, targets):
        values = {}
        for k in kinds:
            if k == "syntactic" and (s in own or t in own):
                values[k] = _row_distance(rows_of, s, t)
            elif resolved[s][0] is None or resolved[t][0] is None:
                lab = list(dict.fromkeys(c for c in (s, t) if resolved[c][0] is None))
                values[k] = (math.nan, f"{' and '.join(lab)} imitate{'s' if len(lab) == 1 else ''} no real language "
                                       "(only a syntactic distance is defined, from its own parameters)")
            else:
                values[k] = known[(*sorted((resolved[s][0], resolved[t][0])), k)]
        rows.append({"source": s, "target": t, **{k: d for k, (d, _) in values.items()},
                     "source_proxy_for": resolved[s][1] or "", "target_proxy_for": resolved[t][1] or "",
                     "missing": "; ".join(f"{k}: {r}" for k, (_, r) in values.items() if r)})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- syntactic feature rows: real and lab languages

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
    return _cache_file(cache_dir).with_name("syntax.parquet")


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


# ---------------------------------------------------------------- morphological richness

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


def morphology_index(langs: list[str]) -> pd.DataFrame:
    """Typological morphological richness: the share of inflectional categories a language marks.

    For each category of ``MORPHOLOGY_FEATURES`` (case, number and possessor marking on
    nouns; subject and object indexing, tense, aspect, mood, negation and passive on
    verbs) Grambank says whether the language marks it morphologically; the index is
    present / known categories, in [0, 1].  It reads the Grambank table shipped with
    urielplus directly (a fraction of a second), so it needs no URIEL+ instance or cache.

    Args:
        langs: ISO 639-3 or lab codes (a lab language takes the values of the language it
            imitates; one that imitates none gets NaN, with the reason in ``missing``).

    Returns:
        Columns ``lang, morphology_index, n_features`` (categories with a value),
        ``n_missing`` (categories without), ``glottocode`` ("" if none), ``proxy_for`` (the
        ISO code a lab language stands for, else ""), ``missing`` (why the index is NaN, ""
        otherwise), then one 1/0/NaN column per category.

    Reference: Skirgård et al. (2023), "Grambank reveals the importance of genealogical
    constraints on linguistic diversity and highlights the impact of language loss",
    Science Advances 9(16), eadg6175.

    Example::

        >>> morphology_index(["fin", "eng"])[["lang", "morphology_index"]]
    """
    grambank = _grambank()
    rows = []
    for lang in langs:
        if _lab_only(lang):
            rows.append({"lang": lang, "morphology_index": math.nan, "n_features": 0,
                         "n_missing": len(MORPHOLOGY_FEATURES), "glottocode": "", "proxy_for": "",
                         "missing": f"{lang} imitates no real language, so Grambank has nothing on it"})
            continue
        iso, proxy = resolve(lang)
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
