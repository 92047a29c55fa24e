"""The noise knobs as one parameter group, and the label that names a noise setting.

The method and its strength belong to the stage that injects noise (``noise`` /
``noise_scale`` for target fine-tuning, ``intermediate_noise`` / ``intermediate_noise_scale``
for intermediate training); the knobs below are shared by both.  :func:`setting_label`
names a setting with the method and every knob it uses; that label is the metrics'
``noise_setting`` column and the noise part of a stage's cache key, so two settings share
a key exactly when they share a label.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from xltkit.core.params import Group
from xltkit.core.paths import ProjectPath
from xltkit.modeling.noise.methods import NOISE_METHODS, SYNONYM_SOURCES, token_methods


class NoiseParams(Group):
    """Knobs of the noise methods (Huang et al. 2021 and the token-level methods), shared by
    ``intermediate_noise`` and ``noise``; each method reads only its own."""

    noise_distribution: Literal["ball", "gaussian"] = Field(
        "ball", description="rs-rp: 'ball' = uniform in the L2 ball of radius noise_scale per token; "
        "'gaussian' = N(0, noise_scale^2/hidden) per coordinate (RMS norm noise_scale per token)")
    noise_samples: int = Field(1, ge=1, description="rs-rp: noise draws per example and step (the batch is repeated "
                               "this many times; cost grows with it)")
    adv_steps: int = Field(1, ge=1, description="adv: K, ascent steps on the embedding perturbation per step")
    adv_step_size: float | None = Field(None, gt=0, description="adv: ascent step size; "
                                        "None = 2.5*noise_scale/adv_steps (Madry et al. 2018)")
    adv_norm: Literal["l2", "linf"] = Field("l2", description="adv: norm of the per-token bound noise_scale")
    adv_variant: Literal["pgd", "freelb"] = Field(
        "pgd", description="adv: 'pgd' = K ascent steps then one descent step on the last perturbation (K+1 passes); "
        "'freelb' = parameter gradients averaged over the K ascent steps (K passes)")
    synonym_file: ProjectPath | None = Field(None, description="rs-da: a TSV, one line per word: "
                                     "word<TAB>synonym[<TAB>synonym...], or Huang et al.'s JSON "
                                     "{word: [neighbours]} (counterfitted_neighbors.json); None = nearest "
                                     "neighbours in the encoder's input-embedding space")
    synonym_source: Literal["file", "neighbours", "lab"] | None = Field(
        None, description="rs-da: where synonyms come from: 'file' = synonym_file; 'neighbours' = the "
        "synonym_neighbours nearest words in the encoder's input-embedding space; 'lab' = the task's own synonym "
        "lexicon of the training language (the lab's Lab.synonyms); None = 'file' if synonym_file is set, else "
        "'neighbours'")
    synonym_neighbours: int = Field(5, ge=1, description="rs-da with synonym_source 'neighbours': neighbours per word")
    rs_da_copies: int | None = Field(None, ge=1, description="rs-da: train on exactly this many perturbed copies of "
                                     "the training set, the original not kept (Huang et al. 2021's setting: 10 for "
                                     "PAWS-X, 3 for XNLI, with noise_scale 1: every word with neighbours redrawn "
                                     "uniformly from itself and its neighbours); None = as many fresh copies as the "
                                     "training steps consume")
    noise_scale_unit: Literal["absolute", "relative"] = Field(
        "absolute", description="rs-rp, adv: unit of noise_scale (and adv_step_size). 'absolute' = input-embedding "
        "units; 'relative' = a multiple of the encoder's own input word embeddings, measured when training starts: "
        "the mean L2 norm of the embedding rows for L2 bounds (rs-rp ball, adv l2), the per-coordinate RMS for "
        "adv linf (epsilon per coordinate) and rs-rp gaussian (std per coordinate), so one setting means the same "
        "across encoders")
    code_switch_langs: list[str] | None = Field(None, description="code-switch: languages of the task whose "
                                                "dictionary words replace source words; None = all its other "
                                                "languages")
    code_switch_files: dict[str, ProjectPath] | None = Field(
        None, description="code-switch: bilingual dictionaries from files instead of the task's own, target "
        "language -> path of a MUSE-style file (one 'source_word target_word' pair per line, whitespace-separated; "
        "Conneau et al. 2018), e.g. {fin: dicts/en-fi.txt}; the first translation of a word is used")

    @field_validator("code_switch_files")
    @classmethod
    def _dictionaries_readable(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is not None:
            from xltkit.modeling.noise.resources import read_dictionary

            if not v:
                raise ValueError("code_switch_files: give at least one language: path, or None for the task's own")
            for path in v.values():
                read_dictionary(path)  # raises ValueError naming the file, the line and the format
        return v

    @field_validator("synonym_file")
    @classmethod
    def _synonyms_readable(cls, v: str | None) -> str | None:
        if v is not None:
            from xltkit.modeling.noise.resources import read_synonym_table

            read_synonym_table(v)  # raises ValueError naming the line and the expected format
        return v

    @model_validator(mode="after")
    def _consistent(self):
        if self.code_switch_langs == []:
            raise ValueError("code_switch_langs: give at least one language, or None for all other languages")
        if self.synonym_source == "file" and self.synonym_file is None:
            raise ValueError("synonym_source='file' needs synonym_file (a TSV: word<TAB>synonym[<TAB>synonym...], "
                             "or a JSON {word: [neighbours]} as Huang et al.'s counterfitted_neighbors.json); "
                             f"or choose another synonym_source ({', '.join(SYNONYM_SOURCES)})")
        if self.synonym_source in ("neighbours", "lab") and self.synonym_file is not None:
            raise ValueError(f"synonym_file is only read with synonym_source='file' (got synonym_source="
                             f"{self.synonym_source!r}); drop one of them")
        return self

    def canonical(self) -> dict:
        """Never hashed whole: a stage's key holds the :func:`setting_label` of its method."""
        raise TypeError("NoiseParams enter cache keys through setting_label(method, scale, knobs, source)")

    @property
    def resolved_synonym_source(self) -> str:
        return self.synonym_source or ("file" if self.synonym_file else "neighbours")


def check_method(method: str, name: str) -> str:
    if method not in NOISE_METHODS:
        raise ValueError(f"unknown {name} method {method!r}; allowed: {', '.join(NOISE_METHODS.names())}")
    return method


def check_scale(method: str, scale: float, name: str) -> None:
    """``{name}_scale`` must fit ``method``: zero without noise, positive with it, a probability for word noise."""
    key = f"{name}_scale"
    if method == "none" and scale != 0:
        raise ValueError(f"{key}={scale} has no effect with {name}='none'; set it to 0 or choose a method "
                         f"({', '.join(NOISE_METHODS.names()[1:])})")
    if method != "none" and scale <= 0:
        raise ValueError(f"{name}={method!r} needs {key} > 0 (got {scale})")
    if method in token_methods() and scale > 1:
        raise ValueError(f"{key} is a probability per word for {name}={method!r}; "
                         f"allowed: 0 < {key} <= 1 (got {scale})")


def setting_label(method: str, scale: float, knobs: NoiseParams, source_lang: str = "") -> str:
    """A short deterministic label of a noise setting: the method and every knob it uses, e.g.
    ``"adv(pgd,l2,K=3,eps=0.01,rel)"``, ``"none"``.

    Two settings get the same label exactly when their noise is the same (the knobs a method
    does not use are left out), so analyses group by it and cache keys hash it.  Numbers
    are written as Python's shortest round-trip repr; a synonym file or dictionary is named
    by its base name (or language) and a hash of its content.  ``source_lang`` is the
    training language (code-switching never switches into it).

    >>> setting_label("rs-rp", 0.1, NoiseParams())
    'rs-rp(ball,r=0.1,m=1)'
    """
    if method == "none":
        return "none"
    return f"{method}({','.join(NOISE_METHODS[method].label(repr(float(scale)), knobs, source_lang))})"
