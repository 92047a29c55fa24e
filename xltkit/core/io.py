"""Atomic files and folders: a killed run never leaves a half-written file that looks complete.

Files are written to a temporary file in the same folder, then renamed (``os.replace``);
cached stage folders are built in a temporary sibling and renamed, with a ``_done.json``
marker that alone says a folder is finished.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import sys
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


def first_process() -> bool:
    """False in the second and later processes of a ``torchrun`` launch (``RANK`` > 0): the
    first one alone publishes folders, holds locks and removes checkpoints for all of them."""
    return os.environ.get("RANK", "0") == "0"


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
        if not first_process():  # under torchrun the first process publishes the folder
            shutil.rmtree(tmp)  # (the others may not have saved what only the first one writes)
            _wait_done(folder)
            return
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


def _wait_done(folder: Path, timeout: float = 3600.0) -> None:
    import time

    t0 = time.time()
    while not is_done(folder):
        if time.time() - t0 > timeout:
            raise TimeoutError(f"{folder} was not finished by the first process of this run within {timeout:.0f} s")
        time.sleep(0.2)


def lock_path(folder: str | Path, inside: bool = False) -> Path:
    """A folder's lock file: beside it for a folder built by renaming (:func:`building`), or
    inside it (``inside``) for a folder that is written in place, such as a run's."""
    folder = Path(folder)
    return folder / ".lock" if inside else folder.parent / f".{folder.name}.lock"


@contextmanager
def locked(folder: str | Path, inside: bool = False) -> Iterator[None]:
    """Hold the lock of a stage folder: two processes (two ``xltkit run`` on one outputs
    folder, two SLURM jobs on a shared file system) never build the same folder at once;
    the second waits, then finds it done.  An advisory ``flock`` on a sibling file, released
    by the kernel when its holder dies, so a killed process leaves no stale lock."""
    if not first_process():  # under torchrun the processes of one run build together:
        yield  # the first holds the lock for all of them
        return
    path = lock_path(folder, inside)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process that is building {folder}", file=sys.stderr, flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            f.seek(0)
            f.truncate()
            f.write(f"{os.getpid()}\n")
            f.flush()
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)
