"""URIEL+ distances between languages, computed once and cached (:func:`distance_table`).

The distances here are URIEL+'s own (``new_distance``, angular); this module only
addresses languages consistently, caches the numbers and says why a number is missing.
Every computed pair is cached on disk (one parquet per urielplus version); a lookup of
cached pairs reads that file and never constructs ``URIELPlus``.

Example::

    >>> distance_table(["fin", "my_hun"], ["eng"], kinds=["syntactic", "genetic"], proxies={"my_hun": Proxy("hun")})
       source target  syntactic  genetic source_proxy_for target_proxy_for missing
    0     fin    eng     0.5052      1.0
    1  my_hun    eng     0.5765      1.0              hun
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from itertools import product
from pathlib import Path

import pandas as pd

from xltkit.core.io import write_parquet
from xltkit.typology.codes import Proxy, _imitates_none, _no_glottocode, glottocode, resolve
from xltkit.typology.features import _check_proxy_features, _feature_rows, _row_distance
from xltkit.typology.uriel import DEFAULT_CACHE, _cache_folder, _grambank_uriel, _new_uriel, _quiet

DISTANCES = ("syntactic", "genetic", "geographic", "phonological", "inventory", "featural", "morphological")
GRAMBANK_DISTANCES = ("morphological",)  # computed in the Grambank-integrated instance, by glottocode
CACHE_COLUMNS = ["lang_a", "lang_b", "kind", "distance", "reason"]  # lang_a <= lang_b (distances are symmetric)


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
    return _cache_folder(cache_dir) / "distances.parquet"


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
                   cache_dir: str | Path = DEFAULT_CACHE, proxy_features: str = "imitated",
                   proxies: Mapping[str, Proxy] | None = None) -> pd.DataFrame:
    """URIEL+ distances for every (source, target) pair, one row per pair.

    Args:
        sources: ISO 639-3 codes (``fin``), and codes of ``proxies`` (they take the
            distances of the real language they imitate).  A proxy that imitates no real
            language has only a syntactic distance, computed from its own features
            (``Proxy.features``); its other kinds are NaN.
        targets: the same kinds of codes; default: ``sources``.
        kinds: which URIEL+ distances, from ``DISTANCES``.  ``morphological`` needs the
            Grambank-integrated URIEL+ (20-50 s the first time).
        cache_dir: computed pairs are kept in ``<cache_dir>/urielplus-<version>/distances.parquet``.
        proxy_features: ``"imitated"`` (default): an imitating proxy's syntactic distance is
            its real language's; ``"own"``: every proxy's syntactic distance comes from its
            own features; the other kinds still come from the imitated language.
        proxies: code -> :class:`~xltkit.typology.codes.Proxy` for languages URIEL+ does not know.

    Returns:
        Columns ``source, target``, one column per kind (angular distance in [0, 1], NaN where
        URIEL+ has none; never imputed), ``source_proxy_for, target_proxy_for`` (the ISO code
        a proxy stands for, "" for a real language or one that imitates none) and
        ``missing`` ("kind: reason; ...", "" when complete).

    Raises:
        ValueError: a code that is neither an ISO code URIEL+ knows nor in ``proxies``, an
            unknown distance kind, or an unknown ``proxy_features``.

    The syntactic distance of a pair with a proxy's own feature row is URIEL+'s own
    definition (:func:`~xltkit.typology.features.syntactic_distance`), over the features
    both rows know; for two real languages it is URIEL+'s number.

    References: URIEL (Littell et al. 2017, EACL); URIEL+ (Khan et al. 2025, COLING);
    Grambank (Skirgård et al. 2023, Science Advances).
    """
    kinds = list(kinds)
    bad = [k for k in kinds if k not in DISTANCES]
    if bad:
        raise ValueError(f"unknown distance kind {bad[0]!r}; allowed: {', '.join(DISTANCES)}")
    _check_proxy_features(proxy_features)
    proxies = proxies or {}
    targets = list(sources) if targets is None else list(targets)
    codes = list(dict.fromkeys([*sources, *targets]))
    resolved = {c: (None, None) if _imitates_none(c, proxies) else resolve(c, proxies) for c in codes}
    own = {c for c in codes if resolved[c][0] is None or (proxy_features == "own" and c in proxies)}
    pairs = sorted({tuple(sorted((resolved[s][0], resolved[t][0]))) for s, t in product(sources, targets)
                    if resolved[s][0] and resolved[t][0]})
    cache = cached_distances(pairs, kinds, cache_dir)
    known = {(a, b, k): (d, r) for a, b, k, d, r in zip(cache.lang_a, cache.lang_b, cache.kind,
                                                        cache.distance, cache.reason)}
    rows_of = _feature_rows(codes, own, cache_dir, proxies) if own and "syntactic" in kinds else {}
    rows = []
    for s, t in product(sources, targets):
        values = {}
        for k in kinds:
            if k == "syntactic" and (s in own or t in own):
                values[k] = _row_distance(rows_of, s, t)
            elif resolved[s][0] is None or resolved[t][0] is None:
                lone = list(dict.fromkeys(c for c in (s, t) if resolved[c][0] is None))
                values[k] = (math.nan, f"{' and '.join(lone)} imitate{'s' if len(lone) == 1 else ''} no real language "
                                       "(only a syntactic distance is defined, from its own parameters)")
            else:
                values[k] = known[(*sorted((resolved[s][0], resolved[t][0])), k)]
        rows.append({"source": s, "target": t, **{k: d for k, (d, _) in values.items()},
                     "source_proxy_for": resolved[s][1] or "", "target_proxy_for": resolved[t][1] or "",
                     "missing": "; ".join(f"{k}: {r}" for k, (_, r) in values.items() if r)})
    return pd.DataFrame(rows)
