"""The synthetic lab's tasks (see :mod:`xltkit.tasks.lab.base`); importing this registers them."""

from xltkit.tasks.lab import definitions as _definitions  # noqa: F401
from xltkit.tasks.lab.base import LabTask, PairTask, SentenceTask, TaggingTask, phenomena

__all__ = ["LabTask", "PairTask", "SentenceTask", "TaggingTask", "phenomena"]
