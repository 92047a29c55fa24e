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
                   cache_dir: str | Path = DEFAULT_CACHE) -> pd.DataFrame:
    """URIEL+ distances for every (source, target) pair, one row per pair.

    Args:
        sources: ISO 639-3 codes (``fin``) or lab codes (``lab_fin``; they take the
            distances of the real language they imitate).
        targets: the same kinds of codes; default: ``sources``.
        kinds: which URIEL+ distances, from ``DISTANCES``.  ``morphological`` needs the
            Grambank-integrated URIEL+ (20-50 s the first time).
        cache_dir: computed pairs are kept in ``<cache_dir>/urielplus-<version>/distances.parquet``.

    Returns:
        Columns ``source, target``, one column per kind (angular distance in [0, 1], NaN where
        URIEL+ has none; never imputed), ``source_proxy_for, target_proxy_for`` (the ISO code
        a lab language stands for, "" for a real language) and ``missing`` ("kind: reason;
        ...", "" when complete).

    Raises:
        ValueError: a code URIEL+ does not know, or an unknown distance kind.

    References: URIEL (Littell et al. 2017, EACL); URIEL+ (Khan et al. 2025, COLING);
    Grambank (Skirgård et al. 2023, Science Advances).
    """
    kinds = list(kinds)
    bad = [k for k in kinds if k not in DISTANCES]
    if bad:
        raise ValueError(f"unknown distance kind {bad[0]!r}; allowed: {', '.join(DISTANCES)}")
    targets = list(sources) if targets is None else list(targets)
    resolved = {c: resolve(c) for c in dict.fromkeys([*sources, *targets])}
    pairs = sorted({tuple(sorted((resolved[s][0], resolved[t][0]))) for s, t in product(sources, targets)})
    cache = cached_distances(pairs, kinds, cache_dir)
    known = {(a, b, k): (d, r) for a, b, k, d, r in zip(cache.lang_a, cache.lang_b, cache.kind,
                                                        cache.distance, cache.reason)}
    rows = []
    for s, t in product(sources, targets):
        a, b = sorted((resolved[s][0], resolved[t][0]))
        values = {k: known[a, b, k] for k in kinds}
        rows.append({"source": s, "target": t, **{k: d for k, (d, _) in values.items()},
                     "source_proxy_for": resolved[s][1] or "", "target_proxy_for": resolved[t][1] or "",
                     "missing": "; ".join(f"{k}: {r}" for k, (_, r) in values.items() if r)})
    return pd.DataFrame(rows)


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
def _grambank() -> pd.DataFrame:
    """The Grambank table urielplus ships (glottocode x feature, values 1 / 0 / -1 = unknown)."""
    columns = sorted({c for cs in MORPHOLOGY_FEATURES.values() for c in cs})
    return pd.read_csv(_urielplus_file("grambank_data.csv"), usecols=["language_id", *columns]).set_index("language_id")


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
            imitates).

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
