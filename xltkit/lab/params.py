"""The lab's parameters: the world, its languages, their corpora and the tokenizer's vocabulary.

One :class:`LabParams` group configures the whole synthetic lab of a run; the data stage
renders its corpora, and the lab's tasks and the lab encoders read it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from xltkit.core.hashing import stable_hash
from xltkit.core.params import Group, seed_field
from xltkit.lab.lab import Lab
from xltkit.lab.presets import DEFAULT_LANGS, PRESETS, get_spec

PARALLEL_KNOBS = ("parallel_sentences", "parallel_low_resource", "parallel_source")
#: the Lab constructor's arguments: what the world, the lexicons and the task sets depend on
WORLD_FIELDS = ("langs", "lab_seed", "shared_share", "cognate_share", "n_synonyms", "synonym_rate", "numeral_share")
_LABS: dict[str, Lab] = {}  # one Lab per world in a process (building lexicons is not free)


class LabParams(Group):
    """The synthetic typology lab: its languages (presets), the world's seed, the lexicon
    knobs, how much pretraining text each language gets, the tokenizer's vocabulary, and
    optionally parallel text (the same meanings rendered in ``parallel_source`` and another
    language) for translation language modelling."""

    langs: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGS), description="lab languages (presets; "
                             "`xltkit languages` lists them)")
    lab_seed: int = seed_field(0, "seed of the world, the lexicons and every corpus and task set")
    shared_share: float = Field(0.2, ge=0, le=1, description="share of concepts with one form in all languages")
    sentences_high: int = Field(2000, ge=10, description="pretraining sentences of a high-resource language")
    low_resource_ratio: float = Field(0.125, gt=0, le=1, description="low-resource sentences = ratio x sentences_high")
    vocab_size: int = Field(800, ge=100, description="vocabulary size of the lab tokenizer (SentencePiece-style BPE)")
    cognate_share: float = Field(0.0, ge=0, le=1, description="share of concepts (disjoint from the shared ones) "
                                 "whose forms descend from one proto-form by each language's regular sound changes")
    synonym_rate: float = Field(0.0, ge=0, le=1, description="share of content words rendered as one of their "
                                "synonyms instead of the main form (in corpora and task sets)")
    n_synonyms: int = Field(1, ge=0, description="synonyms per concept and language (rendered at synonym_rate; "
                            "also the lab synonym table of rs-da noise with synonym_source 'lab')")
    numeral_share: float = Field(0.0, ge=0, le=1, description="share of plural full noun phrases with a cardinal "
                                 "numeral 2..9, written in digits identical in every language (in corpora and task "
                                 "sets)")
    parallel_sentences: int = Field(0, ge=0, description="parallel pairs per language: one meaning rendered in "
                                    "parallel_source and in the language (0 = no parallel text); used by "
                                    "translation language modelling (tlm_share)")
    parallel_low_resource: bool = Field(True, description="whether low-resource languages get parallel pairs too "
                                        "(False: only high-resource ones, as in the real world's bitexts)")
    parallel_source: str = Field("lab_eng", description="the language every parallel pair shares (one of langs)")

    @field_validator("langs")
    @classmethod
    def _langs_known(cls, v: list[str]) -> list[str]:
        for code in v:
            if code not in PRESETS:
                raise ValueError(f"unknown lab language {code!r}; allowed: {', '.join(PRESETS)}")
        if len(set(v)) != len(v):
            raise ValueError("langs lists a language twice")
        if not v:
            raise ValueError("langs is empty: give at least one lab language")
        return v

    @model_validator(mode="after")
    def _lexicon_and_parallel(self):
        if self.shared_share + self.cognate_share > 1:
            raise ValueError(f"shared_share + cognate_share = {self.shared_share + self.cognate_share:g}: shared and "
                             "cognate concepts are disjoint, so the two may add up to at most 1")
        if self.synonym_rate > 0 and self.n_synonyms < 1:
            raise ValueError(f"synonym_rate={self.synonym_rate} needs n_synonyms >= 1 (got {self.n_synonyms})")
        if self.parallel_sentences:
            if self.parallel_source not in self.langs:
                raise ValueError(f"parallel_source {self.parallel_source!r} is not in langs; allowed: "
                                 f"{', '.join(self.langs)}")
            if not self.parallel_langs():
                why = "" if self.parallel_low_resource else \
                    " (parallel_low_resource is False and the others are low-resource)"
                raise ValueError(f"parallel_sentences={self.parallel_sentences}: no language besides "
                                 f"parallel_source {self.parallel_source!r} gets parallel text{why}")
        return self

    def unused(self) -> set[str]:
        # the other parallel knobs mean nothing without parallel text
        return set(PARALLEL_KNOBS[1:]) if not self.parallel_sentences else set()

    def parallel_langs(self) -> list[str]:
        """The languages that get ``parallel_sentences`` pairs with ``parallel_source``."""
        if not self.parallel_sentences:
            return []
        return [c for c in self.langs if c != self.parallel_source
                and (self.parallel_low_resource or get_spec(c).resource != "low")]

    def world(self) -> dict[str, Any]:
        """The arguments of :class:`xltkit.lab.Lab`: all the lexicons and task sets depend on."""
        return {k: getattr(self, k) for k in WORLD_FIELDS}

    def world_key(self) -> str:
        return stable_hash(self.world())

    def build(self) -> Lab:
        """The :class:`xltkit.lab.Lab` of these parameters (one per world in a process)."""
        key = self.world_key()
        if key not in _LABS:
            w = self.world()
            _LABS[key] = Lab(list(w.pop("langs")), **w)
        return _LABS[key]
