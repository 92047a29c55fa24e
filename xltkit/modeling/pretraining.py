"""Pretraining the lab encoder: masked language modelling (and translation language
modelling on parallel text) through the same Trainer as task training, and the held-out
checks that say whether it learnt (masked-word accuracy against the most-frequent-token
baseline)."""

from __future__ import annotations

import tempfile
from collections import Counter

import numpy as np
import torch
from datasets import Dataset
from transformers import BertConfig, BertForMaskedLM, DataCollatorForLanguageModeling

from xltkit.modeling.params import TrainingParams
from xltkit.modeling.training import run_trainer, training_arguments


def lab_bert(vocab_size: int, hidden_size: int, num_layers: int, num_heads: int, max_length: int,
             init_std: float = 0.05) -> BertForMaskedLM:
    """A tiny BERT for masked language modelling (defaults: ~0.6M encoder parameters);
    ``init_std`` is the std of its normal initialisation (BERT's ``initializer_range``)."""
    cfg = BertConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers, num_attention_heads=num_heads,
        intermediate_size=4 * hidden_size, max_position_embeddings=max_length, type_vocab_size=2,
        hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1, initializer_range=init_std,
    )
    return BertForMaskedLM(cfg)


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
        args = training_arguments(tmp, steps, lr, TrainingParams(batch_size=batch_size, seed=seed))
        stats = run_trainer(model, args, ds, collator, "pretrain")
    stats["tokens"] = int(sum(ds["length"][: steps * batch_size]))
    stats["language_sampling"] = dict(zip(langs, np.round(p, 4).tolist()))
    return {**stats, **stats_data}


def unigram_accuracy(tok, heldout: dict[str, list[str]]) -> dict[str, float]:
    """The baseline of :func:`mlm_accuracy`: per language, the accuracy of always guessing
    its most frequent token (the frequency of that token among the non-special tokens of
    the same held-out sentences).  An encoder that does no better has learnt no context."""
    special = set(tok.all_special_ids)
    out = {}
    for lang, texts in heldout.items():
        ids = [i for row in tok(texts)["input_ids"] for i in row if i not in special]
        out[lang] = round(Counter(ids).most_common(1)[0][1] / len(ids), 4)
    return out


@torch.no_grad()
def mlm_accuracy(model, tok, heldout: dict[str, list[str]], seed: int = 1) -> dict[str, float]:
    """Masked-word accuracy on held-out sentences (language -> sentences), per language (15%
    of tokens masked, one generator across the languages in order)."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    acc = {}
    for lang, texts in heldout.items():
        enc = tok(texts, padding=True, truncation=True, return_tensors="pt")
        x = enc["input_ids"]  # (batch, seq)
        special = torch.tensor(tok.all_special_ids)
        m = (torch.rand(x.shape, generator=g) < 0.15) & ~torch.isin(x, special)
        logits = model(input_ids=x.masked_fill(m, tok.mask_token_id), attention_mask=enc["attention_mask"]).logits
        acc[lang] = round(float((logits.argmax(-1)[m] == x[m]).float().mean()), 4)
    return acc
