"""Presets: lab languages that imitate real languages, and the morphology series.

Every preset is a :class:`xltkit.lab.LanguageSpec`; ``sources`` records where each value
comes from (WALS / Grambank feature, as shipped in URIEL+, or "lab choice").
"""

from __future__ import annotations

from xltkit.lab import LanguageSpec


def _preset(code, name, iso, **kw) -> LanguageSpec:
    return LanguageSpec(code=code, name=name, imitates=iso, **kw)


# Values follow WALS (Dryer & Haspelmath 2013) feature values for the real language;
# where the lab simplifies, the source says so.  Issue #3 extends this to 12+ presets
# with values pulled from URIEL+.
PRESETS: dict[str, LanguageSpec] = {
    p.code: p
    for p in [
        _preset("lab_eng", "English-like", "eng", word_order="SVO", case_marking="none", adjective_position="before",
                morphology="isolating", noun_categories=("number",), verb_categories=("tense", "polarity"),
                sources={"word_order": "WALS 81A SVO", "case_marking": "WALS 49A no morphological case (nouns)",
                         "adjective_position": "WALS 87A Adj-N", "morphology": "WALS 20A isolating-leaning (lab choice)"}),
        _preset("lab_fin", "Finnish-like", "fin", word_order="SVO", case_marking="suffixes", adjective_position="before",
                morphology="agglutinative", noun_categories=("number", "case"),
                verb_categories=("tense", "polarity", "agreement"),
                sources={"word_order": "WALS 81A SVO", "case_marking": "WALS 49A 10+ cases; WALS 51A case suffixes",
                         "adjective_position": "WALS 87A Adj-N", "morphology": "WALS 26A strongly suffixing"}),
        _preset("lab_hun", "Hungarian-like", "hun", word_order="SVO", order_freedom=0.3, case_marking="suffixes",
                adjective_position="before", morphology="agglutinative", noun_categories=("number", "case"),
                verb_categories=("tense", "polarity", "agreement"),
                sources={"word_order": "WALS 81A no dominant order; lab: SVO with 30% free order",
                         "case_marking": "WALS 49A 10+ cases; WALS 51A case suffixes",
                         "adjective_position": "WALS 87A Adj-N", "morphology": "WALS 26A strongly suffixing"}),
        # imitates Standard Estonian (ekk): the macrolanguage code est has no glottocode in URIEL+
        _preset("lab_est", "Estonian-like", "ekk", word_order="SVO", case_marking="suffixes", adjective_position="before",
                morphology="fusional", noun_categories=("number", "case"), verb_categories=("tense", "polarity"),
                resource="low",
                sources={"word_order": "WALS 81A SVO", "case_marking": "WALS 51A case suffixes",
                         "morphology": "lab: fusional stem+ending (Estonian is more fusional than Finnish)"}),
        _preset("lab_tur", "Turkish-like", "tur", word_order="SOV", case_marking="suffixes", adjective_position="before",
                morphology="agglutinative", noun_categories=("number", "case"),
                verb_categories=("tense", "polarity", "agreement"), resource="low",
                sources={"word_order": "WALS 81A SOV", "case_marking": "WALS 51A case suffixes",
                         "adjective_position": "WALS 87A Adj-N", "morphology": "WALS 26A strongly suffixing"}),
        _preset("lab_jpn", "Japanese-like", "jpn", word_order="SOV", case_marking="postpositions",
                adjective_position="before", morphology="isolating", noun_categories=(),
                verb_categories=("tense", "polarity"), resource="low",
                sources={"word_order": "WALS 81A SOV", "case_marking": "WALS 51A postpositional clitics (ga/o)",
                         "adjective_position": "WALS 87A Adj-N", "morphology": "lab: particles as separate words"}),
        _preset("lab_swh", "Swahili-like", "swh", word_order="SVO", case_marking="none", adjective_position="after",
                morphology="agglutinative", verb_affixes="prefix", noun_categories=("number",),
                verb_categories=("tense", "polarity", "agreement"), resource="low",
                sources={"word_order": "WALS 81A SVO", "case_marking": "WALS 49A no morphological case",
                         "adjective_position": "WALS 87A N-Adj", "verb_affixes": "WALS 26A prefixing (verbal)"}),
    ]
}
# The demo's languages: the first seven imitation presets (more presets never change the demo).
DEFAULT_LANGS = ("lab_eng", "lab_fin", "lab_hun", "lab_est", "lab_tur", "lab_jpn", "lab_swh")


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
