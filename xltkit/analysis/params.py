"""The analysis stage's parameters."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from xltkit.core.params import Group, seed_field
from xltkit.core.paths import ProjectPath


class AnalysisParams(Group):
    """Stage 05, analysis: gains with confidence intervals, mixed models, figures."""

    experiment_dir: ProjectPath = Field("outputs/demo", validate_default=True, description="the experiment's output "
                                        "folder (relative: to the project root; default: the demo's, run `make demo` "
                                        "first)")
    n_boot: int = Field(2000, ge=100, description="bootstrap resamples for confidence intervals")
    confidence: float = Field(0.95, gt=0.5, lt=1)
    analysis_seed: int = seed_field(0, "seed of the bootstrap")
    formula: str | None = Field(None, description="an extra mixed model of the per-seed zero-shot gains, e.g. "
                                "'gain_pts ~ target_fertility * inter_fertility' (columns of the model table)")
    seen_languages: Literal["keep", "drop"] = Field("keep", description="gains in an evaluation language that "
                                                   "was itself the intermediate language (Finnish after Finnish "
                                                   "intermediate training): keep them in the mixed models, or drop "
                                                   "them (the real study: in-language, not transfer); the gains "
                                                   "table marks them either way (eval_seen)")
    relative_languages: Literal["keep", "drop"] = Field("keep", description="gains in a close relative of the "
                                                       "intermediate language (one WALS genus: Estonian after "
                                                       "Finnish intermediate training): keep them in the mixed "
                                                       "models, or drop them (transfer within a genus, not across); "
                                                       "the gains table marks them either way (eval_relative)")
    random: list[str] | None = Field(None, description="random intercepts of the extra model (default: eval_lang, "
                                     "and target_task / intermediate_task where they vary)")
