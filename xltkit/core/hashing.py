"""Stable hashes: of parameter dictionaries (cache keys) and of files (the code a stage's data depends on)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def stable_hash(obj: Any, n: int = 12) -> str:
    """The first ``n`` hex digits of the SHA-1 of ``obj`` as canonical JSON (sorted keys;
    values JSON cannot hold are written with ``str``)."""
    blob = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:n]


def files_hash(paths, n: int = 8) -> str:
    """The first ``n`` hex digits of the SHA-1 of the files' bytes, in the given order."""
    h = hashlib.sha1()
    for path in paths:
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:n]


def folder_fingerprint(folder, sample: int = 1 << 20) -> str:
    """A cheap content hash of a folder (a model, a dataset repository): small files whole,
    large ones (weights, big shards) by size and their first and last ``sample`` bytes."""
    folder = Path(folder)
    h = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        size = path.stat().st_size
        h.update(f"{path.relative_to(folder)}:{size}".encode())
        with open(path, "rb") as f:
            if size <= 2 * sample:
                h.update(f.read())
            else:
                h.update(f.read(sample))
                f.seek(size - sample)
                h.update(f.read(sample))
    return h.hexdigest()[:12]
