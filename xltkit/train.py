"""Training: masked-language-model pretraining and task training, both through
``transformers.Trainer`` so that the real study's encoders and the lab's tiny BERT share
one code path, and one place to plug in noise injection (:class:`NoisyTrainer`, with the
methods of :mod:`xltkit.noise`)."""

from __future__ import annotations

import contextlib
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

from xltkit.config import TOKEN_NOISE
from xltkit.noise import AddPerturbation, EmbeddingNoise, NoiseConfig, ascent_direction, project, sample_ball


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


class NoisyTrainer(Trainer):
    """``Trainer`` with noise in the input-embedding space, in training only.

    - ``rs-rp``: an :class:`xltkit.noise.EmbeddingNoise` hook is attached for the duration
      of :meth:`train` and removed afterwards; with ``samples > 1`` every batch is repeated
      ``samples`` times so that one step averages the loss over that many noise draws
      (randomized smoothing, Huang et al. 2021, sec. 3).
    - ``adv``: adversarial training in embedding space (Huang et al. 2021, sec. 3; the
      min-max objective ``min_theta E max_{||delta_i|| <= eps} L(f(e(x) + delta), y)`` of
      Madry et al. 2018, eq. 2.1), one bound ``eps = scale`` per token in L2 or L-inf.
      ``delta`` starts uniformly inside the bound and takes ``K = adv_steps`` projected
      ascent steps ``delta <- Proj(delta + alpha * g/||g||)`` (``sign(g)`` for L-inf).
      ``pgd`` (Madry et al. 2018) then takes the descent step on the loss at the last
      ``delta``: K+1 forward/backward passes.  ``freelb`` (Zhu et al. 2020, ICLR, Alg. 1)
      accumulates the parameter gradients of all K ascent passes, ``1/K sum_t grad
      L(delta_t)``: K passes.

    With ``noise.unit == "relative"`` the radius / epsilon (and step size) are multiples of
    the model's input-embedding size (:func:`xltkit.noise.embedding_unit`), measured once
    when :meth:`train` starts (or at the first adversarial step when ``training_step`` is
    called directly); :attr:`applied` holds the absolute numbers used.

    Any other method (token-level noise) acts on the data, so the trainer is plain.
    """

    def __init__(self, *args, noise: NoiseConfig | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.noise = noise or NoiseConfig()
        self._adv_generator: torch.Generator | None = None
        self._applied: tuple[NoiseConfig, float] | None = None

    def _in_embedding_units(self) -> NoiseConfig:
        """``self.noise`` in absolute embedding units, measured on this model once per training."""
        if self._applied is None:
            weight = self.accelerator.unwrap_model(self.model).get_input_embeddings().weight
            self._applied = self.noise.in_embedding_units(weight)
        return self._applied[0]

    @property
    def applied(self) -> dict:
        """The absolute noise used in training (for the run's statistics); empty before training."""
        if self._applied is None or self.noise.method not in ("rs-rp", "adv"):
            return {}
        cfg, unit = self._applied
        out = {"applied_scale": cfg.scale, "embedding_unit": unit}
        if cfg.method == "adv":
            out["applied_step_size"] = cfg.step_size
        return out

    def train(self, *args, **kwargs):
        handle = None
        self._applied = None  # measured afresh on the model as it is now
        cfg = self._in_embedding_units()
        if cfg.method == "rs-rp":
            handle = EmbeddingNoise(cfg.scale, cfg.distribution, self._noise_seed()).attach(
                self.accelerator.unwrap_model(self.model))
        try:
            return super().train(*args, **kwargs)
        finally:
            if handle is not None:
                handle.remove()

    def _noise_seed(self) -> int:
        """The noise seed; each process of a distributed run draws its own noise."""
        return self.noise.seed + 1_000_003 * self.args.process_index

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        m = self.noise.samples if self.noise.method == "rs-rp" else 1
        if m > 1 and model.training:  # m noise draws per example in one forward pass
            inputs = {k: v.repeat_interleave(m, dim=0) if torch.is_tensor(v) and v.dim() > 0 else v
                      for k, v in inputs.items()}  # (batch * m, ...)
            if num_items_in_batch is not None:
                num_items_in_batch = num_items_in_batch * m
        return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.noise.method != "adv":
            return super().training_step(model, inputs, num_items_in_batch)
        model.train()
        if hasattr(self.optimizer, "train") and callable(self.optimizer.train):
            self.optimizer.train()
        inputs = self._prepare_inputs(inputs)
        cfg = self._in_embedding_units()
        emb = self.accelerator.unwrap_model(model).get_input_embeddings()
        ids = inputs["input_ids"]  # (batch, seq)
        if self._adv_generator is None:
            self._adv_generator = torch.Generator(device=ids.device).manual_seed(self._noise_seed())
        delta = sample_ball((*ids.shape, emb.embedding_dim), cfg.scale, cfg.adv_norm, self._adv_generator,
                            ids.device, emb.weight.dtype)  # (batch, seq, hidden)
        hook = AddPerturbation(delta)
        handle = emb.register_forward_hook(hook)
        total = torch.zeros((), device=ids.device)
        try:
            for t in range(cfg.adv_steps):
                hook.delta = delta.detach().requires_grad_()
                last = t == cfg.adv_steps - 1
                if cfg.adv_variant == "freelb":
                    ctx = contextlib.nullcontext() if last else self.accelerator.no_sync(model)
                    with ctx:
                        loss = self._loss(model, inputs, num_items_in_batch)
                        self.accelerator.backward(loss / cfg.adv_steps)
                    grad = hook.delta.grad
                    total = total + loss.detach()
                else:  # pgd: the ascent passes compute only the gradient of delta
                    with self.accelerator.no_sync(model):
                        loss = self._loss(model, inputs, num_items_in_batch)
                        (grad,) = torch.autograd.grad(loss, hook.delta)
                if not (last and cfg.adv_variant == "freelb"):
                    delta = project(hook.delta.detach() + cfg.step_size * ascent_direction(grad, cfg.adv_norm),
                                    cfg.scale, cfg.adv_norm)
            if cfg.adv_variant == "pgd":
                hook.delta = delta.detach()
                loss = self._loss(model, inputs, num_items_in_batch)
                self.accelerator.backward(loss)
                total = loss.detach()
            else:
                total /= cfg.adv_steps
        finally:
            handle.remove()
        return total

    def _loss(self, model, inputs, num_items_in_batch):
        """The training loss as ``Trainer.training_step`` scales it (devices, gradient accumulation)."""
        with self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
        if self.args.n_gpu > 1:
            loss = loss.mean()
        scaled = self.loss_is_scaled_for_ga if self.loss_is_scaled_for_ga is not None else (
            (self.model_accepts_loss_kwargs and num_items_in_batch is not None) or self.compute_loss_func is not None)
        return loss if scaled else loss / self.current_gradient_accumulation_steps


def _run(model, args, dataset, collator, desc: str, noise: NoiseConfig | None = None) -> dict:
    progress = TextProgress(desc)
    trainer = NoisyTrainer(model=model, args=args, train_dataset=dataset, data_collator=collator, callbacks=[progress],
                           noise=noise)
    trainer.remove_callback(PrinterCallback)  # our bar shows the loss; no dict per log step
    t0 = time.time()
    out = trainer.train()
    secs = time.time() - t0
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return {"steps": int(out.global_step), "seconds": round(secs, 2), "final_loss": losses[-1] if losses else math.nan,
            "loss_curve": losses, **({"noise_applied": trainer.applied} if trainer.applied else {})}


def pretrain_mlm(model, tokenizer, corpora: dict[str, list[str]], steps: int, batch_size: int, lr: float,
                 mask_prob: float, alpha: float, seed: int, parallel: dict[str, list[tuple[str, str]]] | None = None,
                 tlm_share: float = 0.0, parallel_source: str = "lab_eng") -> dict:
    """Masked language modelling on ``corpora`` (language -> sentences), optionally with
    translation language modelling on ``parallel`` (language -> pairs (source sentence,
    sentence)).

    Languages are sampled with probability proportional to ``n_lang ** alpha`` (the
    exponentially smoothed sampling of XLM, Conneau & Lample 2019, sec. 3.1), so
    low-resource languages are seen more often than their share of the text.

    TLM (Conneau & Lample 2019, sec. 3.3): ``round(tlm_share * steps * batch_size)`` of the
    sequences are a pair ``[CLS] source [SEP] other [SEP]`` with segment ids 0 / 1 (BERT's
    token types; positions run on through the second sentence), masked like any sequence,
    in both halves, so a masked word can be predicted from its translation.  The pair's
    language is drawn like the MLM languages, by its number of pairs ``** alpha``; a pair
    longer than the tokenizer's ``model_max_length`` loses tokens from its longer side.

    Args:
        parallel_source: the language of every pair's first sentence (for the statistics).

    Returns the training statistics plus ``mlm_sequences`` / ``mlm_tokens`` per language
    and ``tlm_sequences`` (pairs per language) / ``tlm_tokens`` (tokens of each side, per
    language); token counts include [CLS] and [SEP].

    >>> pretrain_mlm(model, tok, {"lab_eng": eng, "lab_fin": fin}, 100, 64, 2e-3, 0.2, 0.5, 0,
    ...              parallel={"lab_fin": list(zip(eng_side, fin_side))}, tlm_share=0.3)  # doctest: +SKIP
    """
    if tlm_share > 0 and not parallel:
        raise ValueError(f"tlm_share={tlm_share} needs parallel pairs; got none")
    langs = sorted(corpora)
    sizes = np.array([len(corpora[lang]) for lang in langs], float)
    p = sizes**alpha / (sizes**alpha).sum()
    rng = np.random.default_rng(seed)
    n = max(steps, 1) * batch_size
    n_tlm = round(tlm_share * n) if tlm_share > 0 else 0
    which = rng.choice(len(langs), size=n - n_tlm, p=p)
    texts = [corpora[langs[k]][rng.integers(len(corpora[langs[k]]))] for k in which]
    enc = tokenizer(texts, truncation=True, max_length=tokenizer.model_max_length)
    ids = list(enc["input_ids"])
    mlm_seq, mlm_tok = dict.fromkeys(langs, 0), dict.fromkeys(langs, 0)
    for k, x in zip(which, ids):
        mlm_seq[langs[k]] += 1
        mlm_tok[langs[k]] += len(x)
    stats_data: dict = {"mlm_sequences": mlm_seq, "mlm_tokens": mlm_tok}
    columns: dict[str, list] = {}
    if n_tlm:
        plangs = sorted(parallel)
        psizes = np.array([len(parallel[lang]) for lang in plangs], float)
        pp = psizes**alpha / (psizes**alpha).sum()
        pwhich = rng.choice(len(plangs), size=n_tlm, p=pp)
        pairs = [parallel[plangs[k]][rng.integers(len(parallel[plangs[k]]))] for k in pwhich]
        penc = tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation=True,
                         max_length=tokenizer.model_max_length, return_token_type_ids=True)
        tlm_seq, tlm_tok = dict.fromkeys(plangs, 0), dict.fromkeys([parallel_source, *plangs], 0)
        for k, types in zip(pwhich, penc["token_type_ids"]):
            tlm_seq[plangs[k]] += 1
            tlm_tok[parallel_source] += types.count(0)  # [CLS] source [SEP]
            tlm_tok[plangs[k]] += types.count(1)  # other [SEP]
        stats_data.update(tlm_sequences=tlm_seq, tlm_tokens=tlm_tok,
                          tlm_language_sampling=dict(zip(plangs, np.round(pp, 4).tolist())))
        columns["token_type_ids"] = [[0] * len(x) for x in ids] + list(penc["token_type_ids"])
        ids += list(penc["input_ids"])
    ds = Dataset.from_dict({"input_ids": ids, **columns, "length": [len(x) for x in ids]})
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=mask_prob, pad_to_multiple_of=8)
    with tempfile.TemporaryDirectory() as tmp:
        stats = _run(model, _args(tmp, steps, batch_size, lr, seed, True), ds, collator, "pretrain")
    stats["tokens"] = int(sum(ds["length"][: steps * batch_size]))
    stats["language_sampling"] = dict(zip(langs, np.round(p, 4).tolist()))
    return {**stats, **stats_data}


def encode_task(tokenizer, df: pd.DataFrame, kind: str) -> Dataset:
    """Tokenize a task frame (columns words, label | tags) into model inputs.

    For token tasks the label of a word goes to its first subword; the other subwords get
    -100 and are ignored by the loss, as in the HF token-classification examples.  Pair
    tasks (columns words, words2) are encoded as ``[CLS] a [SEP] b [SEP]`` with segment ids
    0/1, truncating the longer sentence first.
    """
    second = list(map(list, df["words2"])) if kind == "pair" else None
    enc = tokenizer(list(map(list, df["words"])), second, is_split_into_words=True, truncation=True,
                    max_length=tokenizer.model_max_length, return_token_type_ids=kind == "pair")
    data = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    if kind == "pair":
        data["token_type_ids"] = enc["token_type_ids"]
    if kind in ("sequence", "pair"):
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
               freeze_embeddings: bool, desc: str, noise: NoiseConfig | None = None) -> dict:
    """Fine-tune ``model`` on a task frame for ``steps`` steps (the model is changed in place).

    ``noise`` (default: none) is injected in training only.  Token-level methods rewrite the
    training frame: as many independently drawn noisy copies as the steps consume
    (``ceil(steps * batch_size / len(df))``), so an example seen twice is seen with fresh
    noise, as randomized smoothing wants.
    """
    noise = noise or NoiseConfig()
    if freeze_embeddings:
        for prm in model.base_model.embeddings.parameters():
            prm.requires_grad = False
    stats_noise = noise.summary()
    if noise.method in TOKEN_NOISE:
        from xltkit.noise import embedding_synonyms, perturb_frame

        synonyms = noise.synonyms
        if noise.method == "rs-da" and synonyms is None:
            words = {w for ws in df["words"] for w in ws}
            synonyms = embedding_synonyms(model, tokenizer, words, noise.synonym_neighbours)
            stats_noise["synonym_table_words"] = len(synonyms)
        copies = max(1, math.ceil(steps * batch_size / len(df)))
        noisy = pd.concat([perturb_frame(df, noise, c, synonyms) for c in range(copies)], ignore_index=True)
        changed = sum(list(a) != list(b) for a, b in zip(noisy["words"], pd.concat([df] * copies)["words"]))
        stats_noise.update(copies=copies, changed_examples=round(changed / len(noisy), 4))
        df = noisy
    ds = encode_task(tokenizer, df, kind)
    collator = (DataCollatorForTokenClassification(tokenizer, pad_to_multiple_of=8) if kind == "token"
                else DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8))
    with tempfile.TemporaryDirectory() as tmp:
        stats = _run(model, _args(tmp, steps, batch_size, lr, seed, True), ds, collator, desc, noise)
    stats_noise.update(stats.pop("noise_applied", {}))  # relative scales: the absolute numbers used
    return {**stats, "noise": stats_noise}


@torch.no_grad()
def predict(model, tokenizer, df: pd.DataFrame, kind: str, batch_size: int = 256) -> list:
    """Predicted label per example (sequence tasks) or per word (token tasks).

    Examples are batched in order of length (less padding, about half the compute on
    lab sentences) and returned in the original order.
    """
    model.eval()
    ds = encode_task(tokenizer, df.assign(**({"label": 0} if kind != "token" and "label" not in df else {})), kind)
    collator = (DataCollatorForTokenClassification(tokenizer) if kind == "token" else DataCollatorWithPadding(tokenizer))
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
            out[j] = p_row[l_row != -100].tolist() if kind == "token" else int(p_row)  # token: first subword per word
    return out
