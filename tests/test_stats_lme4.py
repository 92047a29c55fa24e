"""Optional cross-check against R's lme4: skipped (never faked) where R or lme4 is missing.
Install with `apt-get install -y r-base-core r-cran-lme4`."""

import io
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from xltkit.analysis.stats import fit_mixed


def _have_lme4() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True).returncode == 0


needs_lme4 = pytest.mark.skipif(not _have_lme4(), reason="R with lme4 is not installed (optional cross-check)")


def _lmer(df: pd.DataFrame, formula: str, tmp_path) -> pd.DataFrame:
    """lme4's REML fixed effects and standard errors (sqrt(diag(vcov))), 15 digits, with
    intermediate_lang's levels in the order patsy uses (eng is the reference)."""
    csv = tmp_path / "d.csv"
    df.to_csv(csv, index=False)
    script = (f"suppressMessages(library(lme4)); d <- read.csv('{csv}'); "
              "d$intermediate_lang <- factor(d$intermediate_lang, levels=c('eng','fin','hun')); "
              f"m <- lmer({formula}, data=d, REML=TRUE); "
              "write.csv(data.frame(est=fixef(m), se=sqrt(diag(as.matrix(vcov(m))))), row.names=FALSE)")
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True).stdout
    return pd.read_csv(io.StringIO(out))


@needs_lme4
def test_fixed_effects_agree_with_lme4_to_3_decimals(tmp_path):
    rng = np.random.default_rng(11)
    rows = []
    u_l, u_t = rng.normal(0, 1, 15), rng.normal(0, 0.7, 6)
    for li in range(15):
        x = rng.normal()
        for ti in range(6):
            for inter in ("eng", "fin", "hun"):
                y = 1 + 2 * x + {"eng": 0, "fin": 1.5, "hun": -0.5}[inter] + u_l[li] + u_t[ti] + rng.normal()
                rows.append(dict(eval_lang=f"L{li}", target_task=f"T{ti}", intermediate_lang=inter, x=x, gain=y))
    df = pd.DataFrame(rows)
    r = _lmer(df, "gain ~ intermediate_lang + x + (1|eval_lang) + (1|target_task)", tmp_path)
    py = fit_mixed(df, "gain ~ C(intermediate_lang) + x", random=["eval_lang", "target_task"]).fixed
    np.testing.assert_allclose(py.estimate.to_numpy(), r.est.to_numpy(), atol=1e-3)
    np.testing.assert_allclose(py.std_error.to_numpy(), r.se.to_numpy(), atol=1e-3)


@needs_lme4
def test_estimates_and_standard_errors_agree_with_lme4_on_an_unbalanced_table(tmp_path):
    """8 evaluation languages x 2 target tasks x 3 intermediate languages x 3 seeds (144
    rows), 30% of the rows dropped at random so the cells have 3 to 9 rows: the standard
    errors are lme4's vcov() (statsmodels' inverse-Hessian ones differed here by 4.4e-4)."""
    rng = np.random.default_rng(2)
    u_l, u_t, rich = rng.normal(0, 1.0, 8), rng.normal(0, 0.7, 2), rng.normal(size=8)
    eff = {"eng": 0.0, "fin": 1.5, "hun": -0.5}
    rows = [dict(eval_lang=f"L{li}", target_task=f"T{ti}", intermediate_lang=inter, seed=s, richness=rich[li],
                 gain=1 + eff[inter] + 0.8 * rich[li] + u_l[li] + u_t[ti] + rng.normal())
            for li in range(8) for ti in range(2) for inter in eff for s in range(3)]
    df = pd.DataFrame(rows)
    assert len(df) == 144
    df = df[rng.random(len(df)) >= 0.3].reset_index(drop=True)
    assert df.groupby(["eval_lang", "target_task"]).size().nunique() > 1  # unbalanced
    r = _lmer(df, "gain ~ intermediate_lang + richness + (1|eval_lang) + (1|target_task)", tmp_path)
    fit = fit_mixed(df, "gain ~ C(intermediate_lang) + richness", random=["eval_lang", "target_task"])
    assert fit.converged and all(v > 1e-2 for v in fit.variance_components.values())  # not on the boundary
    np.testing.assert_allclose(fit.fixed.estimate.to_numpy(), r.est.to_numpy(), rtol=0, atol=1e-4)
    np.testing.assert_allclose(fit.fixed.std_error.to_numpy(), r.se.to_numpy(), rtol=0, atol=1e-4)
