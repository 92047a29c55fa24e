"""Task training through ``transformers.Trainer``: the ``TrainingArguments`` that the
training settings (:class:`xltkit.modeling.params.TrainingParams`) make, and
:func:`train_task`, shared by intermediate training and target fine-tuning, by the lab's
tiny BERT and by hub encoders.

The defaults are the lab's (linear schedule, warm-up over a tenth of the steps, weight
decay 0.01, gradient clipping at 1.0, no evaluation during training); published recipes
are parameters, e.g. XTREME-R's (Hu et al. 2020 / Ruder et al. 2021 scripts): lr 2e-5, no
warm-up (``warmup_ratio: 0``), no weight decay, best checkpoint on the English dev set
(``eval_every``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm
from transformers import PrinterCallback, TrainerCallback, TrainingArguments

from xltkit.modeling.params import TrainingParams

if TYPE_CHECKING:
    from datasets import Dataset

    from xltkit.modeling.heads import Head
    from xltkit.modeling.noise.config import NoiseConfig
    from xltkit.tasks.base import Task


def training_arguments(out_dir: str, steps: int, lr: float, training: TrainingParams,
                       metric: tuple[str, bool] | None = None, **overrides) -> TrainingArguments:
    """The ``TrainingArguments`` of one training call; ``metric`` (name, greater is better)
    turns on evaluation every ``eval_every`` steps with the best checkpoint kept."""
    import torch

    cuda = torch.cuda.is_available()
    if training.precision != "fp32" and not cuda:
        raise RuntimeError(f"precision={training.precision!r} needs a CUDA GPU and none is visible; use precision: "
                           "fp32 on this machine")
    evaluate = training.eval_every is not None and metric is not None
    processes = int(os.environ.get("WORLD_SIZE", "1"))  # several under torchrun: one model, DDP
    if training.batch_size % processes:
        raise ValueError(f"batch_size={training.batch_size} is the global batch and must split evenly over the "
                         f"{processes} processes of this run; use a multiple of {processes}")
    kw: dict[str, Any] = dict(
        output_dir=out_dir, max_steps=steps, per_device_train_batch_size=training.batch_size // processes,
        learning_rate=lr,
        warmup_steps=training.warmup(steps), lr_scheduler_type=training.lr_scheduler,
        weight_decay=training.weight_decay, max_grad_norm=training.max_grad_norm,
        gradient_accumulation_steps=training.gradient_accumulation_steps,
        bf16=training.precision == "bf16", fp16=training.precision == "fp16",
        logging_steps=max(1, steps // 20), logging_nan_inf_filter=False, save_strategy="no", report_to="none",
        seed=training.seed, data_seed=training.seed, use_cpu=not cuda, disable_tqdm=True, dataloader_num_workers=0,
        train_sampling_strategy="group_by_length", optim="adamw_torch",
    )
    if evaluate:
        kw.update(eval_strategy="steps", eval_steps=training.eval_every, save_strategy="steps",
                  save_steps=training.eval_every, save_total_limit=2, load_best_model_at_end=True,
                  metric_for_best_model=metric[0], greater_is_better=metric[1],
                  per_device_eval_batch_size=max(64, training.batch_size))
    if processes > 1:  # the logged loss per example, not multiplied by the number of processes (FACTS.md)
        kw["average_tokens_across_devices"] = False
    kw.update(overrides)
    return TrainingArguments(**kw)


#: how ``tokenizer.pad`` pads each input column besides the main one (right side)
_PAD_VALUES = {"attention_mask": 0, "special_tokens_mask": 1}
_LABELS = ("label", "labels", "label_ids")


class FastPadding:
    """The batches of a ``DataCollatorWithPadding`` or ``DataCollatorForTokenClassification``
    (dynamic padding to the longest row, rounded up to ``pad_to_multiple_of``, on the right),
    the same tensors without ``tokenizer.pad``'s per-row work (0.7 ms of a 32-row batch,
    0.1 ms here; ``benchmarks/bench_train.py``). A batch it does not know (other columns,
    nested rows) goes to the wrapped collator; :func:`fast_padding` wraps only the cases it copies."""

    def __init__(self, collator):
        tok = collator.tokenizer
        self.collator, self.main, self.multiple = collator, tok.model_input_names[0], collator.pad_to_multiple_of
        self.pads = {**_PAD_VALUES, "token_type_ids": tok.pad_token_type_id, self.main: tok.pad_token_id}
        self.mask = "attention_mask" in tok.model_input_names
        self.token_labels = getattr(collator, "label_pad_token_id", None)  # token classification: labels padded

    def __call__(self, features):
        from transformers import BatchEncoding

        first = features[0]
        known = set(self.pads) | set(_LABELS)
        main = first.get(self.main)
        if (not isinstance(main, list) or not main or not isinstance(main[0], int) or not set(first) <= known
                or ("attention_mask" in first) != self.mask or len(set(first) & set(_LABELS)) > 1
                or (self.token_labels is not None and "label_ids" in first)):
            return self.collator(features)
        width = max(len(f[self.main]) for f in features)
        if self.multiple and width % self.multiple:
            width = (width // self.multiple + 1) * self.multiple
        out = {}
        for key in first:
            rows = [f[key] for f in features]
            if key in _LABELS and self.token_labels is None:  # one label per row
                out["labels" if key in ("label", "label_ids") else key] = torch.tensor(rows)
            else:  # filled in numpy: a quarter of the time of torch.tensor on nested lists
                block = np.full((len(rows), width), self.token_labels if key in _LABELS else self.pads[key], np.int64)
                for i, r in enumerate(rows):
                    block[i, :len(r)] = r
                out[key] = torch.from_numpy(block)
        return BatchEncoding(out)


def fast_padding(collator):
    """``collator`` as :class:`FastPadding` where that gives the same batches, else ``collator`` itself."""
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding

    tok = getattr(collator, "tokenizer", None)
    if (type(collator) not in (DataCollatorWithPadding, DataCollatorForTokenClassification) or tok is None
            or collator.padding not in (True, "longest") or collator.max_length is not None
            or collator.return_tensors != "pt" or tok.padding_side != "right" or tok.pad_token_id is None):
        return collator
    return FastPadding(collator)


class TextProgress(TrainerCallback):
    """A plain-text tqdm bar (``tqdm.auto`` bars do not advance under papermill)."""

    def __init__(self, desc: str):
        self.desc, self.bar, self.last_loss = desc, None, math.nan

    def on_train_begin(self, args, state, control, **kw):
        self.bar = tqdm(total=state.max_steps, desc=self.desc, mininterval=5, ascii=True)

    def on_step_end(self, args, state, control, **kw):
        self.bar.update(1)

    def on_log(self, args, state, control, logs=None, **kw):
        if logs and "loss" in logs:
            self.last_loss = float(logs["loss"])
            self.bar.set_postfix(loss=f"{self.last_loss:.3f}", refresh=False)

    def on_train_end(self, args, state, control, **kw):
        self.bar.close()


class NoFinalCheckpoint(TrainerCallback):
    """The Trainer saves a checkpoint at the last step whenever it saves by steps: the stage
    saves its model right after and deletes its checkpoints, so that one (weights and
    optimizer: gigabytes for a hub model) would be written for nothing."""

    def on_step_end(self, args, state, control, **kw):
        if state.global_step >= state.max_steps:
            control.should_save = False


def run_trainer(model, args, dataset, collator, desc: str, noise: "NoiseConfig | None" = None, eval_dataset=None,
                compute_metrics=None, checkpoint: str | None = None) -> dict:
    """Train with :class:`xltkit.modeling.trainer.NoisyTrainer`; the statistics of the run
    (steps, seconds, loss curve, the noise actually applied, the best dev score)."""
    from xltkit.modeling import checkpoints
    from xltkit.modeling.trainer import NoisyTrainer

    ck, resume, resumed, ours = checkpoints.current(), None, {}, False
    if ck is not None:  # the stage keeps checkpoints: save them where a kill leaves them, resume from the last
        folder = ck.for_call(checkpoint or desc)
        changes = {"output_dir": str(folder)}
        ours = args.save_strategy == "no"
        if ours:  # one more kept than asked: the Trainer rotates before the newest is marked complete
            changes.update(save_strategy="steps", save_steps=ck.every, save_total_limit=ck.keep + 1)
        else:  # evaluation during training saves at its own steps, and keeps the best one besides
            changes.update(save_total_limit=max(ck.keep + 1, args.save_total_limit or 0))
        args = dataclasses.replace(args, **changes)
        resume = checkpoints.latest(folder, ck.problems)
        if resume is not None:
            resumed = {"resumed_from_step": int(resume.rsplit("-", 1)[-1])}
            print(f"{desc}: resuming from {resume}", flush=True)
        if ck.problems:
            resumed["checkpoint_problems"] = list(ck.problems)
    callbacks = [TextProgress(desc)] + ([NoFinalCheckpoint()] if ck is not None and ours else [])
    trainer = NoisyTrainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                           callbacks=callbacks, noise=noise, desc=desc, eval_dataset=eval_dataset,
                           compute_metrics=compute_metrics)
    trainer.remove_callback(PrinterCallback)  # our bar shows the loss; no dict per log step
    t0 = time.time()
    out = trainer.train(resume_from_checkpoint=resume)
    secs = time.time() - t0
    trainer.check_finite_weights()
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    stats = {"steps": int(out.global_step), "seconds": round(secs, 2), "final_loss": losses[-1] if losses else math.nan,
             "loss_curve": losses, **({"noise_applied": trainer.applied} if trainer.applied else {}), **resumed,
             **({"processes": args.world_size} if args.world_size > 1 else {})}
    if eval_dataset is not None:
        stats["dev_curve"] = [{k: v for k, v in h.items() if k.startswith("eval_") or k == "step"}
                              for h in trainer.state.log_history if any(k.startswith("eval_") for k in h)]
        best = trainer.state.best_model_checkpoint  # a folder in a temporary directory: keep its step
        stats["best_step"] = int(best.rsplit("-", 1)[-1]) if best else None
        stats["best_metric"] = trainer.state.best_metric
    return stats


@dataclass
class TrainJob:
    """One training call: how long, how fast, with what noise, and where from."""

    steps: int
    lr: float
    training: TrainingParams
    desc: str
    checkpoint: str | None = None  # the name of its checkpoint folder inside the stage's (default: desc); not the
    # task's name, where one stage output serves several targets (XQuAD and MLQA share their SQuAD fine-tune)
    freeze_embeddings: bool = False
    noise: "NoiseConfig | None" = None
    dev: Any = None  # a task dataset in the training language, for eval_every
    epochs: float | None = None  # where ``steps`` came from epochs over the examples: counted again over the
    # features where a head makes several of one example (QA windows), as epochs over features


def train_task(model, tokenizer, data: "pd.DataFrame | Dataset", task: "Task", head: "Head", job: TrainJob) -> dict:
    """Fine-tune ``model`` on a task's training set (a ``datasets.Dataset``, as the task loads
    it, or a frame) for ``job.steps`` steps (the model is changed in place).

    ``job.noise`` (default: none) is injected in training only.  Token-level methods
    rewrite the training frame: as many independently drawn noisy copies as the steps
    consume (``ceil(steps * batch_size * accumulation / len(frame))``), so an example seen
    twice is seen with fresh noise, as randomized smoothing wants.

    The encoded training (and dev) set comes from the stage's tokenized cache where it has
    one (:mod:`xltkit.modeling.tokenized`): a dataset is encoded as it is, so its
    ``datasets`` fingerprint keys it; noisy copies are keyed by their rows (RS-DA copies
    from the encoder's own embedding neighbours are not kept: other runs seldom encode them).
    """
    from datasets import Dataset

    from xltkit.modeling import tokenized
    from xltkit.modeling.noise import token_methods
    from xltkit.modeling.noise.config import NoiseConfig
    from xltkit.tasks.base import HEADS

    noise = job.noise or NoiseConfig()
    if job.freeze_embeddings:  # the whole embedding block (words, positions, segments, its LayerNorm) where
        # the encoder has one, as BERT and XLM-R do; else the input word embeddings
        block = getattr(model.base_model, "embeddings", None)
        block = model.get_input_embeddings() if block is None else block
        for prm in block.parameters():
            prm.requires_grad = False
    stats_noise = noise.summary()
    frame = data if isinstance(data, pd.DataFrame) else None
    keep = True  # the encoding kept for later runs (in the stage's tokenized cache)
    if noise.method in token_methods():
        from xltkit.modeling.noise.resources import embedding_synonyms
        from xltkit.modeling.noise.tokens import perturb_frame

        frame = data.to_pandas() if frame is None else frame
        synonyms = noise.synonyms
        if noise.method == "rs-da" and synonyms is None:  # from every sentence, the second of a pair too
            words = {w for col in HEADS[task.head].words if col in frame for ws in frame[col] for w in ws}
            synonyms = embedding_synonyms(model, tokenizer, words, noise.synonym_neighbours)
            stats_noise["synonym_table_words"] = len(synonyms)
            keep = False  # copies drawn from this encoder's neighbours: other encoders draw others
        per_step = job.training.batch_size * job.training.gradient_accumulation_steps
        copies = noise.copies or max(1, math.ceil(job.steps * per_step / len(frame)))
        noisy = pd.concat([perturb_frame(frame, noise, c, synonyms) for c in range(copies)], ignore_index=True)
        changed = sum(list(a) != list(b) for a, b in zip(noisy["words"], pd.concat([frame] * copies)["words"]))
        stats_noise.update(copies=copies, changed_examples=round(changed / len(noisy), 4))
        frame = noisy
    contract = HEADS[task.head].columns  # the columns heads read: others (the lab's phenomena) would ride along
    if frame is not None:  # a frame (noisy copies: rows that differ by seed and noise) is keyed by its rows
        rows = Dataset.from_pandas(frame[[c for c in contract if c in frame]], preserve_index=False)
    else:  # the task's dataset as loaded: keyed by its fingerprint (files and transforms)
        rows = data.select_columns([c for c in contract if c in data.column_names])
    ds = tokenized.encode(head, tokenizer, rows, keep)
    steps, windows = job.steps, {}
    if job.epochs is not None and len(ds) != len(rows):  # QA: a long context is several windows
        from xltkit.modeling.params import steps_for

        steps = steps_for(len(ds), job.training, job.steps, job.epochs)
        windows = {"train_features": len(ds), "steps_by_examples": job.steps}
    collator = fast_padding(head.collator(tokenizer, pad_to_multiple_of=8))
    metric = compute = dev = None
    if job.training.eval_every is not None and job.dev is not None:
        from xltkit.modeling.metrics import get_metric

        m = get_metric(task.primary_metric)
        metric = (m.name, m.greater_is_better)
        dev = tokenized.encode(head, tokenizer, job.dev)

        def compute(p):
            gold, pred = head.eval_pairs(p.predictions, p.label_ids)
            return {m.name: m.value(task, gold, pred)}

    with tempfile.TemporaryDirectory() as tmp:
        args = training_arguments(tmp, steps, job.lr, job.training, metric)
        stats = run_trainer(model, args, ds, collator, job.desc, noise, eval_dataset=dev, compute_metrics=compute,
                            checkpoint=job.checkpoint)
    stats_noise.update(stats.pop("noise_applied", {}))  # relative scales: the absolute numbers used
    return {**stats, **windows, "noise": stats_noise}
