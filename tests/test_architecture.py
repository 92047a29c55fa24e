"""The architecture, checked: the layers' import direction (import-linter's contract in
pyproject.toml), no import cycle, modules small enough to read in one sitting, and no
code outside a task's or a model's own module that branches on its name."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "xltkit"


def test_the_layers_contract_holds():
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--config", str(REPO / "pyproject.toml")], capture_output=True, text=True,
                          cwd=REPO)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 kept, 0 broken" in proc.stdout


def _cycles(graph, modules) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), i.e. import cycles."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.find_modules_directly_imported_by(v):
            if w not in modules:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in sorted(modules):
        if m not in index:
            visit(m)
    return out


def test_no_import_cycle():
    import grimp

    graph = grimp.build_graph("xltkit", exclude_type_checking_imports=True)
    modules = set(graph.modules)
    assert _cycles(graph, modules) == []


def test_no_module_is_much_over_400_lines():
    long = {str(p.relative_to(REPO)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 420}
    assert long == {}


def _names() -> set[str]:
    from xltkit.modeling.models import MODELS
    from xltkit.tasks import TASKS

    return set(TASKS) | set(MODELS)


@pytest.mark.parametrize("layer", ["pipeline", "modeling", "analysis"])
def test_stages_training_and_analysis_never_compare_against_a_task_or_model_name(layer):
    """``if task == "nli"`` or ``model in RULES`` outside the entry that defines it is a
    registry entry waiting to happen (STYLE.md): the only place that may name a model is
    its registry module (modeling/models.py, modeling/rules.py)."""
    names, found = _names(), []
    for path in (PACKAGE / layer).rglob("*.py"):
        if path.name in ("models.py", "rules.py") and layer == "modeling":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                for c in [node.left, *node.comparators]:
                    consts = [c] if isinstance(c, ast.Constant) else list(getattr(c, "elts", []))
                    found += [f"{path.relative_to(REPO)}:{node.lineno} {k.value!r}" for k in consts
                              if isinstance(k, ast.Constant) and k.value in names]
    assert found == []


def test_every_module_imports():
    """A module that imports a name that no longer exists fails here, not in a user's notebook."""
    import importlib
    import pkgutil

    import xltkit

    names = [m.name for m in pkgutil.walk_packages(xltkit.__path__, "xltkit.")]
    assert len(names) > 50
    for name in names:
        importlib.import_module(name)
