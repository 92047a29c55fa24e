"""A finished experiment with planted gains, for the what-if tests (headless and in the browser)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd

LANGS = ["aa", "bb", "cc", "dd", "ee", "ff"]  # evaluation languages; aa and bb are low-resource
PLANTED = {"fin": 3.0, "eng": 1.0}  # the gain (points) of each intermediate language, before language effects


def planted_experiment(exp: Path) -> Path:
    """An experiment folder at ``exp`` as ``xltkit run`` and ``xltkit analyze`` leave it, with
    planted gains: the what-if view reads only these files, and the planted values say what it
    must find."""
    from xltkit.analysis.stats import fit_mixed, standardize

    (exp / "analysis").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lang_effect = dict(zip(LANGS, rng.normal(0, 1.0, len(LANGS))))
    fert = dict(zip(LANGS, np.linspace(1.0, 2.0, len(LANGS))))
    inter_fert = {"fin": 2.2, "eng": 1.1}
    rows = []
    for inter, effect in PLANTED.items():
        for lang in LANGS:
            for seed in range(3):
                pts = effect + lang_effect[lang] + rng.normal(0, 0.5)
                rows.append({"model": "lab-bert", "target_task": "roles", "source_lang": "src", "seed": seed,
                             "intermediate_task": "roles", "intermediate_lang": inter, "noise_setting": "none",
                             "intermediate_noise_setting": "none", "eval_lang": lang, "metric": "accuracy",
                             "baseline": "none", "gain": pts / 100, "gain_pts": pts, "eval_low_resource": lang in "aabb",
                             "inter_fertility": inter_fert[inter], "target_fertility": fert[lang],
                             "syntactic_distance": abs(inter_fert[inter] - fert[lang])})
    sg = pd.DataFrame(rows)
    sg.to_parquet(exp / "analysis" / "seed_gains.parquet")
    g = sg.groupby(["target_task", "eval_lang", "intermediate_lang", "noise_setting", "intermediate_noise_setting",
                    "baseline", "eval_low_resource"], as_index=False).gain.mean()
    g = g.assign(ci_low=g.gain - 0.01, ci_high=g.gain + 0.01, metric="accuracy")
    g.to_parquet(exp / "analysis" / "gains.parquet")
    pd.DataFrame({"target_task": "roles", "eval_lang": LANGS, "untrained": 0.5, "best_rule": 0.55}).to_parquet(
        exp / "analysis" / "controls.parquet")
    sg.assign(value=0.6, split="test").to_parquet(exp / "results.parquet")
    m = fit_mixed(sg, "gain_pts ~ 0 + C(intermediate_lang)", random=["eval_lang"])
    (exp / "analysis" / "mixed_model.json").write_text(json.dumps(m.to_dict()))
    preds = ["inter_fertility", "target_fertility", "syntactic_distance"]
    ranges = {c: (float(sg[c].min()), float(sg[c].max())) for c in preds}
    data, scales = standardize(sg, preds)
    t = fit_mixed(data, "gain_pts ~ " + " + ".join(preds), random=["eval_lang"])
    t.scales, t.ranges = scales, ranges
    (exp / "analysis" / "typology_model.json").write_text(json.dumps(t.to_dict()))
    return exp
