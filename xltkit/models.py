"""Tokenizers and encoders: the lab's tiny BERT, built through the same transformers API
that loads hub models (``from_pretrained`` on a folder), so one code path serves both."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    PreTrainedTokenizerFast,
)
from transformers.utils import logging as hf_logging

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_tokenizer(texts, vocab_size: int, max_length: int) -> PreTrainedTokenizerFast:
    """A SentencePiece-style BPE tokenizer trained on ``texts`` (an iterable of sentences).

    Words are split on whitespace and their first piece carries the word-start mark "▁",
    as in XLM-R's tokenizer.  BPE rather than WordPiece: the ``tokenizers`` WordPiece
    trainer breaks frequency ties in hash order, so the same text gives different
    vocabularies in different processes (huggingface/tokenizers#1794); BPE without a
    continuing-subword prefix is deterministic (tests/test_lab.py checks it across
    processes).
    """
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=max_length,
    )


def load_tokenizer(path: str | Path):
    return AutoTokenizer.from_pretrained(str(path))


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


def load_for_task(path: str | Path, kind: str, num_labels: int):
    """An encoder from ``path`` with a fresh head for a task of ``kind`` ("sequence" | "pair" | "token")."""
    auto = AutoModelForTokenClassification if kind == "token" else AutoModelForSequenceClassification
    return auto.from_pretrained(str(path), num_labels=num_labels)


def save_encoder(model, tokenizer, path: str | Path) -> None:
    """Save the bare encoder (no task head) and its tokenizer, ready for :func:`load_for_task`."""
    model.base_model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
