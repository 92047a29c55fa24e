import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from xltkit.analysis.gains import gain_table, hierarchical_bootstrap, pooled_scores, ratio_bootstrap, seed_gains


def _fake(acc_by_run: dict, n=400, seed=0):
    """results + predictions for runs keyed (intermediate_lang, seed, eval_lang) -> accuracy."""
    rng = np.random.default_rng(seed)
    res, preds = [], []
    for (inter, s, lang), acc in acc_by_run.items():
        rid = f"{inter}-{s}"
        correct = (rng.random(n) < acc).astype(float)
        res.append(dict(experiment="e", run_id=rid, model="lab-bert", intermediate_task="roles" if inter != "none" else "none",
                        intermediate_lang=inter, target_task="anim", source_lang="lab_eng", noise="none",
                        noise_scale=0.0, seed=s, eval_lang=lang, split="test", metric="accuracy",
                        value=correct.mean(), n_examples=n, phenomenon="all"))
        preds.append(pd.DataFrame(dict(run_id=rid, eval_lang=lang, split="test", example_id=np.arange(n),
                                       label=0, pred=0, correct=correct, phenomena="")))
    return pd.DataFrame(res), pd.concat(preds, ignore_index=True)


def test_bootstrap_of_a_constant_difference_is_exact():
    d = np.full((3, 50), 0.2)
    mean, lo, hi = hierarchical_bootstrap(d, 200, np.random.default_rng(0))
    assert mean == pytest.approx(0.2) and lo == pytest.approx(0.2) and hi == pytest.approx(0.2)


def test_bootstrap_interval_covers_the_truth_most_of_the_time():
    rng = np.random.default_rng(1)
    hits = 0
    for _ in range(40):
        d = (rng.random((4, 300)) < 0.6).astype(float) - (rng.random((4, 300)) < 0.5).astype(float)
        _, lo, hi = hierarchical_bootstrap(d, 300, rng)
        hits += lo <= 0.1 <= hi
    assert hits >= 34


def test_gains_are_paired_by_seed_and_find_a_planted_effect():
    cells = {}
    for s in range(3):
        for lang in ("lab_fin", "lab_tur"):
            cells[("none", s, lang)] = 0.55
            cells[("lab_fin", s, lang)] = 0.75 if lang == "lab_fin" else 0.55
    res, preds = _fake(cells)
    g, msgs = gain_table(res, preds, n_boot=300)
    assert msgs == []
    fin = g[g.eval_lang == "lab_fin"].iloc[0]
    tur = g[g.eval_lang == "lab_tur"].iloc[0]
    assert fin.significant and fin.ci_low > 0.1 and fin.n_seeds == 3
    assert tur.ci_low < 0 < tur.ci_high
    sg, _ = seed_gains(res)
    assert len(sg) == 6
    row = sg[(sg.seed == 1) & (sg.eval_lang == "lab_fin")].iloc[0]
    assert row.gain == pytest.approx(row.value - row.baseline)


def test_missing_baseline_is_reported_and_the_rest_still_runs():
    cells = {("none", 0, "lab_fin"): 0.5, ("lab_fin", 0, "lab_fin"): 0.6, ("lab_fin", 1, "lab_fin"): 0.6}
    res, preds = _fake(cells)
    g, msgs = gain_table(res, preds, n_boot=100)
    assert len(g) == 1 and g.iloc[0].n_seeds == 1
    assert any("no baseline (none) for seed 1" in m for m in msgs)
    sg, msgs = seed_gains(res)
    assert len(sg) == 1 and any("no baseline" in m for m in msgs)


def test_pooled_accuracy_uses_wilson_on_pooled_counts():
    cells = {("none", s, "lab_fin"): 0.6 for s in range(3)}
    res, _ = _fake(cells, n=200)
    acc = pooled_scores(res).iloc[0]
    k = (res.value * res.n_examples).sum()
    lo, hi = proportion_confint(k, 600, method="wilson")
    assert acc.n == 600 and acc.score == pytest.approx(k / 600) and acc.metric == "accuracy"
    assert (acc.ci_low, acc.ci_high) == pytest.approx((lo, hi))


def _fake_tagging(acc_by_run: dict, n=300, seed=0):
    """results + predictions of a token task (roles: primary metric span F1) with per-sentence
    sufficient statistics: sentences of 1-12 words, so micro and macro averages differ."""
    rng = np.random.default_rng(seed)
    res, preds = [], []
    for (inter, s, lang), p in acc_by_run.items():
        rid = f"{inter}-{s}"
        den = rng.integers(1, 13, size=n).astype(float)
        num = rng.binomial(den.astype(int), p).astype(float)
        for metric in ("span_f1", "token_accuracy"):
            res.append(dict(experiment="e", run_id=rid, model="lab-bert", intermediate_task="pos" if inter != "none"
                            else "none", intermediate_lang=inter, target_task="roles", source_lang="lab_eng",
                            noise="none", noise_scale=0.0, seed=s, eval_lang=lang, split="test", metric=metric,
                            value=num.sum() / den.sum() if metric == "span_f1" else 0.0, n_examples=n,
                            phenomenon="all"))
        preds.append(pd.DataFrame(dict(run_id=rid, eval_lang=lang, split="test", example_id=np.arange(n), label=-1,
                                       pred=-1, correct=num / den, num=num, den=den, phenomena="")))
    return pd.DataFrame(res), pd.concat(preds, ignore_index=True)


def test_tagging_gains_use_the_primary_metric_as_a_ratio_of_sums():
    cells = {}
    for s in range(3):
        cells[("none", s, "lab_fin")] = 0.5
        cells[("lab_fin", s, "lab_fin")] = 0.7
        cells[("none", s, "lab_tur")] = 0.5
        cells[("lab_fin", s, "lab_tur")] = 0.5
    res, preds = _fake_tagging(cells)
    g, msgs = gain_table(res, preds, n_boot=300)
    assert msgs == [] and set(g.metric) == {"span_f1"}
    fin, tur = g[g.eval_lang == "lab_fin"].iloc[0], g[g.eval_lang == "lab_tur"].iloc[0]
    # the gain is the difference of pooled ratios (sum num / sum den), not of per-sentence means
    p = preds.merge(res[res.metric == "span_f1"][["run_id", "eval_lang", "intermediate_lang"]].drop_duplicates(),
                    on=["run_id", "eval_lang"])
    f = p[p.eval_lang == "lab_fin"]
    ratio = {k: v.num.sum() / v.den.sum() for k, v in f.groupby("intermediate_lang")}
    assert fin.gain == pytest.approx(ratio["lab_fin"] - ratio["none"])
    assert fin.significant and fin.ci_low > 0.1 and tur.ci_low < 0 < tur.ci_high
    sg, _ = seed_gains(res)
    assert set(sg.metric) == {"span_f1"} and len(sg) == 6  # token_accuracy rows are not the primary metric
    pooled = pooled_scores(res, preds, n_boot=200)
    assert set(pooled.metric) == {"span_f1"}
    row = pooled[(pooled.intermediate_lang == "lab_fin") & (pooled.eval_lang == "lab_fin")].iloc[0]
    assert row.score == pytest.approx(ratio["lab_fin"]) and row.ci_low < row.score < row.ci_high
    assert row.ci_high - row.ci_low < 0.1


def test_ratio_bootstrap_of_equal_ratios_is_exact_and_covers_the_truth():
    num, den = np.full((3, 40), 2.0), np.full((3, 40), 4.0)
    assert ratio_bootstrap(num, den, 100, np.random.default_rng(0)) == pytest.approx((0.5, 0.5, 0.5))
    rng = np.random.default_rng(2)
    hits = 0
    for _ in range(40):
        den = rng.integers(1, 10, size=(4, 200)).astype(float)
        num = rng.binomial(den.astype(int), 0.3).astype(float)
        _, lo, hi = ratio_bootstrap(num, den, 300, rng)
        hits += lo <= 0.3 <= hi
    assert hits >= 34


def test_gain_of_one_intermediate_language_over_another():
    cells = {}
    for s in range(3):
        cells[("none", s, "lab_tur")] = 0.5
        cells[("lab_eng", s, "lab_tur")] = 0.55
        cells[("lab_fin", s, "lab_tur")] = 0.75
    res, preds = _fake(cells)
    g, msgs = gain_table(res, preds, n_boot=200, baseline="lab_eng")
    assert msgs == [] and list(g.intermediate_lang) == ["lab_fin"] and (g.baseline == "lab_eng").all()
    assert g.iloc[0].gain == pytest.approx(0.2, abs=0.06) and g.iloc[0].significant


def test_noise_settings_get_their_own_labels_and_clean_controls():
    from xltkit.analysis.controls import controls_table
    from xltkit.analysis.labels import setting

    rows = []
    for model, inter, noise, scale, acc in [("lab-bert", "none", "none", 0.0, 0.7), ("lab-bert", "none", "rs-rp", 0.1, 0.72),
                                            ("lab-bert-untrained", "none", "none", 0.0, 0.55),
                                            ("rule-length", "none", "none", 0.0, 0.5), ("rule-bow", "none", "none", 0.0, 0.6)]:
        rows.append(dict(model=model, target_task="anim", source_lang="lab_eng", noise=noise, noise_scale=scale,
                         intermediate_lang=inter, eval_lang="lab_fin", n=1000, n_seeds=3, metric="accuracy",
                         score=acc, ci_low=acc - 0.03, ci_high=acc + 0.03))
    rows.append({**rows[0], "model": "hf:some/encoder", "score": 0.8, "ci_low": 0.77, "ci_high": 0.83})
    t = controls_table(pd.DataFrame(rows))
    assert sorted(t.condition) == ["hf:some/encoder/none", "lab-bert/none", "lab-bert/none +rs-rp@0.1"]
    lab = t[t.condition.str.startswith("lab-bert")]
    assert (lab.untrained == 0.55).all() and (t.best_rule == 0.6).all()  # noisy runs meet the clean controls
    # each encoder beside its own untrained copy: the lab's control says nothing about a hub encoder
    hub = t[t.condition.str.startswith("hf:")].iloc[0]
    assert pd.isna(hub.untrained) and not hub.beats_untrained and hub.beats_best_rule
    assert list(setting(pd.DataFrame(rows[:2]))) == ["none", "none +rs-rp@0.1"]


def test_a_model_that_predicts_one_class_everywhere_is_flagged_beside_its_score():
    from xltkit.analysis.controls import controls_table, one_class_table

    res, preds = _fake({("none", 0, "lab_fin"): 0.6, ("none", 0, "lab_tur"): 0.6})
    preds["pred"] = np.where(preds.eval_lang == "lab_fin", 1, np.arange(len(preds)) % 2)  # lab_fin: always 1
    res = res.assign(noise_setting="none", intermediate_noise_setting="none", eval_setting="same")
    preds = preds.assign(eval_setting="same")
    flags = one_class_table(preds, res)
    t = controls_table(pooled_scores(res), flags)
    assert dict(zip(t.eval_lang, t.one_class)) == {"lab_fin": True, "lab_tur": False}


def test_seen_and_related_evaluation_languages_leave_the_mixed_models_only_when_asked(tmp_path):
    from xltkit.analysis.params import AnalysisParams
    from xltkit.analysis.report import _modelled_gains

    gains = pd.DataFrame({"eval_lang": ["fin", "ekk", "hun", "deu", "eng"], "gain_pts": [9.0, 4.0, 1.0, 0.5, 2.0],
                          "eval_seen": [True, False, False, False, False],
                          "eval_relative": [False, True, False, False, False],
                          "intermediate_same_data": [False, False, False, False, True],
                          "intermediate_task": "ud", "intermediate_lang": "fin"})
    kept = lambda **kw: (_modelled_gains(gains, AnalysisParams(experiment_dir=str(tmp_path), **kw), notes := []),  # noqa: E731
                         notes)
    default, notes = kept()
    assert default.eval_lang.tolist() == ["fin", "ekk", "hun", "deu"] and "intermediate_same_data" in notes[0]
    assert kept(seen_languages="drop")[0].eval_lang.tolist() == ["ekk", "hun", "deu"]
    both, notes = kept(seen_languages="drop", relative_languages="drop")
    assert both.eval_lang.tolist() == ["hun", "deu"] and "1 gains in a close relative" in notes[-1]
