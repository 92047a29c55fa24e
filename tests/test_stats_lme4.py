"""Optional cross-check against R's lme4: skipped (never faked) where R or lme4 is missing.
Install with `apt-get install -y r-base-core r-cran-lme4`."""

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from xltkit.stats import fit_mixed


def _have_lme4() -> bool:
    if shutil.which("Rscript") is None:
        return False
    return subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _have_lme4(), reason="R with lme4 is not installed (optional cross-check)")
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
    csv = tmp_path / "d.csv"
    df.to_csv(csv, index=False)
    script = (f"suppressMessages(library(lme4)); d <- read.csv('{csv}'); "
              "d$intermediate_lang <- factor(d$intermediate_lang, levels=c('eng','fin','hun')); "
              "m <- lmer(gain ~ intermediate_lang + x + (1|eval_lang) + (1|target_task), data=d, REML=TRUE); "
              "write.csv(data.frame(est=fixef(m), se=sqrt(diag(vcov(m)))), row.names=FALSE)")
    out = subprocess.run(["Rscript", "-e", script], capture_output=True, text=True, check=True).stdout
    r = pd.read_csv(pd.io.common.StringIO(out))
    py = fit_mixed(df, "gain ~ C(intermediate_lang) + x", random=["eval_lang", "target_task"]).fixed
    np.testing.assert_allclose(py.estimate.to_numpy(), r.est.to_numpy(), atol=1e-3)
    np.testing.assert_allclose(py.std_error.to_numpy(), r.se.to_numpy(), atol=1e-3)
