"""Atomic files and folders: a killed run never leaves a half-written file that looks complete.

Files are written to a temporary file in the same folder, then renamed (``os.replace``);
cached stage folders are built in a temporary sibling and renamed, with a ``_done.json``
marker that alone says a folder is finished.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pandas as pd

DONE = "_done.json"


def _atomic(path: Path, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(obj: Any, path: str | Path) -> Path:
    return _atomic(Path(path), lambda tmp: Path(tmp).write_text(json.dumps(obj, indent=1, default=str)))


def write_parquet(df: pd.DataFrame, path: str | Path) -> Path:
    return _atomic(Path(path), lambda tmp: df.to_parquet(tmp, index=False))


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def file_digest(path: str | Path) -> str:
    """The first 8 hex digits of a file's SHA-1 ("missing" where there is no file)."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:8] if Path(path).is_file() else "missing"


def is_done(folder: str | Path) -> bool:
    return (Path(folder) / DONE).is_file()


@contextmanager
def building(folder: str | Path, info: dict | None = None) -> Iterator[Path]:
    """Build a cached folder atomically: yield a temporary sibling folder, then rename it.

    The finished folder holds ``_done.json`` (``info`` plus nothing else); a folder without
    it is never treated as finished.  If another process finished the same folder first,
    its copy is kept and ours is discarded (both are deterministic from the same key).
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        yield tmp
        write_json(info or {}, tmp / DONE)
        if folder.exists() and not is_done(folder):
            shutil.rmtree(folder)  # left over from a killed build
        try:
            os.rename(tmp, folder)
        except OSError:
            if not is_done(folder):
                raise
            shutil.rmtree(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
