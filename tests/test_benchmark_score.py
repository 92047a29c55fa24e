"""The XTREME-R score (xltkit.analysis.benchmark) on small tables whose numbers are computed by hand.

Values in the tables are fractions; scores are in %.  With 2 seeds the 95% t interval is
mean ± t(0.975, 1) · sd / √2 = mean ± 12.7062047 · |a - b| / 2.
"""

import math

import pandas as pd
import pytest

from xltkit.analysis.benchmark import (XTREME_R, Benchmark, BenchmarkTask, render_scores, seed_interval,
                                       xtreme_r_score, benchmark_score)

T1 = 12.706204736174707  # t(0.975, df=1)
SYSTEM = dict(model="xlmr", source_lang="eng", intermediate_task="nli", intermediate_lang="fin", noise_setting="none",
              intermediate_noise_setting="none")


def _rows(values: dict, **extra) -> pd.DataFrame:
    """values: (task, metric, lang) -> [value of seed 0, value of seed 1, ...] (None: no row)."""
    rows = []
    for (task, metric, lang), by_seed in values.items():
        for seed, v in enumerate(by_seed):
            if v is not None:
                rows.append({**SYSTEM, "experiment": "e", "run_id": f"{task}-{seed}", "target_task": task,
                             "seed": seed, "eval_lang": lang, "split": "test", "metric": metric, "value": v,
                             "n_examples": 100, "phenomenon": "all", "eval_setting": "same", "noise": "none",
                             "noise_scale": 0.0, **extra})
    return pd.DataFrame(rows)


# two tasks per category, two languages each, two seeds; (task score of seed 0, seed 1) in the comments
FULL = {
    ("xnli", "accuracy", "eng"): [0.80, 0.84], ("xnli", "accuracy", "fra"): [0.70, 0.72],  # 75, 78
    ("xcopa", "accuracy", "ita"): [0.60, 0.62], ("xcopa", "accuracy", "tur"): [0.50, 0.54],  # 55, 58
    ("udpos", "span_f1", "fin"): [0.90, 0.92], ("udpos", "span_f1", "hun"): [0.80, 0.84],  # 85, 88
    ("panx", "span_f1", "fin"): [0.70, 0.74], ("panx", "span_f1", "hun"): [0.60, 0.62],  # 65, 68
    # QA: per language (EM + F1) / 2; xquad eng 70 | 72, deu 50 | 52 -> 60, 62
    ("xquad", "exact_match", "eng"): [0.60, 0.64], ("xquad", "f1", "eng"): [0.80, 0.80],
    ("xquad", "exact_match", "deu"): [0.40, 0.44], ("xquad", "f1", "deu"): [0.60, 0.60],
    # mlqa eng 60 | 62, spa 40 | 42 -> 50, 52
    ("mlqa", "exact_match", "eng"): [0.50, 0.52], ("mlqa", "f1", "eng"): [0.70, 0.72],
    ("mlqa", "exact_match", "spa"): [0.30, 0.32], ("mlqa", "f1", "spa"): [0.50, 0.52],
    ("tatoeba", "accuracy", "fin"): [0.50, 0.56], ("tatoeba", "accuracy", "hun"): [0.40, 0.44],  # 45, 50
    ("mewsli-x", "map@20", "arb"): [0.30, 0.32], ("mewsli-x", "map@20", "deu"): [0.20, 0.24],  # 25, 28
}


def _get(table, level, name, variant="all"):
    r = table[(table.variant == variant) & (table.level == level) & (table.name == name)]
    assert len(r) == 1, (level, name, variant, len(r))
    return r.iloc[0]


def _check(row, a, b):
    """row's score is the mean of seed scores a, b, with the 2-seed t interval."""
    half = T1 * abs(a - b) / 2
    assert row.score == pytest.approx((a + b) / 2)
    assert row.ci_low == pytest.approx((a + b) / 2 - half) and row.ci_high == pytest.approx((a + b) / 2 + half)
    assert row.n_seeds == 2 and row.seeds == "0, 1"


def test_full_table_task_category_and_overall_by_hand():
    t = xtreme_r_score(_rows(FULL), variants=["all"])
    for task, (a, b) in {"xnli": (75, 78), "xcopa": (55, 58), "udpos": (85, 88), "panx": (65, 68),
                         "xquad": (60, 62), "mlqa": (50, 52), "tatoeba": (45, 50), "mewsli-x": (25, 28)}.items():
        _check(_get(t, "task", task), a, b)
    _check(_get(t, "category", "classification"), 65, 68)  # (75 + 55) / 2, (78 + 58) / 2
    _check(_get(t, "category", "structured_prediction"), 75, 78)
    _check(_get(t, "category", "question_answering"), 55, 57)  # tydiqa has no rows
    _check(_get(t, "category", "retrieval"), 35, 39)  # lareqa has no rows
    o = _get(t, "overall", "overall")
    _check(o, 57.5, 60.5)  # (65 + 75 + 55 + 35) / 4 = 57.5, (68 + 78 + 57 + 39) / 4 = 60.5
    assert o.ci_low == pytest.approx(59.0 - T1 * 1.5) and o.ci_high == pytest.approx(59.0 + T1 * 1.5)
    # only 2 languages per task, tydiqa and lareqa missing: never the benchmark's score
    assert not o.complete and "PARTIAL" in o.note
    assert o.tasks_missing == "tydiqa, lareqa" and o.categories_missing == ""
    assert _get(t, "task", "tydiqa").tasks_missing == "tydiqa" and math.isnan(_get(t, "task", "tydiqa").score)
    x = _get(t, "task", "xnli")
    assert x.languages == "eng, fra" and x.n_languages == 2 and not x.complete
    assert len(x.languages_missing.split(", ")) == 13 and "cmn" in x.languages_missing  # zh -> cmn (ISO 639-3)
    assert _get(t, "task", "xquad").metric == "mean(exact_match, f1)"


def test_bootstrap_interval_over_two_seeds_is_their_range():
    t = xtreme_r_score(_rows(FULL), variants=["all"], interval="bootstrap", n_boot=2000)
    o = _get(t, "overall", "overall")
    # seed means resampled: 57.5, 59.0 or 60.5 with probability 1/4, 1/2, 1/4 -> 2.5% and 97.5% quantiles
    assert (o.score, o.ci_low, o.ci_high) == pytest.approx((59.0, 57.5, 60.5))


def test_missing_tasks_and_a_missing_category():
    values = {k: v for k, v in FULL.items() if k[0] not in ("xcopa", "tatoeba", "mewsli-x")}
    t = xtreme_r_score(_rows(values), variants=["all"])
    c = _get(t, "category", "classification")
    _check(c, 75, 78)  # xnli alone
    assert c.tasks_used == "xnli" and c.tasks_missing == "xcopa" and not c.complete
    r = _get(t, "category", "retrieval")
    assert math.isnan(r.score) and r.tasks_missing == "tatoeba, mewsli-x, lareqa" and r.note == "no results"
    o = _get(t, "overall", "overall")
    _check(o, 205 / 3, 213 / 3)  # (75 + 75 + 55) / 3, (78 + 78 + 57) / 3: over the 3 categories present
    assert not o.complete and o.categories_missing == "retrieval"
    assert o.tasks_missing == "xcopa, tydiqa, tatoeba, mewsli-x, lareqa"
    assert "xcopa" in o.note and "PARTIAL" in o.note
    # the official code's all_task: mean of the tasks, (75 + 85 + 65 + 60 + 50) / 5 = 67, (78 + 88 + 68 + 62 + 52) / 5
    _check(_get(xtreme_r_score(_rows(values), variants=["all"], overall="tasks"), "overall", "overall"), 67, 69.6)


def test_qa_combines_exact_match_and_f1_per_language():
    t = xtreme_r_score(_rows({("tydiqa", "exact_match", "eng"): [0.50], ("tydiqa", "f1", "eng"): [0.70],
                              ("tydiqa", "f1", "fin"): [0.90]}), variants=["all"])
    q = _get(t, "task", "tydiqa")
    assert q.score == pytest.approx(60.0)  # eng (50 + 70) / 2; fin has F1 only: left out and named
    assert q.languages == "eng" and "fin" in q.languages_missing and "fin lacks exact_match" in q.note
    assert math.isnan(q.ci_low) and q.n_seeds == 1 and "one seed: no interval" in q.note


VARIANT_VALUES = {  # one seed; intermediate language fin (seen); swh and yor low-resource
    ("xnli", "accuracy", "eng"): [0.80], ("xnli", "accuracy", "fra"): [0.70], ("xnli", "accuracy", "swh"): [0.60],
    ("panx", "span_f1", "fin"): [0.90], ("panx", "span_f1", "hun"): [0.60], ("panx", "span_f1", "yor"): [0.30],
}


def _flagged(values):
    df = _rows(values)
    return df.assign(eval_low_resource=df.eval_lang.isin(["swh", "yor"]), eval_seen=df.eval_lang == "fin")


def test_low_resource_and_unseen_variants_by_hand():
    t = xtreme_r_score(_flagged(VARIANT_VALUES))
    # all: xnli (80 + 70 + 60) / 3 = 70, panx (90 + 60 + 30) / 3 = 60 -> overall 65
    assert _get(t, "task", "xnli").score == pytest.approx(70) and _get(t, "task", "panx").score == pytest.approx(60)
    assert _get(t, "overall", "overall").score == pytest.approx(65)
    # low-resource: xnli swh 60, panx yor 30 -> 45
    assert _get(t, "task", "xnli", "low_resource").score == pytest.approx(60)
    assert _get(t, "task", "panx", "low_resource").score == pytest.approx(30)
    assert _get(t, "overall", "overall", "low_resource").score == pytest.approx(45)
    # XNLI's only low-resource language (Joshi class <= 2) is Swahili: that task is complete in this variant
    assert _get(t, "task", "xnli", "low_resource").complete
    assert _get(t, "task", "xnli", "low_resource").languages_missing == ""
    # MLQA has no low-resource language: not applicable, not missing
    m = _get(t, "task", "mlqa", "low_resource")
    assert "not applicable" in m.note and "mlqa" not in _get(t, "overall", "overall", "low_resource").tasks_missing
    # unseen: fin dropped -> xnli 70, panx (60 + 30) / 2 = 45 -> 57.5; fin is not missing there
    assert _get(t, "task", "panx", "unseen").score == pytest.approx(45)
    assert _get(t, "overall", "overall", "unseen").score == pytest.approx(57.5)
    assert "fin" not in _get(t, "task", "panx", "unseen").languages_missing.split(", ")
    assert _get(t, "task", "panx", "all").languages == "fin, hun, yor"
    text = render_scores(t)
    assert "PARTIAL" in text and "variant=low_resource" in text and "Scores in %" in text


def test_the_unrelated_variant_also_leaves_out_close_relatives_of_the_intermediate_language_by_hand():
    values = {**VARIANT_VALUES, ("panx", "span_f1", "ekk"): [0.50]}  # Estonian: Finnish's relative
    df = _flagged(values)
    t = xtreme_r_score(df.assign(eval_relative=df.eval_lang == "ekk"), variants=["unseen", "unrelated"])
    # unseen: panx (50 + 60 + 30) / 3 = 46.67; unrelated: panx (60 + 30) / 2 = 45; xnli 70 in both
    assert _get(t, "task", "panx", "unseen").score == pytest.approx(140 / 3)
    assert _get(t, "task", "panx", "unrelated").score == pytest.approx(45)
    assert _get(t, "overall", "overall", "unrelated").score == pytest.approx(57.5)
    assert not {"fin", "ekk"} & set(_get(t, "task", "panx", "unrelated").languages_missing.split(", "))
    with pytest.raises(ValueError, match="'eval_relative' is needed by the 'unrelated' variant"):
        xtreme_r_score(df, variants=["unrelated"])


def test_a_complete_benchmark_is_marked_complete():
    toy = Benchmark("toy", (BenchmarkTask("xnli", "classification", ("eng", "fra"), ("accuracy",)),
                            BenchmarkTask("panx", "structured_prediction", ("fin",), ("span_f1",))))
    values = {("xnli", "accuracy", "eng"): [0.8, 0.9], ("xnli", "accuracy", "fra"): [0.6, 0.7],  # 70, 80
              ("panx", "span_f1", "fin"): [0.5, 0.5], ("anim", "accuracy", "lab_fin"): [0.9, 0.9]}  # 50, 50
    t = benchmark_score(_rows(values), toy, variants=["all"])
    o = _get(t, "overall", "overall")
    _check(o, 60, 65)
    assert o.complete and "PARTIAL" not in o.note and "anim" in o.note  # a task outside the benchmark is named


def test_seeds_not_shared_by_every_task():
    values = {("xnli", "accuracy", "eng"): [0.8, 0.9], ("panx", "span_f1", "fin"): [None, 0.5, 0.7]}
    t = xtreme_r_score(_rows(values), variants=["all"])
    o = _get(t, "overall", "overall")
    assert o.score == pytest.approx((90 + 50) / 2) and o.seeds == "1" and "one seed" in o.note  # seed 1 only
    values = {("xnli", "accuracy", "eng"): [0.8, None], ("panx", "span_f1", "fin"): [None, 0.6]}
    o = _get(xtreme_r_score(_rows(values), variants=["all"]), "overall", "overall")
    assert o.score == pytest.approx(70) and math.isnan(o.ci_low) and "no seed is shared" in o.note


def test_bad_input_is_refused_clearly():
    df = _rows(FULL)
    with pytest.raises(ValueError, match="split == 'test'"):
        xtreme_r_score(df.assign(split="dev"), variants=["all"])
    with pytest.raises(ValueError, match="eval_low_resource.*low_resource"):
        xtreme_r_score(df, variants=["all", "low_resource"])
    with pytest.raises(ValueError, match=r"\['seed'\]"):
        xtreme_r_score(df.drop(columns="seed"), variants=["all"])
    with pytest.raises(ValueError, match="share system, task, seed"):
        xtreme_r_score(pd.concat([df, df]), variants=["all"])
    with pytest.raises(ValueError, match="no test rows of xtreme-r tasks"):
        xtreme_r_score(df[df.target_task == "xnli"].assign(target_task="anim"), variants=["all"])
    with pytest.raises(ValueError, match="unknown variant"):
        xtreme_r_score(df, variants=["high"])


def test_seed_interval_and_the_benchmark_as_data():
    one = seed_interval([1.0])
    assert one[0] == 1.0 and math.isnan(one[1]) and math.isnan(one[2])  # one seed: no bounds
    mean, lo, hi = seed_interval([2.0, 4.0])
    assert (mean, lo, hi) == pytest.approx((3.0, 3.0 - T1, 3.0 + T1))
    assert XTREME_R.categories == ("classification", "structured_prediction", "question_answering", "retrieval")
    assert [len(t.languages) for t in XTREME_R.tasks] == [15, 11, 38, 48, 12, 7, 9, 41, 11, 11]
    assert len({lang for t in XTREME_R.tasks for lang in t.languages}) == 50


def test_cli_score(tmp_path, capsys):
    from xltkit.pipeline.cli import main

    path = tmp_path / "results.parquet"
    _flagged(VARIANT_VALUES).to_parquet(path)
    out = tmp_path / "scores.csv"
    assert main(["score", str(path), "--out", str(out)]) == 0
    assert "overall" in capsys.readouterr().out
    t = pd.read_csv(out)
    assert set(t.variant) == {"all", "low_resource", "unseen"}
    assert main(["score", str(tmp_path / "none.parquet")]) == 2
