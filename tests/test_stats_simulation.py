"""The mixed model is checked against data with known truth: fixed effects and variance
components planted in synthetic gains tables (crossed evaluation languages and target
tasks, three intermediate languages, a language-level predictor, seeds)."""

import numpy as np
import pandas as pd
import pytest

from xltkit.analysis.stats import fit_mixed

TRUE = {"Intercept": 1.0, "C(intermediate_lang)[T.fin]": 2.0, "C(intermediate_lang)[T.hun]": -1.0, "richness": 1.5}


def simulate(rng, n_lang=20, n_task=6, n_seed=2, sd_lang=1.0, sd_task=0.8, sd_res=1.0) -> pd.DataFrame:
    u_lang, u_task = rng.normal(0, sd_lang, n_lang), rng.normal(0, sd_task, n_task)
    richness = rng.normal(size=n_lang)
    rows = []
    for li in range(n_lang):
        for ti in range(n_task):
            for inter in ("eng", "fin", "hun"):
                for s in range(n_seed):
                    mu = TRUE["Intercept"] + TRUE["richness"] * richness[li] + u_lang[li] + u_task[ti]
                    mu += {"eng": 0.0, "fin": TRUE["C(intermediate_lang)[T.fin]"],
                           "hun": TRUE["C(intermediate_lang)[T.hun]"]}[inter]
                    rows.append(dict(eval_lang=f"L{li}", target_task=f"T{ti}", intermediate_lang=inter, seed=s,
                                     richness=richness[li], gain=mu + rng.normal(0, sd_res)))
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_95_intervals_cover_planted_fixed_effects_in_90_percent_of_50_datasets():
    rng = np.random.default_rng(1)
    hits = {k: 0 for k in TRUE}
    n = 50
    for _ in range(n):
        r = fit_mixed(simulate(rng), "gain ~ C(intermediate_lang) + richness", random=["eval_lang", "target_task"])
        fx = r.fixed.set_index("term")
        for k, v in TRUE.items():
            hits[k] += fx.loc[k, "ci_low"] <= v <= fx.loc[k, "ci_high"]
    coverage = {k: h / n for k, h in hits.items()}
    assert all(c >= 0.9 for c in coverage.values()), coverage


@pytest.mark.slow
def test_variance_components_are_recovered_on_average():
    rng = np.random.default_rng(7)
    est = [fit_mixed(simulate(rng, n_lang=30, n_task=10), "gain ~ C(intermediate_lang) + richness",
                     random=["eval_lang", "target_task"]) for _ in range(10)]
    lang = np.mean([r.variance_components["eval_lang"] for r in est])
    task = np.mean([r.variance_components["target_task"] for r in est])
    res = np.mean([r.residual_variance for r in est])
    assert lang == pytest.approx(1.0, abs=0.35) and task == pytest.approx(0.64, abs=0.3)
    assert res == pytest.approx(1.0, abs=0.1)
