"""Coverage of the mixed model's 95% fixed-effect intervals over many simulated gains
tables (the test checks 50; this runs more and reports each effect's coverage)."""

import sys

import numpy as np

sys.path.insert(0, "tests")
from test_stats_simulation import TRUE, simulate  # noqa: E402

from xltkit.analysis.stats import fit_mixed  # noqa: E402


def main(n: int = 200, seed: int = 12345) -> None:
    rng = np.random.default_rng(seed)
    hits = {k: 0 for k in TRUE}
    for _ in range(n):
        fx = fit_mixed(simulate(rng), "gain ~ C(intermediate_lang) + richness",
                       random=["eval_lang", "target_task"]).fixed.set_index("term")
        for k, v in TRUE.items():
            hits[k] += fx.loc[k, "ci_low"] <= v <= fx.loc[k, "ci_high"]
    for k, h in hits.items():
        print(f"{k}: coverage {h / n:.3f} over {n} data sets (nominal 0.95)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
