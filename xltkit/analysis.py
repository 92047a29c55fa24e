"""The analysis stage: gains with intervals, accuracies beside their controls, a
mixed-effects model of the gain, figures, and a short summary.

It reads only the tidy tables (``results.parquet`` and the runs' predictions) and writes
everything to ``<experiment>/analysis/``.  Problems in the data (a missing baseline, a
missing control) are reported in ``notes`` and the rest of the analysis still runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from xltkit import plots, results
from xltkit.config import AnalysisParams
from xltkit.gains import gain_table, pooled_accuracy, seed_gains
from xltkit.stats import MixedResult, fit_mixed

CONTROL_UNTRAINED = "lab-bert-untrained"
RULE_MODELS = ("rule-length", "rule-bow")


@dataclass
class Analysis:
    out_dir: Path
    accuracy: pd.DataFrame
    controls: pd.DataFrame
    gains: pd.DataFrame
    seed_gains: pd.DataFrame
    model: MixedResult | None
    figures: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = []
        if not self.controls.empty:
            c = self.controls.copy()
            lines.append("Zero-shot accuracy (test, pooled over seeds, 95% Wilson CI) beside the controls:")
            lines.append(c.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
            zs = c[c.eval_lang != c.source_lang]
            for cond, g in zs.groupby("condition"):
                lines.append(f"  {cond}: CI above the no-pretraining control in {int(g.beats_untrained.sum())} of "
                             f"{len(g)} non-source languages; above the best surface rule in "
                             f"{int(g.beats_best_rule.sum())} of {len(g)}")
        if not self.gains.empty:
            lines.append("\nGain over the no-intermediate baseline (hierarchical bootstrap 95% CI):")
            g = self.gains.pivot_table(index="intermediate_lang", columns="eval_lang", values="gain")
            lines.append((100 * g).round(1).to_string())
        if self.model is not None:
            lines.append(f"\nMixed model: {self.model.formula}, random intercepts {self.model.random} "
                         f"(n={self.model.n_obs}, converged={self.model.converged})")
            lines.append(self.model.fixed.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
            for w in self.model.warnings:
                lines.append(f"  model warning: {w}")
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)


def controls_table(acc: pd.DataFrame) -> pd.DataFrame:
    """For each encoder condition and evaluation language: its pooled accuracy and CI, the
    no-pretraining control and the best surface-cue rule, and whether the CI clears them."""
    enc = acc[~acc.model.isin((CONTROL_UNTRAINED,) + RULE_MODELS)]
    keys = ["target_task", "source_lang", "noise", "noise_scale", "eval_lang"]
    untrained = acc[(acc.model == CONTROL_UNTRAINED) & (acc.intermediate_lang == "none")]
    untrained = untrained[keys + ["accuracy"]].rename(columns={"accuracy": "untrained"})
    rules = acc[acc.model.isin(RULE_MODELS)].pivot_table(index=keys, columns="model", values="accuracy").reset_index()
    for r in RULE_MODELS:
        if r not in rules:
            rules[r] = float("nan")
    rules["best_rule"] = rules[list(RULE_MODELS)].max(axis=1)
    t = enc.merge(untrained, on=keys, how="left").merge(rules[keys + ["best_rule"]], on=keys, how="left")
    t["condition"] = t["model"] + "/" + t["intermediate_lang"]
    t["beats_untrained"] = t["ci_low"] > t["untrained"]
    t["beats_best_rule"] = t["ci_low"] > t["best_rule"]
    cols = ["condition", "target_task", "source_lang", "eval_lang", "accuracy", "ci_low", "ci_high", "n_seeds",
            "untrained", "best_rule", "beats_untrained", "beats_best_rule"]
    return t[cols].sort_values(["condition", "eval_lang"]).reset_index(drop=True)


def analyze(p: AnalysisParams) -> Analysis:
    exp_dir = Path(p.experiment_dir)
    res_path = exp_dir / "results.parquet"
    if not res_path.is_file():
        raise FileNotFoundError(f"{res_path} not found: run the experiment first (xltkit run PARAMS.yaml)")
    res = pd.read_parquet(res_path)
    preds = results.collect_predictions(exp_dir)
    out = exp_dir / "analysis"
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    if res.empty:
        raise ValueError(f"{res_path} has no rows: no run has finished yet (xltkit status {exp_dir})")

    acc = pooled_accuracy(res, confidence=p.confidence)
    controls = controls_table(acc) if "accuracy" in set(res.metric) else pd.DataFrame()
    if CONTROL_UNTRAINED not in set(res.model):
        notes.append(f"no {CONTROL_UNTRAINED} runs: the no-pretraining control is missing")
    if not set(RULE_MODELS) & set(res.model):
        notes.append("no surface-cue rule runs (rule-length, rule-bow): that control is missing")
    gains, msgs = gain_table(res[~res.model.isin(RULE_MODELS)], preds, n_boot=p.n_boot, confidence=p.confidence,
                             seed=p.analysis_seed)
    notes += msgs
    sg, msgs = seed_gains(res[~res.model.isin(RULE_MODELS)], metric="accuracy")
    notes += [m for m in msgs if m not in notes]

    model = None
    sg = sg.assign(gain_pts=100 * sg["gain"]) if not sg.empty else sg
    zero_shot = sg[sg.eval_lang != sg.source_lang] if not sg.empty else sg
    if len(zero_shot) >= 6:
        # one coefficient per intermediate language: its mean zero-shot gain in points
        try:
            model = fit_mixed(zero_shot, "gain_pts ~ 0 + C(intermediate_lang)", random=["eval_lang"], reml=True)
        except ValueError as e:
            notes.append(f"mixed model not fitted: {e}")
    elif sg.empty:
        notes.append("no gains to model: the experiment has no runs with intermediate training and a baseline")

    a = Analysis(out, acc, controls, gains, sg, model, notes=notes)
    a.figures = plots.analysis_figures(a, out)
    _write(a)
    return a


def _write(a: Analysis) -> None:
    out = a.out_dir
    for name, df in (("accuracy", a.accuracy), ("controls", a.controls), ("gains", a.gains),
                     ("seed_gains", a.seed_gains)):
        results.write_parquet(df, out / f"{name}.parquet")
        df.to_csv(out / f"{name}.csv", index=False)
    if a.model is not None:
        results.write_json(a.model.to_dict(), out / "mixed_model.json")
        (out / "mixed_model.txt").write_text(a.model.summary + "\nwarnings:\n" + "\n".join(a.model.warnings) + "\n")
    (out / "summary.txt").write_text(a.summary() + "\n")
