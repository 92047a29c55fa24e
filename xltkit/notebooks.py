"""The stage notebooks, written from the parameter classes so the two never drift apart.

``python -m xltkit.notebooks notebooks/`` rewrites them; a test checks that the committed
notebooks' ``parameters`` cells hold exactly the fields and defaults of the classes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from xltkit.config import STAGES

TITLES = {
    "data": ("00_data", "Data: the synthetic typology lab",
             "Renders the lab languages' pretraining corpora from one meaning generator and trains the shared "
             "WordPiece tokenizer. Task sets are built on demand by the stages that use them."),
    "pretrain": ("01_pretrain", "Pretrain: masked language modelling",
                 "Pretrains the tiny lab BERT on all lab languages (or builds the untrained control)."),
    "intermediate": ("02_intermediate", "Intermediate-task training",
                     "Trains the encoder on the intermediate task in one language; keeps the bare encoder."),
    "finetune": ("03_finetune", "Target fine-tuning (source language)",
                 "Fine-tunes on the target task in the source language (or fits a surface-cue rule)."),
    "evaluate": ("04_evaluate", "Zero-shot evaluation",
                 "Evaluates the fine-tuned model on every language's test set; writes tidy metrics."),
    "analysis": ("05_analysis", "Analysis: gains, controls, mixed-effects model",
                 "Gains over the no-intermediate baseline with bootstrap CIs, accuracies beside their controls, "
                 "a mixed model of the gain, and figures."),
}

SHOW = {
    "data": [
        "import pandas as pd\n"
        "pd.read_json(out / 'stats.json')",
        "corpus = pd.read_parquet(out / 'corpus.parquet')\n"
        "corpus.groupby('lang').head(2)",
    ],
    "pretrain": ["stats = results.read_json(out / 'stats.json')\n"
                 "plots.loss_curve(stats, 'MLM loss'); stats.get('heldout_mlm_accuracy')"],
    "intermediate": ["stats = results.read_json(out / 'stats.json')\n"
                     "plots.loss_curve(stats, 'intermediate-task loss'); stats['final_loss']"],
    "finetune": ["(out / 'stats.json').is_file() and plots.loss_curve(results.read_json(out / 'stats.json'), "
                 "'target-task loss')"],
    "evaluate": ["out[(out.split == 'test') & (out.phenomenon == 'all')]"
                 ".pivot_table(index='eval_lang', columns='metric', values='value').round(3)",
                 "out[out.split == 'test'].pivot_table(index='eval_lang', columns='phenomenon', values='value').round(3)"],
    "analysis": ["print(out.summary())",
                 "out.languages  # typology and measured morphological richness of the lab languages",
                 "out.gains.round(4)",
                 "from IPython.display import Image, display\n"
                 "for path in out.figures.values():\n    display(Image(filename=str(path)))"],
}


def stage_notebook(stage: str) -> nbformat.NotebookNode:
    cls = STAGES[stage]
    stem, title, text = TITLES[stage]
    defaults = cls().model_dump()
    lines = []
    for name, f in cls.model_fields.items():
        help_ = f" # {f.description}" if f.description else ""
        lines.append(f"{name} = {defaults[name]!r}{help_}")
    params = new_code_cell("\n".join(lines), metadata={"tags": ["parameters"]})
    cells = [
        new_markdown_cell(f"# {title}\n\n{text}\n\nParameters: `xltkit.config.{cls.__name__}` "
                          "(defaults run in seconds on a CPU; real settings live in `params/`)."),
        new_code_cell("from xltkit import plots, results, stages"),
        params,
        new_code_cell(f"out = stages.run_from_notebook({stage!r}, globals())"),
    ] + [new_code_cell(src) for src in SHOW[stage]]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def write_all(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stage in STAGES:
        path = folder / f"{TITLES[stage][0]}.ipynb"
        nbformat.write(stage_notebook(stage), path)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_all(sys.argv[1] if len(sys.argv) > 1 else "notebooks"):
        print(p)
