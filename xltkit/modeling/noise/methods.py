"""The noise methods, one registry entry each.

An entry names the method's family ("embedding": perturbs input embeddings in training;
"token": rewrites the training words; "none"), the knobs (NoiseParams fields) it reads, the
function that writes its setting's label from them, and, for a token method, the
``module:function`` of its transform of one sentence (resolved when used, so that
validating parameters imports neither torch nor pandas).  A new token method is its
transform in :mod:`xltkit.modeling.noise.tokens` plus one entry here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xltkit.core.io import file_digest
from xltkit.core.registry import Registry

SCALE_UNITS = ("absolute", "relative")
SYNONYM_SOURCES = ("file", "neighbours", "lab")


@dataclass(frozen=True)
class NoiseMethod:
    """A noise method (see the module docstring).

    Attributes:
        label: ``(scale as repr, knobs, training language) -> parts`` of the setting label,
            naming every knob the method uses (``setting_label`` joins them).
        transform: ``"module:function"`` of a token method's one-sentence transform
            ``(words, tags, cfg, rng, ctx) -> (words, tags)``.
        moves_words: the transform drops or moves words, so BIO tags are repaired after it.
    """

    name: str
    family: str
    knobs: tuple[str, ...]
    description: str
    label: Callable[[str, Any, str], list[str]]
    transform: str | None = None
    moves_words: bool = False

    def transform_function(self) -> Callable:
        if self.transform is None:
            raise ValueError(f"noise method {self.name!r} ({self.family}) has no token transform")
        module, name = self.transform.split(":")
        return getattr(importlib.import_module(module), name)


def _relative(parts: list[str], knobs) -> list[str]:
    return parts + (["rel"] if knobs.noise_scale_unit == "relative" else [])


def _rs_rp_label(num: str, k, src: str) -> list[str]:
    return _relative([k.noise_distribution, f"r={num}", f"m={k.noise_samples}"], k)


def _adv_label(num: str, k, src: str) -> list[str]:
    parts = [k.adv_variant, k.adv_norm, f"K={k.adv_steps}", f"eps={num}"]
    if k.adv_step_size is not None:
        parts.append(f"alpha={float(k.adv_step_size)!r}")
    return _relative(parts, k)


def _probability_label(num: str, k, src: str) -> list[str]:
    return [f"p={num}"]


def _rs_da_label(num: str, k, src: str) -> list[str]:
    source = k.resolved_synonym_source
    if source == "file":
        what = f"file={Path(k.synonym_file).name}@{file_digest(k.synonym_file)}"
    elif source == "neighbours":
        what = f"neighbours={k.synonym_neighbours}"
    else:
        what = "lab"
    return [f"p={num}", what] + ([f"copies={k.rs_da_copies}"] if k.rs_da_copies else [])


def _code_switch_label(num: str, k, src: str) -> list[str]:
    if k.code_switch_files:  # told apart by content, as synonym files are
        what = "files=" + "+".join(f"{lang}@{file_digest(path)}" for lang, path in sorted(k.code_switch_files.items()))
    elif k.code_switch_langs:
        what = "to=" + "+".join(sorted(c for c in k.code_switch_langs if c != src))
    else:
        what = "to=others"
    return [f"p={num}", what]


TOKENS = "xltkit.modeling.noise.tokens"
NOISE_METHODS: Registry[NoiseMethod] = Registry("noise method")
for _m in (
    NoiseMethod("none", "none", (), "no noise", lambda num, k, src: []),
    NoiseMethod("rs-rp", "embedding", ("noise_distribution", "noise_samples", "noise_scale_unit"),
                "randomized smoothing, random perturbation of the input embeddings (radius noise_scale)", _rs_rp_label),
    NoiseMethod("adv", "embedding", ("adv_steps", "adv_step_size", "adv_norm", "adv_variant", "noise_scale_unit"),
                "adversarial training in input-embedding space (PGD or FreeLB, epsilon noise_scale)", _adv_label),
    NoiseMethod("word-dropout", "token", (), "drop each word with probability noise_scale", _probability_label,
                f"{TOKENS}:dropout_step", moves_words=True),
    NoiseMethod("word-swap", "token", (), "swap neighbouring words with probability noise_scale", _probability_label,
                f"{TOKENS}:swap_step", moves_words=True),
    NoiseMethod("char-noise", "token", (), "one character edit in each word with probability noise_scale",
                _probability_label, f"{TOKENS}:char_step"),
    NoiseMethod("rs-da", "token", ("synonym_source", "synonym_file", "synonym_neighbours", "rs_da_copies"),
                "randomized smoothing with data augmentation: synonym substitution with probability noise_scale",
                _rs_da_label, f"{TOKENS}:synonym_step"),
    NoiseMethod("code-switch", "token", ("code_switch_langs", "code_switch_files"),
                "replace words by their translation in another language with probability noise_scale",
                _code_switch_label, f"{TOKENS}:code_switch_step"),
):
    NOISE_METHODS.register(_m.name, _m)


def embedding_methods() -> tuple[str, ...]:
    return tuple(n for n, m in NOISE_METHODS.items() if m.family == "embedding")


def token_methods() -> tuple[str, ...]:
    return tuple(n for n, m in NOISE_METHODS.items() if m.family == "token")
