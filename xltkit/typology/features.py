"""Syntactic feature rows: URIEL+'s ``S_`` features of real languages (by source, and aggregated
as URIEL+ does), the rows of proxies, and URIEL+'s syntactic distance between two rows.

A language URIEL+ does not know is a row of the same syntactic features as real ones
(:func:`feature_table`): its :class:`~xltkit.typology.codes.Proxy` gives its own row.  A
proxy that imitates no real language takes its syntactic distance from that row, with
URIEL+'s own definition (:func:`syntactic_distance`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from xltkit.core.io import write_parquet
from xltkit.typology.codes import Proxy, _check_iso, _imitates_none, resolve
from xltkit.typology.uriel import DEFAULT_CACHE, _cache_folder, _new_uriel

SYNTAX_CACHE_COLUMNS = ["lang", "feature", "source", "value"]  # one URIEL+ source's known value of one S_ feature
ORDERS = ("SVO", "SOV", "VSO", "VOS", "OVS", "OSV")

# The syntactic features that the basic grammar of a language settles (word order, the
# order of adjective and possessor, case marking, plural and possessive marking, tense and
# negation): the default columns of feature_table (Littell et al. 2017 fill them from
# WALS, SSWL and Ethnologue).
SYNTAX_FEATURES = (
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
PROXY_FEATURES = ("imitated", "own")  # where a proxy's syntactic row comes from (see feature_table)


def _check_proxy_features(proxy_features: str) -> None:
    if proxy_features not in PROXY_FEATURES:
        raise ValueError(f"unknown proxy_features {proxy_features!r}; allowed: {', '.join(PROXY_FEATURES)}")


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


def _feature_rows(codes: list[str], own: set[str], cache_dir,
                  proxies: Mapping[str, Proxy]) -> dict[str, dict[str, float]]:
    """Feature rows by code: a proxy's own (its known values) for codes in ``own``, else the (imitated) real
    language's."""
    isos = [resolve(c, proxies)[0] for c in codes if c not in own]
    real = _uriel_rows(isos, cache_dir) if isos else {}
    return {c: ({k: v for k, v in proxies[c].features.items() if not math.isnan(v)} if c in own
                else real[resolve(c, proxies)[0]]) for c in codes}


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


def feature_table(langs: list[str], columns=SYNTAX_FEATURES, proxy_features: str = "own",
                  cache_dir: str | Path = DEFAULT_CACHE, proxies: Mapping[str, Proxy] | None = None) -> pd.DataFrame:
    """Real languages and proxies as rows of the same URIEL+ syntactic features.

    A real language's row is URIEL+'s (each feature the union of its sources, NaN where
    no source knows it); a proxy's row is its own (``Proxy.features``), or with
    ``proxy_features="imitated"`` its imitated language's URIEL+ row (a proxy that
    imitates none always has its own).

    Args:
        langs: ISO 639-3 codes, and codes of ``proxies``.
        columns: the features; default ``SYNTAX_FEATURES``, those a language's basic
            grammar settles.  Any URIEL+ ``S_`` features may be asked for: a proxy's own
            row has NaN where its features say nothing.
        proxy_features: ``"own"`` (default) or ``"imitated"``.
        cache_dir: where the URIEL+ values are cached (see :func:`syntax_sources`).
        proxies: code -> :class:`~xltkit.typology.codes.Proxy` for languages URIEL+ does not know.

    Returns:
        Columns ``lang, row_source`` ("URIEL+", or "own" for a proxy's own row), ``proxy_for``
        (the ISO code whose URIEL+ row a proxy took, else ""), then one 1.0/0.0/NaN column
        per feature.

    Raises:
        ValueError: a code that is neither an ISO code URIEL+ knows nor in ``proxies``, or an
            unknown ``proxy_features``.

    Example::

        >>> feature_table(["my_fin", "fin"], ["S_SVO", "S_SOV"], proxies={"my_fin": Proxy("fin", {"S_SVO": 1.0})})
             lang row_source proxy_for  S_SVO  S_SOV
        0  my_fin        own              1.0    NaN
        1     fin     URIEL+              1.0    0.0
    """
    _check_proxy_features(proxy_features)
    proxies = proxies or {}
    codes = list(dict.fromkeys(langs))
    own = {c for c in codes if c in proxies and (proxy_features == "own" or _imitates_none(c, proxies))}
    rows_of = _feature_rows(codes, own, cache_dir, proxies)
    out = []
    for c in langs:
        proxy = "" if c in own else (resolve(c, proxies)[1] or "")
        row = {"lang": c, "row_source": "own" if c in own else "URIEL+", "proxy_for": proxy}
        out.append({**row, **{f: rows_of[c].get(f, math.nan) for f in columns}})
    return pd.DataFrame(out, columns=["lang", "row_source", "proxy_for", *columns])
