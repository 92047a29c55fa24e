"""Tokenizers: the lab's, trained on its corpora, and any saved or hub tokenizer."""

from __future__ import annotations

from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer, PreTrainedTokenizerFast

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


def load_tokenizer(path: str | Path, **kwargs):
    """A saved tokenizer (a folder) or a hub tokenizer (an id; ``revision`` etc. in ``kwargs``)."""
    return AutoTokenizer.from_pretrained(str(path), **kwargs)
