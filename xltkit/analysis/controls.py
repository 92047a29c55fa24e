"""Scores beside their controls: every encoder condition's pooled score next to the
no-pretraining encoder and the surface-cue rules fitted on the same training data, and
the generalized pair setting beside the same-language one.  Which model is which control
is the model registry's word (``role``), never a name written here."""

from __future__ import annotations

import pandas as pd

from xltkit.analysis.labels import setting

KEYS = ["target_task", "source_lang", "eval_lang", "metric"]  # the controls are trained without noise


def model_roles(models) -> dict[str, str]:
    """Model name -> role ("encoder", "untrained", "rule") from the registry ("unknown" if not registered)."""
    from xltkit.modeling.models import MODELS

    return {m: MODELS[m].role if m in MODELS else "unknown" for m in models}


def untrained_controls(models) -> dict[str, str | None]:
    """Encoder name -> the model that is it without pretraining (None where it has none)."""
    from xltkit.modeling.models import MODELS

    return {m: MODELS[m].untrained_control if m in MODELS else None for m in models}


def _beats(score_ci: pd.DataFrame, control: pd.Series, greater: pd.Series) -> pd.Series:
    """The interval clears the control in the metric's good direction (NaN control: False)."""
    return ((score_ci["ci_low"] > control) & greater) | ((score_ci["ci_high"] < control) & ~greater)


def rule_column(name: str) -> str:
    """The controls table's column of a rule: ``rule-bow`` -> ``bow_rule``."""
    return name.removeprefix("rule-").replace("-", "_") + "_rule"


def controls_table(scores: pd.DataFrame, one_class: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each encoder condition and evaluation language: its pooled score (the task's
    primary metric) and CI, the no-pretraining control and the best surface-cue rule, and
    whether the CI clears them; ``one_class`` marks conditions where some seed predicted
    one class for every test example in that language."""
    from xltkit.modeling.rules import RULES

    from xltkit.modeling.metrics import METRICS

    roles = model_roles(scores.model.unique())
    kind = scores.model.map(roles)
    enc = scores[kind.isin(["encoder", "unknown"])]
    enc = enc.assign(_control=enc.model.map(untrained_controls(enc.model.unique())))
    clean = scores[scores.noise == "none"]
    ckind = clean.model.map(roles)
    untrained = clean[(ckind == "untrained") & (clean.intermediate_lang == "none")]
    untrained = untrained[KEYS + ["model", "score"]].drop_duplicates(KEYS + ["model"]).rename(
        columns={"score": "untrained", "model": "_control"})  # each encoder beside its own untrained copy
    rules = clean[ckind == "rule"].pivot_table(index=KEYS, columns="model", values="score").reset_index()
    rule_cols = [rule_column(r) for r in RULES]
    for r in RULES:
        if r not in rules:
            rules[r] = float("nan")  # a missing control stays missing (and is named in the notes)
    rules = rules.rename(columns={r: rule_column(r) for r in RULES})
    rules["best_rule"] = rules[rule_cols].max(axis=1)  # the strongest surface cue present
    t = enc.merge(untrained, on=KEYS + ["_control"], how="left").drop(columns="_control")
    t = t.merge(rules[KEYS + rule_cols + ["best_rule"]], on=KEYS, how="left")
    greater = t["metric"].map(lambda m: METRICS[m].greater_is_better if m in METRICS else True).astype(bool)
    if not greater.all():  # the strongest rule is the lowest where lower is better
        t.loc[~greater, "best_rule"] = t.loc[~greater, rule_cols].min(axis=1)
    t["condition"] = t["model"] + "/" + setting(t)
    t["beats_untrained"] = _beats(t, t["untrained"], greater)
    t["beats_length_rule"] = _beats(t, t["length_rule"], greater)
    t["beats_best_rule"] = _beats(t, t["best_rule"], greater)
    if one_class is not None and not one_class.empty:
        t = t.merge(one_class, on=["model", "target_task", "intermediate_lang", "noise_setting", "eval_lang"],
                    how="left")
        t["one_class"] = t["one_class"].fillna(False).astype(bool)
    else:
        t["one_class"] = False
    cols = ["condition", "target_task", "source_lang", "noise", "noise_scale", "eval_lang", "metric", "score",
            "ci_low", "ci_high", "n_seeds", "untrained", *rule_cols, "best_rule", "beats_untrained",
            "beats_length_rule", "beats_best_rule", "one_class"]
    return t[cols].sort_values(["condition", "eval_lang"]).reset_index(drop=True)


def one_class_table(predictions: pd.DataFrame, runs: pd.DataFrame, split: str = "test") -> pd.DataFrame:
    """Where a run predicted the same class for every example of a language (a collapsed or
    diverged model): one row per (setting, evaluation language) with ``one_class``."""
    p = predictions[(predictions.split == split) & (predictions.eval_setting == "same") & (predictions.pred != -1)]
    if p.empty:
        return pd.DataFrame(columns=["model", "target_task", "intermediate_lang", "noise_setting", "eval_lang",
                                     "one_class"])
    per_run = p.groupby(["run_id", "eval_lang"])["pred"].nunique().eq(1).rename("one_class").reset_index()
    keys = ["model", "target_task", "intermediate_lang", "noise_setting"]
    per_run = per_run.merge(runs[["run_id", *keys]].drop_duplicates("run_id"), on="run_id")
    return per_run.groupby([*keys, "eval_lang"], as_index=False)["one_class"].any()


def generalized_table(gen: pd.DataFrame, same: pd.DataFrame) -> pd.DataFrame:
    """Pooled score in the generalized setting beside the same-language setting of the
    same runs: how much a pair in two languages costs (or gains).  One row per pair of
    languages (first sentence in ``eval_lang``, second in ``eval_lang2``); ``same_score`` is
    the same-language score in ``eval_lang`` (``minus_same`` the difference to it),
    ``same_score2`` the one in ``eval_lang2``."""
    if gen.empty:
        return pd.DataFrame()
    keys = [c for c in gen.columns if c not in ("score", "ci_low", "ci_high", "n", "n_seeds", "eval_setting",
                                                "eval_lang2")]
    same = same[keys + ["score"]]
    t = gen.merge(same.rename(columns={"score": "same_score"}), on=keys, how="left")
    t = t.merge(same.rename(columns={"score": "same_score2", "eval_lang": "eval_lang2"}),
                on=[k if k != "eval_lang" else "eval_lang2" for k in keys], how="left")
    t = t.assign(setting=setting(t), minus_same=t["score"] - t["same_score"])
    cols = ["model", "setting", "target_task", "source_lang", "eval_lang", "eval_lang2", "metric", "score", "ci_low",
            "ci_high", "same_score", "same_score2", "minus_same"]
    return t[cols].sort_values(["model", "setting", "eval_lang", "eval_lang2"]).reset_index(drop=True)


#: one matrix of :func:`pair_table`: a model trained one way, on one task from one source language, one metric
PAIR_CONDITION = ["model", "setting", "target_task", "source_lang", "metric"]


def pair_table(generalized: pd.DataFrame) -> pd.DataFrame:
    """The generalized table as a pair matrix per condition (model, training setting, task,
    source language, metric), in long form like every analysis table: ``eval_lang`` (the first
    sentence's language, the matrix's row), ``eval_lang2`` (the second's, its column), the pooled
    ``score``, and the same-language scores on the diagonal (``same``), as Huang et al. 2021's
    evaluation scripts score all 15 x 15 XNLI pairs (``uclanlp/Robust-XLT``,
    ``scripts/eval_generalized_xnli.sh``).  ``pairs.pivot_table(index="eval_lang",
    columns="eval_lang2", values="score")`` of one condition is the matrix."""
    if generalized.empty:
        return pd.DataFrame()
    cond = PAIR_CONDITION
    pairs = generalized[cond + ["eval_lang", "eval_lang2", "score"]].assign(same=False)
    diag = pd.concat([generalized[cond + ["eval_lang", "same_score"]],
                      generalized[cond + ["eval_lang2", "same_score2"]].set_axis(cond + ["eval_lang", "same_score"],
                                                                                 axis=1)])
    diag = diag.dropna(subset=["same_score"]).drop_duplicates(cond + ["eval_lang"])
    diag = diag.rename(columns={"same_score": "score"}).assign(eval_lang2=lambda d: d["eval_lang"], same=True)
    t = pd.concat([pairs, diag[pairs.columns]], ignore_index=True)
    return t.sort_values(cond + ["eval_lang", "eval_lang2"]).reset_index(drop=True)
