"""The real study's tasks, from the Hugging Face hub (see :mod:`xltkit.tasks.hub.base`);
importing this registers them."""

from xltkit.tasks.hub import definitions as _definitions  # noqa: F401
from xltkit.tasks.hub import reading as _reading  # noqa: F401  (extractive QA)
from xltkit.tasks.hub import retrieval as _retrieval  # noqa: F401  (Tatoeba)
from xltkit.tasks.hub.base import HubSource, HubTask

__all__ = ["HubSource", "HubTask"]
