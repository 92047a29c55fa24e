"""The analysis stage: gains with intervals, scores beside their controls, mixed-effects
models of the gain, figures, and a short summary.

It reads only the tidy tables (``results.parquet`` and the runs' predictions) and writes
everything to ``<experiment>/analysis/``.  Each target task is scored on its primary
metric (accuracy, span F1, ...), named in every table.  Problems in the data (a missing
baseline, a missing control, a model that predicts one class everywhere) are reported in
``notes`` and the rest of the analysis still runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from xltkit.analysis import plots
from xltkit.analysis.commits import CONDITION_KEYS, commit_notes, with_commits
from xltkit.analysis.controls import (PAIR_CONDITION, controls_table, generalized_table, model_roles, one_class_table,
                                     pair_table)
from xltkit.analysis.gains import gain_table, pooled_scores, primary_metric, seed_gains
from xltkit.analysis.labels import noise_label, setting, with_noise_settings
from xltkit.analysis.languages import language_table, model_table
from xltkit.analysis.mixed import RANDOM_FACTORS, typology_model
from xltkit.analysis.params import AnalysisParams
from xltkit.analysis.stats import LRTResult, MixedResult, fit_mixed
from xltkit.core import results
from xltkit.core.io import write_json, write_parquet


@dataclass
class Analysis:
    out_dir: Path
    scores: pd.DataFrame  # each task's primary metric pooled over seeds, with its interval
    controls: pd.DataFrame
    gains: pd.DataFrame
    seed_gains: pd.DataFrame
    model: MixedResult | None
    languages: pd.DataFrame = field(default_factory=pd.DataFrame)
    typology_model: MixedResult | None = None
    typology_predictors: list[str] = field(default_factory=list)
    lrt: LRTResult | None = None
    model_data: pd.DataFrame = field(default_factory=pd.DataFrame)
    custom_model: MixedResult | None = None
    generalized: pd.DataFrame = field(default_factory=pd.DataFrame)  # pair tasks, sentences in two languages
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)  # the same as a matrix, same-language diagonal
    figures: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = []
        if not self.controls.empty:
            c = self.controls.copy()
            metrics = ", ".join(sorted(c.metric.unique()))
            lines.append(f"Zero-shot score ({metrics}; test, pooled over seeds, 95% CI: Wilson for accuracy, "
                         "hierarchical bootstrap otherwise) beside the controls:")
            lines.append(c.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
            zs = c[c.eval_lang != c.source_lang]
            for cond, g in zs.groupby("condition"):
                lines.append(f"  {cond}: CI above the no-pretraining control in {int(g.beats_untrained.sum())} of "
                             f"{len(g)} non-source languages, above the length rule in "
                             f"{int(g.beats_length_rule.sum())}, above the best surface-cue rule in "
                             f"{int(g.beats_best_rule.sum())}")
        for (base, metric), g in (self.gains.groupby(["baseline", "metric"]) if not self.gains.empty else []):
            what = "no intermediate task" if base == "none" else f"intermediate training in {base}"
            lines.append(f"\nGain ({metric} points) over {what}, paired over seeds; * = 95% bootstrap CI excludes 0:")
            cell = (100 * g.gain).round(1).astype(str) + g.significant.map(lambda x: "*" if x else "")
            lines.append(g.assign(cell=cell, setting=setting(g)).pivot_table(
                index="setting", columns="eval_lang", values="cell", aggfunc="first").to_string())
        if self.model is not None:
            lines.append(f"\nMixed model: {self.model.formula}, random intercepts {self.model.random} "
                         f"(n={self.model.n_obs}, converged={self.model.converged})")
            lines.append(self.model.fixed.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
            for w in self.model.warnings:
                lines.append(f"  model warning: {w}")
        if self.typology_model is not None:
            m = self.typology_model
            lines.append(f"\nTypology model: {m.formula}, random intercepts {m.random} (n={m.n_obs}, "
                         f"predictors standardized; t intervals on between-within df)")
            lines.append(m.fixed.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
            for w in m.warnings:
                lines.append(f"  model warning: {w}")
        if self.custom_model is not None:
            m = self.custom_model
            lines.append(f"\nCustom model: {m.formula}, random intercepts {m.random} (n={m.n_obs})")
            lines.append(m.fixed.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
        if self.lrt is not None:
            t = self.lrt
            lines.append(f"Likelihood-ratio test (ML refits) of the language predictors: "
                         f"chi2({t.df}) = {t.statistic:.2f}, p = {t.p_value:.3g}")
        if not self.generalized.empty and (self.generalized.eval_lang2 == self.generalized.source_lang).all():
            g = self.generalized
            lines.append("\nGeneralized setting (pair tasks: first sentence in eval_lang, second in source_lang); "
                         "score (test, pooled over seeds, 95% CI) and its difference to the same-language setting:")
            lines.append(g.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        elif not self.generalized.empty:  # every pair of languages: a matrix per condition
            lines.append("\nGeneralized setting, every pair of languages (pair tasks; rows: the first sentence's "
                         "language, columns: the second's, diagonal: the same-language setting); score x 100 (test, "
                         "pooled over seeds; intervals in generalized.csv):")
            for (model, setting_, task, src, metric), g in self.pairs.groupby(PAIR_CONDITION, sort=True):
                lines.append(f"  {model}/{setting_}: {task} from {src}, {metric}")
                m = g.pivot_table(index="eval_lang", columns="eval_lang2", values="score", aggfunc="first")
                lines.append((100 * m).to_string(float_format=lambda x: f"{x:.1f}", na_rep=""))
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)


def _control_notes(res: pd.DataFrame, controls: pd.DataFrame, notes: list[str]) -> None:
    roles = model_roles(res.model.unique())
    present = set(roles.values())
    if "untrained" not in present:
        notes.append("no untrained-encoder runs (e.g. lab-bert-untrained): the no-pretraining control is missing")
    if "rule" not in present:
        notes.append("no surface-cue rule runs (rule-length, rule-bow, rule-overlap): that control is missing")
    unknown = sorted(m for m, r in roles.items() if r == "unknown")
    if unknown:
        notes.append(f"models not in the registry ({', '.join(unknown)}): taken for encoders")
    if not controls.empty and controls.one_class.any():
        flat = controls[controls.one_class]
        for cond, g in flat.groupby("condition"):
            notes.append(f"{cond} predicts one class for every test example in {', '.join(g.eval_lang)}: a collapsed "
                         "(or diverged) model, whatever its score")


#: what a results row says of its evaluation language and intermediate data, joined into the gains
FLAG_KEYS = ["intermediate_task", "intermediate_lang", "target_task", "eval_lang"]
FLAGS = ["eval_seen", "eval_relative", "eval_low_resource", "intermediate_same_data"]


def _with_language_flags(table: pd.DataFrame, res: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the results' language flags (where the results have them)."""
    flags = [c for c in FLAGS if c in res.columns]
    if table.empty or not flags or not set(FLAG_KEYS) <= set(table.columns):
        return table
    known = res[FLAG_KEYS + flags].drop_duplicates(FLAG_KEYS)
    return table.merge(known, on=FLAG_KEYS, how="left")


def _condition(cell: dict) -> str:
    """A condition as the notes name it: ``hf:xlm-roberta-base/siqa:eng +adv(...) (xcopa from eng)``."""
    lang = cell["intermediate_lang"]
    inter = "none" if lang == "none" else f"{cell['intermediate_task']}:{lang}"
    noise = noise_label(pd.DataFrame([cell])).iloc[0]
    return f"{cell['model']}/{inter}{'' if noise == 'none' else ' +' + noise} ({cell['target_task']} from " \
           f"{cell['source_lang']})"


def _with_model_commits(scores: pd.DataFrame, gains: pd.DataFrame, sg: pd.DataFrame, res: pd.DataFrame,
                        notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The hub commits each score and gain pools (``model_commits``, ``mixed_model_commits``), and a note
    for each condition whose seeds started from different hub weights (:mod:`xltkit.analysis.commits`)."""
    scores = with_commits(scores, res, CONDITION_KEYS)
    gains = with_commits(gains, res, CONDITION_KEYS, baseline=gains["baseline"] if "baseline" in gains else None)
    sg = with_commits(sg, res, CONDITION_KEYS + ["seed"], baseline=pd.Series("none", index=sg.index))
    notes += commit_notes(res, CONDITION_KEYS, label=_condition)
    crossed = gains[gains.mixed_model_commits] if "mixed_model_commits" in gains else gains.iloc[:0]
    if len(crossed):  # a gain is a difference of two conditions: each may be one commit, and the two not the same
        names = sorted({_condition(c) for c in crossed[CONDITION_KEYS].to_dict("records")})
        notes.append(f"{len(crossed)} gains compare or pool runs of different hub weights (mixed_model_commits in "
                     f"gains.csv names them): {', '.join(names)}")
    return scores, gains, sg


def _modelled_gains(zero_shot: pd.DataFrame, p: AnalysisParams, notes: list[str]) -> pd.DataFrame:
    """The zero-shot gains the mixed models see: never those of an intermediate task that trains on
    the target's own data; not those in a seen language where ``seen_languages`` is drop, nor in a
    close relative of the intermediate language where ``relative_languages`` is drop."""
    if zero_shot.empty:
        return zero_shot
    if "intermediate_same_data" in zero_shot.columns:
        same = zero_shot.intermediate_same_data.fillna(False).astype(bool)
        if same.any():
            cells = sorted(set(zip(zero_shot[same].intermediate_task, zero_shot[same].intermediate_lang)))
            notes.append(f"left out of the mixed models: {', '.join(f'{t}/{lang}' for t, lang in cells)} trains on the "
                         "target task's own training data (intermediate_same_data): its gain is more training, not "
                         "transfer; the gains table keeps it, marked")
            zero_shot = zero_shot[~same]
    for knob, column, what in (("seen_languages", "eval_seen", "the intermediate language itself"),
                               ("relative_languages", "eval_relative",
                                "a close relative of the intermediate language (one WALS genus)")):
        if getattr(p, knob) == "drop" and column in zero_shot.columns:
            flagged = zero_shot[column].fillna(False).astype(bool)
            if flagged.any():
                notes.append(f"left out of the mixed models ({knob}: drop): {int(flagged.sum())} gains in {what}")
                zero_shot = zero_shot[~flagged]
    return zero_shot


def _generalized_needs_predictions(res: pd.DataFrame) -> bool:
    """Whether the generalized setting's intervals need its per-example predictions: only a ratio
    metric's do (a bootstrap); accuracy's Wilson interval comes from the counts in the results."""
    from xltkit.modeling.metrics import METRICS

    gen = res[res.eval_setting == "generalized"] if "eval_setting" in res.columns else res.iloc[:0]
    metrics = {primary_metric(t) for t in gen.target_task.unique()}
    return any(m is not None and m in METRICS and not METRICS[m].proportion for m in metrics)


def analyze(p: AnalysisParams) -> Analysis:
    exp_dir = Path(p.experiment_dir)  # already read against the project root (xltkit.core.paths)
    res_path = exp_dir / "results.parquet"
    notes: list[str] = []
    grid = results.grid_runs(exp_dir)
    if grid:  # rebuilt from the finished runs: a killed grid leaves the table stale or missing
        res = results.collect(exp_dir)
        finished = set(results.finished_runs(exp_dir))  # once: it reads every run's manifest
        unfinished = [r.name for r in grid if r not in finished]
        if unfinished:
            notes.append(f"{len(unfinished)} of {len(grid)} runs of the grid have not finished and are not in this "
                         f"analysis ({', '.join(unfinished[:5])}{', ...' if len(unfinished) > 5 else ''}; "
                         f"xltkit status {exp_dir})")
    elif not res_path.is_file():
        raise FileNotFoundError(f"{res_path} not found: run the experiment first (xltkit run PARAMS.yaml)")
    else:
        res = pd.read_parquet(res_path)
    preds = results.collect_predictions(exp_dir, generalized=_generalized_needs_predictions(res))
    out = exp_dir / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    if res.empty:
        raise ValueError(f"{res_path} has no rows: no run has finished yet (xltkit status {exp_dir})")
    res, preds = with_noise_settings(res), results.same_setting(preds)
    kw = dict(confidence=p.confidence, n_boot=min(p.n_boot, 1000), seed=p.analysis_seed)
    scores = pooled_scores(res[res.eval_setting == "same"], preds[preds.eval_setting == "same"], **kw)
    generalized = generalized_table(pooled_scores(res[res.eval_setting == "generalized"],
                                                  preds[preds.eval_setting == "generalized"], **kw), scores)
    pairs = pair_table(generalized)
    res, preds = res[res.eval_setting == "same"], preds[preds.eval_setting == "same"]
    runs = res[["run_id", "model", "target_task", "intermediate_lang", "noise_setting"]].drop_duplicates("run_id")
    controls = controls_table(scores, one_class_table(preds, runs)) if not scores.empty else pd.DataFrame()
    _control_notes(res, controls, notes)

    trained = res[res.model.map(model_roles(res.model.unique())) != "rule"]
    gains, msgs = gain_table(trained, preds, n_boot=p.n_boot, confidence=p.confidence, seed=p.analysis_seed)
    notes += msgs
    sg, msgs = seed_gains(trained)
    notes += msgs
    src = res.source_lang.iloc[0]
    if src in set(res.intermediate_lang):  # Finnish/Hungarian-like over English-like intermediate training
        g2, msgs = gain_table(trained, preds, n_boot=p.n_boot, confidence=p.confidence, seed=p.analysis_seed,
                              baseline=src)
        gains = pd.concat([gains, g2], ignore_index=True)
        notes += msgs

    gains, sg = _with_language_flags(gains, res), _with_language_flags(sg, res)
    scores, gains, sg = _with_model_commits(scores, gains, sg, res, notes)
    languages = language_table(exp_dir, notes)
    model = typ = lrt = None
    predictors: list[str] = []
    data = pd.DataFrame()
    sg = sg.assign(gain_pts=100 * sg["gain"]) if not sg.empty else sg
    zero_shot = sg[sg.eval_lang != sg.source_lang] if not sg.empty else sg
    zero_shot = _modelled_gains(zero_shot, p, notes)
    random = [c for c in RANDOM_FACTORS if not zero_shot.empty and zero_shot[c].nunique() > 1]
    if not zero_shot.empty and zero_shot.metric.nunique() > 1:
        notes.append(f"the gains are on different metrics ({', '.join(sorted(zero_shot.metric.unique()))}): one "
                     "mixed model pools them as points of each task's primary metric")
    if len(zero_shot) >= 6:
        zero_shot = zero_shot.assign(noise_label=noise_label(zero_shot))  # every knob of both stages
        # one coefficient per setting that was run (intermediate language, with its noise where there is noise)
        rhs = "0 + C(setting)" if zero_shot.noise_label.nunique() > 1 else "0 + C(intermediate_lang)"
        zero_shot = zero_shot.assign(setting=setting(zero_shot))
        try:
            model = fit_mixed(zero_shot, f"gain_pts ~ {rhs}", random=random, reml=True)
        except ValueError as e:
            notes.append(f"mixed model not fitted: {e}")
        typ, lrt, predictors, data = typology_model(zero_shot, languages, notes)
    elif sg.empty:
        notes.append("no gains to model: the experiment has no runs with intermediate training and a baseline")

    custom = None
    if p.formula:
        table = data if not data.empty else zero_shot
        rand = p.random or random
        try:
            if table.empty:
                raise ValueError("there are no zero-shot gains to model")
            custom = fit_mixed(table, p.formula, random=rand, reml=True)
        except ValueError as e:
            notes.append(f"custom model {p.formula!r} not fitted: {e}; columns available: {', '.join(table.columns)}")
    if not gains.empty and not languages.empty:  # the tidy gains table, joined with the languages' properties
        gains = model_table(gains, languages, notes)
    notes = list(dict.fromkeys(notes))  # the same problem met twice is reported once
    a = Analysis(out, scores, controls, gains, sg, model, languages=languages, typology_model=typ,
                 typology_predictors=predictors, lrt=lrt, model_data=data, custom_model=custom, generalized=generalized,
                 pairs=pairs, notes=notes)
    a.figures = plots.analysis_figures(a, out)
    _write(a)
    return a


def _write(a: Analysis) -> None:
    out = a.out_dir
    for name, df in (("scores", a.scores), ("controls", a.controls), ("gains", a.gains),
                     ("seed_gains", a.seed_gains), ("generalized", a.generalized), ("pairs", a.pairs)):
        write_parquet(df, out / f"{name}.parquet")
        df.to_csv(out / f"{name}.csv", index=False)
    if not a.languages.empty:
        write_parquet(a.languages, out / "languages.parquet")
        a.languages.to_csv(out / "languages.csv", index=False)
    for name, m in (("mixed_model", a.model), ("typology_model", a.typology_model), ("custom_model", a.custom_model)):
        if m is None:  # not fitted this time: an earlier analysis' model must not stay behind as if it were
            for stale in (f"{name}.json", f"{name}_fixed.csv", f"{name}.txt"):
                (out / stale).unlink(missing_ok=True)
        if m is not None:
            write_json({**m.to_dict(), **({"lrt": a.lrt.to_dict()} if name == "typology_model" and a.lrt else {})},
                       out / f"{name}.json")
            m.fixed.to_csv(out / f"{name}_fixed.csv", index=False)
            (out / f"{name}.txt").write_text(m.summary + "\nwarnings:\n" + "\n".join(m.warnings) + "\n")
    (out / "summary.txt").write_text(a.summary() + "\n")
