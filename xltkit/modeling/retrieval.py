"""Retrieval (Tatoeba): sentence embeddings from an encoder without a task head, nearest
neighbours by cosine similarity, top-1 in both directions.

As XTREME scores Tatoeba (``evaluate_retrieval.py`` / ``utils_retrieve.py`` of
google-research/xtreme, read, not copied): the mean of one hidden layer's vectors over the
sentence's tokens, special tokens included by default (``pool_special``), L2-normalised;
each sentence's nearest neighbour on the other side is its prediction.  The layer is
``hidden_states[layer]`` of transformers' outputs, where 0 is the embedding layer and
``num_layers`` the last: XTREME's mBERT setting (``specific_layer 7`` of the states after
the embeddings) is ``layer: 8``; its XLM-R large setting is ``layer: 14``, and google-research/xtreme
pull request 104 (2024) reports that "layer 10" reproduces the paper's XLM-R large numbers: as a
change of the script's ``specific_layer``, presumably, which would be ``layer: 11`` here (the
pull request does not say how it counts).
The search is exact: a matrix product of the normalised embeddings (no faiss: a few
thousand sentences per language).

A prediction is ``(forward, backward)``: the id of the nearest ``text2`` row of each
``text`` row (xx -> en, XTREME's direction: ``accuracy``) and the id of the nearest ``text``
row of each ``text2`` row (en -> xx: ``accuracy_reverse``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from xltkit.modeling.head import Head, on_device


class RetrievalError(ValueError):
    """The retrieval settings do not fit the encoder or the data."""


@dataclass(frozen=True)
class RetrievalSettings:
    layer: int | None = None  # hidden_states index; None = the last layer
    pool_special: bool = True

    def describe(self) -> str:
        layer = "last" if self.layer is None else self.layer
        return f"mean(layer={layer},special={'in' if self.pool_special else 'out'})"


class RetrievalHead(Head):
    name = "retrieval"
    auto_class = "AutoModel"  # the bare encoder: no head, no training
    takes_num_labels = False

    def __init__(self, settings: RetrievalSettings | None = None):
        self.settings = settings or RetrievalSettings()

    def configured(self, **kw) -> "RetrievalHead":
        return RetrievalHead(replace(self.settings, **kw))

    def for_run(self, encoder, task) -> "RetrievalHead":
        return self.configured(layer=encoder.retrieval_layer, pool_special=encoder.retrieval_pool_special)

    def recorded(self) -> dict:
        return {"retrieval_pooling": self.settings.describe()}

    def encode(self, tokenizer, ds):
        raise RetrievalError("retrieval has no training: it embeds sentences with the encoder as it is (the "
                             "pipeline skips target fine-tuning for retrieval tasks)")

    def embed(self, model, tokenizer, texts: list[str], batch_size: int = 128) -> np.ndarray:
        """L2-normalised mean-pooled sentence embeddings, one row per text."""
        import torch

        layers = model.config.num_hidden_layers
        layer = layers if self.settings.layer is None else self.settings.layer
        if not 0 <= layer <= layers:
            raise RetrievalError(f"retrieval_layer={layer}: the encoder has hidden states 0 (embeddings) to {layers}; "
                                 f"choose one of them (XTREME: 8 for mBERT, 14 for XLM-R large)")
        model.eval()
        enc = tokenizer(list(texts), truncation=True, max_length=tokenizer.model_max_length,
                        return_special_tokens_mask=True)
        order = np.argsort([len(x) for x in enc["input_ids"]], kind="stable")
        out = np.zeros((len(texts), model.config.hidden_size), np.float32)
        with torch.no_grad():
            for b in range(0, len(texts), batch_size):
                idx = order[b: b + batch_size]
                batch = tokenizer.pad([{"input_ids": enc["input_ids"][j], "attention_mask": enc["attention_mask"][j]}
                                       for j in idx], return_tensors="pt")
                states = model(**on_device(dict(batch), model), output_hidden_states=True).hidden_states[layer]
                states = states.float().cpu()
                mask = batch["attention_mask"].clone()
                if not self.settings.pool_special:
                    special = torch.zeros_like(mask)
                    for row, j in enumerate(idx):
                        sm = enc["special_tokens_mask"][j]
                        special[row, : len(sm)] = torch.tensor(sm)
                    mask = mask * (1 - special)
                m = mask.unsqueeze(-1).to(states.dtype)
                pooled = (states * m).sum(1) / m.sum(1).clamp(min=1)
                out[idx] = pooled.numpy()
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1)

    def predict(self, model, tokenizer, ds, batch_size: int = 128) -> list[tuple]:
        """(forward, backward) nearest-neighbour ids of every row (see the module docstring)."""
        ids = list(ds["id"])
        a = self.embed(model, tokenizer, list(ds["text"]), batch_size)
        b = self.embed(model, tokenizer, list(ds["text2"]), batch_size)
        sim = a @ b.T
        fwd, bwd = sim.argmax(1), sim.argmax(0)
        return [(ids[f], ids[g]) for f, g in zip(fwd.tolist(), bwd.tolist())]
