"""Training: masked-language-model pretraining and task training, both through
``transformers.Trainer`` so that the real study's encoders and the lab's tiny BERT share
one code path (and later, one place to plug in noise injection)."""

from __future__ import annotations

import math
import tempfile
import time

import numpy as np
import pandas as pd
import torch
from datasets import Dataset
from tqdm import tqdm
from transformers import (
    DataCollatorForLanguageModeling,
    DataCollatorForTokenClassification,
    DataCollatorWithPadding,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)


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


def _args(out_dir: str, steps: int, batch_size: int, lr: float, seed: int, group_by_length: bool) -> TrainingArguments:
    return TrainingArguments(
        output_dir=out_dir, max_steps=steps, per_device_train_batch_size=batch_size, learning_rate=lr,
        warmup_steps=max(1, steps // 10), lr_scheduler_type="linear", weight_decay=0.01, max_grad_norm=1.0,
        logging_steps=max(1, steps // 20), save_strategy="no", report_to="none", seed=seed, data_seed=seed,
        use_cpu=not torch.cuda.is_available(), disable_tqdm=True, dataloader_num_workers=0,
        train_sampling_strategy="group_by_length" if group_by_length else "random", optim="adamw_torch",
    )


def _run(model, args, dataset, collator, desc: str) -> dict:
    progress = TextProgress(desc)
    trainer = Trainer(model=model, args=args, train_dataset=dataset, data_collator=collator, callbacks=[progress])
    trainer.remove_callback(PrinterCallback)  # our bar shows the loss; no dict per log step
    t0 = time.time()
    out = trainer.train()
    secs = time.time() - t0
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {"steps": int(out.global_step), "seconds": round(secs, 2), "final_loss": losses[-1] if losses else math.nan,
            "loss_curve": losses}


def pretrain_mlm(model, tokenizer, corpora: dict[str, list[str]], steps: int, batch_size: int, lr: float,
                 mask_prob: float, alpha: float, seed: int) -> dict:
    """Masked language modelling on ``corpora`` (language -> sentences).

    Languages are sampled with probability proportional to ``n_lang ** alpha`` (the
    exponentially smoothed sampling of XLM, Conneau & Lample 2019, sec. 3.1), so
    low-resource languages are seen more often than their share of the text.
    """
    langs = sorted(corpora)
    sizes = np.array([len(corpora[lang]) for lang in langs], float)
    p = sizes**alpha / (sizes**alpha).sum()
    rng = np.random.default_rng(seed)
    n = max(steps, 1) * batch_size
    which = rng.choice(len(langs), size=n, p=p)
    texts = [corpora[langs[k]][rng.integers(len(corpora[langs[k]]))] for k in which]
    enc = tokenizer(texts, truncation=True, max_length=tokenizer.model_max_length)
    ds = Dataset.from_dict({"input_ids": enc["input_ids"], "length": [len(x) for x in enc["input_ids"]]})
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mask_prob, pad_to_multiple_of=8)
    with tempfile.TemporaryDirectory() as tmp:
        stats = _run(model, _args(tmp, steps, batch_size, lr, seed, True), ds, collator, "pretrain")
    stats["tokens"] = int(sum(ds["length"][: steps * batch_size]))
    stats["language_sampling"] = dict(zip(langs, np.round(p, 4).tolist()))
    return stats


def encode_task(tokenizer, df: pd.DataFrame, kind: str) -> Dataset:
    """Tokenize a task frame (columns words, label | tags) into model inputs.

    For token tasks the label of a word goes to its first subword; the other subwords get
    -100 and are ignored by the loss, as in the HF token-classification examples.
    """
    enc = tokenizer(list(map(list, df["words"])), is_split_into_words=True, truncation=True,
                    max_length=tokenizer.model_max_length)
    data = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    if kind == "sequence":
        data["labels"] = df["label"].astype(int).tolist()
    else:
        labels = []
        for i, tags in enumerate(df["tags"]):
            prev, row = None, []
            for w in enc.word_ids(i):
                row.append(-100 if w is None or w == prev else int(tags[w]))
                prev = w
            labels.append(row)
        data["labels"] = labels
    data["length"] = [len(x) for x in enc["input_ids"]]
    return Dataset.from_dict(data)


def train_task(model, tokenizer, df: pd.DataFrame, kind: str, steps: int, batch_size: int, lr: float, seed: int,
               freeze_embeddings: bool, desc: str) -> dict:
    """Fine-tune ``model`` on a task frame for ``steps`` steps (the model is changed in place)."""
    if freeze_embeddings:
        for prm in model.base_model.embeddings.parameters():
            prm.requires_grad = False
    ds = encode_task(tokenizer, df, kind)
    collator = (DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8) if kind == "sequence"
                else DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8))
    with tempfile.TemporaryDirectory() as tmp:
        return _run(model, _args(tmp, steps, batch_size, lr, seed, True), ds, collator, desc)


@torch.no_grad()
def predict(model, tokenizer, df: pd.DataFrame, kind: str, batch_size: int = 256) -> list:
    """Predicted label per example (sequence tasks) or per word (token tasks).

    Examples are batched in order of length (less padding, about half the compute on
    lab sentences) and returned in the original order.
    """
    model.eval()
    ds = encode_task(tokenizer, df.assign(**({"label": 0} if kind == "sequence" and "label" not in df else {})), kind)
    collator = (DataCollatorWithPadding(tokenizer) if kind == "sequence" else DataCollatorForTokenClassification(tokenizer))
    rows = ds.remove_columns("length").to_list()
    order = np.argsort([len(r["input_ids"]) for r in rows], kind="stable")
    out: list = [None] * len(rows)
    for i in range(0, len(rows), batch_size):
        idx = order[i: i + batch_size]
        batch = collator([rows[j] for j in idx])
        labels = batch.pop("labels")
        logits = model(**batch).logits  # (batch, labels) | (batch, seq, labels)
        pred = logits.argmax(-1)
        for j, p_row, l_row in zip(idx, pred, labels):
            out[j] = int(p_row) if kind == "sequence" else p_row[l_row != -100].tolist()  # first subword per word
    return out
