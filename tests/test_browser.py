"""The notebooks in a real browser: JupyterLab on a project folder with a finished tiny
experiment, headless Chromium (``tests/browser.py``).  Each stage notebook opens and runs
with the kernel in ``notebooks/``, as a researcher's does, and finds the project's outputs;
the widget helper the what-if test uses changes a slider and a dropdown and sees the output
follow.  Deselect with ``-m "not browser"``."""

import nbformat
import pytest
import yaml

from xltkit.pipeline.graph import STAGES
from xltkit.pipeline.notebooks import notebook_names
from xltkit.pipeline.params import GROUPS

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _tree(folder):
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.exists() else set()


def _stage_params(project, stage):
    """The tiny experiment's settings for ``stage``'s notebook (no path among them: the notebook's
    defaults ``outputs/cache`` and ``outputs/scratch/run`` stand), with a seed of its own for the
    training stages, so that they train for real on the data and pretraining in the project's cache."""
    shared = yaml.safe_load((project / "params" / "demo.yaml").read_text())["shared"]
    fields = {f for g in STAGES[stage].groups for f in GROUPS[g].model_fields}
    own = {"intermediate": {"seed": 7, "intermediate_lang": "lab_fin"}, "finetune": {"seed": 7}}.get(stage, {})
    return {k: v for k, v in {**shared, **own}.items() if k in fields}


def _run_together(lab, runs: dict, screenshots: str) -> tuple[dict, dict]:
    """Open each notebook (stage -> parameters, None: its defaults) in its own page and kernel,
    run them all at once and return what each rendered: output texts and image counts."""
    books = {s: lab.open(f"notebooks/{notebook_names()[s]}", p, wait=False) for s, p in runs.items()}
    shown, images = {}, {}
    try:
        for nb in books.values():
            nb.wait_for_kernel()
        for nb in books.values():
            nb.run_all(wait=False)
        for stage, nb in books.items():
            nb.wait_done(timeout=240)
            shown[stage], images[stage] = "\n".join(nb.outputs()), nb.images()
            nb.screenshot(f"{screenshots}-{stage}")
    finally:
        for nb in books.values():
            nb.close()
    assert all(text.strip() for text in shown.values()), [s for s, t in shown.items() if not t.strip()]
    return shown, images


def test_the_analysis_and_a_training_notebook_run_in_jupyterlab_on_the_project_outputs(jupyter_lab, tiny_project):
    """What issue 12 tried: ``05_analysis.ipynb`` with its defaults (``experiment_dir:
    outputs/demo``, read against the project root, not ``notebooks/``), and beside it
    ``03_finetune.ipynb`` with the tiny experiment's settings and a new seed, which fine-tunes
    on the data and pretraining of the project's cache: found there, not rebuilt, and no
    ``notebooks/outputs`` appears."""
    cache = tiny_project / "outputs" / "cache"
    built = {s: _tree(cache / s) for s in ("data", "pretrain")}
    finetuned = _tree(cache / "finetune")
    shown, images = _run_together(jupyter_lab, {"analysis": None,
                                                "finetune": _stage_params(tiny_project, "finetune")}, "notebook")
    assert "FileNotFoundError" not in shown["analysis"] and "Zero-shot score" in shown["analysis"]
    assert images["analysis"] >= 2  # the figures, rendered
    assert (tiny_project / "outputs" / "demo" / "analysis" / "summary.txt").is_file()
    assert _tree(cache / "finetune") > finetuned  # trained, into the project's cache
    assert {s: _tree(cache / s) for s in built} == built
    assert not (tiny_project / "notebooks" / "outputs").exists()


def test_the_other_stage_notebooks_run_in_jupyterlab(jupyter_lab, tiny_project):
    """00_data, 01_pretrain and 02_intermediate (a new seed: it trains) and 04_evaluate, together."""
    cache = tiny_project / "outputs" / "cache"
    built = {s: _tree(cache / s) for s in ("data", "pretrain")}
    runs = {s: _stage_params(tiny_project, s) for s in STAGES if s != "finetune"}
    shown, _ = _run_together(jupyter_lab, runs, "notebook")
    assert "lab_fin" in shown["evaluate"]  # the rendered table of test scores
    assert (tiny_project / "outputs" / "scratch" / "run" / "metrics.parquet").is_file()
    assert {s: _tree(cache / s) for s in built} == built
    assert not (tiny_project / "notebooks" / "outputs").exists()


WIDGETS = """\
import ipywidgets as w
from IPython.display import display

n = w.IntSlider(value=start, min=0, max=20, description="n")
word = w.Dropdown(options=["a", "b", "c"], value="a", description="word")
out = w.Output()


def show(*_):
    out.clear_output(wait=True)
    with out:
        print(f"{word.value * n.value}|n={n.value}|word={word.value}")


n.observe(show, "value")
word.observe(show, "value")
show()
display(w.VBox([n, word, out]))
"""


def test_the_widget_helper_changes_a_slider_and_a_dropdown(jupyter_lab, tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("start = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(WIDGETS)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    path = tmp_path / "widgets.ipynb"
    nbformat.write(nb, path)
    view = jupyter_lab.what_if(path, {"start": 3}, [("slider", "n", 5), ("dropdown", "word", "b")],
                               screenshot="widgets")
    assert view.before == ["aaa|n=3|word=a"]
    assert view.after == ["bbbbb|n=5|word=b"]
    assert view.screenshot.is_file() and view.screenshot.stat().st_size > 1000
