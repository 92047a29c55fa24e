"""Checkpoints inside a training stage: a stage killed mid-training resumes from its last
complete checkpoint and ends with the same weights as a run that was never interrupted.

A stage turns them on for its training calls with :func:`checkpointing` (the folder, every
how many steps, how many to keep); :func:`xltkit.modeling.training.run_trainer` then saves
``transformers.Trainer`` checkpoints there (weights as safetensors, optimizer, scheduler,
RNG states, the noise generators of :class:`xltkit.modeling.trainer.NoisyTrainer`) and,
on the next start, resumes from the newest one that is complete.  ``Trainer`` writes a
checkpoint file by file, so a kill while saving leaves a folder that looks like one: a
checkpoint counts only once :data:`COMPLETE` is written after its last file, and every
file it names is checked before it is used.  A checkpoint that fails the check is
removed, reported, and the one before it (or step 0) is used instead.
"""

from __future__ import annotations

import json
import re
import shutil
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from xltkit.core.io import first_process

COMPLETE = "xltkit_complete.json"
_STEP = re.compile(r"^checkpoint-(\d+)$")


@dataclass
class Checkpointing:
    """Where the training calls of one stage keep their checkpoints."""

    folder: Path
    every: int  # steps between checkpoints (0: none)
    keep: int  # the newest ``keep`` are kept
    problems: list[str] = field(default_factory=list)  # checkpoints found broken and removed

    def for_call(self, desc: str) -> Path:
        """The folder of one training call of the stage (a stage may train more than once)."""
        return self.folder / re.sub(r"[^A-Za-z0-9_.-]+", "_", desc)


_CURRENT: ContextVar[Checkpointing | None] = ContextVar("xltkit_checkpointing", default=None)


def current() -> Checkpointing | None:
    """The checkpointing of the stage being executed (None: training keeps no checkpoints)."""
    ck = _CURRENT.get()
    return ck if ck is not None and ck.every > 0 else None


def folder_for(out: str | Path) -> Path:
    """The checkpoint folder of a stage that builds ``out``: a sibling that survives a kill
    (the stage's own folder is built in a temporary folder that a kill leaves behind)."""
    out = Path(out)
    return out.parent / f".{out.name}.checkpoints"


@contextmanager
def checkpointing(out: str | Path, every: int, keep: int) -> Iterator[Checkpointing]:
    """Checkpoint the training calls made inside the block; remove the checkpoints when the
    block ends without an error (the stage's result is then on disk; they would only take space)."""
    if every < 0 or keep < 1:
        raise ValueError(f"checkpoint_every must be >= 0 and checkpoint_keep >= 1 (got {every}, {keep})")
    ck = Checkpointing(folder_for(out), every, keep)
    token = _CURRENT.set(ck)
    try:
        yield ck
    finally:
        _CURRENT.reset(token)
    import torch

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()  # no process still reads a checkpoint (the best one, at the end)
    if first_process():  # under torchrun the first process owns the checkpoints
        shutil.rmtree(ck.folder, ignore_errors=True)


def mark_complete(checkpoint: str | Path, step: int, files: list[str]) -> None:
    """Say that ``checkpoint`` is whole: written last, after every file it lists."""
    (Path(checkpoint) / COMPLETE).write_text(json.dumps({"step": step, "files": sorted(files)}))


def check(checkpoint: Path) -> str | None:
    """What is wrong with a checkpoint folder (None: it can be resumed from)."""
    marker = checkpoint / COMPLETE
    if not marker.is_file():
        return "no completion marker (killed while saving)"
    try:
        files = json.loads(marker.read_text())["files"]
    except (ValueError, KeyError) as e:
        return f"unreadable completion marker ({e})"
    for name in files:
        if name == "training_args.bin":  # a pickle the Trainer writes for people, and never reads back
            continue
        path = checkpoint / name
        if not path.is_file() or path.stat().st_size == 0:
            return f"{name} is missing or empty"
        try:
            if name.endswith(".safetensors"):
                from safetensors import safe_open

                with safe_open(str(path), framework="pt") as f:
                    for key in f.keys():
                        f.get_slice(key)  # reads the header and offsets: a truncated file fails here
                    if path.stat().st_size < _safetensors_end(path):
                        return f"{name} is truncated"
            elif name.endswith((".pt", ".pth", ".bin")):
                import torch
                from transformers.trainer_pt_utils import safe_globals

                with safe_globals():  # the numpy RNG state, allowed as the Trainer allows it
                    torch.load(path, map_location="cpu", weights_only=True)
            elif name.endswith(".json"):
                json.loads(path.read_text())
        except Exception as e:  # noqa: BLE001 - any failure to read means: not usable
            return f"{name} cannot be read ({type(e).__name__}: {str(e)[:120]})"
    return None


def _safetensors_end(path: Path) -> int:
    """The size a safetensors file must have: its header's length plus the largest data offset."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    ends = [v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"]
    return 8 + n + max(ends, default=0)


def latest(folder: str | Path, problems: list[str] | None = None) -> str | None:
    """The newest usable checkpoint under ``folder`` (None: start at step 0); broken ones,
    newer than it, are removed and described in ``problems``."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    found = sorted((int(m.group(1)), p) for p in folder.iterdir() if p.is_dir() and (m := _STEP.match(p.name)))
    for step, path in reversed(found):
        why = check(path)
        if why is None:
            return str(path)
        if problems is not None:
            problems.append(f"{path.name}: {why}; removed")
        shutil.rmtree(path, ignore_errors=True)
    return None


def prune(folder: str | Path, keep: int, protect: str | None = None) -> None:
    """Remove complete checkpoints older than the newest ``keep`` complete ones (never
    ``protect``, the best one where evaluation picks it)."""
    found = sorted((int(m.group(1)), p) for p in Path(folder).iterdir() if p.is_dir() and (m := _STEP.match(p.name)))
    complete = [p for _, p in found if (p / COMPLETE).is_file()]
    for path in complete[:-keep]:
        if protect is None or Path(protect).resolve() != path.resolve():
            shutil.rmtree(path, ignore_errors=True)
