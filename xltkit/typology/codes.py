"""Language codes: urielplus's ISO 639-3 -> glottocode table, the languages URIEL+ does not
know that stand in for one it knows (:class:`Proxy`), and the ISO code whose URIEL+ values
a code takes (:func:`resolve`).

Every function that takes language codes accepts ISO 639-3 codes; those that also take
``proxies`` (code -> :class:`Proxy`) accept those codes too, and refuse any other code
with an error naming it.  The typology knows nothing else about a proxy: an artificial
language of the lab, for one, comes in as a Proxy (``xltkit.lab.typology.proxies``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from xltkit.typology.uriel import _urielplus_file


@dataclass(frozen=True)
class Proxy:
    """A language URIEL+ does not know, given by the real language it stands for and its own syntax.

    Args:
        imitates: the ISO 639-3 code of the real language whose URIEL+ values it takes, or
            None for a language that imitates none: it has only a syntactic distance (from
            ``features``) and no Grambank values (NaN, with the reason in ``missing``).
        features: its own syntactic feature row, URIEL+ ``S_`` feature -> 1.0 / 0.0 (NaN or
            absent where unknown).  Used where own rows are asked for (``proxy_features="own"``)
            and always for a proxy that imitates none.

    Example::

        >>> distance_table(["my_fin"], ["eng"], kinds=["syntactic"], proxies={"my_fin": Proxy("fin")})
    """

    imitates: str | None = None
    features: Mapping[str, float] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _iso_to_glottocode() -> dict[str, str]:
    """urielplus's ISO 639-3 -> glottocode table (every URIEL language; "" where it has none).

    The same file ``URIELPlus.set_glottocodes`` uses, read the same way (``keep_default_na``
    off, so the ISO code "nan" of Min Nan stays a string).
    """
    df = pd.read_csv(_urielplus_file("uriel_glottocode_map.csv"), dtype=str, keep_default_na=False)
    return dict(zip(df.iso_code.str.strip(), df.glottocode.str.strip()))


def _check_iso(code: str, proxies: Mapping[str, Proxy] | None = None) -> str:
    """``code`` if URIEL+ knows it; else an error naming it, and the ``proxies`` where a caller accepts them."""
    if code not in _iso_to_glottocode():
        given = "" if proxies is None else f", nor a language given a Proxy ({', '.join(proxies) or 'none given'})"
        raise ValueError(
            f"unknown language code {code!r}: not one of the {len(_iso_to_glottocode())} ISO 639-3 codes URIEL+ "
            f"knows (check the spelling; macrolanguages may be listed under their individual codes){given}"
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


def resolve(code: str, proxies: Mapping[str, Proxy] | None = None) -> tuple[str, str | None]:
    """``(iso, proxy_for)``: a code in ``proxies`` stands for the real language its Proxy imitates.

    ``resolve("hun") == ("hun", None)``; ``resolve("my_fin", {"my_fin": Proxy("fin")}) == ("fin", "fin")``.
    A code in ``proxies`` is taken as its Proxy even where it is also an ISO code.
    """
    proxies = proxies or {}
    if code in proxies:
        iso = proxies[code].imitates
        if not iso:
            raise ValueError(f"{code!r} imitates no real language (its Proxy has no imitates), so it has no URIEL+ "
                             "typology; give its Proxy the ISO 639-3 code of the language it stands for")
        return _check_iso(iso), iso
    return _check_iso(code, proxies), None


def _imitates_none(code: str, proxies: Mapping[str, Proxy]) -> bool:
    """A proxy that stands for no real language (``Proxy.imitates`` empty)."""
    return code in proxies and not proxies[code].imitates
