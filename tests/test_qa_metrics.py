"""QA answer normalization, exact match and F1: every expected value is worked out by hand
in the comment beside it, from the rules in xltkit.modeling.qa_metrics's docstring."""

import numpy as np
import pytest

from xltkit.modeling.qa_metrics import (RULES, QAMetricError, check_rule, em_f1_arrays, exact_match, f1,
                                        normalize, tokens, xtreme_average)


def test_the_three_rules_are_registered():
    assert set(RULES) == {"squad", "mlqa", "xltkit"}


@pytest.mark.parametrize("rule, lang, text, expected", [
    # English: "the", "a" go; the "the" of "theory" is inside a word and stays
    ("squad", "en", "The Theory of a Man", "theory of man"),
    ("mlqa", "en", "The Theory of a Man", "theory of man"),
    # squad applies the English articles in every language (XTREME's XQuAD/TyDiQA scoring)
    ("squad", "es", "La casa de un rey", "la casa de un rey"),
    ("mlqa", "es", "La casa de los Reyes", "casa de reyes"),  # la, los go
    ("mlqa", "es", "Una Unión", "unión"),  # "una" goes, "unión" is one word and stays
    ("mlqa", "de", "Der Hund des Mannes", "hund mannes"),  # der, des go
    ("mlqa", "de", "Einstein", "einstein"),  # "ein" inside a word stays
    ("mlqa", "vi", "Cái bàn của tôi", "bàn tôi"),  # cái, của go
    ("mlqa", "hi", "एक किताब", "एक किताब"),  # Hindi: no articles ("एक" is "one")
    ("mlqa", "zh", "一本书", "一 本 书"),  # Chinese: no articles, one token per character
    ("xltkit", "hu", "Az Országház", "országház"),  # az goes
    ("xltkit", "hu", "a Duna egy ága", "duna ága"),  # a and egy go
    ("xltkit", "hu", "azonban", "azonban"),  # "az" inside a word stays
    ("xltkit", "fi", "A ja B", "a ja b"),  # Finnish: no articles, so "a" stays ...
    ("squad", "fi", "A ja B", "ja b"),  # ... which the English rule would drop
    ("xltkit", "et", "Tallinn on Eesti pealinn", "tallinn on eesti pealinn"),  # Estonian: none
])
def test_articles_per_language(rule, lang, text, expected):
    assert normalize(text, rule, lang) == expected


def test_arabic_article_is_removed_wherever_the_two_letters_stand_as_mlqa_does():
    assert normalize("الكتاب", "mlqa", "ar") == "كتاب"  # al-kitab -> kitab
    # inside a word too: bi-l-kitab -> "ب" + " " + "كتاب", two tokens; "مال" (money) -> "م"
    assert tokens("بالكتاب", "mlqa", "ar") == ["ب", "كتاب"]
    assert tokens("مال", "mlqa", "ar") == ["م"]
    assert normalize("الكتاب", "squad", "ar") == "الكتاب"  # the English rule leaves Arabic alone


@pytest.mark.parametrize("text, lang, mlqa, squad", [
    ("«Paris»", "en", "paris", "«paris»"),  # guillemets are Unicode Pi/Pf, not ASCII
    ("¿Qué?", "es", "qué", "¿qué"),  # "¿" is Unicode Po, "?" is ASCII: squad drops only "?"
    ("1848–49", "de", "184849", "1848–49"),  # en dash is Pd
    ("$5", "en", "5", "5"),  # "$" is a symbol (Sc) but in string.punctuation: both drop it
    ("किताब।", "hi", "किताब", "किताब।"),  # the danda is Po
])
def test_unicode_punctuation_goes_under_mlqa_not_under_squad(text, lang, mlqa, squad):
    assert normalize(text, "mlqa", lang) == mlqa
    assert normalize(text, "xltkit", lang) == mlqa  # xltkit is MLQA's rule on MLQA's languages
    assert normalize(text, "squad", lang) == squad


def test_chinese_mixed_segmentation():
    # "、" is removed as punctuation first; then each character is a token
    assert normalize("北京、上海", "mlqa", "zh") == "北 京 上 海"
    assert normalize("北京、上海", "squad", "zh") == "北京、上海"  # one whitespace token
    # a Latin run between characters stays one (lower-cased) token
    assert tokens("iPhone手机", "mlqa", "zh") == ["iphone", "手", "机"]
    # pred 4 chars, gold 2, 2 shared: P = 2/4, R = 2/2, F1 = 2 * 0.5 * 1 / 1.5 = 2/3
    assert f1("北京大学", ["北京"], "mlqa", "zh") == pytest.approx(2 / 3)
    assert exact_match("北京大学", ["北京"], "mlqa", "zh") == 0.0
    # under squad each side is one token and they differ: F1 0
    assert f1("北京大学", ["北京"], "squad", "zh") == 0.0
    # spaces do not matter once every character is a token
    assert exact_match("北京 大学", ["北京大学"], "mlqa", "zh") == 1.0
    assert exact_match("北京 大学", ["北京大学"], "squad", "zh") == 0.0


def test_f1_counts_shared_tokens_with_multiplicity_and_takes_the_best_gold():
    # pred "big red barn" (3 tokens); gold "red barn": 2 shared, P = 2/3, R = 1,
    # F1 = 2 * (2/3) / (5/3) = 0.8; gold "barn": P = 1/3, R = 1, F1 = (2/3) / (4/3) = 0.5
    assert f1("the big red barn", ["red barn", "barn"], "squad", "en") == pytest.approx(0.8)
    assert exact_match("the big red barn", ["red barn", "barn"], "squad", "en") == 0.0
    # one gold equal after normalization: EM 1 and F1 1, whatever the others
    assert exact_match("The big red barn!", ["red barn", "big red barn"], "squad", "en") == 1.0
    assert f1("The big red barn!", ["red barn", "big red barn"], "squad", "en") == 1.0
    # pred "new york new york" (4), gold "new york" (2): shared min counts 1 + 1 = 2,
    # P = 2/4, R = 2/2, F1 = 2 * 0.5 / 1.5 = 2/3
    assert f1("New York, New York", ["New York"], "squad", "en") == pytest.approx(2 / 3)


def test_unanswerable_questions_follow_squad_2():
    # no gold answers: the only gold is "", so "" (or blank) is right and anything else wrong
    assert exact_match("", [], "squad", "en") == 1.0 and f1("", [], "squad", "en") == 1.0
    assert exact_match("  ", [], "mlqa", "zh") == 1.0 and f1("  ", [], "mlqa", "zh") == 1.0
    assert exact_match("x", [], "squad", "en") == 0.0 and f1("x", [], "squad", "en") == 0.0
    # an answerable question left unanswered: no tokens on one side only, F1 0
    assert exact_match("", ["Paris"], "squad", "en") == 0.0 and f1("", ["Paris"], "squad", "en") == 0.0
    # a gold that normalizes to "" ("The") is dropped; none left -> unanswerable
    assert f1("the", ["The"], "squad", "en") == 1.0 and f1("Paris", ["The"], "squad", "en") == 0.0
    # ... and with another gold left, the prediction "a" (also "") is scored against "Paris" only
    assert exact_match("a", ["The", "Paris"], "squad", "en") == 0.0


def test_hungarian_articles_with_the_xltkit_rule():
    assert exact_match("az Országház", ["Országház"], "xltkit", "hu") == 1.0
    # the English rule keeps "az": 1 shared of 2 predicted tokens, P = 1/2, R = 1, F1 = 2/3
    assert exact_match("az Országház", ["Országház"], "squad", "hu") == 0.0
    assert f1("az Országház", ["Országház"], "squad", "hu") == pytest.approx(2 / 3)
    # a gold "egy" (also the numeral one) normalizes to "": it counts as no answer
    assert normalize("egy", "xltkit", "hu") == ""


def test_finnish_keeps_every_word():
    assert normalize("Suomen pääkaupunki on Helsinki.", "xltkit", "fi") == "suomen pääkaupunki on helsinki"
    assert f1("Helsinki", ["Helsinki, Suomi"], "xltkit", "fi") == pytest.approx(2 / 3)  # P 1, R 1/2


def test_unknown_languages_and_rules_raise_naming_the_fix():
    with pytest.raises(QAMetricError) as e:
        check_rule("mlqa", "fi")
    message = str(e.value)
    for part in ("'mlqa'", "'fi'", "ar, de, en, es, hi, vi, zh", "squad", "xltkit"):
        assert part in message
    assert isinstance(e.value, ValueError)
    with pytest.raises(QAMetricError, match="did you mean 'squad'.*allowed: squad, mlqa, xltkit"):
        check_rule("sqaud", "en")
    with pytest.raises(QAMetricError, match="'xltkit'.*'ru'.*squad"):
        f1("a", ["a"], "xltkit", "ru")
    check_rule("squad", "th")  # the English rule takes any language


def test_iso_639_3_codes_are_accepted():
    assert normalize("Az Országház", "xltkit", "hun") == normalize("Az Országház", "xltkit", "hu") == "országház"
    assert normalize("The end", "mlqa", "eng") == "end"
    for code in ("zho", "cmn"):  # both name Chinese: mixed segmentation
        assert normalize("北京", "mlqa", code) == "北 京"
    for code in ("fin", "ekk", "est"):
        check_rule("xltkit", code)
    with pytest.raises(QAMetricError, match=r"'fin' \('fi'\)"):
        check_rule("mlqa", "fin")


def test_many_examples_at_once():
    # Paris = paris: 1/1; unanswerable left blank: 1/1; "big red barn" vs "red barn": 0/0.8
    em, f = em_f1_arrays(["Paris", "", "big red barn"], [["paris"], [], ["red barn"]], "squad", "en")
    np.testing.assert_allclose(em, [1.0, 1.0, 0.0])
    np.testing.assert_allclose(f, [1.0, 1.0, 0.8])
    with pytest.raises(QAMetricError, match="2 predictions for 1"):
        em_f1_arrays(["a", "b"], [["a"]], "squad", "en")
    with pytest.raises(QAMetricError, match="list of strings"):
        exact_match("Paris", "Paris", "squad", "en")  # a bare string would be read as its characters


def test_xtreme_scores_a_qa_task_by_the_mean_of_em_and_f1():
    assert xtreme_average(60.0, 70.0) == 65.0  # (60 + 70) / 2
