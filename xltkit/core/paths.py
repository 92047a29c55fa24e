"""Where relative paths point: the project root, whatever the working directory.

A stage notebook opened in JupyterLab runs its kernel in ``notebooks/``; ``papermill`` and
``xltkit run`` run in the repository root.  So that ``outputs/cache`` means the same folder
in all three, every relative path xltkit reads from parameters (``cache_dir``, ``run_dir``,
``experiment_dir``, ``hub_root``, ``task_files``, ``synonym_file``, ``code_switch_files``),
from an experiment file or from its own defaults is read against the **project root**:

1. ``XLTKIT_ROOT``, if that environment variable is set;
2. else the nearest folder at or above the working directory that is an xltkit project: it
   holds a ``pyproject.toml`` whose project is ``xltkit`` (this repository), or both a
   ``params/`` and a ``notebooks/`` folder (this repository's layout, and a study's own);
3. else the working directory.

Where the working directory is the root, a relative path is kept as written (it already
points there), so runs started in the root record exactly what they recorded before.  A
path typed on the command line means what the shell means, relative to the working
directory (:func:`from_cwd`).  Paths are locations, never results: none enters a cache key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator

ENV = "XLTKIT_ROOT"


def is_project(folder: Path) -> bool:
    """Whether ``folder`` is an xltkit project root (see the module docstring, rule 2)."""
    if (folder / "params").is_dir() and (folder / "notebooks").is_dir():
        return True
    pyproject = folder / "pyproject.toml"
    if not pyproject.is_file():
        return False
    try:
        return tomllib.loads(pyproject.read_text()).get("project", {}).get("name") == "xltkit"
    except (OSError, ValueError):
        return False


def root() -> Path:
    """The project root: ``XLTKIT_ROOT``, else the nearest project folder at or above the
    working directory, else the working directory (absolute)."""
    env = os.environ.get(ENV)
    if env:
        return Path(env).expanduser().absolute()
    cwd = Path.cwd()
    return next((f for f in (cwd, *cwd.parents) if is_project(f)), cwd)


def resolve(path: str | os.PathLike) -> Path:
    """``path`` read against the project root: absolute paths unchanged; a relative one
    as written where the working directory is the root, else ``root() / path``.  In
    ``~/xltkit/notebooks``, ``resolve("outputs/demo")`` is ``~/xltkit/outputs/demo``; in
    ``~/xltkit`` it is ``outputs/demo``."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    base = root()
    return p if base.resolve() == Path.cwd().resolve() else base / p


def from_cwd(path: str | os.PathLike) -> str:
    """A path typed on the command line: relative to the working directory, as the shell
    reads it (kept as typed where the working directory is the root, else made absolute),
    so that :func:`resolve` leaves it where the user meant."""
    p = Path(path).expanduser()
    if p.is_absolute() or root().resolve() == Path.cwd().resolve():
        return str(path)
    return os.path.abspath(p)


def _resolved(value: str) -> str:
    return str(resolve(value))


#: a parameter holding a path: validated into :func:`resolve`'s answer (give fields with a
#: default ``validate_default=True``, so the default is resolved too)
ProjectPath = Annotated[str, AfterValidator(_resolved)]
