"""Mixed-effects models of transfer gains (statsmodels MixedLM).

Random intercepts for crossed factors (evaluation language, target task, ...) are fitted
as variance components over a single all-encompassing group, the statsmodels idiom for
crossed random effects (statsmodels docs, "Variance Component Analysis"; it matches
lme4's ``(1|a) + (1|b)`` on this machine, FACTS.md).  Estimates use REML; convergence and
boundary warnings are kept with the result, never swallowed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf


@dataclass
class MixedResult:
    formula: str
    random: list[str]
    fixed: pd.DataFrame  # term, estimate, std_error, ci_low, ci_high, p_value
    variance_components: dict[str, float]
    residual_variance: float
    n_obs: int
    converged: bool
    warnings: list[str] = field(default_factory=list)
    summary: str = ""

    def to_dict(self) -> dict:
        return {"formula": self.formula, "random": self.random, "fixed": self.fixed.to_dict("records"),
                "variance_components": self.variance_components, "residual_variance": self.residual_variance,
                "n_obs": self.n_obs, "converged": self.converged, "warnings": self.warnings}


def fit_mixed(df: pd.DataFrame, formula: str, random: list[str], reml: bool = True, alpha: float = 0.05) -> MixedResult:
    """Fit ``formula`` with a random intercept for each column in ``random``.

    Raises ``ValueError`` naming any column of the formula or of ``random`` that ``df``
    lacks.  Factors with a single level are dropped from ``random`` (reported in the
    warnings), since their variance is not identifiable.
    """
    missing = [c for c in random if c not in df.columns]
    if missing:
        raise ValueError(f"random-effect column(s) {missing} not in the data; columns: {list(df.columns)}")
    notes = []
    used = []
    for c in random:
        if df[c].nunique() < 2:
            notes.append(f"random intercept for {c!r} dropped: it has a single level")
        else:
            used.append(c)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if len(used) == 1:  # one factor: its levels are the groups, with a random intercept
                model = smf.mixedlm(formula, df, groups=used[0])
            else:  # crossed factors: variance components over one all-encompassing group
                vc = {c: f"0 + C({c})" for c in used}
                model = smf.mixedlm(formula, df.assign(_all=1), groups="_all", vc_formula=vc or None, re_formula="0")
        except Exception as e:  # patsy names the missing column; say it plainly
            raise ValueError(f"cannot build the model {formula!r}: {e}") from None
        res = model.fit(reml=reml, method=["lbfgs"])
    counts: dict[str, int] = {}
    for w in caught:  # keep each distinct warning once, with how often it came
        msg = f"{w.category.__name__}: {w.message}"
        counts[msg] = counts.get(msg, 0) + 1
    notes += [m if n == 1 else f"{m} (x{n})" for m, n in counts.items()]
    fe_names = model.exog_names
    ci = res.conf_int(alpha=alpha).loc[fe_names]
    fixed = pd.DataFrame({"term": fe_names, "estimate": res.fe_params.values, "std_error": res.bse_fe.values,
                          "ci_low": ci[0].values, "ci_high": ci[1].values,
                          "p_value": res.pvalues.loc[fe_names].values})
    if len(used) == 1:
        vcomp = {used[0]: float(np.asarray(res.cov_re).ravel()[0])}
    else:
        vcomp = dict(zip(used, np.atleast_1d(res.vcomp).tolist())) if used else {}
    return MixedResult(formula=formula, random=used, fixed=fixed, variance_components=vcomp,
                       residual_variance=float(res.scale), n_obs=int(res.nobs), converged=bool(res.converged),
                       warnings=notes, summary=str(res.summary()))
