"""The stage notebooks, written from the stage graph and the parameter groups so the two
never drift apart.

``python -m xltkit.pipeline.notebooks notebooks/`` rewrites them; a test checks that the
committed notebooks' ``parameters`` cells hold exactly the fields and defaults of the
groups.  Cell ids are fixed (stage name and position), so regenerating a notebook whose
parameters did not change rewrites nothing, and help texts name no registry's entries
(``xltkit tasks`` lists the tasks), so adding a task changes no notebook.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from xltkit.analysis.params import AnalysisParams
from xltkit.pipeline.graph import STAGES
from xltkit.pipeline.params import GROUPS

ANALYSIS = ("05_analysis.ipynb", "Analysis: gains, controls, mixed-effects model",
            "Gains over the no-intermediate baseline with bootstrap CIs, scores beside their controls (each task "
            "on its primary metric), a mixed model of the gain, and figures.")

SHOW = {
    "data": [
        "import pandas as pd\n"
        "pd.read_json(out / 'stats.json')",
        "corpus = pd.read_parquet(out / 'corpus.parquet')\n"
        "corpus.groupby('lang').head(2)",
    ],
    "pretrain": ["plots.stage_stats(out, 'MLM loss', 'heldout_mlm_accuracy')"],
    "intermediate": ["plots.stage_stats(out, 'intermediate-task loss', 'final_loss')"],
    "finetune": ["plots.stage_stats(out, 'target-task loss', 'final_loss')"],
    "evaluate": ["same = out[(out.split == 'test') & (out.eval_setting == 'same')]  # both sentences in eval_lang\n"
                 "same[same.phenomenon == 'all'].pivot_table(index='eval_lang', columns='metric', values='value')"
                 ".round(3)",
                 "same.pivot_table(index='eval_lang', columns=['metric', 'phenomenon'], values='value').round(3)",
                 "gen = out[(out.split == 'test') & (out.eval_setting == 'generalized') & (out.phenomenon == 'all')]\n"
                 "# the generalized setting (pair tasks): first sentence's language x second sentence's\n"
                 "gen.pivot_table(index='eval_lang', columns=['metric', 'eval_lang2'], values='value').round(3) "
                 "if len(gen) else 'no generalized setting: not a pair task, or generalized: false'"],
    "analysis": ["print(out.summary())",
                 "out.languages  # typology and measured morphological richness of the languages",
                 "out.gains.round(4)",
                 "from IPython.display import Image, display\n"
                 "for path in out.figures.values():\n    display(Image(filename=str(path)))"],
}


def _parameters(fields: dict, defaults: dict) -> str:
    lines = []
    for name, f in fields.items():
        help_ = f" # {f.description}" if f.description else ""
        lines.append(f"{name} = {defaults[name]!r}{help_}")
    return "\n".join(lines)


def stage_notebook(stage: str) -> nbformat.NotebookNode:
    if stage == "analysis":
        _, title, text = ANALYSIS
        fields, defaults, where = AnalysisParams.model_fields, AnalysisParams().model_dump(), \
            "`xltkit.analysis.params.AnalysisParams`"
    else:
        s = STAGES[stage]
        title, text = s.title, s.summary
        fields = {k: f for g in s.groups for k, f in GROUPS[g].model_fields.items()}
        defaults = {k: v for g in s.groups for k, v in GROUPS[g]().model_dump().items()}
        where = ", ".join(f"`{GROUPS[g].__module__}.{GROUPS[g].__name__}`" for g in s.groups)
    params = new_code_cell(_parameters(fields, defaults), metadata={"tags": ["parameters"]})
    cells = [
        new_markdown_cell(f"# {title}\n\n{text}\n\nParameters: {where} (defaults run in seconds on a CPU; real "
                          "settings live in `params/`)."),
        new_code_cell("from xltkit.analysis import plots\nfrom xltkit.pipeline import stages"),
        params,
        new_code_cell(f"out = stages.run_from_notebook({stage!r}, globals())"),
    ] + [new_code_cell(src) for src in SHOW[stage]]
    return _notebook(cells, stage)


def _notebook(cells: list, prefix: str) -> nbformat.NotebookNode:
    """A notebook of ``cells`` with fixed cell ids (``<prefix>-<position>``: regenerating rewrites
    nothing that did not change) and the Python 3 kernel."""
    for i, cell in enumerate(cells):
        cell["id"] = f"{prefix}-{i}"
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


WHATIF = "06_whatif.ipynb"


def whatif_notebook() -> nbformat.NotebookNode:
    """The what-if notebook: its parameter (an experiment folder), one call, the display
    (the logic is :mod:`xltkit.analysis.whatif`, the widgets :mod:`xltkit.analysis.whatif_view`)."""
    cells = [
        new_markdown_cell(
            "# What if: which intermediate language would help which target, how sure, and how many runs to be sure\n\n"
            "Run on any finished experiment (`experiment_dir`; the demo's by default, after `make demo`). Four sections: the "
            "observed gains of a selection with their bootstrap intervals beside the headline mixed model's "
            "prediction and the controls; two scenarios side by side, with their paired difference and its "
            "interval; a hypothetical language pair from the typology model's predictors (marked as an "
            "extrapolation outside the data); and the power of a design (seeds x languages), simulated from the "
            "fitted variance components. Gains are points of each task's primary metric."),
        new_code_cell("experiment_dir = 'outputs/demo'  # an experiment folder (relative paths: the project's)\n"
                      "static = False  # True: no widgets, every panel printed at its defaults (xltkit report)",
                      metadata={"tags": ["parameters"]}),
        new_code_cell("from xltkit.analysis.whatif_view import view\n\n"
                      "v = view(experiment_dir, static=static)\nv.widget() if v and not static else None"),
    ]
    return _notebook(cells, "whatif")


def notebook_names() -> dict[str, str]:
    return {**{s: STAGES[s].notebook for s in STAGES}, "analysis": ANALYSIS[0]}


def write_all(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stage, name in notebook_names().items():
        path = folder / name
        nbformat.write(stage_notebook(stage), path)
        paths.append(path)
    nbformat.write(whatif_notebook(), folder / WHATIF)
    return paths + [folder / WHATIF]


if __name__ == "__main__":
    for p in write_all(sys.argv[1] if len(sys.argv) > 1 else "notebooks"):
        print(p)
