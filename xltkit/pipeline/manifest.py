"""What every run's ``manifest.json`` records besides its parameters: the versions of the
code and of the libraries, and the git commit with whether the working tree was clean."""

from __future__ import annotations

import importlib.metadata as md
import platform
import subprocess
from pathlib import Path

from xltkit import __version__

LIBRARIES = ("torch", "transformers", "datasets", "tokenizers", "accelerate", "pandas", "numpy", "statsmodels",
             "papermill")


def environment() -> dict[str, str]:
    """Versions recorded in every manifest: xltkit's from the code that ran (not from the
    installed distribution's metadata, which an editable install leaves stale)."""
    out = {"python": platform.python_version(), "platform": platform.platform(), "xltkit": __version__}
    for name in LIBRARIES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def git_state() -> dict[str, object]:
    """The commit of the xltkit checkout that ran and whether it had uncommitted changes
    (``dirty``; None where the code is not in a git checkout)."""
    here = Path(__file__).resolve().parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=here, timeout=5)
        if commit.returncode != 0:
            return {"commit": None, "dirty": None}
        status = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=here,
                                timeout=5)  # untracked files too: a new module can change a result
        return {"commit": commit.stdout.strip() or None,
                "dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
