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


def test_lrt_detects_a_real_effect_and_not_a_null_one():
    from xltkit.stats import likelihood_ratio_test

    rng = np.random.default_rng(3)
    df = _crossed(rng, n_lang=30, n_task=4)
    df["noise_col"] = rng.normal(size=len(df))
    real = likelihood_ratio_test(df, "gain ~ x", "gain ~ 1", ["eval_lang", "target_task"])
    null = likelihood_ratio_test(df, "gain ~ noise_col", "gain ~ 1", ["eval_lang", "target_task"])
    assert real.df == 1 and real.p_value < 0.01
    assert null.p_value > 0.01
    with pytest.raises(ValueError, match="not nested"):
        likelihood_ratio_test(df, "gain ~ 1", "gain ~ x", ["eval_lang"])


def test_standardize_gives_unit_scale_and_keeps_constants():
    from xltkit.stats import standardize

    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": [5.0] * 4})
    z, scale = standardize(df, ["a", "c"])
    assert z.a.mean() == pytest.approx(0) and z.a.std(ddof=0) == pytest.approx(1)
    assert (z.c == 0).all() and scale["c"] == (5.0, 0.0)


def test_boundary_and_convergence_warnings_are_kept_with_the_result():
    df = _crossed(np.random.default_rng(4), n_lang=8, n_task=3, sd_lang=0.0, sd_task=0.0)
    r = fit_mixed(df, "gain ~ x", random=["eval_lang", "target_task"])
    assert any("boundary" in w.lower() or "singular" in w.lower() for w in r.warnings), r.warnings
