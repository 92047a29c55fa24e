"""Registries: one place per kind of part (tasks, models, heads, metrics, noise methods),
looked up by the string the params give, with an error that lists what is allowed.

>>> colours = Registry("colour")
>>> colours.register("red", 1)
1
>>> colours["red"]
1

``colours["rde"]`` raises :class:`UnknownName`: "unknown colour 'rde' (did you mean 'red'?);
allowed: red".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownName(KeyError, ValueError):
    """A name no registry entry answers to; the message lists the allowed names."""

    def __str__(self) -> str:  # KeyError quotes its message; this one reads as a sentence
        return str(self.args[0])


class Registry(Generic[T]):
    """Named entries of one kind, plus optional prefix entries (``"hf:"`` -> a factory that
    builds an entry from the rest of the name)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._prefixes: dict[str, tuple[Callable[[str], T], str]] = {}

    def register(self, name: str, entry: T, replace: bool = False) -> T:
        if name in self._entries and not replace:
            raise ValueError(f"{self.kind} {name!r} is registered already (pass replace=True to replace it)")
        self._entries[name] = entry
        return entry

    def register_prefix(self, prefix: str, factory: Callable[[str], T], placeholder: str) -> None:
        """Names starting with ``prefix`` resolve to ``factory(rest)``; ``placeholder`` is how
        the allowed list shows them (``"hf:<hub id or local path>"``)."""
        self._prefixes[prefix] = (factory, placeholder)

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def allowed(self) -> list[str]:
        return list(self._entries) + [p for _, p in self._prefixes.values()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._entries or any(
            name.startswith(p) and len(name) > len(p) for p in self._prefixes))

    def __getitem__(self, name: str) -> T:
        if name in self._entries:
            return self._entries[name]
        for prefix, (factory, _) in self._prefixes.items():
            if isinstance(name, str) and name.startswith(prefix) and len(name) > len(prefix):
                return factory(name[len(prefix):])
        close = difflib.get_close_matches(str(name), list(self._entries), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownName(f"unknown {self.kind} {name!r}{hint}; allowed: {', '.join(self.allowed())}")

    def names(self) -> list[str]:
        return list(self._entries)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def items(self):
        return self._entries.items()

    def values(self):
        return self._entries.values()

    def __len__(self) -> int:
        return len(self._entries)
