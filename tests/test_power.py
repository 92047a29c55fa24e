"""Power analysis of the gain models (xltkit.analysis.power) against planted effects: a
large effect is found nearly always, a zero effect at the false-positive rate alpha, power
grows with seeds and languages, the analytic shortcut agrees with the simulation, the
components of a fitted model are recovered, and bad input is refused with the fix named.
Small n_sim and fixed seeds; assertions are on intervals, never exact numbers."""

import numpy as np
import pandas as pd
import pytest

from xltkit.analysis.power import components_of, power, power_curve
from xltkit.analysis.stats import MixedResult, fit_mixed

COMPONENTS = {"eval_lang": 4.0}  # points^2, about what the demo's gain model fits
RESIDUAL = 9.0


def test_large_effect_is_detected_nearly_always():
    r = power(COMPONENTS, RESIDUAL, effect=8.0, n_seeds=3, n_langs=5, n_sim=20, seed=1)
    assert r.n_sim == 20 and r.n_failed <= 2
    assert r.power >= 0.9 and r.ci_low > 0.75, r.describe()
    assert 0 <= r.ci_low <= r.power <= r.ci_high <= 1


def test_zero_effect_detected_at_the_false_positive_rate():
    r = power(COMPONENTS, RESIDUAL, effect=0.0, n_seeds=2, n_langs=4, n_sim=60, seed=2)
    assert r.ci_low <= 0.05 <= r.ci_high, r.describe()  # the "power" of a null effect is alpha
    assert r.n_failed <= 6


def test_power_grows_with_seeds_and_languages_as_the_analytic_power_says():
    kw = dict(effect=4.0, n_sim=20, seed=3)  # analytic power: 0.36 with 2 x 2, 0.98 with 10 x 2 or 2 x 10
    small = power(COMPONENTS, RESIDUAL, n_seeds=2, n_langs=2, **kw)
    more_seeds = power(COMPONENTS, RESIDUAL, n_seeds=10, n_langs=2, **kw)
    more_langs = power(COMPONENTS, RESIDUAL, n_seeds=2, n_langs=10, **kw)
    for big in (more_seeds, more_langs):
        assert big.power > small.power and big.ci_low > small.ci_high, (small.describe(), big.describe())
    for r in (small, more_seeds, more_langs):
        d = {k: r.design[k] for k in ("n_seeds", "n_langs", "effect")}
        exact = power(COMPONENTS, RESIDUAL, method="analytic", **d).power
        assert r.ci_low - 0.05 <= exact <= r.ci_high + 0.05, (r.describe(), exact)


def test_analytic_power_agrees_with_simulation_for_a_gain_over_baseline():
    kw = dict(effect=2.0, n_seeds=3, n_langs=10, compare="baseline")  # analytic power 0.57
    sim = power(COMPONENTS, RESIDUAL, n_sim=40, seed=4, **kw)
    exact = power(COMPONENTS, RESIDUAL, method="analytic", **kw)
    assert sim.ci_low - 0.05 <= exact.power <= sim.ci_high + 0.05, (sim.describe(), exact.describe())
    assert np.isnan(exact.ci_low) and "analytic" in exact.describe()


def test_analytic_power_curves_are_monotone():
    for knob in ("n_seeds", "n_langs"):
        args = {"n_seeds": 3, "n_langs": 7, knob: [2, 3, 5, 10]}
        for compare in ("languages", "baseline"):
            curve = power_curve(COMPONENTS, RESIDUAL, effect=2.0, method="analytic", compare=compare, **args)
            assert list(curve[knob]) == [2, 3, 5, 10] and curve.power.is_monotonic_increasing, curve
    by_effect = power_curve(COMPONENTS, RESIDUAL, effect=[0.0, 1.0, 2.0, 4.0], n_seeds=3, method="analytic")
    assert by_effect.power.iloc[0] == pytest.approx(0.05) and by_effect.power.is_monotonic_increasing


def test_describe_names_the_design_and_the_simulations():
    r = power(COMPONENTS, RESIDUAL, effect=2.0, n_seeds=3, n_langs=7, n_sim=5, seed=0)
    text = r.describe()
    assert text.startswith("3 seeds x 7 languages detect a 2.0-point gain") and "5 simulations" in text
    assert r.design["n_rows"] == 3 * 7 * 2 and r.design["random"] == ["eval_lang"]


def _planted(rng, n_lang=40, n_task=10, n_seed=2, var_lang=4.0, var_task=1.0, var_res=2.0) -> pd.DataFrame:
    u_lang, u_task = rng.normal(0, np.sqrt(var_lang), n_lang), rng.normal(0, np.sqrt(var_task), n_task)
    rows = [dict(eval_lang=f"L{li}", target_task=f"T{ti}", seed=s, intermediate_lang=inter,
                 gain_pts=1.0 + 2.0 * (inter == "fin") + u_lang[li] + u_task[ti] + rng.normal(0, np.sqrt(var_res)))
            for li in range(n_lang) for ti in range(n_task) for s in range(n_seed) for inter in ("eng", "fin")]
    return pd.DataFrame(rows)


def test_components_of_recovers_planted_components():
    m = fit_mixed(_planted(np.random.default_rng(5)), "gain_pts ~ 0 + C(intermediate_lang)",
                  random=["eval_lang", "target_task"])
    comps, residual = components_of(m)
    assert set(comps) == {"eval_lang", "target_task"}
    assert comps["eval_lang"] == pytest.approx(4.0, rel=0.6)  # 40 levels: relative SE about 0.23
    assert comps["target_task"] == pytest.approx(1.0, rel=1.0)  # 10 levels: relative SE about 0.47
    assert residual == pytest.approx(2.0, rel=0.15)
    r = power(comps, residual, effect=1.0, n_seeds=3, n_langs=7, n_tasks=2, n_sim=3, seed=0)
    assert r.design["random"] == ["eval_lang", "target_task"] and r.n_sim == 3


def _result(components: dict, residual: float = 1.0) -> MixedResult:
    return MixedResult(formula="gain_pts ~ 0 + C(intermediate_lang)", random=list(components),
                       fixed=pd.DataFrame(), variance_components=components, residual_variance=residual,
                       n_obs=10, converged=True)


def test_components_of_refuses_a_model_without_them():
    with pytest.raises(ValueError, match="no variance components.*several evaluation languages"):
        components_of(_result({}))
    with pytest.raises(ValueError, match=r"\['noise_label'\].*cannot plant"):
        components_of(_result({"noise_label": 1.0}))
    with pytest.raises(ValueError, match="residual variance 0.0"):
        components_of(_result({"eval_lang": 1.0}, residual=0.0))


@pytest.mark.parametrize("kw, message", [
    (dict(n_seeds=1), r"n_seeds=1.*plan n_seeds >= 2"),
    (dict(n_langs=1), r"n_langs=1.*plan n_langs >= 2"),
    (dict(components={"eval_lang": -1.0}), r"variance of 'eval_lang' is -1.0.*>= 0"),
    (dict(components={"language": 1.0}), r"unknown factor\(s\) \['language'\].*eval_lang"),
    (dict(residual=0.0), "residual variance is 0"),
    (dict(compare="english"), r"unknown comparison 'english'.*languages.*baseline"),
    (dict(n_sim=0), r"n_sim=0.*>= 1"),
    (dict(alpha=1.5), "alpha=1.5"),
])
def test_bad_input_names_the_problem_and_the_fix(kw, message):
    args = dict(components=COMPONENTS, residual=RESIDUAL, effect=2.0, n_seeds=3, n_langs=7, n_sim=5)
    with pytest.raises(ValueError, match=message):
        power(**{**args, **kw})


def test_power_curve_varies_exactly_one_knob():
    with pytest.raises(ValueError, match="exactly one knob.*n_seeds"):
        power_curve(COMPONENTS, RESIDUAL, n_seeds=[2, 3], n_langs=[5, 7], method="analytic")
