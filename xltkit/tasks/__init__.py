"""Tasks: the task interface (:mod:`xltkit.tasks.base`) and the registry of tasks.

A task is one entry here, looked up by the name the params give; the lab's seven tasks
register themselves on import of :mod:`xltkit.tasks.lab`, the hub's (the real study) on
import of :mod:`xltkit.tasks.hub`.

>>> from xltkit.tasks import get_task
>>> get_task("nli").head, get_task("nli").primary_metric
('pair', 'accuracy')
"""

from __future__ import annotations

from xltkit.tasks.base import HEADS, SPLITS, DataContext, HeadContract, Task, TaskDataParams, TaskError
from xltkit.tasks.registry import TASKS, get_task, register_task
from xltkit.tasks import lab as _lab  # noqa: E402,F401  (registers the lab's tasks)
from xltkit.tasks import hub as _hub  # noqa: E402,F401  (registers the hub's tasks)

__all__ = ["HEADS", "SPLITS", "TASKS", "DataContext", "HeadContract", "Task", "TaskDataParams", "TaskError",
           "get_task", "register_task"]
