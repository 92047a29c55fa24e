"""Power analysis for the gain models by simulation, as R's ``simr`` does for lme4 models.

From a fitted model's variance components (evaluation language, target task, intermediate
task, seed: whatever random factors it has) and residual variance, simulate many gains
tables for a planned design with a planted gain, refit each with xltkit's own
:func:`~xltkit.analysis.stats.fit_mixed` (the analysis's formula and random factors), and
count how often the gain's 95% interval excludes 0 (Green & MacLeod 2016, "SIMR: an R
package for power analysis of generalized linear mixed models by simulation", Methods
Ecol. Evol. 7(4), 493-498; Johnson, Barry, Ferguson & Mueller 2015, "Power analysis for
generalized linear mixed models in ecology and evolution", Methods Ecol. Evol. 6(2)).
The share gets a Wilson interval (Wilson 1927, JASA 22, 209-212), as ``simr``'s
``confint`` does with its binomial interval; fits that fail are counted, not dropped.

Example::

    model = analysis.model                      # gain_pts ~ 0 + C(intermediate_lang)
    components, residual = components_of(model)
    power(components, residual, effect=2.0, n_seeds=3, n_langs=7).describe()
    # '3 seeds x 7 languages detect a 2.0-point gain of one intermediate language over
    #  another with probability 0.64 (95% CI 0.57-0.70; 200 simulations)'
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import nct
from scipy.stats import t as student_t
from statsmodels.stats.proportion import proportion_confint

from xltkit.analysis.mixed import RANDOM_FACTORS
from xltkit.analysis.stats import MixedResult, fit_mixed

#: the random factors a simulation can plant, each with the design argument that sets its levels
FACTORS = {"eval_lang": "n_langs", "target_task": "n_tasks", "intermediate_task": "n_inter_tasks",
           "seed": "n_seeds"}

#: what the planted effect is, with the formula refitted and the term whose interval is read
COMPARISONS = {
    "languages": dict(
        conditions=("A", "B"), formula="gain_pts ~ C(intermediate_lang)", term="C(intermediate_lang)[T.B]",
        what="of one intermediate language over another",
        help="the gain of intermediate language B over A, both run on every seed, language and task: the "
             "difference of two coefficients of the analysis's gain_pts ~ 0 + C(intermediate_lang), fitted as "
             "the same model in treatment coding so that the difference is one coefficient"),
    "baseline": dict(
        conditions=("B",), formula="gain_pts ~ 0 + C(intermediate_lang)", term="C(intermediate_lang)[B]",
        what="over no intermediate training",
        help="the gain of one intermediate language over no intermediate training: the coefficient of the "
             "analysis's gain_pts ~ 0 + C(intermediate_lang) itself"),
}

METHODS = ("simulate", "analytic")
LEVEL = 0.95  # confidence level of the interval on the power itself (not the test's alpha)


@dataclass
class PowerResult:
    """The share of simulated data sets whose interval for the effect excluded 0 (``power``),
    its Wilson interval (``ci_low``, ``ci_high``; NaN for the analytic method), the number of
    simulations and of fits that failed (did not converge, or no optimizer could fit: counted
    as not detected), the design, and notes (assumed components, the fits' warnings)."""

    power: float
    ci_low: float
    ci_high: float
    n_sim: int
    n_failed: int
    design: dict
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def describe(self) -> str:
        d = self.design
        size = f"{d['n_seeds']} seeds x {d['n_langs']} languages"
        size += f" x {d['n_tasks']} target tasks" if d["n_tasks"] > 1 else ""
        size += f" x {d['n_inter_tasks']} intermediate tasks" if d["n_inter_tasks"] > 1 else ""
        what = COMPARISONS[d["compare"]]["what"]
        if d["method"] == "analytic":
            how = "analytic approximation, noncentral t"
        else:
            failed = f"; {self.n_failed} fits failed to converge" if self.n_failed else ""
            how = f"{LEVEL:.0%} CI {self.ci_low:.2f}-{self.ci_high:.2f}; {self.n_sim} simulations{failed}"
        return (f"{size} detect a {d['effect']:.1f}-point gain {what} with probability {self.power:.2f} ({how})")

    def to_dict(self) -> dict:
        return {**self.__dict__, "description": self.describe()}


def components_of(model: MixedResult) -> tuple[dict[str, float], float]:
    """The variance components and residual variance of a fitted gain model, keyed by the
    factor names the simulation uses (:data:`FACTORS`), in the model's response units
    (points squared for the analysis's ``gain_pts``).  Raises ``ValueError`` for a model
    without random intercepts, with a random factor the simulation cannot plant, or with no
    positive residual variance."""
    comps = dict(model.variance_components or {})
    if not comps:
        raise ValueError(f"the model {model.formula!r} has no variance components (fitted without random intercepts, "
                         "or each random factor had one level): power needs at least the evaluation language's; fit "
                         "the gain model on several evaluation languages, or pass components by hand, "
                         "e.g. power({'eval_lang': 4.0}, residual=9.0, ...)")
    unknown = [f for f in comps if f not in FACTORS]
    if unknown:
        raise ValueError(f"the model {model.formula!r} has random factor(s) {unknown} that the power simulation "
                         f"cannot plant (it knows {list(FACTORS)}): refit with those random factors, or pass "
                         "components by hand without them")
    residual = float(model.residual_variance)
    if not np.isfinite(residual) or residual <= 0:
        raise ValueError(f"the model {model.formula!r} has residual variance {residual}: power needs a positive one "
                         "(a model that fits every gain exactly has too few observations)")
    return {f: max(0.0, float(v)) for f, v in comps.items()}, residual


def power(components: dict[str, float], residual: float, effect: float, n_seeds: int, n_langs: int,
          n_tasks: int = 1, n_sim: int = 200, alpha: float = 0.05, seed: int = 0, n_inter_tasks: int = 1,
          compare: str = "languages", method: str = "simulate") -> PowerResult:
    """Power to detect a gain of ``effect`` points with a planned design, by simulating the
    gain model (Green & MacLeod 2016's ``powerSim``; module docstring).

    Args:
        components: variance of each random intercept, keyed by factor (:data:`FACTORS`):
            ``eval_lang``, ``target_task``, ``intermediate_task``, ``seed``; e.g. from
            :func:`components_of`.  In the response's units squared (points^2 for ``gain_pts``).
        residual: the residual variance (in the analysis's gain model it holds the
            seed-to-seed variation too, since that model has no seed intercept).
        effect: the planted gain, in points of the primary metric (2.0 points = 0.02 accuracy),
            the units of the analysis's response ``gain_pts``.
        n_seeds, n_langs, n_tasks, n_inter_tasks: the design: seeds, evaluation languages,
            target tasks and intermediate tasks, fully crossed.
        n_sim: simulated data sets; alpha: the test's level (the effect's 1 - alpha interval).
        seed: seeds the random generator (the same seed gives the same answer).
        compare: what the effect is (:data:`COMPARISONS`): ``"languages"``, one intermediate
            language over another (the random intercepts cancel, so only the residual and the
            number of cells matter; residual df); ``"baseline"``,
            one intermediate language over no intermediate training (the intercepts of
            languages and tasks add to its variance; t on between-within df, levels - 1).
        method: ``"simulate"`` (refit each simulated set with ``fit_mixed``) or ``"analytic"``:
            power of a t-test with the exact GLS standard error of the balanced design at the
            given components and the df ``fit_mixed`` would use (Stroup 2002's "exemplary
            data" approach, J. Agric. Biol. Environ. Stat. 7(4)).  Instant, but it takes the
            variance components as known; tests/test_power.py checks it against simulation.

    What is simulated: one row per (seed, eval_lang, target_task, intermediate_task,
    intermediate_lang), the shape of the analysis's seed gains table, with response
    ``gain_pts = effect * [B] + sum of the factors' intercepts + residual``.  Assumed: normal
    random intercepts, crossed (a seed's intercept, e.g. its shared baseline run, is the same
    in every language and task), a balanced design without missing cells, normal homoscedastic
    residuals, no random slopes (the gain of B over A does not vary by language: where it
    does, this power is optimistic, and so are the analysis's intervals), and the components
    as true values (their own uncertainty is not propagated; a pilot with few languages
    estimates them roughly, so try a range).  A factor with one level in the design is not simulated (the
    gain is then that task's), as ``fit_mixed`` drops it; a factor of the analysis
    (eval_lang, target_task, intermediate_task) that varies in the design but has no
    component is simulated at 0 and still fitted, as the analysis would, and said in notes.

    Time (measured on a 2-core machine, under load): a fit takes 0.05-0.1 s with one random
    factor (3 seeds x 7 languages x 2 intermediate languages, 42 rows), so n_sim=200 takes
    10-20 s; with two crossed factors (x 2 target tasks) 0.15-0.3 s a fit, 30-60 s.  The
    analytic method takes under a millisecond: use it while a widget's slider moves, and
    simulate on request.
    """
    design, notes = _design(components, residual, effect, n_seeds, n_langs, n_tasks, n_inter_tasks, n_sim, alpha,
                            compare, method)
    start = time.perf_counter()
    if method == "analytic":
        p = _analytic(design)
        return PowerResult(p, float("nan"), float("nan"), 0, 0, design, notes, time.perf_counter() - start)
    frame, codes = _frame(design)
    rng = np.random.default_rng(seed)
    spec = COMPARISONS[compare]
    hits = failed = 0
    fit_notes: dict[str, int] = {}
    for _ in range(n_sim):
        y = _simulate(design, codes, frame["intermediate_lang"].to_numpy() == "B", rng)
        try:
            fit = fit_mixed(frame.assign(gain_pts=y), spec["formula"], random=design["random"], alpha=alpha)
        except ValueError as e:  # no optimizer could fit: counted as failed and not detected
            failed += 1
            fit_notes[f"not fitted: {e}"] = fit_notes.get(f"not fitted: {e}", 0) + 1
            continue
        row = fit.fixed.set_index("term").loc[spec["term"]]
        ok = fit.converged and np.isfinite(row.ci_low) and np.isfinite(row.ci_high)
        failed += not ok
        hits += bool(ok and (row.ci_low > 0 or row.ci_high < 0))  # a failed fit detects nothing
        for w in fit.warnings:
            fit_notes[w] = fit_notes.get(w, 0) + 1
    lo, hi = proportion_confint(hits, n_sim, alpha=1 - LEVEL, method="wilson")
    lo, hi = min(float(lo), hits / n_sim), max(float(hi), hits / n_sim)  # 1 - 1e-16 at 200 of 200
    for w, k in sorted(fit_notes.items(), key=lambda kv: -kv[1])[:5]:
        notes.append(f"{k} of {n_sim} fits: {w}")
    return PowerResult(hits / n_sim, lo, hi, n_sim, failed, design, notes, time.perf_counter() - start)


def power_curve(components: dict[str, float], residual: float, effect: float | list[float] = 2.0,
                n_seeds: int | list[int] = (2, 3, 5, 10), n_langs: int | list[int] = 7,
                n_tasks: int | list[int] = 1, n_inter_tasks: int | list[int] = 1, **kw) -> pd.DataFrame:
    """Power over one design knob (``simr``'s ``powerCurve``): exactly one of ``n_seeds``,
    ``n_langs``, ``n_tasks``, ``n_inter_tasks`` or ``effect`` is a list, the others numbers;
    ``kw`` goes to :func:`power` (n_sim, alpha, seed, compare, method).  Every point uses the
    same ``seed`` (common random numbers, so the curve is smoother than its intervals).
    One row per value: the design, power, ci_low, ci_high, n_sim, n_failed, description."""
    knobs = dict(n_seeds=n_seeds, n_langs=n_langs, n_tasks=n_tasks, n_inter_tasks=n_inter_tasks, effect=effect)
    varied = [k for k, v in knobs.items() if isinstance(v, (list, tuple, np.ndarray, pd.Series))]
    if len(varied) != 1:
        raise ValueError(f"power_curve varies exactly one knob, got {varied or 'none'} as lists: pass one of "
                         f"{list(knobs)} as a list (e.g. n_seeds=[2, 3, 5, 10]) and the others as numbers")
    name = varied[0]
    rows = []
    for value in knobs[name]:
        r = power(components, residual, **{**knobs, name: value.item() if hasattr(value, "item") else value}, **kw)
        rows.append({**{k: r.design[k] for k in knobs}, "power": r.power, "ci_low": r.ci_low, "ci_high": r.ci_high,
                     "n_sim": r.n_sim, "n_failed": r.n_failed, "description": r.describe()})
    return pd.DataFrame(rows)


def _design(components, residual, effect, n_seeds, n_langs, n_tasks, n_inter_tasks, n_sim, alpha, compare,
            method) -> tuple[dict, list[str]]:
    """Validate the arguments (errors name the problem and the fix); the design as a dict."""
    if compare not in COMPARISONS:
        helps = "; ".join(f"{k}: {v['help']}" for k, v in COMPARISONS.items())
        raise ValueError(f"unknown comparison {compare!r}: use one of {list(COMPARISONS)} ({helps})")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {list(METHODS)}")
    if not isinstance(components, dict):
        raise ValueError(f"components must be a dict of factor -> variance, e.g. {{'eval_lang': 4.0}}, not "
                         f"{type(components).__name__}; components_of(model) gives it")
    unknown = [f for f in components if f not in FACTORS]
    if unknown:
        raise ValueError(f"unknown factor(s) {unknown} in components: the simulation knows {list(FACTORS)}; rename "
                         "them (the gains table's column names) or leave them out")
    for f, v in {**components, "residual": residual}.items():
        if not isinstance(v, (int, float, np.number)) or not np.isfinite(v) or v < 0:
            raise ValueError(f"variance of {f!r} is {v!r}: a variance must be a finite number >= 0; pass variances "
                             "(standard deviation squared), e.g. from components_of(model)")
    if residual <= 0:
        raise ValueError("residual variance is 0: the fits would be singular; pass the fitted model's residual "
                         "variance (components_of(model)[1]), which is positive")
    sizes = dict(n_seeds=n_seeds, n_langs=n_langs, n_tasks=n_tasks, n_inter_tasks=n_inter_tasks)
    for k, v in sizes.items():
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{k}={v!r}: the number of levels must be a whole number >= 1")
    if n_seeds < 2:
        raise ValueError(f"n_seeds={n_seeds}: gains are paired over seeds and one seed cannot tell run-to-run noise "
                         "from the languages' effects; plan n_seeds >= 2 (3 or more is usual)")
    if n_langs < 2:
        raise ValueError(f"n_langs={n_langs}: the gain model has a random intercept per evaluation language, which "
                         "needs at least 2; plan n_langs >= 2")
    if not isinstance(n_sim, (int, np.integer)) or n_sim < 1:
        raise ValueError(f"n_sim={n_sim!r}: the number of simulations must be a whole number >= 1 (200 is usual)")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r}: the test's level must lie strictly between 0 and 1 (0.05 is usual)")
    if not np.isfinite(effect):
        raise ValueError(f"effect={effect!r}: the planted gain must be a finite number of points (2.0 = 0.02)")
    notes = []
    levels = {f: int(sizes[FACTORS[f]]) for f in FACTORS}
    simulated = {f: float(v) for f, v in components.items() if levels[f] > 1}
    for f in RANDOM_FACTORS:  # the analysis fits every one of its factors that varies
        if f in FACTORS and levels[f] > 1 and f not in components:
            simulated[f] = 0.0
            notes.append(f"{f}: no variance component given (the fitted model had one level of it, or none), "
                         f"simulated as 0; still fitted, as the analysis would with {levels[f]} levels")
    for f in components:
        if levels[f] == 1:
            notes.append(f"{f}: one level in the design, not simulated (the gain is that {f}'s, as fit_mixed drops "
                         "a single-level factor)")
    random = [f for f in FACTORS if f in simulated]
    spec = COMPARISONS[compare]
    n_rows = int(np.prod(list(levels.values()))) * len(spec["conditions"])
    design = {**sizes, "effect": float(effect), "compare": compare, "method": method, "alpha": float(alpha),
              "components": simulated, "residual": float(residual), "random": random, "levels": levels,
              "n_rows": n_rows, "formula": spec["formula"], "term": spec["term"]}
    return design, notes


def _frame(design: dict) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The planned gains table (no response yet), one row per cell of the crossed design,
    and each factor's level index per row."""
    levels = design["levels"]
    names = list(FACTORS)
    conds = COMPARISONS[design["compare"]]["conditions"]
    grid = pd.MultiIndex.from_product([range(levels[f]) for f in names] + [range(len(conds))],
                                      names=names + ["intermediate_lang"]).to_frame(index=False)  # (n_rows, 5)
    codes = {f: grid[f].to_numpy() for f in names}
    prefix = {"eval_lang": "L", "target_task": "T", "intermediate_task": "I", "seed": ""}
    frame = pd.DataFrame({f: [f"{prefix[f]}{i}" for i in codes[f]] if prefix[f] else codes[f] for f in names})
    frame["intermediate_lang"] = np.asarray(conds)[grid["intermediate_lang"].to_numpy()]
    return frame, codes


def _simulate(design: dict, codes: dict[str, np.ndarray], treated: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One simulated response: planted effect + each factor's normal intercepts + residual."""
    y = design["effect"] * treated.astype(float)  # (n_rows,)
    for f, var in design["components"].items():
        u = rng.normal(0.0, np.sqrt(var), design["levels"][f])  # (levels,)
        y += u[codes[f]]
    return y + rng.normal(0.0, np.sqrt(design["residual"]), len(y))


def _analytic(design: dict) -> float:
    """Power of the two-sided t-test of the effect at the design's exact GLS standard error
    (balanced and crossed, so GLS is OLS: the intercepts cancel in the difference of two
    languages, or add var/levels each to a single gain) and the df fit_mixed uses (residual
    df n - 2 for the difference; levels - 1 of the fewest-level random factor for a gain)."""
    m = int(np.prod(list(design["levels"].values())))  # cells per condition
    comps, s2 = design["components"], design["residual"]
    if design["compare"] == "languages":
        var, df = 2 * s2 / m, 2 * m - 2
    else:
        var = s2 / m + sum(v / design["levels"][f] for f, v in comps.items())
        df = min([m - 1] + [design["levels"][f] - 1 for f in design["random"]])
    q = student_t.ppf(1 - design["alpha"] / 2, df)
    ncp = design["effect"] / np.sqrt(var)
    return float(nct.sf(q, df, ncp) + nct.cdf(-q, df, ncp))
