"""The modeling layer's parameter groups: the encoder (which model, its size, the lab
encoder's architecture and pretraining recipe) and training (:class:`TrainingParams`)."""

from __future__ import annotations

import math
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from xltkit.core.params import Group, seed_field


class EncoderParams(Group):
    """Which encoder (or control) a run uses, and how long its inputs may be."""

    model: str = Field("lab-bert", description="the encoder or control the run uses: a registered model (`xltkit "
                       "models` lists them: the lab's tiny BERT, its untrained control, the surface-cue rules) or "
                       "hf:<hub id or local path>")
    max_length: int = Field(64, ge=8, description="maximum tokens per input (a sentence, or both sentences of a "
                            "pair task), special tokens included")
    revision: str | None = Field(None, description="hf: encoders: the hub revision (commit, tag or branch) to load; "
                                 "None = the default branch")
    trust_remote_code: bool = Field(False, description="hf: encoders: run code from the model's repository (off "
                                    "unless you trust it)")

    qa_stride: int = Field(128, ge=1, description="extractive QA: the windows of a long context, in context tokens: "
                           "their overlap or the step between their starts, as qa_stride_mode says")
    qa_stride_mode: Literal["overlap", "step"] = Field("overlap", description="extractive QA: how qa_stride reads. "
                                                       "overlap: the tokens two windows share, as Hugging Face's "
                                                       "run_qa.py reads doc_stride (at most half of max_length); "
                                                       "step: the tokens between two windows' starts, as XTREME's "
                                                       "run_squad.py reads doc_stride (an overlap of max_length - "
                                                       "qa_stride - the question's tokens - the special tokens: "
                                                       "about 240 at 384 / 128)")
    qa_max_answer_length: int = Field(30, ge=1, description="extractive QA: the longest answer predicted, in "
                                      "subwords (XTREME: 30)")
    qa_n_best: int = Field(20, ge=1, description="extractive QA: start and end candidates per window (XTREME: 20)")
    retrieval_layer: int | None = Field(None, ge=0, description="retrieval: the hidden state pooled into sentence "
                                        "embeddings (0 = the embedding layer; None = the last layer). XTREME uses "
                                        "8 for mBERT and 14 for XLM-R large (google-research/xtreme PR 104 reports "
                                        "its layer 10, presumably 11 here, reproduces the paper's XLM-R large "
                                        "numbers)")
    retrieval_pool_special: bool = Field(True, description="retrieval: include special tokens (<s>, </s>) in the "
                                         "mean pooling, as XTREME does")

    #: knobs of heads the lab's tasks do not have (extractive QA, retrieval)
    HUB_HEAD_KNOBS: ClassVar[tuple[str, ...]] = ("qa_stride", "qa_stride_mode", "qa_max_answer_length", "qa_n_best",
                                                 "retrieval_layer", "retrieval_pool_special")

    def unused(self) -> set[str]:
        """The head knobs are never hashed with the encoder: a stage whose task has that head
        hashes them itself (:meth:`head_knobs`), so an XNLI run and a Tatoeba run share their
        intermediate-trained encoders."""
        hub = self.model.startswith(("hf:", "hf-untrained:"))
        return set(self.HUB_HEAD_KNOBS) | (set() if hub else {"revision", "trust_remote_code"})

    #: head kind -> (the knobs its training reads, the knobs its predictions read besides)
    HEAD_KNOBS: ClassVar[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
        "extractive_qa": (("qa_stride", "qa_stride_mode"), ("qa_max_answer_length", "qa_n_best", "qa_max_context")),
        "retrieval": ((), ("retrieval_layer", "retrieval_pool_special")),
    }
    #: knobs added after runs were cached: hashed only away from this value, so the keys of those runs stand
    #: (qa_max_context is on with step windows: their evaluations from before the rule are not reused)
    HEAD_KNOB_DEFAULTS: ClassVar[dict[str, object]] = {"qa_stride_mode": "overlap", "qa_max_context": False}

    @property
    def qa_max_context(self) -> bool:
        """Extractive QA: whether a span's start counts only in its max-context window, as XTREME's
        run_squad.py scores its windows: with qa_stride_mode step (XTREME's windows), not with
        overlap (Hugging Face's run_qa.py).  Read by :class:`xltkit.modeling.qa.QASettings` the same
        way; not a field of its own."""
        return self.qa_stride_mode == "step"

    def head_knobs(self, head: str, training: bool = False) -> dict:
        """The knobs a head kind reads in training (``training``) or in prediction (all of them):
        an n-best ablation retrains nothing."""
        train, predict = self.HEAD_KNOBS.get(head, ((), ()))
        return {k: getattr(self, k) for k in (train if training else train + predict)
                if k not in self.HEAD_KNOB_DEFAULTS or getattr(self, k) != self.HEAD_KNOB_DEFAULTS[k]}


class LabEncoderParams(Group):
    """The lab encoder's architecture (a small BERT) and initialisation."""

    hidden_size: int = Field(128, ge=8)
    num_layers: int = Field(2, ge=1)
    num_heads: int = Field(4, ge=1)
    init_std: float = Field(0.05, gt=0, description="std of the normal initialisation of the encoder's weights and "
                            "embeddings (BERT's initializer_range); BERT-base's 0.02 left the hidden-128 encoder on "
                            "the unigram plateau for 400 to over 1,400 steps in 8-language labs, 0.05 leaves it "
                            "within about 200 (README, calibration)")
    pretrain_seed: int = seed_field(0, "seed of the lab encoder's initialisation and of its pretraining")

    @model_validator(mode="after")
    def _heads_divide(self):
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden_size={self.hidden_size} must be a multiple of num_heads={self.num_heads}")
        return self


class PretrainParams(Group):
    """Masked language modelling of the lab encoder on the lab's corpora (and TLM on parallel text)."""

    pretrain_steps: int = Field(20, ge=0, description="MLM optimisation steps")
    pretrain_batch_size: int = Field(128, ge=1)
    pretrain_lr: float = Field(2e-3, gt=0)
    mask_prob: float = Field(0.2, gt=0, lt=1)
    language_alpha: float = Field(0.5, ge=0, le=1, description="exponent of language sampling by corpus size (XLM)")
    tlm_share: float = Field(0.0, ge=0, lt=1, description="share of pretraining sequences that are a parallel pair "
                             "'[CLS] source [SEP] other [SEP]' (segment ids 0/1, masked in both halves): translation "
                             "language modelling (Conneau & Lample 2019, sec. 3.3); needs parallel_sentences > 0 and "
                             "max_length >= 64")


SCHEDULERS = ("linear", "cosine", "cosine_with_restarts", "polynomial", "constant", "constant_with_warmup",
              "inverse_sqrt")


class TrainingParams(Group):
    """How the training stages train (intermediate task and target task alike)."""

    batch_size: int = Field(32, ge=1, description="examples per optimisation step (before accumulation); a run "
                            "on several GPUs (torchrun) splits them over its processes")
    seed: int = seed_field(0, "seed of intermediate and target training (head initialisation, data order) and of "
                              "their noise")
    lr_scheduler: str = Field("linear", description=f"learning-rate schedule after warm-up, one of "
                              f"{', '.join(SCHEDULERS)} (transformers' get_scheduler)")
    warmup_ratio: float = Field(0.1, ge=0, lt=1, description="share of the optimisation steps spent warming the "
                                "learning rate up from 0 (at least one step when > 0); 0 = no warm-up")
    warmup_steps: int | None = Field(None, ge=0, description="warm-up steps; overrides warmup_ratio when set")
    weight_decay: float = Field(0.01, ge=0, description="AdamW weight decay")
    gradient_accumulation_steps: int = Field(1, ge=1, description="batches whose gradients are summed per "
                                             "optimisation step (effective batch = batch_size x this)")
    max_grad_norm: float = Field(1.0, ge=0, description="gradient clipping norm (0 = no clipping)")
    precision: Literal["fp32", "bf16", "fp16"] = Field("fp32", description="training precision; bf16 and fp16 "
                                                       "need a CUDA GPU (bf16: Ampere or newer)")
    eval_every: int | None = Field(None, ge=1, description="evaluate on the dev set of the training language every "
                                   "this many steps and keep the checkpoint that scores best on the task's primary "
                                   "metric (None: no evaluation during training, the last step is kept)")

    @field_validator("lr_scheduler")
    @classmethod
    def _scheduler_known(cls, v: str) -> str:
        if v not in SCHEDULERS:
            raise ValueError(f"unknown lr_scheduler {v!r}; allowed: {', '.join(SCHEDULERS)}")
        return v

    def unused(self) -> set[str]:
        return {"warmup_ratio"} if self.warmup_steps is not None else set()

    def warmup(self, total_steps: int) -> int:
        """Warm-up steps for a run of ``total_steps``: ``warmup_steps``, else ``warmup_ratio`` of
        the steps rounded down, at least one when the ratio is positive."""
        if self.warmup_steps is not None:
            return self.warmup_steps
        return max(1, math.floor(self.warmup_ratio * total_steps)) if self.warmup_ratio > 0 else 0


def steps_for(n_examples: int, training: TrainingParams, steps: int, epochs: float | None) -> int:
    """Optimisation steps: ``steps``, or ``epochs`` passes over ``n_examples`` when epochs are given."""
    if epochs is None:
        return steps
    per_epoch = math.ceil(n_examples / training.batch_size)
    return max(1, math.ceil(epochs * per_epoch / training.gradient_accumulation_steps))
