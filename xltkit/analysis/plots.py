"""Figures (seaborn / matplotlib, saved as PNG)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg") if not matplotlib.get_backend().lower().startswith(("module://", "inline")) else None
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from xltkit.analysis.labels import setting

if TYPE_CHECKING:
    from xltkit.analysis.report import Analysis


def scores_by_language(controls: pd.DataFrame, path: Path) -> Path:
    """Zero-shot score (the task's primary metric) per evaluation language for every
    condition, with 95% CIs, beside the no-pretraining control and the surface-cue rules."""
    langs = sorted(controls.eval_lang.unique())
    conds = sorted(controls.condition.unique())
    fig, ax = plt.subplots(figsize=(1.2 * len(langs) + 3, 4))
    width = 0.8 / max(len(conds), 1)
    palette = sns.color_palette("deep", len(conds))
    for i, cond in enumerate(conds):
        g = controls[controls.condition == cond].set_index("eval_lang").reindex(langs)
        x = [j + (i - (len(conds) - 1) / 2) * width for j in range(len(langs))]
        err = [(g.score - g.ci_low).clip(lower=0), (g.ci_high - g.score).clip(lower=0)]  # a Wilson bound at 0
        ax.errorbar(x, g.score, yerr=err, fmt="o", ms=4,  # or 1 can miss it by rounding: never a negative bar
                    color=palette[i], label=cond, capsize=2)
    first = controls.drop_duplicates("eval_lang").set_index("eval_lang").reindex(langs)
    ax.scatter(range(len(langs)), first.untrained, marker="_", s=900, color="black", label="no-pretraining control")
    ax.scatter(range(len(langs)), first.length_rule, marker="_", s=900, color="orange", label="length rule")
    ax.scatter(range(len(langs)), first.bow_rule, marker="_", s=900, color="red", label="bag-of-words rule")
    if "overlap_rule" in first and first.overlap_rule.notna().any():
        ax.scatter(range(len(langs)), first.overlap_rule, marker="_", s=900, color="purple", label="word-overlap rule")
    ax.set_xticks(range(len(langs)), langs, rotation=30)
    metric = ", ".join(sorted(controls.metric.unique()))
    ax.set_ylabel(f"{metric} (test)")
    ax.set_title(f"Zero-shot {metric} by evaluation language")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def gain_heatmap(gains: pd.DataFrame, path: Path) -> Path:
    """Gain (points of the task's primary metric) of each intermediate language over the
    baseline, per evaluation language; '*' marks cells whose 95% interval excludes zero."""
    g = gains.assign(pts=100 * gains.gain, setting=setting(gains))
    val = g.pivot_table(index="setting", columns="eval_lang", values="pts")
    sig = g.pivot_table(index="setting", columns="eval_lang", values="significant", aggfunc="max")
    annot = val.round(1).astype(str) + sig.reindex_like(val).map(lambda s: "*" if s else "")
    fig, ax = plt.subplots(figsize=(1.0 * val.shape[1] + 2.5, 0.6 * val.shape[0] + 1.8))
    lim = max(abs(val.min().min()), abs(val.max().max()), 1.0)
    metric = ", ".join(sorted(gains.metric.unique())) if "metric" in gains else "accuracy"
    sns.heatmap(val, annot=annot, fmt="", cmap="RdBu", center=0, vmin=-lim, vmax=lim, ax=ax,
                cbar_kws={"label": f"gain ({metric} points)"})
    ax.set_title("Gain over no intermediate task (* : 95% CI excludes 0)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _by_task(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(suffix, rows) per target task: one figure per task where an experiment has several (their
    metrics and conditions differ), the plain name where it has one."""
    if "target_task" not in table or table.target_task.nunique() <= 1:
        return [("", table)]
    return [(f"_{task}", g) for task, g in table.groupby("target_task", sort=True)]


def analysis_figures(a: "Analysis", out: Path) -> dict[str, Path]:
    figs = {}
    if not a.controls.empty:
        for sfx, g in _by_task(a.controls):
            figs[f"scores_by_language{sfx}"] = scores_by_language(g, out / f"scores_by_language{sfx}.png")
    if not a.gains.empty:
        for sfx, g in _by_task(a.gains[a.gains.baseline == "none"]):
            if not g.empty:
                figs[f"gain_heatmap{sfx}"] = gain_heatmap(g, out / f"gain_heatmap{sfx}.png")
    for name, m in (("model", a.model), ("typology_model", a.typology_model)):
        if m is None:
            continue
        if m.random_effects is not None and not m.random_effects.empty:
            figs[f"{name}_random_effects"] = random_effects_plot(m.random_effects, out / f"{name}_random_effects.png")
        figs[f"{name}_residuals"] = residual_diagnostics(m.fitted, m.residuals, out / f"{name}_residuals.png")
    if a.typology_model is not None and a.typology_predictors:
        figs["partial_effects"] = partial_effects(a.typology_model, a.model_data, a.typology_predictors,
                                                  out / "partial_effects.png")
    return figs


def stage_stats(folder, title: str, key: str):
    """A stage notebook's summary: the loss curve of ``folder/stats.json`` and its ``key`` entry
    (a stage with no statistics, such as a fitted rule, says so instead)."""
    import json

    path = Path(folder) / "stats.json" if folder is not None else None
    if path is None or not path.is_file():
        print(f"no training statistics in {folder} (a fitted rule, or a stage this run does not have)")
        return None
    stats = json.loads(path.read_text())
    if stats.get("loss_curve"):
        loss_curve(stats, title)
    return stats.get(key)


def loss_curve(stats: dict, title: str):
    """Training loss per logging step, for the stage notebooks."""
    fig, ax = plt.subplots(figsize=(5, 3))
    ax.plot(stats.get("loss_curve", []))
    ax.set_xlabel("logging step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def random_effects_plot(re: pd.DataFrame, path: Path) -> Path:
    """Conditional modes of the random intercepts with 95% intervals, one panel per factor."""
    factors = list(re.factor.unique())
    fig, axes = plt.subplots(1, len(factors), figsize=(4 * len(factors), 0.35 * re.level.nunique() + 1.5),
                             squeeze=False)
    for ax, f in zip(axes[0], factors):
        g = re[re.factor == f].sort_values("estimate")
        ax.errorbar(g.estimate, range(len(g)), xerr=1.96 * g.std_error, fmt="o", capsize=2)  # conditional SDs
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_yticks(range(len(g)), g.level)
        ax.set_title(f"random intercept: {f}")
        ax.set_xlabel("deviation (points)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def residual_diagnostics(fitted, resid, path: Path) -> Path:
    """Residuals against fitted values, and a normal Q-Q plot of the residuals."""
    import numpy as np
    from scipy import stats

    fig, (a, b) = plt.subplots(1, 2, figsize=(8, 3.5))
    a.scatter(fitted, resid, s=10, alpha=0.7)
    a.axhline(0, color="grey", lw=0.8)
    a.set_xlabel("fitted")
    a.set_ylabel("residual")
    a.set_title("residuals vs fitted")
    stats.probplot(np.asarray(resid), dist="norm", plot=b)
    b.set_title("normal Q-Q of residuals")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def partial_effects(model, data: pd.DataFrame, predictors: list[str], path: Path) -> Path:
    """Partial effect of each continuous predictor: the fitted fixed-effect line with its
    95% band (other predictors at their mean, factors at their reference level), over the
    data (points: observed gains, centred); the band uses the model's own interval
    (t on between-within df)."""
    import numpy as np

    fx = model.fixed.set_index("term")
    fig, axes = plt.subplots(1, len(predictors), figsize=(4 * len(predictors), 3.5), squeeze=False)
    for ax, pred in zip(axes[0], predictors):
        x = np.linspace(data[pred].min(), data[pred].max(), 50)
        b, lo, hi = fx.loc[pred, "estimate"], fx.loc[pred, "ci_low"], fx.loc[pred, "ci_high"]
        center = data[pred].mean()
        ax.scatter(data[pred], data["gain_pts"] - data["gain_pts"].mean(), s=8, alpha=0.5, color="grey")
        ax.plot(x, b * (x - center), color="C0")
        ax.fill_between(x, lo * (x - center), hi * (x - center), alpha=0.25, color="C0")
        ax.set_xlabel(f"{pred} (standardized)")
        ax.set_ylabel("gain (points, centred)")
        ax.set_title(f"partial effect: {b:.2f} per SD")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
