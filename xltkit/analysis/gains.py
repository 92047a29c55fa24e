"""Transfer gains with confidence intervals, and scores pooled over seeds with theirs.

A gain is the zero-shot score of a run with intermediate training minus the score of the
matching no-intermediate baseline: same model, target task, source language, noise
setting and *seed* (paired over seeds), on the target task's primary metric.  Test sets
are parallel, so the two runs of a seed are also paired example by example.

Intervals come from a two-level (hierarchical) bootstrap: resample seeds, then test
examples within each drawn seed, keeping the pairing (Davison & Hinkley 1997, sec. 3.8;
Saravanan et al. 2020, "Application of the hierarchical bootstrap to multi-level data
in neuroscience").  A metric that is a mean over examples (accuracy) is resampled as
per-example differences; a ratio of sums (token accuracy, span F1) is recomputed from
the resampled examples' sums (``num``, ``den`` of the predictions).  With few seeds the
seed level is coarse, so the intervals are a lower bound on the real uncertainty; more
seeds tighten them honestly.  Pooled accuracy gets a Wilson interval on the pooled
counts; other metrics a hierarchical bootstrap interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from xltkit.analysis.labels import with_noise_settings
from xltkit.core.results import same_setting, with_metric_stats

PAIR_KEYS = ["model", "target_task", "source_lang", "noise", "noise_scale", "noise_setting", "seed"]
CELL_KEYS = ["model", "target_task", "source_lang", "noise", "noise_scale", "noise_setting"]
INTER_KEYS = ["intermediate_task", "intermediate_lang", "intermediate_noise_setting"]  # the baseline has none
#: where a score was measured: language, same | generalized pair setting, the second sentence's language
#: ("" in the same setting): each pair of languages is a cell of its own
EVAL_KEYS = ["eval_lang", "eval_setting", "eval_lang2"]
POOL_KEYS = CELL_KEYS + INTER_KEYS + EVAL_KEYS + ["metric"]


def primary_metric(task_name: str) -> str | None:
    """The registered task's primary metric (None for a task no longer registered)."""
    from xltkit.tasks import TASKS

    return TASKS[task_name].primary_metric if task_name in TASKS else None


def primary_rows(results: pd.DataFrame, notes: list[str] | None = None) -> pd.DataFrame:
    """The rows of each target task's primary metric (accuracy for classification, span F1
    for the lab's roles, ...); a task the registry does not know is left out, with a note."""
    keep = pd.Series(False, index=results.index)
    for task, idx in results.groupby("target_task").groups.items():
        metric = primary_metric(task)
        if metric is None:
            if notes is not None:
                notes.append(f"target task {task!r} is not registered: its rows are left out (primary metric unknown)")
            continue
        keep[idx] = results.loc[idx, "metric"] == metric
    return results[keep]


def _metric_of(name: str):
    from xltkit.modeling.metrics import METRICS

    return METRICS[name] if name in METRICS else None


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


def ratio_bootstrap(num: np.ndarray, den: np.ndarray, n_boot: int, rng: np.random.Generator,
                    confidence: float = 0.95, base: tuple[np.ndarray, np.ndarray] | None = None):
    """A ratio of sums ``sum(num) / sum(den)`` over (seeds x examples), minus the same ratio of
    ``base`` (paired: the same resampled seeds and examples) where given, with its percentile
    interval from resampling seeds, then examples within each drawn seed."""
    def ratio(n_, d_):
        total = d_.sum()
        return n_.sum() / total if total > 0 else 0.0

    s, n = num.shape
    est = ratio(num, den) - (ratio(*base) if base is not None else 0.0)
    stats = np.empty(n_boot)
    for b in range(n_boot):
        seeds = rng.integers(0, s, size=s)[:, None]
        ex = rng.integers(0, n, size=(s, n))
        stats[b] = ratio(num[seeds, ex], den[seeds, ex]) - (
            ratio(base[0][seeds, ex], base[1][seeds, ex]) if base is not None else 0.0)
    a = (1 - confidence) / 2
    return float(est), float(np.quantile(stats, a)), float(np.quantile(stats, 1 - a))


def seed_gains(results: pd.DataFrame, split: str = "test") -> tuple[pd.DataFrame, list[str]]:
    """Per-seed gains on each task's primary metric (one row per run with intermediate
    training and evaluation language), and messages about runs with no matching baseline."""
    results = with_noise_settings(results)
    r = primary_rows(results[(results.split == split) & (results.phenomenon == "all")])
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


def _by_seed(df: pd.DataFrame, col: str) -> dict:
    return {s: g.sort_values("example_id")[col].to_numpy(float) for s, g in df.groupby("seed")}


def gain_table(results: pd.DataFrame, predictions: pd.DataFrame, n_boot: int = 2000, confidence: float = 0.95,
               seed: int = 0, split: str = "test", baseline: str = "none") -> tuple[pd.DataFrame, list[str]]:
    """Mean gain on the primary metric per (cell, intermediate language, evaluation language)
    with a paired hierarchical-bootstrap interval; plus messages about what was left out.

    ``baseline`` is the intermediate language compared against: "none" (no intermediate
    training) or a language, e.g. "lab_eng" for the gain of Finnish-like over English-like
    intermediate training on the same intermediate task.
    """
    runs = _runs(results)
    preds = predictions[predictions.split == split].merge(runs, on="run_id")
    preds = with_metric_stats(same_setting(preds))  # after the merge: old tables' pairs are with source_lang
    base = preds[preds.intermediate_lang == baseline]
    inter = preds[~preds.intermediate_lang.isin({baseline, "none"})]
    match = CELL_KEYS + EVAL_KEYS + ([] if baseline == "none" else ["intermediate_task", "intermediate_noise_setting"])
    rng = np.random.default_rng(seed)
    rows, msgs = [], []
    group_keys = CELL_KEYS + INTER_KEYS + EVAL_KEYS
    for key, g in inter.groupby(group_keys, sort=True):
        cell = dict(zip(group_keys, key))
        metric_name = primary_metric(cell["target_task"])
        metric = _metric_of(metric_name) if metric_name else None
        if metric is None:
            msgs.append(f"target task {cell['target_task']!r} has no known primary metric: its gains are not computed")
            continue
        b = base
        for c in match:
            b = b[b[c] == cell[c]]
        if b.empty:  # no baseline run of this setting at all: one message for the whole setting
            what = {k: cell[k] for k in CELL_KEYS + INTER_KEYS if k not in ("model", "source_lang", "noise",
                                                                             "noise_scale")}
            msgs.append(f"no {baseline} baseline for {what}: that gain is not computed")
            continue
        a_num, a_den, c_num, c_den = [], [], [], []
        a_by = {c: _by_seed(g, c) for c in ("correct", "num", "den")}
        b_by = {c: _by_seed(b, c) for c in ("correct", "num", "den")}
        for s in sorted(a_by["num"]):
            if s not in b_by["num"]:
                msgs.append(f"no baseline ({baseline}) for seed {s} of {cell}: seed left out of this gain")
                continue
            if len(a_by["num"][s]) != len(b_by["num"][s]):
                msgs.append(f"test sets differ in size for seed {s} of {cell}: seed left out")
                continue
            col = "correct" if metric.proportion else "num"
            a_num.append(a_by[col][s])
            c_num.append(b_by[col][s])
            a_den.append(a_by["den"][s])
            c_den.append(b_by["den"][s])
        if not a_num:
            continue
        if metric.proportion:
            d = np.vstack(a_num) - np.vstack(c_num)  # (seeds, examples)
            mean, lo, hi = hierarchical_bootstrap(d, n_boot, rng, confidence)
        else:
            d = np.vstack(a_num)
            mean, lo, hi = ratio_bootstrap(d, np.vstack(a_den), n_boot, rng, confidence,
                                           base=(np.vstack(c_num), np.vstack(c_den)))
        rows.append({**cell, "metric": metric.name, "baseline": baseline, "gain": mean, "ci_low": lo, "ci_high": hi,
                     "n_seeds": d.shape[0], "n_examples": d.shape[1], "significant": bool(lo > 0 or hi < 0)})
    return pd.DataFrame(rows), msgs


def pooled_scores(results: pd.DataFrame, predictions: pd.DataFrame | None = None, split: str = "test",
                  confidence: float = 0.95, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Each task's primary metric pooled over seeds per (model, setting, evaluation language),
    with an interval: Wilson on the pooled counts for accuracy (a share of independent
    examples); for ratio metrics the ratio of the pooled sums with a hierarchical bootstrap
    interval over seeds and examples (needs ``predictions``; without them the interval is NaN).
    Columns: the setting's keys, ``metric``, ``score``, ``ci_low``, ``ci_high``, ``n``, ``n_seeds``."""
    results = with_noise_settings(results)
    r = primary_rows(results[(results.split == split) & (results.phenomenon == "all")]).copy()
    if r.empty:
        return pd.DataFrame(columns=POOL_KEYS + ["score", "ci_low", "ci_high", "n", "n_seeds"])
    prop = r["metric"].map(lambda m: bool(getattr(_metric_of(m), "proportion", False)))
    out = []
    acc = r[prop].assign(k=lambda d: d["value"] * d["n_examples"])
    if not acc.empty:
        g = acc.groupby(POOL_KEYS, as_index=False).agg(k=("k", "sum"), n=("n_examples", "sum"),
                                                        n_seeds=("seed", "nunique"))
        lo, hi = proportion_confint(np.round(g["k"]), g["n"], alpha=1 - confidence, method="wilson")
        out.append(g.assign(score=g["k"] / g["n"], ci_low=lo, ci_high=hi).drop(columns="k"))
    ratio = r[~prop]
    if not ratio.empty:
        out.append(_pooled_ratios(ratio, predictions, split, confidence, n_boot, seed))
    t = pd.concat(out, ignore_index=True)
    return t[POOL_KEYS + ["score", "ci_low", "ci_high", "n", "n_seeds"]]


def _pooled_ratios(r: pd.DataFrame, predictions, split, confidence, n_boot, seed) -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(seed)
    preds = None
    if predictions is not None and not predictions.empty:
        preds = with_metric_stats(same_setting(predictions, dict(zip(r.run_id, r.source_lang))))
        preds = preds[preds.split == split]
    for key, g in r.groupby(POOL_KEYS, sort=True):
        cell = dict(zip(POOL_KEYS, key))
        score, lo, hi = float(g["value"].mean()), float("nan"), float("nan")
        if preds is not None:
            p = preds[preds.run_id.isin(set(g.run_id)) & (preds.eval_lang == cell["eval_lang"]) &
                      (preds.eval_setting == cell["eval_setting"]) & (preds.eval_lang2 == cell["eval_lang2"])]
            by = {run: grp.sort_values("example_id") for run, grp in p.groupby("run_id")}
            if by and len({len(x) for x in by.values()}) == 1:
                num = np.vstack([x["num"].to_numpy(float) for x in by.values()])
                den = np.vstack([x["den"].to_numpy(float) for x in by.values()])
                score, lo, hi = ratio_bootstrap(num, den, n_boot, rng, confidence)
        rows.append({**cell, "score": score, "ci_low": lo, "ci_high": hi, "n": int(g["n_examples"].sum()),
                     "n_seeds": int(g["seed"].nunique())})
    return pd.DataFrame(rows)
