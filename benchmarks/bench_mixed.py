"""Crossed-effects fit time on 1,000, 10,000 and 100,000 rows (floor: under 30 s at 10,000
rows), beside OLS with the same fixed effects on the same data (the baseline), the two
fits alternating within each repeat.  The tables have 8 target tasks x 5 intermediate
languages, 50 evaluation languages (5 at 1,000 rows) and as many seeds as make up the rows
(5 at 10,000, 50 at 100,000).  The 100,000-row fit takes minutes on 2 cores: it is fitted
once (``--big-repeats``).

    .venv/bin/python benchmarks/bench_mixed.py [--quick] [--json PATH] [--sizes 1000 10000 100000]
"""

import statistics

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from benchlib import Timer, parser, repeats, row, write

from xltkit.analysis.stats import fit_mixed

FORMULA = "gain ~ C(intermediate_lang) + richness"


def data(n_lang=50, n_task=8, n_inter=5, n_seed=5, seed=0) -> pd.DataFrame:
    """A gains table of n_lang x n_task x n_inter x n_seed rows: random intercepts per
    evaluation language and per target task, a fixed effect of the intermediate language."""
    rng = np.random.default_rng(seed)
    u_l, u_t = rng.normal(0, 1, n_lang), rng.normal(0, 0.7, n_task)
    li, ti, ii, _ = (a.ravel() for a in np.meshgrid(*map(np.arange, (n_lang, n_task, n_inter, n_seed)), indexing="ij"))
    rich = rng.normal(size=n_lang)
    gain = 1 + 0.5 * ii + rich[li] + u_l[li] + u_t[ti] + rng.normal(size=len(li))
    return pd.DataFrame({"eval_lang": [f"L{i}" for i in li], "target_task": [f"T{i}" for i in ti],
                         "intermediate_lang": [f"I{i}" for i in ii], "richness": rich[li], "gain": gain})


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    ap.add_argument("--big-repeats", type=int, default=1, help="repeats at 100,000 rows and more")
    args = ap.parse_args(argv)
    sizes = [1_000, 2_000] if args.quick else args.sizes
    rows = []
    for n in sizes:
        n_lang = min(50, max(2, n // 200))
        df = data(n_lang=n_lang, n_seed=max(1, n // (40 * n_lang)))
        ols, mixed, conv = [], [], []
        for _ in range(repeats(args) if n < 100_000 else args.big_repeats):
            with Timer() as t:
                smf.ols(FORMULA, df).fit()
            ols.append(t.s)
            with Timer() as t:
                r = fit_mixed(df, FORMULA, random=["eval_lang", "target_task"])
            mixed.append(t.s)
            conv.append(r.converged)
        rows.append(row(f"MixedLM, crossed intercepts, {len(df):,} rows", f"OLS, same fixed effects "
                        f"({statistics.median(ols):.3f} s)", [m / o for m, o in zip(mixed, ols)],
                        floor=30.0 if len(df) == 10_000 else None, better="lower", floor_on="value", unit="s",
                        value=round(statistics.median(mixed), 3),
                        notes=f"{n_lang} languages x 8 tasks x 5 x {len(df) // (40 * n_lang)} seeds; {len(mixed)} fit(s); "
                              f"converged: {all(conv)}"))
    write(args, "bench_mixed", rows)


if __name__ == "__main__":
    main()
