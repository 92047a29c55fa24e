"""Typed parameters of every pipeline stage, and experiment files that expand into runs.

Each stage's parameters are one pydantic class whose field names are the notebook's
parameter names.  Downstream stages inherit upstream fields, because a stage's result
depends on everything upstream of it: the hash of a stage's *relevant* fields is the
key of its cached output, so two runs that share a pretraining share it on disk.

An experiment file (YAML) holds ``shared`` settings plus a ``grid`` (a mapping of lists,
or a list of such mappings whose products are joined, like scikit-learn's
``ParameterGrid``).  Unknown keys and bad values are refused before any work starts, with
the key, the allowed values and a suggestion.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from xltkit.controls import PAIR_ONLY_RULES, RULES
from xltkit.lab import DEFAULT_LANGS, PRESETS
from xltkit.tasks import TASKS, task_code_hash

LAB_MODELS = ("lab-bert", "lab-bert-untrained")
MODELS = LAB_MODELS + RULES
# Noise injection (robust training, Huang et al. 2021); the methods live in xltkit.noise.
EMBEDDING_NOISE = ("rs-rp", "adv")  # perturb the input word embeddings
TOKEN_NOISE = ("word-dropout", "word-swap", "char-noise", "rs-da", "code-switch")  # rewrite the training words
PAIR_UNSAFE_NOISE = ("word-dropout", "word-swap")  # may change what a sentence pair means (a dropped 'not')
NOISE_METHODS = ("none",) + EMBEDDING_NOISE + TOKEN_NOISE
#: the method-specific knobs, and which methods use them (the others ignore them: not in cache keys)
NOISE_KNOBS: dict[str, tuple[str, ...]] = {
    "noise_distribution": ("rs-rp",),
    "noise_samples": ("rs-rp",),
    "adv_steps": ("adv",),
    "adv_step_size": ("adv",),
    "adv_norm": ("adv",),
    "adv_variant": ("adv",),
    "noise_scale_unit": ("rs-rp", "adv"),
    "synonym_file": ("rs-da",),
    "synonym_source": ("rs-da",),
    "synonym_neighbours": ("rs-da",),
    "code_switch_langs": ("code-switch",),
    "code_switch_files": ("code-switch",),
}
#: knobs that enter a cache key only away from these values (the keys runs had before the knob existed)
NOISE_KNOB_NEUTRAL: dict[str, tuple[Any, ...]] = {
    "noise_scale_unit": ("absolute",),
    "synonym_source": (None, "file", "neighbours"),  # file vs neighbours is already said by synonym_file
    "code_switch_files": (None,),
}
SCALE_UNITS = ("absolute", "relative")
SYNONYM_SOURCES = ("file", "neighbours", "lab")


def file_digest(path: str | Path) -> str:
    """The first 8 hex digits of a file's SHA-1 ("missing" where there is no file)."""
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()[:8] if Path(path).is_file() else "missing"


def _check_noise_method(v: str, name: str) -> str:
    if v not in NOISE_METHODS:
        raise ValueError(f"unknown {name} method {v!r}; allowed: {', '.join(NOISE_METHODS)}")
    return v


def _check_noise_scale(method: str, scale: float, name: str) -> None:
    """``{name}_scale`` must fit ``method``: zero without noise, positive with it, a probability for word noise."""
    key = f"{name}_scale"
    if method == "none" and scale != 0:
        raise ValueError(f"{key}={scale} has no effect with {name}='none'; set it to 0 or choose a method "
                         f"({', '.join(NOISE_METHODS[1:])})")
    if method != "none" and scale <= 0:
        raise ValueError(f"{name}={method!r} needs {key} > 0 (got {scale})")
    if method in TOKEN_NOISE and scale > 1:
        raise ValueError(f"{key} is a probability per word for {name}={method!r}; "
                         f"allowed: 0 < {key} <= 1 (got {scale})")


def _check_code_switch(p, src: str, name: str) -> None:
    if p.code_switch_files:
        return  # dictionaries from files: any languages
    if not [c for c in (p.code_switch_langs or p.langs) if c != src]:
        others = ", ".join(c for c in p.langs if c != src) or "(none in langs)"
        raise ValueError(f"{name}='code-switch' needs a language other than {src!r} to switch to; "
                         f"set code_switch_langs to some of: {others}")


def _known_task(v: str) -> str:
    if v not in TASKS:
        raise ValueError(f"unknown task {v!r}; allowed: {', '.join(TASKS)}")
    return v


def _check_pair_noise(method: str, task: str, name: str) -> None:
    if method in PAIR_UNSAFE_NOISE and TASKS[task].kind == "pair":
        safe = ", ".join(m for m in NOISE_METHODS if m not in PAIR_UNSAFE_NOISE)
        raise ValueError(f"{name}={method!r} can change the label of a sentence pair of {task!r} (a dropped 'not' "
                         f"turns a contradiction into an entailment); allowed for pair tasks: {safe}")


class ParamsError(ValueError):
    """Bad parameters: the message names the key, the value and what is allowed."""


class StageParams(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    #: fields that say where or how fast, not what: never part of a cache key
    NON_SEMANTIC: ClassVar[frozenset[str]] = frozenset({"cache_dir", "threads", "run_dir", "experiment", "experiment_dir"})

    def relevant(self) -> dict[str, Any]:
        """The fields that determine this stage's result (its cache key is their hash)."""
        return {k: v for k, v in self.model_dump().items() if k not in self.NON_SEMANTIC}

    def key(self) -> str:
        """Hash of :meth:`relevant` and the xltkit version (bump the version when a change
        alters results, so that cached outputs of the old code are not reused)."""
        from xltkit import __version__

        blob = json.dumps({**self.relevant(), "xltkit": __version__}, sort_keys=True, default=str)
        return hashlib.sha1(blob.encode()).hexdigest()[:12]

    @classmethod
    def field_names(cls) -> list[str]:
        return list(cls.model_fields)

    @classmethod
    def from_dict(cls, values: dict[str, Any], where: str = "parameters"):
        """Validate ``values`` into this class, raising :class:`ParamsError` with a readable message."""
        unknown = [k for k in values if k not in cls.model_fields]
        if unknown:
            raise ParamsError(_unknown_key_message(unknown[0], cls.field_names(), where))
        try:
            return cls(**values)
        except ValidationError as e:
            raise ParamsError(f"{where}: " + _format_validation_error(e)) from None


#: data and pretraining knobs added after the first runs, with the value that reproduces the runs from
#: before each existed: a knob enters a cache key only away from that value (as NOISE_KNOBS do), so
#: existing caches and run ids stay valid
LATE_KNOB_DEFAULTS: dict[str, Any] = {
    "cognate_share": 0.0,
    "synonym_rate": 0.0,
    "n_synonyms": 1,
    "numeral_share": 0.0,
    "parallel_sentences": 0,
    "parallel_low_resource": True,
    "parallel_source": "lab_eng",
    "tlm_share": 0.0,
    "init_std": 0.05,  # the default since 0.2.1 (0.02, BERT's, stalled the calibration lab); moving a
    # default here changes what the dropped value means, so it needs a version bump (0.2.0 -> 0.2.1 did it)
}
PARALLEL_KNOBS = ("parallel_sentences", "parallel_low_resource", "parallel_source")
#: the shortest max_length that holds a translation pair of lab sentences ([CLS] a [SEP] b [SEP])
TLM_MIN_LENGTH = 64


def _drop_late_defaults(d: dict[str, Any]) -> dict[str, Any]:
    for k, v in LATE_KNOB_DEFAULTS.items():
        if k in d and d[k] == v:
            d.pop(k)
    return d


class DataParams(StageParams):
    """Stage 00, data: the lab's languages, corpora and tokenizer; optionally parallel text
    (the same meanings rendered in ``parallel_source`` and another language) for
    translation language modelling."""

    langs: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGS), description="lab languages")
    lab_seed: int = Field(0, description="seed of the world, the lexicons and every corpus and task set")
    shared_share: float = Field(0.2, ge=0, le=1, description="share of concepts with one form in all languages")
    sentences_high: int = Field(2000, ge=10, description="pretraining sentences of a high-resource language")
    low_resource_ratio: float = Field(0.125, gt=0, le=1, description="low-resource sentences = ratio x sentences_high")
    vocab_size: int = Field(800, ge=100, description="WordPiece vocabulary size of the lab tokenizer")
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
    n_train: int = Field(600, ge=10, description="training examples per task and language")
    n_dev: int = Field(100, ge=10, description="dev examples per task and language (parallel across languages)")
    n_test: int = Field(200, ge=10, description="test examples per task and language (parallel across languages)")
    cache_dir: str = Field("outputs/cache", description="where stage outputs are cached, keyed by parameters")

    @field_validator("langs")
    @classmethod
    def _langs_known(cls, v: list[str]) -> list[str]:
        for code in v:
            if code not in PRESETS:
                raise ValueError(f"unknown lab language {code!r}; allowed: {', '.join(PRESETS)}")
        if len(set(v)) != len(v):
            raise ValueError("langs lists a language twice")
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

    def parallel_langs(self) -> list[str]:
        """The languages that get ``parallel_sentences`` pairs with ``parallel_source``."""
        from xltkit.lab import get_spec

        if not self.parallel_sentences:
            return []
        return [c for c in self.langs if c != self.parallel_source
                and (self.parallel_low_resource or get_spec(c).resource != "low")]

    def relevant(self) -> dict[str, Any]:
        d = super().relevant()
        for k in ("n_train", "n_dev", "n_test"):  # task sets are built on demand by the stages that use them
            d.pop(k)
        if not self.parallel_sentences:  # the other parallel knobs mean nothing without parallel text
            for k in PARALLEL_KNOBS:
                d.pop(k)
        return _drop_late_defaults(d)


class PretrainParams(DataParams):
    """Stage 01, pretrain: masked language modelling of a tiny BERT on the lab corpora."""

    model: str = Field("lab-bert", description=f"encoder or control, one of {', '.join(MODELS)}")
    hidden_size: int = Field(128, ge=8)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(4, ge=1)
    max_length: int = Field(64, ge=8, description="maximum tokens per input (a sentence, or both sentences of a "
                            "pair task), [CLS] and [SEP] included")
    pretrain_steps: int = Field(20, ge=0, description="MLM optimisation steps")
    pretrain_batch_size: int = Field(128, ge=1)
    pretrain_lr: float = Field(2e-3, gt=0)
    mask_prob: float = Field(0.2, gt=0, lt=1)
    language_alpha: float = Field(0.5, ge=0, le=1, description="exponent of language sampling by corpus size (XLM)")
    pretrain_seed: int = Field(0)
    tlm_share: float = Field(0.0, ge=0, lt=1, description="share of pretraining sequences that are a parallel pair "
                             "'[CLS] source [SEP] other [SEP]' (segment ids 0/1, masked in both halves): translation "
                             "language modelling (Conneau & Lample 2019, sec. 3.3); needs parallel_sentences > 0 and "
                             f"max_length >= {TLM_MIN_LENGTH}")
    init_std: float = Field(0.05, gt=0, description="std of the normal initialisation of the encoder's weights and "
                            "embeddings (BERT's initializer_range); BERT-base's 0.02 left the hidden-128 encoder on "
                            "the unigram plateau for 400 to over 1,400 steps in 8-language labs, 0.05 leaves it "
                            "within about 200 (README, calibration)")
    threads: int = Field(1, ge=1, description="torch threads (one thread per worker is fastest on small CPUs)")

    @field_validator("model")
    @classmethod
    def _model_known(cls, v: str) -> str:
        if v not in MODELS:
            raise ValueError(f"unknown model {v!r}; allowed: {', '.join(MODELS)}")
        return v

    @model_validator(mode="after")
    def _heads_divide(self):
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size={self.hidden_size} must be a multiple of num_heads={self.num_heads}")
        return self

    @model_validator(mode="after")
    def _tlm_has_pairs(self):
        if self.tlm_share > 0:
            if not self.parallel_sentences:
                raise ValueError(f"tlm_share={self.tlm_share} needs parallel text: set parallel_sentences > 0 "
                                 "(pairs per language), or tlm_share: 0")
            if self.max_length < TLM_MIN_LENGTH:
                raise ValueError(f"tlm_share={self.tlm_share}: a translation pair holds two sentences, so max_length "
                                 f"must be at least {TLM_MIN_LENGTH} (got {self.max_length})")
        return self

    def relevant(self) -> dict[str, Any]:
        d = super().relevant()
        if self.model != "lab-bert":  # untrained encoders and rules ignore the pretraining recipe
            for k in ("pretrain_steps", "pretrain_batch_size", "pretrain_lr", "mask_prob", "language_alpha",
                      "tlm_share"):
                d.pop(k, None)
        if self.model != "lab-bert" or not self.tlm_share:  # parallel text is only read by TLM
            for k in PARALLEL_KNOBS:
                d.pop(k, None)
        return d


class IntermediateParams(PretrainParams):
    """Stage 02, intermediate: task training in one language before the target task."""

    intermediate_task: str = Field("roles", description=f"one of {', '.join(TASKS)}")
    intermediate_lang: str = Field("none", description="lab language of the intermediate task, or 'none'")
    intermediate_steps: int = Field(20, ge=1)
    intermediate_lr: float = Field(5e-4, gt=0)
    batch_size: int = Field(32, ge=1)
    seed: int = Field(0, description="seed of intermediate and target training, and of their noise")
    intermediate_noise: str = Field("none", description="noise injection while training the intermediate task, one of "
                                    + ", ".join(NOISE_METHODS) + " (see noise)")
    intermediate_noise_scale: float = Field(0.0, ge=0, description="strength of intermediate_noise (see noise_scale)")
    # knobs of the noise methods, shared by intermediate_noise and noise (xltkit.noise)
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
    synonym_file: str | None = Field(None, description="rs-da: TSV, one line per word: "
                                     "word<TAB>synonym[<TAB>synonym...]; None = nearest neighbours in the "
                                     "encoder's input-embedding space")
    synonym_source: Literal["file", "neighbours", "lab"] | None = Field(
        None, description="rs-da: where synonyms come from: 'file' = synonym_file; 'neighbours' = the "
        "synonym_neighbours nearest words in the encoder's input-embedding space; 'lab' = the lab's own synonym "
        "lexicon of the training language (Lab.synonyms); None = 'file' if synonym_file is set, else 'neighbours'")
    synonym_neighbours: int = Field(5, ge=1, description="rs-da with synonym_source 'neighbours': neighbours per word")
    noise_scale_unit: Literal["absolute", "relative"] = Field(
        "absolute", description="rs-rp, adv: unit of noise_scale (and adv_step_size). 'absolute' = input-embedding "
        "units; 'relative' = a multiple of the encoder's own input word embeddings, measured when training starts: "
        "the mean L2 norm of the embedding rows for L2 bounds (rs-rp ball, adv l2), the per-coordinate RMS for "
        "adv linf (epsilon per coordinate) and rs-rp gaussian (std per coordinate), so one setting means the same "
        "across encoders")
    code_switch_langs: list[str] | None = Field(None, description="code-switch: lab languages whose dictionary words "
                                                "replace source words; None = all other langs")
    code_switch_files: dict[str, str] | None = Field(
        None, description="code-switch: bilingual dictionaries from files instead of the lab's, target language -> "
        "path of a MUSE-style file (one 'source_word target_word' pair per line, whitespace-separated; Conneau et "
        "al. 2018), e.g. {fin: dicts/en-fi.txt}; the first translation of a word is used")

    @field_validator("code_switch_files")
    @classmethod
    def _dictionaries_readable(cls, v: dict[str, str] | None) -> dict[str, str] | None:
        if v is not None:
            from xltkit.noise import read_dictionary

            if not v:
                raise ValueError("code_switch_files: give at least one language: path, or None for the lab's")
            for path in v.values():
                read_dictionary(path)  # raises ValueError naming the file, the line and the format
        return v

    @field_validator("intermediate_noise")
    @classmethod
    def _inter_noise_known(cls, v: str) -> str:
        return _check_noise_method(v, "intermediate_noise")

    @field_validator("synonym_file")
    @classmethod
    def _synonyms_readable(cls, v: str | None) -> str | None:
        if v is not None:
            from xltkit.noise import read_synonym_table

            read_synonym_table(v)  # raises ValueError naming the line and the expected format
        return v

    @model_validator(mode="after")
    def _inter_noise_consistent(self):
        _check_noise_scale(self.intermediate_noise, self.intermediate_noise_scale, "intermediate_noise")
        _check_pair_noise(self.intermediate_noise, self.intermediate_task, "intermediate_noise")
        for code in self.code_switch_langs or []:
            if code not in self.langs:
                raise ValueError(f"code_switch_langs: {code!r} is not in langs; allowed: {', '.join(self.langs)}")
        if self.code_switch_langs == []:
            raise ValueError("code_switch_langs: give at least one language, or None for all other langs")
        if self.synonym_source == "file" and self.synonym_file is None:
            raise ValueError("synonym_source='file' needs synonym_file (a TSV: word<TAB>synonym[<TAB>synonym...]); "
                             f"or choose another synonym_source ({', '.join(SYNONYM_SOURCES)})")
        if self.synonym_source in ("neighbours", "lab") and self.synonym_file is not None:
            raise ValueError(f"synonym_file is only read with synonym_source='file' (got synonym_source="
                             f"{self.synonym_source!r}); drop one of them")
        uses_rs_da = "rs-da" in (getattr(self, "noise", "none"), self.intermediate_noise)
        if uses_rs_da and self.synonym_source == "lab" and self.synonym_rate == 0:
            raise ValueError("synonym_source='lab' with synonym_rate=0: the lab's synonyms never occur in the "
                             "pretraining text, so RS-DA would insert unseen words; set synonym_rate > 0 (e.g. 0.2) "
                             "or use synonym_source='neighbours'")
        if self.intermediate_noise == "code-switch" and self.intermediate_lang != "none":
            _check_code_switch(self, self.intermediate_lang, "intermediate_noise")
        return self

    @field_validator("intermediate_task")
    @classmethod
    def _task_known(cls, v: str) -> str:
        return _known_task(v)

    @model_validator(mode="after")
    def _lang_in_lab(self):
        if self.intermediate_lang != "none" and self.intermediate_lang not in self.langs:
            raise ValueError(f"intermediate_lang {self.intermediate_lang!r} is not in langs; allowed: none, {', '.join(self.langs)}")
        if self.model in RULES and self.intermediate_lang != "none":
            raise ValueError(f"model {self.model!r} is a surface-cue rule: it takes no intermediate training "
                             "(set intermediate_lang: none)")
        return self

    def relevant(self) -> dict[str, Any]:
        d = super().relevant()
        d["n_train"] = self.n_train
        if self.intermediate_lang == "none":
            for k in ("intermediate_task", "intermediate_steps", "intermediate_lr"):
                d.pop(k)
        inter_noise = self.intermediate_noise if self.intermediate_lang != "none" else "none"
        if inter_noise == "none":  # runs without intermediate noise keep the keys they had before it existed
            d.pop("intermediate_noise")
            d.pop("intermediate_noise_scale")
        used = {inter_noise, getattr(self, "noise", "none")}
        for k, methods in NOISE_KNOBS.items():
            if not used & set(methods) or d[k] in NOISE_KNOB_NEUTRAL.get(k, ()):
                d.pop(k)
        # files count by their content: an edited synonym table or dictionary is another setting
        if d.get("synonym_file"):
            d["synonym_file"] = f"{d['synonym_file']}@{file_digest(d['synonym_file'])}"
        if d.get("code_switch_files"):
            d["code_switch_files"] = {lang: f"{path}@{file_digest(path)}" for lang, path in d["code_switch_files"].items()}
            d.pop("code_switch_langs", None)  # ignored when dictionaries come from files
        # the stages from here on train and test on task sets: the code that makes them is part of the result
        d["task_code"] = task_code_hash()
        return d


class FinetuneParams(IntermediateParams):
    """Stage 03, target fine-tuning in the source language (English-like by default)."""

    target_task: str = Field("anim", description=f"one of {', '.join(TASKS)}")
    source_lang: str = Field("lab_eng", description="language of the target-task training data")
    finetune_steps: int = Field(20, ge=1)
    finetune_lr: float = Field(5e-4, gt=0)
    freeze_embeddings: bool = Field(True, description="keep input embeddings fixed while fine-tuning (helps transfer)")
    noise: str = Field("none", description="noise injection while fine-tuning (training only, never in evaluation), "
                       "one of " + ", ".join(NOISE_METHODS))
    noise_scale: float = Field(0.0, ge=0, description="strength of noise: rs-rp radius (per-token L2 norm in "
                               "input-embedding space); adv epsilon (per-token bound); both in noise_scale_unit; "
                               "word-dropout, word-swap, char-noise, rs-da, code-switch: probability per word "
                               "(at most 1)")

    @field_validator("target_task")
    @classmethod
    def _target_known(cls, v: str) -> str:
        return _known_task(v)

    @field_validator("noise")
    @classmethod
    def _noise_known(cls, v: str) -> str:
        return _check_noise_method(v, "noise")

    @model_validator(mode="after")
    def _source_in_lab(self):
        if self.source_lang not in self.langs:
            raise ValueError(f"source_lang {self.source_lang!r} is not in langs; allowed: {', '.join(self.langs)}")
        if self.model in PAIR_ONLY_RULES and TASKS[self.target_task].kind != "pair":
            pairs = ", ".join(t for t, s in TASKS.items() if s.kind == "pair")
            raise ValueError(f"model {self.model!r} compares the two sentences of a pair task; target_task "
                             f"{self.target_task!r} has one sentence: use a pair task ({pairs}) or another control")
        _check_noise_scale(self.noise, self.noise_scale, "noise")
        _check_pair_noise(self.noise, self.target_task, "noise")
        if self.noise == "code-switch":
            _check_code_switch(self, self.source_lang, "noise")
        return self


class EvaluateParams(FinetuneParams):
    """Stage 04, zero-shot evaluation in every language; the fields of one whole run."""

    eval_langs: list[str] | None = Field(None, description="languages to evaluate (default: all langs)")
    experiment: str = Field("scratch", description="experiment name (a column of the metrics table)")
    run_dir: str = Field("outputs/scratch/run", description="where the run's metrics are written")
    generalized: bool = Field(True, description="pair tasks: also evaluate each language with the second sentence in "
                              "source_lang (the generalized cross-lingual setting; metrics column eval_setting)")

    @model_validator(mode="after")
    def _eval_in_lab(self):
        for code in self.eval_langs or []:
            if code not in self.langs:
                raise ValueError(f"eval_langs: {code!r} is not in langs; allowed: {', '.join(self.langs)}")
        return self

    def relevant(self) -> dict[str, Any]:
        return {**super().relevant(), "n_dev": self.n_dev, "n_test": self.n_test}

    def run_id(self) -> str:
        return self.key()


RunParams = EvaluateParams


class AnalysisParams(StageParams):
    """Stage 05, analysis: gains with confidence intervals, a mixed model, figures."""

    experiment_dir: str = Field("outputs/demo", description="the experiment's output folder (default: the demo's; run `make demo` first)")
    n_boot: int = Field(2000, ge=100, description="bootstrap resamples for confidence intervals")
    confidence: float = Field(0.95, gt=0.5, lt=1)
    analysis_seed: int = Field(0)
    formula: str | None = Field(None, description="an extra mixed model of the per-seed zero-shot gains, e.g. "
                                "'gain_pts ~ target_fertility * inter_fertility' (columns of the model table)")
    random: list[str] | None = Field(None, description="random intercepts of the extra model (default: eval_lang, "
                                     "and target_task / intermediate_task where they vary)")


STAGES: dict[str, type[StageParams]] = {
    "data": DataParams,
    "pretrain": PretrainParams,
    "intermediate": IntermediateParams,
    "finetune": FinetuneParams,
    "evaluate": EvaluateParams,
    "analysis": AnalysisParams,
}


class Experiment(BaseModel):
    """An experiment file: shared settings plus a grid that expands into runs."""

    model_config = ConfigDict(extra="forbid")

    experiment: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="name; outputs go to outputs/<experiment>")
    description: str = ""
    workers: int = Field(2, ge=1, description="parallel papermill processes")
    shared: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)
    analysis: dict[str, Any] = Field(default_factory=dict)

    def grids(self) -> list[dict[str, list[Any]]]:
        return self.grid if isinstance(self.grid, list) else [self.grid]

    def runs(self, outputs: str | Path = "outputs") -> list[RunParams]:
        """Every run of the grid, validated, in file order, without duplicates."""
        allowed = RunParams.field_names()
        for k in self.shared:
            if k not in RunParams.model_fields or k in ("experiment", "run_dir"):
                raise ParamsError(_unknown_key_message(k, allowed, f"{self.experiment}: shared"))
        runs: dict[str, RunParams] = {}
        for gi, g in enumerate(self.grids()):
            for k, vals in g.items():
                if k not in RunParams.model_fields or k in ("experiment", "run_dir"):
                    raise ParamsError(_unknown_key_message(k, allowed, f"{self.experiment}: grid"))
                if not isinstance(vals, list) or not vals:
                    raise ParamsError(f"{self.experiment}: grid key {k!r} must be a non-empty list, got {vals!r}")
            keys = list(g)
            for combo in itertools.product(*(g[k] for k in keys)):
                values = {**self.shared, **dict(zip(keys, combo)), "experiment": self.experiment}
                where = f"{self.experiment}: run {dict(zip(keys, combo))}"
                p = RunParams.from_dict(values, where)
                rid = p.run_id()
                p.run_dir = str(Path(outputs) / self.experiment / "runs" / rid)
                runs.setdefault(rid, p)
        if not runs:
            raise ParamsError(f"{self.experiment}: the grid expands to no runs")
        return list(runs.values())

    def analysis_params(self, outputs: str | Path = "outputs") -> AnalysisParams:
        vals = {"experiment_dir": str(Path(outputs) / self.experiment), **self.analysis}
        return AnalysisParams.from_dict(vals, f"{self.experiment}: analysis")


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment YAML file (raises :class:`ParamsError`)."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping with keys experiment, shared, grid; got {type(raw).__name__}")
    unknown = [k for k in raw if k not in Experiment.model_fields]
    if unknown:
        raise ParamsError(_unknown_key_message(unknown[0], list(Experiment.model_fields), str(path)))
    try:
        exp = Experiment(**raw)
    except ValidationError as e:
        raise ParamsError(f"{path}: " + _format_validation_error(e)) from None
    exp.runs()  # validate every run now, before any work starts
    exp.analysis_params()
    return exp


def _unknown_key_message(key: str, allowed: list[str], where: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{where}: unknown key {key!r}{hint}; allowed keys: {', '.join(allowed)}"


def _format_validation_error(e: ValidationError) -> str:
    parts = []
    for err in e.errors():
        loc = ".".join(str(x) for x in err["loc"]) or "value"
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg} (got {err.get('input')!r})" if loc != "value" else msg)
    return "; ".join(parts)

