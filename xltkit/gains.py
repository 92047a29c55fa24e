"""Transfer gains with confidence intervals, and accuracies beside their controls.

A gain is the zero-shot score of a run with intermediate training minus the score of the
matching no-intermediate baseline: same model, target task, source language, noise
setting and *seed* (paired over seeds).  Test sets are parallel, so the two runs of a
seed are also paired example by example.

Intervals come from a two-level (hierarchical) bootstrap: resample seeds, then test
examples within each drawn seed, keeping the pairing (Davison & Hinkley 1997, sec. 3.8;
Saravanan et al. 2020, "Application of the hierarchical bootstrap to multi-level data
in neuroscience").  With few seeds the seed level is coarse, so the intervals are a
lower bound on the real uncertainty; more seeds tighten them honestly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from xltkit.results import same_setting

PAIR_KEYS = ["model", "target_task", "source_lang", "noise", "noise_scale", "noise_setting", "seed"]
CELL_KEYS = ["model", "target_task", "source_lang", "noise", "noise_scale", "noise_setting"]
INTER_KEYS = ["intermediate_task", "intermediate_lang", "intermediate_noise_setting"]  # the baseline has none
EVAL_KEYS = ["eval_lang", "eval_setting"]  # where a score was measured: language, same | generalized pair setting


def with_noise_settings(results: pd.DataFrame) -> pd.DataFrame:
    """``results`` with the noise-setting and ``eval_setting`` columns; tables from before
    they existed get labels from what they have ("rs-rp@0.1": their other knobs are
    unknown; "same": only single-language evaluation)."""
    add = {}
    if "noise_setting" not in results:
        add["noise_setting"] = results["noise"].astype(str).where(
            results["noise"] == "none", results["noise"].astype(str) + "@" + results["noise_scale"].map("{:g}".format))
    if "intermediate_noise_setting" not in results:
        add["intermediate_noise_setting"] = "none"
    return same_setting(results.assign(**add) if add else results)


def _runs(results: pd.DataFrame) -> pd.DataFrame:
    cols = ["run_id"] + INTER_KEYS + PAIR_KEYS
    return with_noise_settings(results)[cols].drop_duplicates("run_id")


def hierarchical_bootstrap(diff: np.ndarray, n_boot: int, rng: np.random.Generator, confidence: float = 0.95):
    """Mean of ``diff`` (seeds x examples) and its percentile interval from resampling
    seeds, then examples within each drawn seed."""
    s, n = diff.shape
    means = np.empty(n_boot)
    for b in range(n_boot):
        seeds = rng.integers(0, s, size=s)
        ex = rng.integers(0, n, size=(s, n))
        means[b] = diff[seeds[:, None], ex].mean()
    a = (1 - confidence) / 2
    return float(diff.mean()), float(np.quantile(means, a)), float(np.quantile(means, 1 - a))


def seed_gains(results: pd.DataFrame, split: str = "test", metric: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """Per-seed gains (one row per run with intermediate training and evaluation language)
    and a list of messages about runs that had no matching baseline."""
    results = with_noise_settings(results)
    r = results[(results.split == split) & (results.phenomenon == "all")]
    if metric:
        r = r[r.metric == metric]
    base = r[r.intermediate_lang == "none"].set_index(PAIR_KEYS + EVAL_KEYS + ["metric"])["value"]
    inter = r[r.intermediate_lang != "none"]
    rows, missing = [], set()
    for _, row in inter.iterrows():
        k = tuple(row[c] for c in PAIR_KEYS + EVAL_KEYS + ["metric"])
        if k not in base.index:
            missing.add(tuple(row[c] for c in PAIR_KEYS))
            continue
        rows.append({**{c: row[c] for c in PAIR_KEYS + INTER_KEYS + EVAL_KEYS + ["metric"]},
                     "value": row["value"], "baseline": base.loc[k], "gain": row["value"] - base.loc[k]})
    msgs = [f"no baseline (intermediate_lang: none) for {dict(zip(PAIR_KEYS, m))}: its gains are left out"
            for m in sorted(missing, key=str)]
    return pd.DataFrame(rows), msgs


def gain_table(results: pd.DataFrame, predictions: pd.DataFrame, n_boot: int = 2000, confidence: float = 0.95,
               seed: int = 0, split: str = "test", baseline: str = "none") -> tuple[pd.DataFrame, list[str]]:
    """Mean gain per (cell, intermediate language, evaluation language) with a paired
    hierarchical-bootstrap interval; plus messages about what was left out.

    ``baseline`` is the intermediate language compared against: "none" (no intermediate
    training) or a language, e.g. "lab_eng" for the gain of Finnish-like over English-like
    intermediate training on the same intermediate task.
    """
    runs = _runs(results)
    preds = same_setting(predictions)
    preds = preds[preds.split == split].merge(runs, on="run_id")
    base = preds[preds.intermediate_lang == baseline]
    inter = preds[~preds.intermediate_lang.isin({baseline, "none"})]
    match = CELL_KEYS + EVAL_KEYS + ([] if baseline == "none" else
                                         ["intermediate_task", "intermediate_noise_setting"])
    rng = np.random.default_rng(seed)
    rows, msgs = [], []
    group_keys = CELL_KEYS + INTER_KEYS + EVAL_KEYS
    for key, g in inter.groupby(group_keys, sort=True):
        cell = dict(zip(group_keys, key))
        b = base
        for c in match:
            b = b[b[c] == cell[c]]
        if b.empty:  # no baseline run of this setting at all: one message for the whole setting
            what = {k: cell[k] for k in CELL_KEYS + INTER_KEYS if k not in ("model", "source_lang", "noise",
                                                                                 "noise_scale")}
            msgs.append(f"no {baseline} baseline for {what}: that gain is not computed")
            continue
        diffs = []
        for s, gs in g.groupby("seed"):
            bs = b[b.seed == s]
            if bs.empty:
                msgs.append(f"no baseline ({baseline}) for seed {s} of {cell}: seed left out of this gain")
                continue
            a = gs.sort_values("example_id")["correct"].to_numpy()
            c = bs.sort_values("example_id")["correct"].to_numpy()
            if len(a) != len(c):
                msgs.append(f"test sets differ in size for seed {s} of {cell}: seed left out")
                continue
            diffs.append(a - c)
        if not diffs:
            continue
        d = np.vstack(diffs)  # (seeds, examples)
        mean, lo, hi = hierarchical_bootstrap(d, n_boot, rng, confidence)
        rows.append({**cell, "baseline": baseline, "gain": mean, "ci_low": lo, "ci_high": hi, "n_seeds": d.shape[0],
                     "n_examples": d.shape[1], "significant": bool(lo > 0 or hi < 0)})
    return pd.DataFrame(rows), msgs


def pooled_accuracy(results: pd.DataFrame, split: str = "test", confidence: float = 0.95) -> pd.DataFrame:
    """Accuracy pooled over seeds per (model, intermediate language, evaluation language),
    with a Wilson interval on the pooled counts."""
    results = with_noise_settings(results)
    r = results[(results.split == split) & (results.phenomenon == "all") & (results.metric == "accuracy")].copy()
    r["k"] = r["value"] * r["n_examples"]
    keys = ["model", "target_task", "source_lang", "noise", "noise_scale", "noise_setting", "intermediate_task",
            "intermediate_lang", "intermediate_noise_setting", *EVAL_KEYS]
    g = r.groupby(keys, as_index=False).agg(k=("k", "sum"), n=("n_examples", "sum"), n_seeds=("seed", "nunique"))
    lo, hi = proportion_confint(np.round(g["k"]), g["n"], alpha=1 - confidence, method="wilson")
    return g.assign(accuracy=g["k"] / g["n"], ci_low=lo, ci_high=hi).drop(columns="k")
