import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

from xltkit.analysis.stats import fit_mixed


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


def test_variance_components_are_named_whatever_the_order_of_the_factors():
    df = _crossed(np.random.default_rng(8), sd_lang=1.0, sd_task=0.1)
    a = fit_mixed(df, "gain ~ x", random=["eval_lang", "target_task"])
    b = fit_mixed(df, "gain ~ x", random=["target_task", "eval_lang"])  # statsmodels sorts them by name
    assert a.variance_components["eval_lang"] > 10 * a.variance_components["target_task"]
    assert b.variance_components == pytest.approx(a.variance_components, rel=1e-6)
    assert list(b.variance_components) == ["target_task", "eval_lang"]
    np.testing.assert_allclose(b.fixed.std_error, a.fixed.std_error, rtol=1e-6)
    levels = b.random_effects.groupby("factor")["level"].nunique()
    assert levels["eval_lang"] == df.eval_lang.nunique() and levels["target_task"] == df.target_task.nunique()


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
    from xltkit.analysis.stats import likelihood_ratio_test

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
    from xltkit.analysis.stats import standardize

    df = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "c": [5.0] * 4})
    z, scale = standardize(df, ["a", "c"])
    assert z.a.mean() == pytest.approx(0) and z.a.std(ddof=0) == pytest.approx(1)
    assert (z.c == 0).all() and scale["c"] == (5.0, 0.0)


def test_boundary_and_convergence_warnings_are_kept_with_the_result():
    df = _crossed(np.random.default_rng(4), n_lang=8, n_task=3, sd_lang=0.0, sd_task=0.0)
    r = fit_mixed(df, "gain ~ x", random=["eval_lang", "target_task"])
    assert any("boundary" in w.lower() or "singular" in w.lower() for w in r.warnings), r.warnings


def _unbalanced(seed, sd_task=0.7):
    """A crossed table with a categorical and a continuous fixed effect, a quarter of the
    rows dropped at random so that the cells have unequal counts."""
    rng = np.random.default_rng(seed)
    df = _crossed(rng, n_lang=8, n_task=3, n_seed=2, sd_task=sd_task)
    df["inter"] = rng.choice(["a", "b", "c"], size=len(df))
    df["gain"] += df.inter.map({"a": 0.0, "b": 1.0, "c": -0.5})
    return df[rng.random(len(df)) >= 0.25].reset_index(drop=True)


def _dense_se(df, r):
    """sqrt(diag((X' V^-1 X)^-1)) with V = Z G Z' + s2 I formed explicitly (n x n), from the
    data and the fitted variance components: the definition lme4's vcov() computes."""
    X = np.column_stack([np.ones(len(df)), df.inter == "b", df.inter == "c", df.x]).astype(float)
    Z = np.hstack([pd.get_dummies(df[f]).to_numpy(float) for f in r.random])
    g = np.concatenate([np.full(df[f].nunique(), r.variance_components[f]) for f in r.random])
    V = Z @ np.diag(g) @ Z.T + r.residual_variance * np.eye(len(df))
    return np.sqrt(np.diag(np.linalg.inv(X.T @ np.linalg.inv(V) @ X)))


@pytest.mark.parametrize("random", [["eval_lang", "target_task"], ["eval_lang"]], ids=["crossed", "one_factor"])
def test_standard_errors_are_those_of_the_gls_covariance_at_the_fitted_variances(random):
    df = _unbalanced(5)
    assert df.groupby(["eval_lang", "target_task"]).size().nunique() > 1  # unbalanced
    r = fit_mixed(df, "gain ~ C(inter) + x", random=random)
    fx = r.fixed.set_index("term")
    assert list(fx.index) == ["Intercept", "C(inter)[T.b]", "C(inter)[T.c]", "x"]
    assert all(v > 1e-3 for v in r.variance_components.values())
    np.testing.assert_allclose(fx.std_error.to_numpy(), _dense_se(df, r), rtol=0, atol=1e-8)
    # the intervals and p-values use these standard errors; statsmodels' are kept beside them
    q = student_t.ppf(0.975, fx.df)
    np.testing.assert_allclose(fx.ci_high - fx.estimate, q * fx.std_error, atol=1e-12)
    np.testing.assert_allclose(fx.p_value, 2 * student_t.sf(np.abs(fx.estimate / fx.std_error), fx.df), atol=1e-12)
    assert np.all(np.isfinite(fx.std_error_statsmodels)) and not np.allclose(fx.std_error_statsmodels, fx.std_error)


def test_standard_errors_at_a_zero_variance_component():
    df = _unbalanced(6, sd_task=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # kept with the result, not raised
        r = fit_mixed(df, "gain ~ C(inter) + x", random=["eval_lang", "target_task"])
    assert r.variance_components["target_task"] < 1e-4 < r.variance_components["eval_lang"]  # on the boundary
    assert any("boundary" in w.lower() for w in r.warnings), r.warnings
    np.testing.assert_allclose(r.fixed.std_error.to_numpy(), _dense_se(df, r), rtol=0, atol=1e-8)
    # here statsmodels' inverse Hessian is indefinite: its standard error is NaN for a term, and that is said
    assert r.fixed.std_error_statsmodels.isna().any()
    assert any("std_error_statsmodels" in w and "not finite" in w for w in r.warnings), r.warnings


def test_with_no_random_effect_the_covariance_is_that_of_ols():
    """q = 0 (no random levels; fit_mixed itself cannot build a MixedLM without any random
    factor): the covariance reduces to s2 (X'X)^-1."""
    from types import SimpleNamespace

    import statsmodels.formula.api as smf

    from xltkit.analysis.stats import fixed_effects_cov

    df = _unbalanced(7)
    ols = smf.ols("gain ~ C(inter) + x", df).fit()
    X = ols.model.exog
    model = SimpleNamespace(exog=X, exog_li=[X], exog_re_li=[np.zeros((len(X), 0))], k_re=0, k_vc=0, n_groups=1)
    res = SimpleNamespace(scale=ols.scale, cov_re=np.zeros((0, 0)), vcomp=np.zeros(0))
    np.testing.assert_allclose(fixed_effects_cov(model, res), ols.cov_params().to_numpy(), rtol=1e-10, atol=0)
