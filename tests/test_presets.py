"""Presets: the committed table is URIEL+'s values, every preset validates and cites its sources.

Real urielplus (offline): the derivation builds the plain URIEL+ once per session (a few
seconds) into a temporary typology cache; Grambank values come from the table urielplus
ships (no Grambank integration).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from xltkit import typology
from xltkit.lab import derive, presets
from xltkit.lab import PRESETS, LanguageSpec, get_spec
from xltkit.lab.derive import derive_spec_values, derive_table
from xltkit.lab.presets import DEFAULT_LANGS, IMITATIONS

REQUIRED = {"lab_eng", "lab_fin", "lab_hun", "lab_est", "lab_tur", "lab_jpn", "lab_swh",
            "lab_deu", "lab_kor", "lab_yor", "lab_arb", "lab_hin", "lab_vie"}
DERIVED = set(LanguageSpec.model_fields) - {"code", "name", "imitates", "sources"}


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("typology_presets")


@pytest.fixture(scope="session")
def derived(cache):
    return derive_table(cache)


def _wals_orders(iso, cache):
    df = typology.syntax_sources([iso], cache)
    return sorted(f[2:] for f, s, v in zip(df.feature, df.source, df.value)
                  if f[2:] in typology.ORDERS and s == "WALS" and v == 1)


def test_committed_table_equals_the_derivation(derived):
    committed = presets._read_table()["presets"]
    assert list(committed) == list(IMITATIONS), "regenerate with `python -m xltkit.lab.derive`"
    for code in committed:
        stale = {f: (committed[code]["values"].get(f), v) for f, v in derived["presets"][code]["values"].items()
                 if committed[code]["values"].get(f) != v}
        assert not stale, f"{code}: committed vs derived {stale}; regenerate with `python -m xltkit.lab.derive`"
        assert committed[code] == derived["presets"][code]


def test_twelve_or_more_imitations_and_the_demo_languages_span_resource_levels():
    imitations = [c for c, s in PRESETS.items() if s.imitates]
    assert len(imitations) >= 12 and REQUIRED <= set(imitations)
    assert DEFAULT_LANGS[:3] == ("lab_eng", "lab_fin", "lab_hun")  # the demo's intermediate languages
    assert sum(PRESETS[c].resource == "low" for c in DEFAULT_LANGS) >= 2
    assert get_spec("lab_est").imitates == "ekk" and get_spec("lab_arb").imitates == "arb"
    assert sum(PRESETS[c].resource == "low" for c in imitations) >= 3


def test_every_preset_validates_and_cites_a_source_for_every_field():
    for code, spec in PRESETS.items():
        assert LanguageSpec.model_validate(spec.model_dump()) == spec
        if spec.imitates:
            assert set(spec.sources) == DERIVED, (code, DERIVED ^ set(spec.sources))
            assert all(s.strip() for s in spec.sources.values()), code
            assert typology.glottocode(spec.imitates), code  # a real ISO code URIEL+ knows


def test_word_order_is_urielplus_wals_order_where_wals_has_one(cache):
    checked = 0
    for code, (_, iso) in IMITATIONS.items():
        orders = _wals_orders(iso, cache)
        if len(orders) == 1:
            checked += 1
            assert PRESETS[code].word_order == orders[0], (code, orders)
            assert f"S_{orders[0]}=1 (WALS 81A)" in PRESETS[code].sources["word_order"]
            assert PRESETS[code].order_freedom == 0
        elif len(orders) > 1:  # WALS 81A "no dominant order"
            assert PRESETS[code].order_freedom > 0 and PRESETS[code].word_order in orders, code
    assert checked >= 10


def test_turkish_derivation(cache):
    v = derive_spec_values("tur", cache)
    assert v["word_order"] == ("SOV", "URIEL+ S_SOV=1 (WALS 81A); all sources: S_SVO=1 in SSWL; S_SOV=1 in ETHNO, "
                               "WALS, SSWL; S_VSO=1 in SSWL; S_VOS=1 in SSWL; S_OVS=1 in SSWL; S_OSV=1 in SSWL")
    assert v["case_marking"][0] == "suffixes" and "S_CASE_SUFFIX=1 (WALS 51A)" in v["case_marking"][1]
    assert "GB070 M_MORPH_CASE_CORE_ARGS=1" in v["case_marking"][1]
    assert v["noun_categories"][0] == ("number", "case", "possession")
    assert "GB433 M_SUFFIX_POSSESSED_NOUN=1" in v["noun_categories"][1]
    assert v["verb_categories"][0] == ("tense", "polarity", "agreement", "person")
    assert "S_NEGATIVE_AFFIX=1 (WALS 112A)" in v["verb_categories"][1]
    assert v["resource"] == ("high", "URIEL+ resource_languages.json: medium-resource (Joshi et al. 2020 classes 3-4)")
    assert v["vowel_harmony"][0] is True and v["vowel_harmony"][1].startswith("lab choice:")


def test_typologically_different_languages_come_out_different(cache):
    jpn, vie, swh, eng = (derive_spec_values(i, cache) for i in ("jpn", "vie", "swh", "eng"))
    assert jpn["case_marking"][0] == "postpositions" and "S_CASE_ENCLITIC=1" in jpn["case_marking"][1]
    assert vie["morphology"][0] == "isolating" and "little affixation" in vie["morphology"][1]
    assert swh["verb_affixes"][0] == "prefix" and swh["adjective_position"][0] == "after"
    assert swh["resource"][0] == "low" and "classes 0-2" in swh["resource"][1]
    assert eng["case_marking"][0] == "none" and eng["genitive_position"] == (
        "before", "Grambank GB065 S_NOMINAL_POSSESSOR_BEFORE_NOUN=1; all sources: S_POSSESSOR_BEFORE_NOUN=1 in "
        "WALS, SSWL; S_POSSESSOR_AFTER_NOUN=1 in ETHNO, WALS, SSWL")


def test_an_open_field_without_a_lab_choice_is_refused(cache, monkeypatch):
    choices = {**derive.LAB_CHOICES, "deu": {k: v for k, v in derive.LAB_CHOICES["deu"].items() if k != "word_order"}}
    monkeypatch.setattr(derive, "LAB_CHOICES", choices)
    with pytest.raises(ValueError, match="deu: URIEL\\+ leaves word_order open.*S_SVO=1 in WALS, SSWL; S_SOV=1"):
        derive_spec_values("deu", cache)


def test_resource_levels_are_joshi_classes():
    levels = typology.grambank._resource_lists()
    high = sorted(g for g, level in levels.items() if level == "high-resource")
    assert len(high) == 7 and typology.glottocode("eng") in high  # Joshi et al. 2020 class 5: 7 languages
    assert sum(level == "medium-resource" for level in levels.values()) == 46  # classes 3 and 4: 28 + 18
    assert typology.resource_level("yor") == "low-resource"


def test_unknown_preset_names_the_allowed_codes():
    with pytest.raises(ValueError, match="unknown lab language 'lab_xx'; allowed: lab_eng, lab_fin, .*lab_m5"):
        get_spec("lab_xx")


def test_importing_the_presets_needs_no_urielplus():
    code = "import sys, xltkit.lab; assert 'urielplus' not in sys.modules and len(xltkit.lab.PRESETS) > 12"
    subprocess.run([sys.executable, "-c", code], check=True)
