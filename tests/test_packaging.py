import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent


def _names(specs):
    return {Requirement(s).name.lower(): str(Requirement(s).specifier) for s in specs if not s.startswith("-e")}


def test_environment_yml_lists_the_same_packages_as_pyproject():
    proj = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    want = _names(proj["dependencies"] + proj["optional-dependencies"]["dev"])
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert _names(pip) == want


def test_ci_runs_the_readme_test_command():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in readme.split("\n## ")[0], "README's first screen must show `make test`"
    assert "make demo" in readme.split("\n## ")[0]
    assert [ln for ln in ci.splitlines() if ln and not ln.startswith(("#", "set ", "cd "))] == ["make test"]


def test_outputs_are_ignored():
    ignore = (REPO / ".gitignore").read_text().splitlines()
    assert "outputs/*" in ignore and ".venv/" in ignore


def test_the_version_has_one_source():
    """pyproject reads xltkit.__version__; the installed metadata says the same once installed
    (`make` reinstalls when pyproject.toml changes), and manifests record the code's version."""
    from importlib import metadata

    import xltkit
    from xltkit.pipeline.manifest import environment

    proj = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "version" not in proj["project"] and proj["project"]["dynamic"] == ["version"]
    assert proj["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "xltkit.__version__"}
    assert metadata.version("xltkit") == xltkit.__version__
    assert environment()["xltkit"] == xltkit.__version__


def test_git_state_says_whether_the_tree_was_clean(tmp_path, monkeypatch):
    from xltkit.pipeline import manifest

    state = manifest.git_state()
    if state["commit"] is not None:  # a checkout: the flag is a real answer
        assert isinstance(state["dirty"], bool) and len(state["commit"]) == 40
    monkeypatch.setattr(manifest, "__file__", str(tmp_path / "manifest.py"))  # no repository around it
    assert manifest.git_state() == {"commit": None, "dirty": None}
