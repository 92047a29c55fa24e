"""Relative paths point into the project root, whatever the working directory: the rule
(XLTKIT_ROOT, else the nearest project folder, else the working directory), the parameter
groups and the runner that read it, and a stage notebook run in ``notebooks/`` (where
JupyterLab runs its kernel) that finds the project's outputs instead of building its own."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from xltkit.core import paths
from xltkit.pipeline.graph import chain

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """An empty project folder (params/ and notebooks/) with a subfolder, and no XLTKIT_ROOT."""
    monkeypatch.delenv(paths.ENV, raising=False)
    root = tmp_path / "study"
    for d in ("params", "notebooks", "notebooks/deeper"):
        (root / d).mkdir(parents=True)
    return root


def test_the_root_is_the_env_then_the_nearest_project_then_the_working_directory(project, tmp_path, monkeypatch):
    monkeypatch.chdir(project / "notebooks" / "deeper")
    assert paths.root() == project
    assert paths.resolve("outputs/demo") == project / "outputs" / "demo"
    assert paths.resolve("/abs/x") == Path("/abs/x")
    monkeypatch.setenv(paths.ENV, str(tmp_path / "elsewhere"))
    assert paths.resolve("outputs") == tmp_path / "elsewhere" / "outputs"
    monkeypatch.delenv(paths.ENV)
    monkeypatch.chdir(tmp_path)  # no project above: the working directory, paths as written
    assert paths.root() == tmp_path and paths.resolve("outputs") == Path("outputs")
    monkeypatch.chdir(REPO / "notebooks")  # this repository: params/ and notebooks/, and its pyproject.toml
    assert paths.root() == REPO and paths.is_project(REPO)
    only_pyproject = tmp_path / "pkg"
    (only_pyproject / "sub").mkdir(parents=True)
    (only_pyproject / "pyproject.toml").write_text('[project]\nname = "xltkit"\n')
    monkeypatch.chdir(only_pyproject / "sub")
    assert paths.root() == only_pyproject


def test_in_the_root_relative_paths_stay_as_written(project, monkeypatch):
    """Runs started in the root record exactly what they recorded before the rule existed."""
    from xltkit.analysis.params import AnalysisParams
    from xltkit.pipeline.params import RunParams

    monkeypatch.chdir(project)
    run = RunParams()
    assert (run.run.cache_dir, run.evaluation.run_dir) == ("outputs/cache", "outputs/scratch/run")
    assert AnalysisParams().experiment_dir == "outputs/demo"
    assert paths.from_cwd("x/y") == "x/y"


def test_parameters_read_in_a_subfolder_point_into_the_root(project, monkeypatch):
    from xltkit.analysis.params import AnalysisParams
    from xltkit.pipeline.params import RunParams

    (project / "dicts").mkdir()
    (project / "dicts" / "en-fi.txt").write_text("dog koira\n")
    (project / "hub").mkdir()
    monkeypatch.chdir(project / "notebooks")
    run = RunParams(hub_root="hub", task_files={"rte": {"fin": "hub"}}, noise="code-switch", noise_scale=0.3,
                    code_switch_files={"lab_fin": "dicts/en-fi.txt"})
    assert run.run.cache_dir == str(project / "outputs" / "cache")
    assert run.evaluation.run_dir == str(project / "outputs" / "scratch" / "run")
    assert run.hub.hub_root == str(project / "hub") and run.hub.task_files == {"rte": {"fin": str(project / "hub")}}
    assert run.noise_knobs.code_switch_files == {"lab_fin": str(project / "dicts" / "en-fi.txt")}
    assert AnalysisParams().experiment_dir == str(project / "outputs" / "demo")
    run.evaluation.run_dir = "outputs/t/runs/x"  # assignment is validated too
    assert run.evaluation.run_dir == str(project / "outputs" / "t" / "runs" / "x")
    assert paths.from_cwd("../x") == str(project / "x")  # typed on the command line: the shell's meaning


def test_cache_keys_do_not_depend_on_the_working_directory(project, monkeypatch):
    from conftest import tiny

    from xltkit.pipeline.params import RunParams

    def keys():
        run = RunParams(**tiny("outputs/cache", intermediate_lang="lab_fin", noise="code-switch", noise_scale=0.3))
        return [(n.stage.name, n.key) for n in chain(run)]

    monkeypatch.chdir(project)
    at_root = keys()
    monkeypatch.chdir(project / "notebooks" / "deeper")
    assert keys() == at_root


def test_an_experiment_loaded_in_a_subfolder_writes_where_it_would_from_the_root(project, monkeypatch):
    from conftest import tiny

    from xltkit.pipeline.experiment import load_experiment
    from xltkit.pipeline.runner import Runner

    shared = {k: v for k, v in tiny("x").items() if k != "cache_dir"}
    (project / "params" / "t.yaml").write_text(yaml.safe_dump({"experiment": "t", "shared": shared,
                                                               "grid": {"seed": [0, 1]}}))
    monkeypatch.chdir(project)
    at_root = load_experiment("params/t.yaml").runs()
    assert {r.run.cache_dir for r in at_root} == {"outputs/cache"}
    monkeypatch.chdir(project / "notebooks")
    exp = load_experiment("../params/t.yaml")
    runner = Runner(exp, echo=lambda s: None)
    assert runner.exp_dir == project / "outputs" / "t"
    for a, b in zip(at_root, runner.runs):
        assert project / a.evaluation.run_dir == Path(b.evaluation.run_dir)
        assert b.run.cache_dir == str(project / "outputs" / "cache")
    assert exp.analysis_params().experiment_dir == str(project / "outputs" / "t")


def _tree(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_stage_notebooks_run_in_notebooks_use_the_project_outputs(tiny_project, tmp_path):
    """Papermill with the kernel in ``notebooks/`` (``--cwd``), as JupyterLab runs it: the
    evaluation finds every upstream stage in the project's ``outputs/cache`` (nothing is
    rebuilt) and writes its run there; the analysis reads ``outputs/demo`` by default; no
    ``notebooks/outputs`` appears."""
    from xltkit.analysis.params import AnalysisParams
    from xltkit.pipeline.graph import STAGES
    from xltkit.pipeline.params import GROUPS

    cache = tiny_project / "outputs" / "cache"
    before = _tree(cache / "data") | _tree(cache / "pretrain")
    shared = yaml.safe_load((tiny_project / "params" / "demo.yaml").read_text())["shared"]
    fields = {f for g in STAGES["evaluate"].groups for f in GROUPS[g].model_fields}
    params = {k: v for k, v in shared.items() if k in fields} | {"run_dir": "outputs/notebook-run"}
    assert "cache_dir" not in params  # the notebook's default, outputs/cache
    runs = [("04_evaluate.ipynb", params), ("05_analysis.ipynb", {"n_boot": AnalysisParams().n_boot // 10})]
    for nb, values in runs:
        pfile = tmp_path / f"{nb}.yaml"
        pfile.write_text(yaml.safe_dump(values))
        proc = subprocess.run([sys.executable, "-m", "papermill", str(tiny_project / "notebooks" / nb),
                               str(tmp_path / nb), "-f", str(pfile), "--cwd", str(tiny_project / "notebooks"),
                               "--no-progress-bar"], capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tiny_project / "outputs" / "notebook-run" / "metrics.parquet").is_file()
    summary = tiny_project / "outputs" / "demo" / "analysis" / "summary.txt"
    assert summary.is_file() and summary.stat().st_mtime > pfile.stat().st_mtime
    assert _tree(cache / "data") | _tree(cache / "pretrain") == before  # found, not rebuilt
    assert not (tiny_project / "notebooks" / "outputs").exists()
