"""Presets: lab languages that imitate real languages, and the morphology series.

Every imitation preset is a :class:`xltkit.lab.LanguageSpec` whose parameters are read
off URIEL+ (Khan et al. 2025): its WALS / SSWL / Ethnologue syntactic features
(Littell et al. 2017; WALS: Dryer & Haspelmath 2013), the Grambank table it ships
(Skirgård et al. 2023) and its resource lists (the classes of Joshi et al. 2020).
``sources`` says, for every field, which feature and source gave the value, or why the
lab chose it ("lab choice: ...") where URIEL+ has no such feature or its sources leave it
open.  The rules are :func:`xltkit.lab.derive.derive_spec_values`; their result is
committed in ``xltkit/lab/data/presets.json`` so that importing xltkit never needs
URIEL+.  Regenerate it with ``python -m xltkit.lab.derive`` (tests/test_presets.py checks
that it is current).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from xltkit.lab.spec import LanguageSpec

# code -> (name, ISO 639-3 code of the imitated language).  DEFAULT_LANGS (below) are the demo's.
IMITATIONS: dict[str, tuple[str, str]] = {
    "lab_eng": ("English-like", "eng"),
    "lab_fin": ("Finnish-like", "fin"),
    "lab_hun": ("Hungarian-like", "hun"),
    "lab_est": ("Estonian-like", "ekk"),  # Standard Estonian: the macrolanguage code est has no glottocode in URIEL+
    "lab_tur": ("Turkish-like", "tur"),
    "lab_jpn": ("Japanese-like", "jpn"),
    "lab_swh": ("Swahili-like", "swh"),
    "lab_deu": ("German-like", "deu"),
    "lab_kor": ("Korean-like", "kor"),
    "lab_yor": ("Yoruba-like", "yor"),
    "lab_arb": ("Arabic-like", "arb"),  # Standard Arabic: class-5 resource, case suffixes (arz has neither)
    "lab_hin": ("Hindi-like", "hin"),
    "lab_vie": ("Vietnamese-like", "vie"),
    "lab_amh": ("Amharic-like", "amh"),
    "lab_gle": ("Irish-like", "gle"),
    "lab_plt": ("Malagasy-like", "plt"),
    "lab_zul": ("Zulu-like", "zul"),
}
# The demo's languages: six high-resource and two low-resource targets (Joshi et al. 2020 classes via URIEL+);
# more presets never change the demo.
DEFAULT_LANGS = ("lab_eng", "lab_fin", "lab_hun", "lab_est", "lab_tur", "lab_jpn", "lab_swh", "lab_yor")
TABLE = "data/presets.json"


def _read_table() -> dict[str, Any]:
    return json.loads((resources.files("xltkit.lab") / TABLE).read_text())


def _from_table(code: str, entry: dict[str, Any]) -> LanguageSpec:
    values = {f: v for f, (v, _) in entry["values"].items()}
    sources = {f: s for f, (_, s) in entry["values"].items()}
    return LanguageSpec(code=code, name=entry["name"], imitates=entry["imitates"], **values, sources=sources)


PRESETS: dict[str, LanguageSpec] = {code: _from_table(code, e) for code, e in _read_table()["presets"].items()}


def morphology_series() -> list[LanguageSpec]:
    """Otherwise identical SVO languages from isolating (no inflection) to highly
    agglutinative (number and case on nouns; tense, polarity and agreement on verbs): the
    lab's way to vary morphological richness with everything else held fixed."""
    steps = [((), ()), (("number",), ()), (("number",), ("tense",)), (("number", "case"), ("tense",)),
             (("number", "case"), ("tense", "polarity")), (("number", "case"), ("tense", "polarity", "agreement"))]
    out = []
    for i, (noun, verb) in enumerate(steps):
        out.append(LanguageSpec(
            code=f"lab_m{i}", name=f"morphology step {i}", word_order="SVO", adjective_position="before",
            case_marking="suffixes" if "case" in noun else "none",
            morphology="isolating" if i == 0 else "agglutinative", noun_categories=noun, verb_categories=verb,
            sources={"all": "lab: calibration series, one inflectional category added per step"}))
    return out


SERIES = {s.code: s for s in morphology_series()}
PRESETS.update(SERIES)


def get_spec(code: str) -> LanguageSpec:
    """The preset for ``code``, with an error naming the allowed codes."""
    try:
        return PRESETS[code]
    except KeyError:
        raise ValueError(f"unknown lab language {code!r}; allowed: {', '.join(PRESETS)}") from None
