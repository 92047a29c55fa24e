"""What a hub task's class declares and runs, as plain data: the part of
:meth:`~xltkit.tasks.hub.base.HubTask.training_identity` that tells two registry entries with the
same training source apart, or finds them the same.

The fingerprint of a task (:attr:`xltkit.tasks.base.Task.fingerprint`) hashes the source of its
own class, so two entries differ by their names alone; here a class is described by what it
declares (every class attribute, less those a task lists as not changing what it trains on: its
name, description, scoring) and by where each of its methods comes from (the class that defines
it), with the code of the modules defining them.  Two entries whose methods all come from the same
classes and whose declarations agree read a training split the same way; one that overrides any
method, even one that only reads a dev set, is its own.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

from xltkit.core.hashing import files_hash

_METHODS = (property, cached_property, staticmethod, classmethod)


def plain(value: Any, where: str = "") -> Any:
    """``value`` as JSON-able data whose text does not depend on the process (sets sorted)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Mapping):
        return {str(k): plain(v, f"{where}[{k!r}]") for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v, where) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    if isinstance(value, (list, tuple)):
        return [plain(v, where) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), f"{where}.{f.name}") for f in dataclasses.fields(value)}
    raise TypeError(f"{where}: a {type(value).__name__} cannot be hashed as plain data; declare it as plain data "
                    "(str, numbers, tuples, mappings, sets, dataclasses) or list it in the task's not_training")


def declared(cls: type, skip: frozenset[str]) -> dict[str, Any]:
    """Each class attribute of ``cls`` (the first one along its MRO) but ``skip`` and the dunder ones:
    its value, or for a method the class that defines it (``module.Class``)."""
    out: dict[str, Any] = {}
    for klass in cls.__mro__:
        if klass is object:
            break
        for name, value in vars(klass).items():
            if name in out or name in skip or name.startswith("__") or name.startswith("_abc"):
                continue
            if inspect.isroutine(value) or inspect.isclass(value) or isinstance(value, _METHODS):
                out[name] = f"method of {klass.__module__}.{klass.__qualname__}"
            else:
                out[name] = plain(value, f"{cls.__qualname__}.{name}")
    return out


def code(task) -> str:
    """A hash of the modules that define ``task``'s classes and of the machinery it names
    (:meth:`~xltkit.tasks.base.Task.code_files`): an edit to any of them is a new training."""
    from xltkit.tasks.base import Task

    files = {Path(inspect.getfile(k)).resolve() for k in type(task).__mro__ if issubclass(k, Task) and k is not Task}
    files |= {Path(p).resolve() for p in task.code_files()}
    return files_hash(sorted(files), n=12)
