"""``xltkit report OUTDIR``: one standalone HTML file of an experiment, for a co-author without
Python: the executed analysis notebook and the what-if notebook (run static: every panel at its
default values, printed and plotted, no live widgets), figures embedded as images."""

from __future__ import annotations

from pathlib import Path


def report(experiment_dir: str | Path, out: str | Path | None = None, timeout: int = 600) -> Path:
    """Write ``<experiment>/report.html`` (or ``out``) and return its path."""
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    from xltkit.pipeline.notebooks import whatif_notebook

    exp = Path(experiment_dir).resolve()
    analysis = exp / "analysis" / "05_analysis.ipynb"
    if not analysis.is_file():
        raise FileNotFoundError(f"{analysis} not found: run the analysis first (xltkit analyze {exp})")
    out = Path(out) if out else exp / "report.html"
    work = exp / "analysis" / "06_whatif_static.ipynb"
    src = exp / "analysis" / "06_whatif.ipynb"
    nbformat.write(whatif_notebook(), src)
    pm.execute_notebook(str(src), str(work), parameters={"experiment_dir": str(exp), "static": True},
                        progress_bar=False, execution_timeout=timeout, cwd=str(exp))
    first, second = nbformat.read(analysis, as_version=4), nbformat.read(work, as_version=4)
    merged = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"# xltkit report: {exp.name}\n\nThe executed analysis, then the what-if "
                                      "view at its default values (a static snapshot of the widgets)."),
        *first.cells, *second.cells], metadata=first.metadata)
    exporter = HTMLExporter(embed_images=True, exclude_input_prompt=True, exclude_output_prompt=True)
    html, _ = exporter.from_notebook_node(merged)
    out.write_text(html, encoding="utf-8")
    return out
