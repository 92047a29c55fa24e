import numpy as np
import pandas as pd
import pytest

from xltkit.stats import fit_mixed


def _crossed(rng, n_lang=12, n_task=5, n_seed=3, beta=(1.0, 2.0), sd_lang=1.0, sd_task=0.7, sd_res=0.5):
    langs = [f"l{i}" for i in range(n_lang)]
    tasks = [f"t{i}" for i in range(n_task)]
    u_l = dict(zip(langs, rng.normal(0, sd_lang, n_lang)))
    u_t = dict(zip(tasks, rng.normal(0, sd_task, n_task)))
    rows = []
    for lang in langs:
        x = rng.normal()
        for task in tasks:
            for s in range(n_seed):
                y = beta[0] + beta[1] * x + u_l[lang] + u_t[task] + rng.normal(0, sd_res)
                rows.append(dict(eval_lang=lang, target_task=task, seed=s, x=x, gain=y))
    return pd.DataFrame(rows)


def test_crossed_model_recovers_planted_fixed_effect():
    df = _crossed(np.random.default_rng(0))
    r = fit_mixed(df, "gain ~ x", random=["eval_lang", "target_task"])
    slope = r.fixed.set_index("term").loc["x"]
    assert slope.ci_low < 2.0 < slope.ci_high
    assert abs(slope.estimate - 2.0) < 3 * slope.std_error
    assert set(r.variance_components) == {"eval_lang", "target_task"}
    assert r.converged and r.n_obs == len(df)


def test_missing_columns_are_named():
    df = _crossed(np.random.default_rng(1), n_lang=4, n_task=2)
    with pytest.raises(ValueError, match="random-effect column.*'noise'"):
        fit_mixed(df, "gain ~ x", random=["noise"])
    with pytest.raises(ValueError, match="typo_col"):
        fit_mixed(df, "gain ~ typo_col", random=["eval_lang"])


def test_single_level_factor_is_dropped_with_a_note():
    df = _crossed(np.random.default_rng(2), n_task=1)
    r = fit_mixed(df, "gain ~ x", random=["eval_lang", "target_task"])
    assert r.random == ["eval_lang"]
    assert any("target_task" in w and "single level" in w for w in r.warnings)
