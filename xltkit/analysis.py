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
from xltkit.controls import RULES
from xltkit.gains import gain_table, pooled_accuracy, seed_gains, with_noise_settings
from xltkit.stats import LRTResult, MixedResult, fit_mixed, likelihood_ratio_test, standardize

CONTROL_UNTRAINED = "lab-bert-untrained"
RULE_MODELS = RULES
RULE_COLUMNS = {"rule-length": "length_rule", "rule-bow": "bow_rule", "rule-overlap": "overlap_rule"}


@dataclass
class Analysis:
    out_dir: Path
    accuracy: pd.DataFrame
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
    generalized: pd.DataFrame = field(default_factory=pd.DataFrame)  # pair tasks, second sentence in source_lang
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
                             f"{len(g)} non-source languages, above the length rule in "
                             f"{int(g.beats_length_rule.sum())}, above the best surface-cue rule in "
                             f"{int(g.beats_best_rule.sum())}")
        for base, g in (self.gains.groupby("baseline") if not self.gains.empty else []):
            what = "no intermediate task" if base == "none" else f"intermediate training in {base}"
            lines.append(f"\nGain (points) over {what}, paired over seeds; * = 95% bootstrap CI excludes 0:")
            cell = (100 * g.gain).round(1).astype(str) + g.significant.map(lambda x: "*" if x else "")
            lines.append(g.assign(cell=cell, setting=setting(g)).pivot(index="setting", columns="eval_lang",
                                                                       values="cell").to_string())
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
        if not self.generalized.empty:
            g = self.generalized
            lines.append("\nGeneralized setting (pair tasks: first sentence in eval_lang, second in source_lang); "
                         "accuracy (test, pooled over seeds, 95% Wilson CI) and its difference to the same-language "
                         "setting:")
            lines.append(g.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        for n in self.notes:
            lines.append(f"note: {n}")
        return "\n".join(lines)


def generalized_table(gen: pd.DataFrame, same: pd.DataFrame) -> pd.DataFrame:
    """Pooled accuracy in the generalized setting beside the same-language setting of the
    same runs: how much a pair in two languages costs (or gains)."""
    if gen.empty:
        return pd.DataFrame()
    keys = [c for c in gen.columns if c not in ("accuracy", "ci_low", "ci_high", "n", "n_seeds", "eval_setting")]
    t = gen.merge(same[keys + ["accuracy"]].rename(columns={"accuracy": "same_accuracy"}), on=keys, how="left")
    t = t.assign(setting=setting(t), minus_same=t["accuracy"] - t["same_accuracy"])
    cols = ["model", "setting", "target_task", "source_lang", "eval_lang", "accuracy", "ci_low", "ci_high",
            "same_accuracy", "minus_same"]
    return t[cols].sort_values(["model", "setting", "eval_lang"]).reset_index(drop=True)


def controls_table(acc: pd.DataFrame) -> pd.DataFrame:
    """For each encoder condition and evaluation language: its pooled accuracy and CI, the
    no-pretraining control and the best surface-cue rule, and whether the CI clears them."""
    enc = acc[~acc.model.isin((CONTROL_UNTRAINED,) + RULE_MODELS)]
    keys = ["target_task", "source_lang", "eval_lang"]  # the controls are trained without noise
    clean = acc[acc.noise == "none"]
    untrained = clean[(clean.model == CONTROL_UNTRAINED) & (clean.intermediate_lang == "none")]
    untrained = untrained[keys + ["accuracy"]].drop_duplicates(keys).rename(columns={"accuracy": "untrained"})
    rules = clean[clean.model.isin(RULE_MODELS)].pivot_table(index=keys, columns="model", values="accuracy").reset_index()
    for r in RULE_MODELS:
        if r not in rules:
            rules[r] = float("nan")  # a missing control stays missing (and is named in the notes)
    rules = rules.rename(columns=RULE_COLUMNS)
    rule_cols = list(RULE_COLUMNS.values())
    rules["best_rule"] = rules[rule_cols].max(axis=1)  # the strongest surface cue present
    t = enc.merge(untrained, on=keys, how="left").merge(rules[keys + rule_cols + ["best_rule"]], on=keys, how="left")
    t["condition"] = t["model"] + "/" + setting(t)
    t["beats_untrained"] = t["ci_low"] > t["untrained"]
    t["beats_length_rule"] = t["ci_low"] > t["length_rule"]
    t["beats_best_rule"] = t["ci_low"] > t["best_rule"]
    cols = ["condition", "target_task", "source_lang", "noise", "noise_scale", "eval_lang", "accuracy", "ci_low",
            "ci_high", "n_seeds",
            "untrained", *RULE_COLUMNS.values(), "best_rule", "beats_untrained", "beats_length_rule",
            "beats_best_rule"]
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
    res, preds = results.same_setting(res), results.same_setting(preds)
    same_acc = pooled_accuracy(res[res.eval_setting == "same"], confidence=p.confidence)
    generalized = generalized_table(pooled_accuracy(res[res.eval_setting == "generalized"], confidence=p.confidence),
                                    same_acc)
    res, preds = res[res.eval_setting == "same"], preds[preds.eval_setting == "same"]

    acc = same_acc
    controls = controls_table(acc) if "accuracy" in set(res.metric) else pd.DataFrame()
    if CONTROL_UNTRAINED not in set(res.model):
        notes.append(f"no {CONTROL_UNTRAINED} runs: the no-pretraining control is missing")
    if not set(RULE_MODELS) & set(res.model):
        notes.append(f"no surface-cue rule runs ({', '.join(RULE_MODELS)}): that control is missing")
    gains, msgs = gain_table(res[~res.model.isin(RULE_MODELS)], preds, n_boot=p.n_boot, confidence=p.confidence,
                             seed=p.analysis_seed)
    notes += msgs
    sg, msgs = seed_gains(res[~res.model.isin(RULE_MODELS)], metric="accuracy")
    notes += msgs

    src = res.source_lang.iloc[0]
    if src in set(res.intermediate_lang):  # Finnish/Hungarian-like over English-like intermediate training
        g2, msgs = gain_table(res[~res.model.isin(RULE_MODELS)], preds, n_boot=p.n_boot, confidence=p.confidence,
                              seed=p.analysis_seed, baseline=src)
        gains = pd.concat([gains, g2], ignore_index=True)
        notes += msgs

    languages = language_table(exp_dir, notes)
    model = typology_model = lrt = None
    predictors: list[str] = []
    data = pd.DataFrame()
    sg = sg.assign(gain_pts=100 * sg["gain"]) if not sg.empty else sg
    zero_shot = sg[sg.eval_lang != sg.source_lang] if not sg.empty else sg
    random = [c for c in RANDOM_FACTORS if not zero_shot.empty and zero_shot[c].nunique() > 1]
    if len(zero_shot) >= 6:
        # one coefficient per intermediate language (and noise setting): its mean zero-shot gain in points
        zero_shot = zero_shot.assign(noise_label=noise_label(zero_shot))  # every knob of both stages
        # one coefficient per setting that was run (intermediate language, with its noise where there is noise)
        rhs = "0 + C(setting)" if zero_shot.noise_label.nunique() > 1 else "0 + C(intermediate_lang)"
        zero_shot = zero_shot.assign(setting=setting(zero_shot))
        try:
            model = fit_mixed(zero_shot, f"gain_pts ~ {rhs}", random=random, reml=True)
        except ValueError as e:
            notes.append(f"mixed model not fitted: {e}")
        typology_model, lrt, predictors, data = _typology_model(zero_shot, languages, notes)
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
    a = Analysis(out, acc, controls, gains, sg, model, languages=languages, typology_model=typology_model,
                 typology_predictors=predictors, lrt=lrt, model_data=data, custom_model=custom, generalized=generalized,
                 notes=notes)
    a.figures = plots.analysis_figures(a, out)
    _write(a)
    return a


def _write(a: Analysis) -> None:
    out = a.out_dir
    for name, df in (("accuracy", a.accuracy), ("controls", a.controls), ("gains", a.gains),
                     ("seed_gains", a.seed_gains), ("generalized", a.generalized)):
        results.write_parquet(df, out / f"{name}.parquet")
        df.to_csv(out / f"{name}.csv", index=False)
    if not a.languages.empty:
        results.write_parquet(a.languages, out / "languages.parquet")
        a.languages.to_csv(out / "languages.csv", index=False)
    for name, m in (("mixed_model", a.model), ("typology_model", a.typology_model), ("custom_model", a.custom_model)):
        if m is not None:
            results.write_json({**m.to_dict(), **({"lrt": a.lrt.to_dict()} if name == "typology_model" and a.lrt
                                                   else {})}, out / f"{name}.json")
            m.fixed.to_csv(out / f"{name}_fixed.csv", index=False)
            (out / f"{name}.txt").write_text(m.summary + "\nwarnings:\n" + "\n".join(m.warnings) + "\n")
    (out / "summary.txt").write_text(a.summary() + "\n")


RANDOM_FACTORS = ["eval_lang", "target_task", "intermediate_task"]


def noise_label(df: pd.DataFrame) -> pd.Series:
    """The noise setting of each row, every knob included (the ``noise_setting`` column,
    :func:`xltkit.noise.setting_label`), e.g. "adv(pgd,l2,K=3,eps=0.01,rel)" or "none";
    preceded by the intermediate stage's where that has noise ("rs-rp(...) > adv(...)").
    Tables from before the column existed give "rs-rp@0.1"."""
    df = with_noise_settings(df)
    target, inter = df["noise_setting"].astype(str), df["intermediate_noise_setting"].astype(str)
    return target.where(inter == "none", inter + " > " + target)


def setting(df: pd.DataFrame) -> pd.Series:
    """A row's training setting as a label: the intermediate language (with its task where
    the table has several: "nli:lab_fin"), plus the noise setting where there is noise
    ("lab_fin +rs-rp(ball,r=0.1,m=1)")."""
    label = df["intermediate_lang"].astype(str)
    if "intermediate_task" in df and df.loc[df.intermediate_lang != "none", "intermediate_task"].nunique() > 1:
        label = label.where(df.intermediate_lang == "none", df["intermediate_task"].astype(str) + ":" + label)
    noise = noise_label(df)
    return label.where(noise == "none", label + " +" + noise)


def language_table(exp_dir: Path, notes: list[str]) -> pd.DataFrame:
    """Typology and measured morphological richness of the experiment's lab languages:
    the preset's parameters, resource level, and corpus measures (MATTR, unigram entropy,
    characters per word, subword fertility) on equal-sized samples of the pretraining text."""
    from xltkit.config import DataParams
    from xltkit.lab import get_spec
    from xltkit.morphology import richness_table

    runs = results.finished_runs(exp_dir)
    if not runs:
        return pd.DataFrame()
    man = results.read_json(runs[0] / "manifest.json")
    dp = DataParams(**{k: v for k, v in man["params"].items() if k in DataParams.model_fields})
    data_dir = Path(man.get("stage_dirs", {}).get("data") or Path(dp.cache_dir) / "data" / dp.key())
    if not results.is_done(data_dir):
        notes.append(f"language table left out: the lab data {data_dir} is missing")
        return pd.DataFrame()
    from tokenizers import Tokenizer  # the bare tokenizer: no need to import transformers here

    corpus = pd.read_parquet(data_dir / "corpus.parquet")
    corpora = {lang: g["text"].tolist() for lang, g in corpus.groupby("lang")}
    n = min(20000, min(sum(len(s.split()) for s in v) for v in corpora.values()))
    rich = richness_table(corpora, Tokenizer.from_file(str(data_dir / "tokenizer" / "tokenizer.json")), n_words=n)
    specs = pd.DataFrame([{"lang": s.code, "imitates": s.imitates, "resource": s.resource, "word_order": s.word_order,
                           "case_marking": s.case_marking, "morphology": s.morphology,
                           "genitive_position": s.genitive_position, "vowel_harmony": s.vowel_harmony,
                           "n_categories": len(s.noun_categories) + len(s.verb_categories)}
                          for s in map(get_spec, dp.langs)])
    table = specs.merge(rich, on="lang")
    for run in runs:  # how well the shared pretraining learnt each language (held-out masked words)
        d = results.read_json(run / "manifest.json")
        pre = d.get("stage_dirs", {}).get("pretrain")
        if d["params"].get("model") == "lab-bert" and pre and (Path(pre) / "stats.json").is_file():
            acc = results.read_json(Path(pre) / "stats.json").get("heldout_mlm_accuracy", {})
            table["mlm_accuracy"] = table["lang"].map(acc)
            if table["mlm_accuracy"].mean() < 0.05:
                notes.append(f"pretraining barely learnt: held-out masked-word accuracy "
                             f"{table['mlm_accuracy'].mean():.3f} on average ({pre}); encoder results are not "
                             "evidence about the languages: pretrain longer or on fewer languages")
            break
    try:  # the real language's inflectional richness from Grambank, beside the lab's measured one
        from xltkit.lab.typology import morphology_index

        gb = morphology_index(list(dp.langs))[["lang", "morphology_index"]]
        table = table.merge(gb.rename(columns={"morphology_index": "grambank_morphology_index"}), on="lang", how="left")
    except Exception as e:
        notes.append(f"Grambank morphology index left out: {e}")
    return table


def distances(pairs: pd.DataFrame, notes: list[str], kind: str = "syntactic") -> pd.DataFrame:
    """URIEL+ ``kind`` distance between each intermediate and evaluation language (lab
    languages stand in for the real languages they imitate); missing ones are reported."""
    try:
        from xltkit.lab.typology import distance_table

        langs = sorted(set(pairs.intermediate_lang) | set(pairs.eval_lang))
        d = distance_table(langs, langs, kinds=[kind])
    except Exception as e:  # no typology data: the rest of the analysis goes on
        notes.append(f"typological distance left out: {e}")
        return pd.DataFrame(columns=["intermediate_lang", "eval_lang", f"{kind}_distance"])
    for _, row in d[d.missing != ""].iterrows():
        notes.append(f"no {kind} distance for {row.source}-{row.target}: {row.missing}")
    return d.rename(columns={"source": "intermediate_lang", "target": "eval_lang", kind: f"{kind}_distance"})[
        ["intermediate_lang", "eval_lang", f"{kind}_distance"]]


def model_table(zero_shot: pd.DataFrame, languages: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Per-seed zero-shot gains joined with the properties of the intermediate and target
    languages (resource level, measured morphological richness) and their distance."""
    if languages.empty:
        return zero_shot
    props = languages.set_index("lang")
    data = zero_shot.copy()
    for side, col in (("target", "eval_lang"), ("inter", "intermediate_lang")):
        for measure in ("fertility", "chars_per_word", "mattr"):
            data[f"{side}_{measure}"] = data[col].map(props[measure])
        data[f"{side}_low_resource"] = data[col].map(props["resource"].eq("low").astype(float))
    data = data.merge(distances(data[["intermediate_lang", "eval_lang"]].drop_duplicates(), notes),
                      on=["intermediate_lang", "eval_lang"], how="left")
    return data


def _typology_model(zero_shot: pd.DataFrame, languages: pd.DataFrame, notes: list[str]):
    """Gain ~ morphological richness of the intermediate and target languages (and their
    interaction), their syntactic distance, target resource level and noise setting, with
    crossed random intercepts; predictors standardized; a likelihood-ratio test (ML refits)
    of the language predictors against the model without them."""
    if languages.empty:
        return None, None, [], pd.DataFrame()
    data = model_table(zero_shot, languages, notes)
    candidates = ["inter_fertility", "target_fertility", "syntactic_distance", "target_low_resource"]
    predictors = [c for c in candidates if c in data and data[c].notna().all() and data[c].nunique() > 1]
    dropped = [c for c in candidates if c not in predictors]
    if dropped:
        notes.append(f"typology model: left out {dropped} (constant or missing in this design)")
    if not predictors or data.eval_lang.nunique() <= 2:
        notes.append("typology model not fitted: too few evaluation languages or no varying language property")
        return None, None, [], data
    data, _ = standardize(data, predictors)
    terms = list(predictors)
    if {"inter_fertility", "target_fertility"} <= set(predictors):
        terms.append("inter_fertility:target_fertility")  # does a rich intermediate help rich targets?
    noise = "noise_label" if "noise_label" in data else "noise"  # the whole setting: runs differing in a knob differ
    base = [f"C({noise})"] if data[noise].nunique() > 1 else []
    varied = data.groupby(noise)["inter_fertility"].nunique().min() > 1 if "inter_fertility" in predictors else False
    if base and varied:  # does noise change what a rich intermediate language buys? (needs that contrast per setting)
        terms.append(f"C({noise}):inter_fertility")
    elif base and "inter_fertility" in predictors:
        notes.append("typology model: no noise x intermediate-richness term (some noise setting was run with one "
                     "intermediate language only)")
    full = "gain_pts ~ " + " + ".join(base + terms)
    reduced = "gain_pts ~ " + (" + ".join(base) if base else "1")
    random = [c for c in RANDOM_FACTORS if data[c].nunique() > 1]
    try:
        m = fit_mixed(data, full, random=random, reml=True)
        lrt = likelihood_ratio_test(data, full, reduced, random)
    except ValueError as e:
        notes.append(f"typology model not fitted: {e}")
        return None, None, [], data
    return m, lrt, predictors, data
