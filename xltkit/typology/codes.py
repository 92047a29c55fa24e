"""Language codes: urielplus's ISO 639-3 -> glottocode table, and the ISO code whose URIEL+
values a code takes (:func:`resolve`)."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from xltkit.typology.uriel import _urielplus_file


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
