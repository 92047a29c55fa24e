"""What-if comparisons over a finished experiment: the logic behind the what-if notebook's
widgets, as plain functions of its tables and fitted models (tested headless).

:func:`load` reads an experiment folder (results, the analysis tables, the fitted models as
``xltkit analyze`` wrote them); the rest answer one question each:

- :func:`observed_vs_model`: the observed gains of a selection (target task, evaluation
  languages, intermediate languages, noise settings) with their bootstrap intervals, beside
  the gain the headline mixed model predicts for the same cell (the setting's coefficient
  plus the evaluation language's conditional mode, interval from both standard errors,
  their covariance ignored) and the controls of the target language;
- :func:`scenario_difference`: two scenarios (intermediate language and noise setting) on
  the same evaluation languages: the mean difference of their per-seed gains, paired by
  language and seed, with a bootstrap interval resampling languages, then seeds;
- :func:`hypothetical`: the typology model's predicted gain for a language pair that need
  not exist (morphological richness of both languages, their distance, the target's resource
  level), with a confidence interval for the mean and a prediction interval that adds the
  random effects' and residual variances, marked as an extrapolation outside the data;
- :func:`power_for`: the chance of detecting a gain with a design (seeds x languages x
  tasks), simulated from the headline model's variance components
  (:mod:`xltkit.analysis.power`).

Gains are in points of each task's primary metric (100 x the difference of fractions).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import t as student_t

from xltkit.analysis.labels import setting


class WhatIfError(ValueError):
    """The outputs folder cannot answer what-if questions yet; the message says what to run."""


@dataclass
class WhatIf:
    """A finished experiment, as the what-if view reads it."""

    experiment_dir: Path
    results: pd.DataFrame
    gains: pd.DataFrame  # the analysis' gains table (one row per cell, bootstrap interval)
    seed_gains: pd.DataFrame  # per seed: the gain of each run over its baseline
    controls: pd.DataFrame
    model: dict | None = None  # the headline mixed model (mixed_model.json)
    typology: dict | None = None  # the typology model (typology_model.json)
    notes: list[str] = field(default_factory=list)

    def options(self) -> dict[str, list]:
        """What the widgets offer: the values present in the gains."""
        g = self.gains
        return {"target_task": sorted(g.target_task.unique()), "eval_lang": sorted(g.eval_lang.unique()),
                "intermediate_lang": sorted(g.intermediate_lang.unique()),
                "noise_setting": sorted(g.noise_setting.unique()) if "noise_setting" in g else ["none"]}


def _read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame()


def load(experiment_dir: str | Path) -> WhatIf:
    """The experiment at ``experiment_dir`` (e.g. ``outputs/demo``); a :class:`WhatIfError`
    that names the command to run where it has no finished runs, no analysis, or an analysis
    from an xltkit that did not save what the what-if view needs."""
    from xltkit.core.paths import resolve

    exp = resolve(experiment_dir)  # relative to the project, wherever the kernel runs (JupyterLab: notebooks/)
    if not (exp / "results.parquet").is_file():
        raise WhatIfError(f"{exp} has no results.parquet: no run of it has finished. Run the experiment first: "
                          f"xltkit run params/<experiment>.yaml (the demo: make demo)")
    results = pd.read_parquet(exp / "results.parquet")
    if results.empty:
        raise WhatIfError(f"{exp}/results.parquet has no rows: no run has finished yet (xltkit status {exp})")
    out = exp / "analysis"
    if not (out / "gains.parquet").is_file():
        raise WhatIfError(f"{exp} has no analysis yet: run xltkit analyze {exp}")
    gains = pd.read_parquet(out / "gains.parquet")
    if gains.empty:
        raise WhatIfError(f"{exp} has no gains to compare: its grid has no run with intermediate training beside a "
                          "baseline without (add intermediate_lang: [none, ...] to the grid and run it again)")
    models = {}
    for name in ("mixed_model", "typology_model"):
        path = out / f"{name}.json"
        models[name] = json.loads(path.read_text()) if path.is_file() else None
    m, t = models["mixed_model"], models["typology_model"]
    if (m is not None and "random_effects" not in m) or (t is not None and "scales" not in t):
        raise WhatIfError(f"the analysis in {out} was written by an older xltkit that did not save the models' "
                          f"covariances and scales: run xltkit analyze {exp} again")
    w = WhatIf(exp, results, gains, _read(out / "seed_gains.parquet"), _read(out / "controls.parquet"), m, t)
    if m is None:
        w.notes.append("no headline mixed model was fitted (too few gains): model predictions are not shown")
    if t is None:
        w.notes.append("no typology model was fitted (too few languages or no varying language property): "
                       "hypothetical languages cannot be predicted")
    return w


def _select(df: pd.DataFrame, **values) -> pd.DataFrame:
    mask = np.ones(len(df), bool)
    for col, want in values.items():
        if want is None or col not in df:
            continue
        want = [want] if isinstance(want, str) else list(want)
        mask &= df[col].isin(want).to_numpy()
    return df[mask]


def _fixed(model: dict) -> pd.DataFrame:
    return pd.DataFrame(model["fixed"]).set_index("term")


def observed_vs_model(w: WhatIf, target_task: str | None = None, eval_langs=None, intermediate_langs=None,
                      noise_settings=None, confidence: float = 0.95) -> pd.DataFrame:
    """Observed gains (points, with their interval) beside the headline model's predicted gain
    and the target language's controls, one row per selected cell."""
    g = _select(w.gains[w.gains.baseline == "none"] if "baseline" in w.gains else w.gains,
                target_task=target_task, eval_lang=eval_langs, intermediate_lang=intermediate_langs,
                noise_setting=noise_settings)
    out = g.assign(setting=setting(g) if len(g) else [], observed=100 * g.gain, observed_low=100 * g.ci_low,
                   observed_high=100 * g.ci_high)
    cols = ["target_task", "eval_lang", "intermediate_lang", "noise_setting", "setting", "observed", "observed_low",
            "observed_high"]
    out = out[[c for c in cols if c in out]].reset_index(drop=True)
    pred = [_cell_prediction(w.model, row, confidence) for row in out.itertuples()] if w.model else []
    for i, name in enumerate(("predicted", "predicted_low", "predicted_high")):
        out[name] = [p[i] for p in pred] if pred else np.nan
    if not w.controls.empty:  # the untrained encoder and the best surface rule, in the target language
        ctl = w.controls.drop_duplicates(["target_task", "eval_lang"]).set_index(["target_task", "eval_lang"])
        keys = list(zip(out.target_task, out.eval_lang))
        for col in ("untrained", "best_rule"):
            if col in ctl:
                out[f"control_{col}"] = [ctl[col].get(k, np.nan) for k in keys]
    return out


def _cell_prediction(model: dict, row, confidence: float) -> tuple[float, float, float]:
    fixed = _fixed(model)
    term = next((t for t in (f"C(setting)[{row.setting}]", f"C(intermediate_lang)[{row.intermediate_lang}]")
                 if t in fixed.index), None)
    if term is None:  # a cell the model did not see (a seen language it left out, a same-data task)
        return (np.nan, np.nan, np.nan)
    est, var = float(fixed.loc[term, "estimate"]), float(fixed.loc[term, "std_error"]) ** 2
    re = pd.DataFrame(model.get("random_effects") or [])
    for factor, level in (("eval_lang", row.eval_lang), ("target_task", row.target_task)):
        hit = re[(re.factor == factor) & (re.level == str(level))] if len(re) else re
        if len(hit):
            est += float(hit.estimate.iloc[0])
            var += float(hit.std_error.iloc[0]) ** 2
    q = student_t.ppf(0.5 + confidence / 2, float(fixed.loc[term, "df"]))
    return est, est - q * np.sqrt(var), est + q * np.sqrt(var)


@dataclass(frozen=True)
class Scenario:
    intermediate_lang: str
    noise_setting: str = "none"

    def label(self) -> str:
        return self.intermediate_lang if self.noise_setting == "none" else f"{self.intermediate_lang}, {self.noise_setting}"


def scenario_difference(w: WhatIf, a: Scenario, b: Scenario, eval_langs=None, target_task: str | None = None,
                        n_boot: int = 2000, confidence: float = 0.95, seed: int = 0) -> dict:
    """Mean gain of scenario ``a`` minus scenario ``b`` (points) over ``eval_langs``, paired by
    evaluation language and seed, with a percentile bootstrap interval (languages resampled,
    then seeds within each drawn language)."""
    sg = _select(w.seed_gains, target_task=target_task, eval_lang=eval_langs)
    if "source_lang" in sg:
        sg = sg[sg.eval_lang != sg.source_lang]
    keys = ["eval_lang", "seed"]

    def side(s: Scenario) -> pd.Series:
        rows = sg[(sg.intermediate_lang == s.intermediate_lang) & (sg.noise_setting == s.noise_setting)]
        return rows.groupby(keys).gain.mean()

    both = pd.concat({"a": side(a), "b": side(b)}, axis=1).dropna()
    if both.empty:
        raise WhatIfError(f"scenarios {a.label()!r} and {b.label()!r} share no evaluation language and seed in this "
                          "selection: choose languages both were evaluated on")
    diff = 100 * (both.a - both.b)
    by_lang = [g.to_numpy() for _, g in diff.groupby(level="eval_lang")]
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for k in range(n_boot):
        langs = rng.integers(0, len(by_lang), len(by_lang))
        means[k] = np.mean([by_lang[i][rng.integers(0, len(by_lang[i]), len(by_lang[i]))].mean() for i in langs])
    lo, hi = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return {"a": a.label(), "b": b.label(), "difference": float(np.mean([x.mean() for x in by_lang])),
            "ci_low": float(lo), "ci_high": float(hi), "n_langs": len(by_lang), "n_pairs": int(len(diff)),
            "per_language": diff.groupby(level="eval_lang").mean().to_dict()}


_CAT = re.compile(r"C\((\w+)\)\[(?:T\.)?(.+)\]")


def _design(term: str, z: dict[str, float], levels: dict[str, str]) -> float:
    """The value of one fixed-effect term (``Intercept``, a predictor, ``C(x)[T.level]``, products
    of them with ``:``) at standardized predictor values ``z`` and categorical ``levels``."""
    value = 1.0
    for part in term.split(":"):
        if part == "Intercept":
            continue
        cat = _CAT.fullmatch(part)
        if cat:
            value *= float(levels.get(cat.group(1)) == cat.group(2))
        elif part in z:
            value *= z[part]
        else:
            raise WhatIfError(f"the typology model has a term {part!r} the what-if view cannot set")
    return value


def typology_ranges(w: WhatIf) -> dict[str, tuple[float, float]]:
    """The observed range of each predictor of the typology model (raw units): the sliders' data range."""
    return {k: tuple(v) for k, v in (w.typology or {}).get("ranges", {}).items()}


def hypothetical(w: WhatIf, values: dict[str, float], noise: str | None = None, confidence: float = 0.95) -> dict:
    """The typology model's predicted gain (points) at raw predictor ``values`` (the model's
    predictors: ``inter_fertility``, ``target_fertility``, ``syntactic_distance``,
    ``target_low_resource``; missing ones at their mean) and noise setting ``noise``: the
    estimate, a confidence interval for the mean gain, a prediction interval for one new
    language pair (adding the random effects' and residual variances), and which values lie
    outside the data (an extrapolation)."""
    t = w.typology
    if t is None:
        raise WhatIfError("this experiment has no typology model (see the notes): hypothetical languages cannot be "
                          "predicted")
    scales = {k: tuple(v) for k, v in t["scales"].items()}
    unknown = sorted(set(values) - set(scales))
    if unknown:
        raise WhatIfError(f"the typology model has no predictor {unknown}; it has {sorted(scales)}")
    z = {k: ((values.get(k, mu) - mu) / sd if sd > 0 else 0.0) for k, (mu, sd) in scales.items()}
    fixed = pd.DataFrame(t["fixed"])
    levels = {"noise_label": noise, "noise": noise}
    x = np.array([_design(term, z, levels) for term in fixed.term])
    est = float(x @ fixed.estimate.to_numpy())
    cov = np.asarray(t["fixed_cov"])
    var_mean = float(x @ cov @ x)
    var_new = var_mean + sum(t["variance_components"].values()) + t["residual_variance"]
    q = student_t.ppf(0.5 + confidence / 2, float(fixed.df.min()))
    ranges = typology_ranges(w)
    outside = {k: v for k, v in values.items() if k in ranges and not ranges[k][0] <= v <= ranges[k][1]}
    return {"predicted": est, "ci_low": float(est - q * np.sqrt(var_mean)), "ci_high": float(est + q * np.sqrt(var_mean)),
            "pi_low": float(est - q * np.sqrt(var_new)), "pi_high": float(est + q * np.sqrt(var_new)),
            "extrapolation": bool(outside), "outside": outside, "noise": noise}


def power_for(w: WhatIf, effect_pts: float, n_seeds: int, n_langs: int, n_tasks: int = 1, n_sim: int = 200,
              seed: int = 0):
    """The chance of detecting a gain of ``effect_pts`` points with the design, simulated from the
    headline model's variance components (:func:`xltkit.analysis.power.power`)."""
    from xltkit.analysis import power

    if w.model is None:
        raise WhatIfError("this experiment has no headline mixed model (too few gains): its variance components are "
                          "unknown, so the power cannot be simulated")
    return power.power(dict(w.model["variance_components"]), float(w.model["residual_variance"]), effect_pts,
                       n_seeds=n_seeds, n_langs=n_langs, n_tasks=n_tasks, n_sim=n_sim, seed=seed)
