"""The what-if view, headless: its functions on a small finished lab experiment, and its widgets
driven by setting their values and reading the data behind the outputs."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from xltkit.analysis import whatif
from xltkit.analysis.whatif_view import WhatIfView, view

from whatif_fixture import LANGS, PLANTED, planted_experiment  # noqa: E402,F401


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    return planted_experiment(tmp_path_factory.mktemp("whatif") / "wi")


def test_observed_gains_stand_beside_the_model_and_the_controls(experiment):
    w = whatif.load(experiment)
    t = whatif.observed_vs_model(w, "roles", ["cc", "dd"], ["fin"])
    assert set(t.eval_lang) == {"cc", "dd"} and set(t.intermediate_lang) == {"fin"}
    sg = pd.read_parquet(experiment / "analysis" / "seed_gains.parquet")
    by_hand = 100 * sg[(sg.intermediate_lang == "fin") & (sg.eval_lang == "dd")].gain.mean()
    row = t.set_index("eval_lang").loc["dd"]
    assert row.observed == pytest.approx(by_hand)  # the analysis' own gain, in points
    model = json.loads((experiment / "analysis" / "mixed_model.json").read_text())
    fixed = {r["term"]: r for r in model["fixed"]}
    re = {(r["factor"], r["level"]): r for r in model["random_effects"]}
    b, u = fixed["C(intermediate_lang)[fin]"], re[("eval_lang", "dd")]
    assert row.predicted == pytest.approx(b["estimate"] + u["estimate"])  # the coefficient + the language's mode
    assert row.predicted_low < row.predicted < row.predicted_high
    assert abs(b["estimate"] - PLANTED["fin"]) < 1.5  # the planted gain, give or take the language effects
    assert (t.control_untrained == 0.5).all() and (t.control_best_rule == 0.55).all()  # beside every gain


def test_two_scenarios_differ_by_their_paired_gains(experiment):
    w = whatif.load(experiment)
    s = whatif.scenario_difference(w, whatif.Scenario("fin"), whatif.Scenario("eng"), ["aa", "bb"], "roles",
                                   n_boot=500)
    sg = w.seed_gains.set_index(["intermediate_lang", "eval_lang", "seed"]).gain
    by_hand = np.mean([np.mean([100 * (sg["fin", lang, seed] - sg["eng", lang, seed]) for seed in range(3)])
                       for lang in ("aa", "bb")])
    assert s["difference"] == pytest.approx(by_hand) and s["n_pairs"] == 6 and s["n_langs"] == 2
    assert s["ci_low"] <= s["difference"] <= s["ci_high"]
    assert s["ci_low"] < PLANTED["fin"] - PLANTED["eng"] < s["ci_high"] + 1  # about the planted 2 points
    with pytest.raises(whatif.WhatIfError, match="share no evaluation language"):
        whatif.scenario_difference(w, whatif.Scenario("fin"), whatif.Scenario("fin", "rs-rp(x)"))


def test_a_hypothetical_language_pair_is_predicted_and_marked_outside_the_data(experiment):
    w = whatif.load(experiment)
    ranges = whatif.typology_ranges(w)
    assert set(ranges) == {"inter_fertility", "target_fertility", "syntactic_distance"}
    inside = {k: (lo + hi) / 2 for k, (lo, hi) in ranges.items()}
    h = whatif.hypothetical(w, inside)
    assert not h["extrapolation"] and h["pi_low"] < h["ci_low"] <= h["predicted"] <= h["ci_high"] < h["pi_high"]
    t = w.typology  # by hand: the intercept plus each coefficient times the standardized value
    coef = {r["term"]: r["estimate"] for r in t["fixed"]}
    z = {k: (v - t["scales"][k][0]) / t["scales"][k][1] for k, v in inside.items()}
    assert h["predicted"] == pytest.approx(coef["Intercept"] + sum(coef[k] * z[k] for k in z))
    far = whatif.hypothetical(w, {**inside, "inter_fertility": 5.0})
    assert far["extrapolation"] and set(far["outside"]) == {"inter_fertility"}
    assert far["predicted"] != pytest.approx(h["predicted"])
    with pytest.raises(whatif.WhatIfError, match="no predictor"):
        whatif.hypothetical(w, {"not_a_predictor": 1.0})


def test_power_of_a_design_comes_from_the_fitted_variance_components(experiment):
    w = whatif.load(experiment)
    small = whatif.power_for(w, 0.5, n_seeds=2, n_langs=3, n_sim=40)
    large = whatif.power_for(w, 5.0, n_seeds=5, n_langs=12, n_sim=40)
    assert large.power > small.power and large.ci_low > 0.5 and 0 <= small.power <= 1
    assert "seeds" in large.describe()


def test_the_widgets_update_the_data_behind_their_outputs(experiment):
    v = WhatIfView(whatif.load(experiment), power_sims=20)
    assert set(v.table.eval_lang) == {"aa", "bb"}  # low-resource targets first
    v.langs.value = ("ee",)
    assert set(v.table.eval_lang) == {"ee"}
    v.inter.value = ("eng",)
    assert set(v.table.intermediate_lang) == {"eng"}
    v.a.value, v.b.value = ("fin", "none"), ("eng", "none")
    assert v.scenario["a"] == "fin" and v.scenario["n_langs"] == 1
    slider = v.sliders["inter_fertility"]
    before = v.hypo["predicted"]
    slider.value = slider.max  # beyond the data
    assert v.hypo["predicted"] != before and v.hypo["extrapolation"]
    v.seeds.value, v.n_langs.value = 4, 8
    v.run_power.click()
    assert v.power is not None and v.power.design["n_seeds"] == 4
    assert sum(isinstance(c, type(v.out_table)) for c in v.widget().children) == 4  # the four panels' outputs


def test_an_experiment_that_cannot_answer_yet_says_what_to_run(experiment, tmp_path, capsys):
    with pytest.raises(whatif.WhatIfError, match="xltkit run"):
        whatif.load(tmp_path / "nothing")
    bare = tmp_path / "bare"
    bare.mkdir()
    shutil.copy(experiment / "results.parquet", bare / "results.parquet")
    with pytest.raises(whatif.WhatIfError, match=f"xltkit analyze {bare}"):
        whatif.load(bare)
    old = tmp_path / "old"
    shutil.copytree(experiment / "analysis", old / "analysis")
    shutil.copy(experiment / "results.parquet", old / "results.parquet")
    m = json.loads((old / "analysis" / "mixed_model.json").read_text())
    m.pop("random_effects")  # as an analysis by xltkit 0.3.0 wrote it
    (old / "analysis" / "mixed_model.json").write_text(json.dumps(m))
    assert view(old) is None and "older xltkit" in capsys.readouterr().out  # printed, not raised


def test_a_static_view_prints_every_panel(experiment, capsys):
    v = view(experiment, static=True, power_sims=20)
    out = capsys.readouterr().out
    assert v is not None and "== Two scenarios ==" in out and "predicted gain" in out and "probability" in out


def test_the_html_report_embeds_the_analysis_and_a_static_what_if(experiment, tmp_path, repo):
    import subprocess
    import sys

    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# the executed analysis")])
    nbformat.write(nb, experiment / "analysis" / "05_analysis.ipynb")
    out = tmp_path / "report.html"
    proc = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "report", str(experiment), "--out", str(out)],
                          capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = out.read_text()
    assert "the executed analysis" in html and "== Two scenarios ==" in html and "predicted gain" in html
    assert "data:image/png;base64" in html  # the figure is in the file, not beside it
    assert "application/vnd.jupyter.widget-view+json" not in html  # a snapshot: no live widget to render
    (experiment / "analysis" / "05_analysis.ipynb").unlink()
    proc = subprocess.run([sys.executable, "-m", "xltkit.pipeline.cli", "report", str(experiment)],
                          capture_output=True, text=True, cwd=repo)
    assert proc.returncode == 2 and "xltkit analyze" in proc.stderr
