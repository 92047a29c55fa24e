"""The mixed-effects models of the analysis: the headline model (one coefficient per
setting) and the typology model (gain against the languages' morphological richness,
distance and resource level), each with crossed random intercepts."""

from __future__ import annotations

import pandas as pd

from xltkit.analysis.languages import model_table
from xltkit.analysis.stats import fit_mixed, likelihood_ratio_test, standardize

RANDOM_FACTORS = ["eval_lang", "target_task", "intermediate_task"]


def typology_model(zero_shot: pd.DataFrame, languages: pd.DataFrame, notes: list[str]):
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
    ranges = {c: (float(data[c].min()), float(data[c].max())) for c in predictors}
    data, scales = standardize(data, predictors)
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
        m.scales, m.ranges = scales, ranges  # to predict for hypothetical languages (xltkit.analysis.whatif)
        lrt = likelihood_ratio_test(data, full, reduced, random)
    except ValueError as e:
        notes.append(f"typology model not fitted: {e}")
        return None, None, [], data
    return m, lrt, predictors, data
