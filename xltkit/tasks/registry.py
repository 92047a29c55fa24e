"""The registry of tasks: one entry per task, looked up by the name the params give."""

from __future__ import annotations

from xltkit.core.registry import Registry
from xltkit.tasks.base import HEADS, Task

TASKS: Registry[Task] = Registry("task")


def register_task(task: Task, replace: bool = False) -> Task:
    """Add ``task`` to the registry under ``task.name`` (its head kind must be a known one)."""
    if task.head not in HEADS:
        raise ValueError(f"task {task.name!r}: unknown head kind {task.head!r}; allowed: {', '.join(HEADS)}")
    return TASKS.register(task.name, task, replace=replace)


def get_task(name: str) -> Task:
    return TASKS[name]
