"""Mixed-effects models of transfer gains (statsmodels MixedLM).

Random intercepts for crossed factors (evaluation language, target task, ...) are fitted
as variance components over a single all-encompassing group, the statsmodels idiom for
crossed random effects (statsmodels docs, "Variance Component Analysis"; it matches
lme4's ``(1|a) + (1|b)`` on this machine, FACTS.md).  Estimates use REML; convergence and
boundary warnings are kept with the result, never swallowed.

The fixed effects' standard errors are lme4's, not statsmodels': the covariance matrix is
(X' V^-1 X)^-1 at the fitted variance components, V = Z G Z' + sigma^2 I (lme4's
``vcov()``; Bates, Maechler, Bolker & Walker 2015, "Fitting Linear Mixed-Effects Models
Using lme4", J. Stat. Softw. 67(1), sec. 5.1.1).  statsmodels' ``bse_fe`` comes from the
inverse Hessian over all parameters, fixed effects and variance components together; on
small unbalanced tables (8 evaluation languages, 2 target tasks) it differed from lme4 by
up to 1.4e-3, and at a zero variance component by 0.07 or was NaN.  It is kept beside
ours (``std_error_statsmodels``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy.linalg import cho_factor, cho_solve
from scipy.stats import t as student_t


@dataclass
class MixedResult:
    """A fitted mixed model.  In ``fixed``, ``std_error`` is lme4's (the square root of the
    diagonal of (X' V^-1 X)^-1 at the REML variance components, see ``fixed_effects_cov``)
    and ``ci_low``, ``ci_high`` and ``p_value`` use it, with t on the between-within ``df``;
    ``std_error_statsmodels`` is statsmodels' ``bse_fe`` (inverse Hessian over all
    parameters), kept for comparison.  ``summary`` is statsmodels' own text, so its
    standard errors and z-tests are statsmodels', not those of ``fixed``."""

    formula: str
    random: list[str]
    fixed: pd.DataFrame  # term, estimate, std_error, df, ci_low, ci_high, p_value, std_error_statsmodels
    variance_components: dict[str, float]
    residual_variance: float
    n_obs: int
    converged: bool
    warnings: list[str] = field(default_factory=list)
    summary: str = ""
    random_effects: pd.DataFrame | None = None  # factor, level, estimate, std_error (conditional modes)
    fitted: np.ndarray | None = None
    residuals: np.ndarray | None = None
    fixed_cov: np.ndarray | None = None  # covariance of the fixed effects (lme4's vcov), in ``fixed``'s order
    scales: dict[str, tuple[float, float]] | None = None  # standardized predictors: (mean, sd) of the raw values
    ranges: dict[str, tuple[float, float]] | None = None  # standardized predictors: (min, max) of the raw values

    def to_dict(self) -> dict:
        """Everything needed to predict from the model again (the what-if view reads it)."""
        out = {"formula": self.formula, "random": self.random, "fixed": self.fixed.to_dict("records"),
               "variance_components": self.variance_components, "residual_variance": self.residual_variance,
               "n_obs": self.n_obs, "converged": self.converged, "warnings": self.warnings}
        if self.fixed_cov is not None:
            out["fixed_cov"] = np.asarray(self.fixed_cov).tolist()
        if self.random_effects is not None:
            out["random_effects"] = self.random_effects.to_dict("records")
        if self.scales is not None:
            out["scales"] = {k: list(v) for k, v in self.scales.items()}
            out["ranges"] = {k: list(v) for k, v in (self.ranges or {}).items()}
        return out


def between_within_df(exog: pd.DataFrame, data: pd.DataFrame, random: list[str]) -> np.ndarray:
    """Denominator degrees of freedom for each fixed effect, "between-within" style
    (Schluchter & Elashoff 1990; SAS DDFM=BETWITHIN): a term constant within the levels of
    a random factor is informed by that factor's levels, not by the observations, so its
    df is (levels - terms of that kind); a term varying within every factor gets the
    residual df.  Wald z-intervals ignore this and under-cover with few groups (few
    target tasks, say); t-intervals on these df stay close to nominal (tests/test_stats_simulation.py).
    """
    n, p = exog.shape
    X = exog.to_numpy(float)
    dof = np.full(p, float(n - p))
    # cell-means coding (no intercept column, but the intercept lies in the span, as in
    # "0 + C(f)"): the columns that build it carry the intercept's between-level df
    has_const = any(np.ptp(X[:, j]) == 0 for j in range(p))
    coef = np.linalg.lstsq(X, np.ones(n), rcond=None)[0]
    span_const = not has_const and np.allclose(X @ coef, 1.0)
    for factor in random:
        groups = data[factor].to_numpy()
        const = np.array([exog.iloc[:, j].groupby(groups).nunique().max() <= 1 for j in range(p)])
        n_between = int(const.sum())
        if span_const:
            const |= np.abs(coef) > 1e-8
            n_between += 1
        if const.any():
            dof[const] = np.minimum(dof[const], max(1, data[factor].nunique() - n_between))
    return dof


def fit_mixed(df: pd.DataFrame, formula: str, random: list[str], reml: bool = True, alpha: float = 0.05) -> MixedResult:
    """Fit ``formula`` with a random intercept for each column in ``random``.

    Raises ``ValueError`` naming any column of the formula or of ``random`` that ``df``
    lacks.  Factors with a single level are dropped from ``random`` (reported in the
    warnings), since their variance is not identifiable.

    The fixed effects' ``std_error`` (and the intervals and p-values built on it) is the one
    lme4's ``vcov()`` gives, from the fitted variance components and residual variance
    (``fixed_effects_cov``); statsmodels' inverse-Hessian ``bse_fe`` is kept as
    ``std_error_statsmodels``.  The estimates are statsmodels' GLS estimates at the fitted
    variance components, the same as lme4's.
    """
    missing = [c for c in random if c not in df.columns]
    if missing:
        raise ValueError(f"random-effect column(s) {missing} not in the data; columns: {list(df.columns)}")
    notes: list[str] = []
    used = []
    for c in random:
        if df[c].nunique() < 2:
            notes.append(f"random intercept for {c!r} dropped: it has a single level")
        else:
            used.append(c)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = _build(df, formula, used)
        except Exception as e:  # patsy names the missing column; say it plainly
            raise ValueError(f"cannot build the model {formula!r}: {e}") from None
    notes += _distinct(caught)
    res = _fit(model, reml, notes)
    fe_names = model.exog_names
    rows = df.loc[model.data.row_labels] if model.data.row_labels is not None else df
    dof = between_within_df(pd.DataFrame(model.exog, columns=fe_names), rows, used)
    est = res.fe_params.to_numpy()
    cov = fixed_effects_cov(model, res)
    se = np.sqrt(np.diag(cov))
    with warnings.catch_warnings(record=True) as caught:  # sqrt of a negative diagonal where the Hessian is indefinite
        warnings.simplefilter("always")
        se_statsmodels, summary = res.bse_fe.to_numpy(), str(res.summary())
    notes += _distinct(caught)
    if not np.all(np.isfinite(se_statsmodels)):
        bad = [t for t, v in zip(fe_names, se_statsmodels) if not np.isfinite(v)]
        notes.append(f"statsmodels' inverse-Hessian standard errors (std_error_statsmodels) are not finite for {bad}: "
                     "its Hessian is not positive definite; std_error (lme4's, from the variance components) is unaffected")
    q = student_t.ppf(1 - alpha / 2, dof)
    fixed = pd.DataFrame({"term": fe_names, "estimate": est, "std_error": se, "df": dof,
                          "ci_low": est - q * se, "ci_high": est + q * se,
                          "p_value": 2 * student_t.sf(np.abs(est / se), dof),
                          "std_error_statsmodels": se_statsmodels})
    if len(used) == 1:
        vcomp = {used[0]: float(np.asarray(res.cov_re).ravel()[0])}
    else:
        # statsmodels orders the components by name (it sorts vc_formula's keys), not as in ``used``
        named = dict(zip(model.exog_vc.names, np.atleast_1d(res.vcomp).tolist())) if used else {}
        vcomp = {c: named[c] for c in used}
    return MixedResult(formula=formula, random=used, fixed=fixed, variance_components=vcomp,
                       residual_variance=float(res.scale), n_obs=int(res.nobs), converged=bool(res.converged),
                       warnings=notes, summary=summary, random_effects=_random_effects(res, used),
                       fitted=np.asarray(res.fittedvalues), residuals=np.asarray(res.resid), fixed_cov=cov)


def fixed_effects_cov(model, res) -> np.ndarray:
    """Covariance of the fixed-effect estimates as lme4's ``vcov()`` computes it for a linear
    mixed model: (X' V^-1 X)^-1 at the fitted variance components, with V = Z G Z' + s2 I
    (Bates, Maechler, Bolker & Walker 2015, "Fitting Linear Mixed-Effects Models Using
    lme4", J. Stat. Softw. 67(1), sec. 5.1.1: sigma^2 R_X^-1 R_X^-T; lme4's ``?vcov.merMod``:
    for LMMs from ``RX``, not from a Hessian).  The variance components are taken as known,
    which is what lme4 does; statsmodels' ``bse_fe`` instead inverts the Hessian over the
    fixed effects and the variance parameters together, so the two differ, most near a
    zero variance component, where that Hessian can be indefinite.

    V (n x n) is never formed.  With G = L L' (L = G^1/2, diagonal for random intercepts),
    the Woodbury identity gives

        s2 X' V^-1 X = X'X - X'Z L (s2 I_q + L' Z'Z L)^-1 L' Z'X,

    the same as X'X - X'Z G (s2 I_q + Z'Z G)^-1 Z'X and lme4's R_X' R_X (with its relative
    factor Lambda = L / sigma).  It needs no G^-1, so a variance component at zero (a
    boundary fit) is fine, and the matrix to factor is q x q (q random levels, positive
    definite since s2 > 0).  The sum runs over statsmodels' groups, with each group's own
    Z and G: one all-encompassing group whose Z holds the indicators of every crossed
    factor's levels and G their variance components, or (one factor) a group per level,
    Z its column of ones and G = cov_re.  With no random effect at all (q = 0) this is
    s2 (X'X)^-1, the OLS covariance.
    """
    s2 = float(res.scale)
    p = model.exog.shape[1]
    cov_re = np.atleast_2d(np.asarray(res.cov_re, dtype=float))[:model.k_re, :model.k_re]
    w, u = np.linalg.eigh(cov_re) if model.k_re else (np.zeros(0), np.zeros((0, 0)))
    root_re = u * np.sqrt(np.clip(w, 0, None))  # cov_re = root_re root_re'
    vcomp = np.asarray(res.vcomp, dtype=float) if model.k_vc else np.zeros(0)
    xvx = np.zeros((p, p))  # s2 X' V^-1 X, summed over groups
    for g in range(model.n_groups):
        x = model.exog_li[g]
        zs, sd = [], []
        if model.k_re:
            zs.append(model.exog_re_li[g] @ root_re)  # Z L for the correlated block
            sd.append(np.ones(model.k_re))
        for j in range(model.k_vc):
            m = model.exog_vc.mats[j][g]
            m = m.toarray() if hasattr(m, "toarray") else np.asarray(m, dtype=float)
            zs.append(m)
            sd.append(np.full(m.shape[1], np.sqrt(max(vcomp[j], 0.0))))
        xvx += x.T @ x
        if zs:
            zl = np.hstack(zs) * np.concatenate(sd)  # Z L, n_g x q_g
            b = zl.T @ x
            xvx -= b.T @ cho_solve(cho_factor(s2 * np.eye(zl.shape[1]) + zl.T @ zl), b)
    cov = s2 * np.linalg.inv(xvx)
    return (cov + cov.T) / 2


def _random_effects(res, used: list[str]) -> pd.DataFrame:
    """Conditional modes (BLUPs) of every random intercept with their conditional SDs."""
    rows = []
    if len(used) == 1:
        for level, est in res.random_effects.items():
            cov = res.random_effects_cov[level]
            rows.append({"factor": used[0], "level": level, "estimate": float(est.iloc[0]),
                         "std_error": float(np.sqrt(np.asarray(cov)[0, 0]))})
    elif used:
        est = res.random_effects["_all"] if "_all" in res.random_effects else next(iter(res.random_effects.values()))
        cov = np.asarray(next(iter(res.random_effects_cov.values())))
        for i, (name, v) in enumerate(est.items()):
            factor = next((c for c in used if str(name).startswith(c)), str(name))
            level = str(name).split("[")[-1].rstrip("]") if "[" in str(name) else str(name)
            rows.append({"factor": factor, "level": level, "estimate": float(v), "std_error": float(np.sqrt(cov[i, i]))})
    return pd.DataFrame(rows)


@dataclass
class LRTResult:
    full: str
    reduced: str
    statistic: float
    df: int
    p_value: float
    llf_full: float
    llf_reduced: float

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def likelihood_ratio_test(df: pd.DataFrame, full: str, reduced: str, random: list[str]) -> LRTResult:
    """Likelihood-ratio test of nested fixed effects: both models refitted by maximum
    likelihood (REML likelihoods are not comparable across fixed effects; Pinheiro &
    Bates 2000, sec. 2.4.2), statistic referred to chi-square with the difference in the
    number of fixed effects as degrees of freedom."""
    from scipy.stats import chi2

    f = _fit_raw(df, full, random, reml=False)
    r = _fit_raw(df, reduced, random, reml=False)
    k = len(f.model.exog_names) - len(r.model.exog_names)
    if k <= 0:
        raise ValueError(f"{reduced!r} is not nested in {full!r}: it has as many or more fixed effects")
    stat = max(0.0, 2 * (f.llf - r.llf))
    return LRTResult(full, reduced, stat, k, float(chi2.sf(stat, k)), float(f.llf), float(r.llf))


def _build(df: pd.DataFrame, formula: str, used: list[str]):
    """The MixedLM for ``formula`` with random intercepts for the factors ``used``."""
    if len(used) == 1:  # one factor: its levels are the groups, with a random intercept
        return smf.mixedlm(formula, df, groups=used[0])
    # crossed factors: variance components over one all-encompassing group
    vc = {c: f"0 + C({c})" for c in used} or None
    return smf.mixedlm(formula, df.assign(_all=1), groups="_all", vc_formula=vc, re_formula="0")


def _distinct(caught) -> list[str]:
    """Each distinct warning once, with how often it came."""
    counts: dict[str, int] = {}
    for w in caught:
        msg = f"{w.category.__name__}: {w.message}"
        counts[msg] = counts.get(msg, 0) + 1
    return [m if n == 1 else f"{m} (x{n})" for m, n in counts.items()]


def _fit(model, reml: bool, notes: list[str]):
    """Fit with L-BFGS (it matched lme4 here, FACTS.md); if that breaks down (a singular
    step, an infinite likelihood at a zero variance, no convergence), refit with BFGS,
    then Powell, then Nelder-Mead, and say so in ``notes``.  With every variance at zero
    the likelihood must equal OLS's, which is how the infinite L-BFGS values were caught.
    The warnings of the fit that is kept (convergence, boundary) go into ``notes`` too."""
    best, why = None, []
    for method in OPTIMIZERS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                res = model.fit(reml=reml, method=[method])
            except (np.linalg.LinAlgError, ValueError) as e:
                why.append(f"{method}: {e}")
                continue
        if np.isfinite(res.llf) and res.converged:
            if why:
                notes.append(f"optimizer fallback ({'; '.join(why)}); fitted with {method}")
            notes += _distinct(caught)
            return res
        why.append(f"{method}: {'infinite likelihood' if not np.isfinite(res.llf) else 'did not converge'}")
        if np.isfinite(res.llf) and (best is None or res.llf > best[0].llf):
            best = (res, caught)
    if best is None:
        raise ValueError(f"the model could not be fitted by any optimizer ({'; '.join(why)})")
    notes.append(f"no optimizer converged ({'; '.join(why)}); kept the best likelihood")
    notes += _distinct(best[1])
    return best[0]


OPTIMIZERS = ("lbfgs", "bfgs", "powell", "nm")


def _fit_raw(df: pd.DataFrame, formula: str, random: list[str], reml: bool):
    return _fit(_build(df, formula, [c for c in random if df[c].nunique() > 1]), reml, [])


def standardize(df: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, dict[str, tuple[float, float]]]:
    """z-score ``columns`` (so fixed effects are per standard deviation and comparable);
    returns the frame and each column's (mean, sd) for back-transformation.  A constant
    column is left centred (sd recorded as 0) rather than divided by zero."""
    out, scale = df.copy(), {}
    for c in columns:
        mu, sd = float(df[c].mean()), float(df[c].std(ddof=0))
        out[c] = (df[c] - mu) / sd if sd > 0 else df[c] - mu
        scale[c] = (mu, sd)
    return out, scale
