"""The what-if notebook in a real browser: JupyterLab on the tiny project, headless Chromium,
an experiment with planted gains; moving a slider changes what the view shows, and the
screenshot is the README's figure (``XLTKIT_SCREENSHOTS=docs`` writes it there)."""

import pytest
from whatif_fixture import planted_experiment

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_whatif_notebook_runs_and_follows_its_widgets(jupyter_lab, tiny_project):
    planted_experiment(tiny_project / "outputs" / "planted")
    view = jupyter_lab.what_if("notebooks/06_whatif.ipynb", {"experiment_dir": "outputs/planted"},
                               [("slider", "inter_fertility", 9.0), ("dropdown", "scenario A", "fin / none")],
                               screenshot="whatif")
    before, after = "\n".join(view.before), "\n".join(view.after)
    assert "predicted gain" in before and "EXTRAPOLATION" not in before
    assert "EXTRAPOLATION" in after and "inter_fertility" in after  # the slider left the data's range
    assert "fin minus" in after and "fin minus" not in before  # scenario A followed the dropdown
    assert view.images_before  # the observed-vs-model figure is drawn in the widget output
    assert view.screenshot.is_file() and view.screenshot.stat().st_size > 10_000
