"""Parameter groups: typed, documented, validated; composed by the pipeline into a run.

Each concern of a run (the lab's data, the encoder, training, noise, evaluation, ...) is one
:class:`Group`: a pydantic model whose fields carry help text, refuse unknown keys and
validate on assignment.  A stage's cache key hashes the :meth:`Group.canonical` form of the
groups it reads, so a field added to a group enters every key that reads the group unless
the group itself says when it is unused (:meth:`Group.unused`) or that it never changes a
result (``semantic=False`` in the field's ``json_schema_extra``: where and how fast, not what).
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SEED_MAX = 2**32 - 1  # numpy's and the Trainer's seed range


def seed_field(default: int = 0, description: str = "") -> Any:
    """A seed: an integer in [0, 2**32 - 1] (what numpy and ``transformers.set_seed`` accept)."""
    return Field(default, ge=0, le=SEED_MAX, description=description)


def non_semantic(default: Any, description: str, **constraints) -> Any:
    """A field that says where or how fast, never what: left out of every cache key."""
    return Field(default, description=description, json_schema_extra={"semantic": False}, **constraints)


class ParamsError(ValueError):
    """Bad parameters: the message names the key, the value and what is allowed."""


class Group(BaseModel):
    """One concern's parameters (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @classmethod
    def semantic_fields(cls) -> list[str]:
        return [k for k, f in cls.model_fields.items()
                if not (isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("semantic") is False)]

    def unused(self) -> set[str]:
        """Fields that mean nothing given the others (a group-local rule, e.g. the parallel-text
        knobs without parallel text); left out of :meth:`canonical`.  Default: none."""
        return set()

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "parameters"):
        """Validate ``values`` into this group, raising :class:`ParamsError` with a readable message."""
        unknown = [k for k in values if k not in cls.model_fields]
        if unknown:
            raise ParamsError(unknown_key_message(unknown[0], list(cls.model_fields), where))
        try:
            return cls(**values)
        except ValidationError as e:
            raise ParamsError(f"{where}: " + format_validation_error(e)) from None

    def canonical(self) -> dict[str, Any]:
        """What this group contributes to a cache key: its semantic fields minus the unused ones."""
        skip = self.unused()
        dump = self.model_dump()
        return {k: dump[k] for k in self.semantic_fields() if k not in skip}


def unknown_key_message(key: str, allowed: list[str], where: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{where}: unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"


def format_validation_error(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "value"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg} (got {err.get('input')!r})" if loc != "value" else msg)
    return "; ".join(parts)
