"""Typology table: URIEL+ distances, the glottocode route to Grambank, the cache, the morphology index;
lab languages through xltkit.lab.typology, and proxies given by hand without the lab.

Real urielplus throughout (it is offline).  The plain distances are built once per session
(a few seconds); the Grambank-integrated build (about 50 s) once more, for the slow tests.
"""

from __future__ import annotations

import ast
import hashlib
import json
import logging
import math
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest

from xltkit import typology
from xltkit.pipeline.cli import main
from xltkit.lab import get_spec
from xltkit.lab.typology import LAB_SYNTAX_FEATURES, distance_table, feature_table, lab_syntax_features, morphology_index
from xltkit.lab.typology import proxies as lab_proxies
from xltkit.typology import DISTANCES, MORPHOLOGY_FEATURES, Proxy, glottocode, resolve, syntactic_distance
from xltkit.typology.features import _uriel_rows
from xltkit.typology.uriel import _new_uriel, _urielplus_file

LANGS = ["fin", "hun", "eng", "tur", "jpn", "swh"]
PLAIN = [k for k in DISTANCES if k != "morphological"]
SPARSE = "aaa"  # Ghotuo: in URIEL+ genealogy and geography, but no syntactic feature


def _row(df, source, target):
    hit = df[(df.source == source) & (df.target == target)]
    assert len(hit) == 1, f"no single row {source}-{target}"
    return hit.iloc[0]


def _package_databases() -> dict[str, str]:
    folder = Path(_urielplus_file("x")).parent.parent  # urielplus/database
    return {p.name: hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.npz"))}


class Forbidden(Exception):
    pass


def _forbid_urielplus(monkeypatch):
    import urielplus.urielplus

    def forbidden(*a, **k):
        raise Forbidden("URIELPlus was constructed")

    monkeypatch.setattr(urielplus.urielplus, "URIELPlus", forbidden)


@pytest.fixture(scope="session")
def plain_cache(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("typology_plain")
    distance_table(LANGS + [SPARSE], kinds=PLAIN, cache_dir=d)
    return d


@pytest.fixture(scope="session")
def plain(plain_cache):
    return distance_table(LANGS + [SPARSE], kinds=PLAIN, cache_dir=plain_cache)


@pytest.fixture(scope="session")
def full(plain_cache, tmp_path_factory):
    """All seven distances (Grambank integrated once), plus the package databases' hashes before and after."""
    d = tmp_path_factory.mktemp("typology_full") / "cache"
    shutil.copytree(plain_cache, d)
    before = _package_databases()
    t = time.perf_counter()
    df = distance_table(LANGS + ["yor", "est"], cache_dir=d)
    return {"df": df, "cache": d, "seconds": time.perf_counter() - t, "before": before, "after": _package_databases()}


# ---------------------------------------------------------------- plain distances


def test_syntactic_distances_match_urielplus(plain):
    assert _row(plain, "fin", "eng").syntactic == pytest.approx(0.505, abs=0.002)
    assert _row(plain, "fin", "hun").syntactic == pytest.approx(0.360, abs=0.002)


def test_finnish_is_genetically_closer_to_hungarian_than_to_english(plain):
    assert _row(plain, "fin", "hun").genetic < _row(plain, "fin", "eng").genetic
    # URIEL+ gives a self-distance of up to 3e-4 (arccos of a cosine rounded just below 1)
    assert _row(plain, "fin", "fin").genetic == pytest.approx(0, abs=5e-4)


def test_table_has_every_pair_in_order(plain):
    langs = LANGS + [SPARSE]
    assert list(zip(plain.source, plain.target)) == [(s, t) for s in langs for t in langs]
    assert list(plain.columns) == ["source", "target", *PLAIN, "source_proxy_for", "target_proxy_for", "missing"]
    assert plain[PLAIN].stack().dropna().between(0, 1).all()


def test_urielplus_distances_are_symmetric():
    """The cache keys pairs in sorted order, which is right only if URIEL+ is symmetric."""
    u = _new_uriel()
    for kind in PLAIN:
        for a, b in [("fin", "eng"), ("hun", "swh"), ("jpn", "tur")]:
            assert u.new_distance(kind, [a, b]) == u.new_distance(kind, [b, a]), (kind, a, b)


def test_missing_values_are_reported_not_imputed(plain):
    row = _row(plain, "fin", SPARSE)
    assert math.isnan(row.syntactic)
    assert f"syntactic: no syntactic features for {SPARSE}" in row.missing
    assert not math.isnan(row.genetic) and "genetic" not in row.missing
    assert _row(plain, "fin", "eng").missing == ""


def test_urielplus_leaves_logging_alone(tmp_path):
    """urielplus calls logging.basicConfig on import and logging.info per distance."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.handlers.clear()
    try:
        distance_table(["fin", "eng"], kinds=["syntactic"], cache_dir=tmp_path)
        assert root.handlers == [] and root.level == level
    finally:
        root.handlers[:] = handlers


def test_unknown_code_names_it():
    with pytest.raises(ValueError, match="'xyz'"):
        distance_table(["fin", "xyz"], kinds=["syntactic"], cache_dir="/nonexistent")
    with pytest.raises(ValueError, match="lab_xyz"):
        resolve("lab_xyz")
    with pytest.raises(ValueError, match="'syntax'.*syntactic"):
        distance_table(["fin"], kinds=["syntax"])


def test_lab_codes_take_the_imitated_languages_distances(plain, plain_cache):
    df = distance_table(["lab_fin", "fin"], ["eng", "lab_hun"], kinds=PLAIN, cache_dir=plain_cache)
    lab, real = _row(df, "lab_fin", "eng"), _row(plain, "fin", "eng")
    assert [lab[k] for k in PLAIN] == [real[k] for k in PLAIN]
    assert lab.source_proxy_for == "fin" and lab.target_proxy_for == ""
    assert _row(df, "fin", "lab_hun").target_proxy_for == "hun"
    assert _row(df, "lab_fin", "lab_hun").syntactic == _row(plain, "fin", "hun").syntactic


def test_cached_lookup_is_fast_and_never_builds_urielplus(plain_cache, monkeypatch):
    _forbid_urielplus(monkeypatch)
    t = time.perf_counter()
    df = distance_table(["lab_tur", "fin", "hun"], ["eng", "swh"], kinds=PLAIN, cache_dir=plain_cache)
    assert time.perf_counter() - t < 1.0
    assert df[PLAIN].notna().all().all()
    with pytest.raises(Forbidden):  # a pair not in the cache does build it: the patch is effective
        distance_table(["fin"], ["deu"], kinds=["syntactic"], cache_dir=plain_cache)


def test_cache_is_keyed_by_urielplus_version(plain_cache):
    files = list(plain_cache.glob("urielplus-*/distances.parquet"))
    assert [f.parent.name for f in files] == [f"urielplus-{metadata.version('urielplus')}"]


def test_cli_prints_the_table(plain_cache, capsys):
    code = main(["typology", "fin", "hun", "--targets", "eng", "--kinds", "syntactic", "genetic",
                 "--cache-dir", str(plain_cache)])
    out = capsys.readouterr().out
    assert code == 0 and "0.5052" in out and "0.5765" in out  # fin-eng, hun-eng
    assert main(["typology", "fin", "qqq", "--kinds", "syntactic", "--cache-dir", str(plain_cache)]) == 2
    assert "'qqq'" in capsys.readouterr().err


# ---------------------------------------------------------------- glottocodes and the morphology index


def test_glottocodes_come_from_urielplus():
    assert [glottocode(c) for c in ["fin", "hun", "eng"]] == ["finn1318", "hung1274", "stan1293"]
    assert glottocode("est") is None  # the macrolanguage; Standard Estonian is ekk
    assert glottocode("ekk") == "esto1258"


def test_morphology_features_are_grambank_features_in_urielplus():
    mappings = json.loads(_urielplus_file("feature_mappings.json").read_text())
    grambank = {c: r["source_features"][0]["id"] for r in mappings if r.get("database") == "GRAMBANK"
                for c in r["bundled_columns"]}
    columns = [c for cs in MORPHOLOGY_FEATURES.values() for c in cs]
    assert all(c in grambank for c in columns), [c for c in columns if c not in grambank]
    assert grambank["M_MORPH_CASE_CORE_ARGS"] == "GB070" and grambank["M_MOOD_MORPHOLOGY_VERB"] == "GB312"


def test_morphology_index_orders_languages_and_reports_gaps():
    df = morphology_index(["fin", "hun", "eng", "vie", "yor", "est", "lab_tur"]).set_index("lang")
    assert df.loc["vie", "morphology_index"] < df.loc["eng", "morphology_index"] < df.loc["fin", "morphology_index"]
    assert df.loc["fin", "n_features"] + df.loc["fin", "n_missing"] == len(MORPHOLOGY_FEATURES)
    assert df.loc["fin", "noun_case"] == 1 and df.loc["eng", "noun_case"] == 0
    assert math.isnan(df.loc["yor", "morphology_index"]) and "no Grambank data for yor (yoru1245)" in df.loc["yor", "missing"]
    assert "no glottocode for est" in df.loc["est", "missing"] and df.loc["est", "glottocode"] == ""
    assert df.loc["fin", "proxy_for"] == ""
    assert df.loc["lab_tur", "proxy_for"] == "tur" and df.loc["lab_tur", "glottocode"] == "nucl1301"


# ---------------------------------------------------------------- lab and real languages as feature rows


def test_syntactic_distance_is_urielplus_definition(plain, plain_cache):
    rows = _uriel_rows(LANGS, plain_cache)
    for a in LANGS:
        for b in LANGS:
            assert syntactic_distance(rows[a], rows[b]) == pytest.approx(_row(plain, a, b).syntactic, abs=1e-4), (a, b)


def test_lab_features_follow_the_parameters():
    tur, jpn, m0 = (lab_syntax_features(get_spec(c)) for c in ("lab_tur", "lab_jpn", "lab_m0"))
    assert (tur["S_SOV"], tur["S_SVO"], tur["S_OBJECT_BEFORE_VERB"], tur["S_CASE_SUFFIX"]) == (1, 0, 1, 1)
    assert (jpn["S_CASE_ENCLITIC"], jpn["S_CASE_SUFFIX"], jpn["S_NEGATIVE_SUFFIX"]) == (1, 0, 1)
    assert m0["S_CASE_MARK"] == 0 and m0["S_PLURAL_SUFFIX"] == 0 and m0["S_NEGATIVE_WORD"] == 1
    swh = lab_syntax_features(get_spec("lab_swh"))
    assert (swh["S_ADJECTIVE_AFTER_NOUN"], swh["S_POSSESSOR_AFTER_NOUN"], swh["S_TAM_PREFIX"]) == (1, 1, 1)
    assert set(tur) == set(LAB_SYNTAX_FEATURES)


def test_lab_rows_have_the_real_rows_columns(plain_cache):
    df = feature_table(["lab_fin", "fin", "lab_m0", "lab_tur"], cache_dir=plain_cache).set_index("lang")
    assert list(df.columns) == ["row_source", "proxy_for", *LAB_SYNTAX_FEATURES]
    assert list(df.row_source) == ["lab", "URIEL+", "lab", "lab"]
    fin, lab_fin = df.loc["fin", list(LAB_SYNTAX_FEATURES)], df.loc["lab_fin", list(LAB_SYNTAX_FEATURES)]
    for f in ("S_SVO", "S_SOV", "S_ADJECTIVE_BEFORE_NOUN", "S_POSSESSOR_BEFORE_NOUN", "S_CASE_SUFFIX", "S_TAM_SUFFIX"):
        assert lab_fin[f] == fin[f] == 1 or lab_fin[f] == fin[f] == 0, f
    assert df.loc["lab_m0", list(LAB_SYNTAX_FEATURES)].notna().all()
    imitated = feature_table(["lab_fin"], cache_dir=plain_cache, lab_features="imitated").iloc[0]
    assert imitated.row_source == "URIEL+" and imitated.proxy_for == "fin" and imitated.S_SVO == fin.S_SVO


def test_lab_languages_without_a_real_one_get_a_syntactic_distance(plain_cache):
    series = ["lab_m0", "lab_m3", "lab_m4", "lab_m5"]
    df = distance_table(series, [*series, "lab_fin", "fin"], kinds=["syntactic", "genetic"], cache_dir=plain_cache)
    assert df.syntactic.between(0, 1).all() and df.genetic.isna().all()
    assert "genetic: lab_m0 imitates no real language" in _row(df, "lab_m0", "lab_fin").missing
    assert "genetic: lab_m3 and lab_m5 imitate no real language" in _row(df, "lab_m3", "lab_m5").missing
    assert "syntactic:" not in _row(df, "lab_m0", "lab_fin").missing
    assert _row(df, "lab_m0", "lab_m0").syntactic == 0 < _row(df, "lab_m0", "lab_m5").syntactic
    # lab_m3 has Finnish's plural, case and tense suffixes; lab_m4 adds a negative suffix, which Finnish
    # lacks (WALS 112A: a negative word); lab_m5 adds agreement, which no URIEL+ syntactic feature codes
    d = {c: _row(df, c, "lab_fin").syntactic for c in series}
    assert d["lab_m3"] < d["lab_m4"] == d["lab_m5"] < d["lab_m0"]
    assert _row(df, "lab_m4", "lab_m5").syntactic == 0
    assert _row(df, "lab_m5", "lab_fin").syntactic == _row(df, "lab_m5", "fin").syntactic  # lab_fin stands for fin
    assert _row(df, "lab_m5", "lab_fin").target_proxy_for == "fin"


def test_own_lab_features_give_the_lab_grammars_distance(plain, plain_cache):
    langs = ["lab_fin", "lab_tur", "lab_eng"]
    own = distance_table(langs, kinds=["syntactic", "genetic"], cache_dir=plain_cache, lab_features="own")
    rows = {c: lab_syntax_features(get_spec(c)) for c in langs}
    assert _row(own, "lab_fin", "lab_tur").syntactic == syntactic_distance(rows["lab_fin"], rows["lab_tur"])
    assert _row(own, "lab_fin", "lab_tur").syntactic != _row(plain, "fin", "tur").syntactic
    assert _row(own, "lab_fin", "lab_tur").genetic == _row(plain, "fin", "tur").genetic  # other kinds: imitated
    assert _row(own, "lab_fin", "lab_fin").syntactic == 0
    with pytest.raises(ValueError, match="'mine'; allowed: imitated, own"):
        distance_table(langs, kinds=["syntactic"], cache_dir=plain_cache, lab_features="mine")


def test_feature_rows_are_cached(plain_cache, monkeypatch):
    feature_table(["fin", "eng", "lab_m2"], cache_dir=plain_cache)
    _forbid_urielplus(monkeypatch)
    df = distance_table(["lab_m2"], ["fin", "eng"], kinds=["syntactic"], cache_dir=plain_cache)
    assert df.syntactic.notna().all()


def test_morphology_index_of_a_lab_only_language_is_missing_not_an_error():
    row = morphology_index(["lab_m3"]).iloc[0]
    assert math.isnan(row.morphology_index) and "lab_m3 imitates no real language" in row.missing


# ---------------------------------------------------------------- proxies: the typology without the lab


def test_a_proxy_given_by_hand_works_without_the_lab(plain, plain_cache):
    own_row = {"S_SVO": 1.0, "S_SOV": 0.0, "S_CASE_SUFFIX": 1.0, "S_TAM_SUFFIX": math.nan}
    mine = {"my_fin": Proxy("fin"), "my_own": Proxy(None, own_row)}
    df = typology.distance_table(["my_fin", "my_own"], ["eng", "fin"], kinds=["syntactic", "genetic"],
                                 cache_dir=plain_cache, proxies=mine)
    stand_in, real = _row(df, "my_fin", "eng"), _row(plain, "fin", "eng")
    assert (stand_in.syntactic, stand_in.genetic) == (real.syntactic, real.genetic)
    assert stand_in.source_proxy_for == "fin" and stand_in.target_proxy_for == "" and stand_in.missing == ""
    alone = _row(df, "my_own", "fin")  # imitates none: its own row, URIEL+'s definition, no other kinds
    known = {k: v for k, v in own_row.items() if not math.isnan(v)}
    assert alone.syntactic == syntactic_distance(known, _uriel_rows(["fin"], plain_cache)["fin"])
    assert math.isnan(alone.genetic) and "genetic: my_own imitates no real language" in alone.missing
    assert alone.source_proxy_for == ""
    own = typology.distance_table(["my_fin"], ["fin"], kinds=["syntactic"], cache_dir=plain_cache,
                                  proxy_features="own", proxies={"my_fin": Proxy("fin", known)})
    assert own.syntactic[0] == syntactic_distance(known, _uriel_rows(["fin"], plain_cache)["fin"])

    ft = typology.feature_table(["my_own", "my_fin", "fin"], ["S_SVO", "S_TAM_SUFFIX"], proxy_features="imitated",
                                cache_dir=plain_cache, proxies=mine).set_index("lang")
    assert list(ft.row_source) == ["own", "URIEL+", "URIEL+"] and list(ft.proxy_for) == ["", "fin", ""]
    assert ft.loc["my_own", "S_SVO"] == 1 and math.isnan(ft.loc["my_own", "S_TAM_SUFFIX"])
    assert ft.loc["my_fin"].S_SVO == ft.loc["fin"].S_SVO

    mi = typology.morphology_index(["my_fin", "my_own", "fin"], proxies=mine).set_index("lang")
    assert mi.loc["my_fin", "morphology_index"] == mi.loc["fin", "morphology_index"]
    assert mi.loc["my_fin", "proxy_for"] == "fin" and mi.loc["my_fin", "glottocode"] == "finn1318"
    assert "my_own imitates no real language" in mi.loc["my_own", "missing"]
    assert resolve("my_fin", mine) == ("fin", "fin") and resolve("fin", mine) == ("fin", None)


def test_a_code_neither_iso_nor_a_proxy_is_refused_naming_what_is_allowed(plain_cache):
    mine = {"my_fin": Proxy("fin")}
    with pytest.raises(ValueError, match="'xyz'.*ISO 639-3 codes URIEL\\+ knows.*nor a language given a Proxy "
                                         "\\(my_fin\\)"):
        typology.distance_table(["my_fin", "xyz"], kinds=["syntactic"], cache_dir=plain_cache, proxies=mine)
    with pytest.raises(ValueError, match="'lab_fin'.*nor a language given a Proxy \\(none given\\)"):
        typology.feature_table(["lab_fin"], ["S_SVO"], cache_dir=plain_cache)  # no lab codes without their proxies
    with pytest.raises(ValueError, match="'lab_m0'.*nor a language given a Proxy"):
        typology.morphology_index(["lab_m0"])
    with pytest.raises(ValueError, match="'my_fin' imitates no real language"):
        resolve("my_fin", {"my_fin": Proxy(None)})
    with pytest.raises(ValueError, match="unknown proxy_features 'mine'; allowed: imitated, own"):
        typology.feature_table(["fin"], cache_dir=plain_cache, proxy_features="mine")


def test_lab_proxies_are_the_presets():
    got = lab_proxies(["fin", "lab_fin", "lab_m0", "lab_fin"])
    assert list(got) == ["lab_fin", "lab_m0"]
    assert got["lab_fin"].imitates == "fin" and got["lab_m0"].imitates is None
    assert list(got["lab_m0"].features) == list(lab_syntax_features(get_spec("lab_m0")))
    with pytest.raises(ValueError, match="unknown lab language 'lab_xyz'; allowed: lab_eng"):
        lab_proxies(["lab_xyz"])


def test_typology_never_imports_the_lab(plain_cache):
    for path in sorted(Path(typology.__file__).parent.glob("*.py")):  # not even inside a function
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any(n == "xltkit.lab" or n.startswith("xltkit.lab.") for n in names), (path.name, node.lineno)
    code = (f"import sys, xltkit.typology as t; cache = {str(plain_cache)!r}; "
            "t.feature_table(['fin'], ['S_SVO'], cache_dir=cache); "
            "t.distance_table(['fin'], ['eng'], kinds=['syntactic'], cache_dir=cache); t.morphology_index(['fin']); "
            "lab = [m for m in sys.modules if m.startswith('xltkit.lab')]; assert not lab, lab")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- Grambank (slow: about 50 s, once)


@pytest.mark.slow
def test_morphological_distance_from_grambank(full):
    df = full["df"]
    for a in LANGS:
        for b in LANGS:
            assert 0 <= _row(df, a, b).morphological <= 1, (a, b)
    assert _row(df, "fin", "fin").morphological == pytest.approx(0, abs=5e-4)
    assert _row(df, "fin", "hun").morphological < _row(df, "fin", "eng").morphological
    assert _row(df, "fin", "eng").syntactic == pytest.approx(0.505, abs=0.002)  # still the plain instance's


@pytest.mark.slow
def test_grambank_gaps_are_reported(full):
    df = full["df"]
    yor = _row(df, "fin", "yor")
    assert math.isnan(yor.morphological) and "yor (yoru1245)" in yor.missing and "Grambank" in yor.missing
    assert not math.isnan(yor.syntactic)
    est = _row(df, "est", "fin")
    assert math.isnan(est.morphological) and "no glottocode for est" in est.missing


@pytest.mark.slow
def test_grambank_leaves_plain_urielplus_working(full):
    assert full["before"] == full["after"], "integrating Grambank rewrote urielplus's package databases"
    u = _new_uriel()
    assert u.get_codes() == "Iso"
    assert u.new_distance("syntactic", ["fin", "eng"]) == pytest.approx(0.505, abs=0.002)


@pytest.mark.slow
def test_full_table_is_cached(full, monkeypatch):
    _forbid_urielplus(monkeypatch)
    t = time.perf_counter()
    df = distance_table(["lab_fin", "hun"], ["eng", "yor"], cache_dir=full["cache"])
    assert time.perf_counter() - t < 1.0
    assert _row(df, "lab_fin", "eng").morphological == _row(full["df"], "fin", "eng").morphological
    assert "yor (yoru1245)" in _row(df, "hun", "yor").missing
