"""Small encoders built from a config, with a tokenizer trained on given text: XLM-R's
architecture (and special tokens) at any size, for offline tests of the hub path and for
the GPU check (the same architecture at XLM-R base's size, random weights, no download)."""

from __future__ import annotations

from pathlib import Path

#: XLM-R base's architecture (Conneau et al. 2020): what the GPU check builds
XLMR_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072)


def xlmr_tokenizer(texts, vocab_size: int = 400, max_length: int = 64):
    """A SentencePiece-style tokenizer with XLM-R's special tokens (<s> <pad> </s> <unk> ...
    <mask>) and its templates (``<s> A </s>``, ``<s> A </s> </s> B </s>``), trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials))
    bos, eos = tok.token_to_id("<s>"), tok.token_to_id("</s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
                                                       special_tokens=[("<s>", bos), ("</s>", eos)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                   cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                                   model_max_length=max_length)


def tiny_xlmr(folder: str | Path, texts, vocab_size: int = 400, hidden_size: int = 32, num_hidden_layers: int = 1,
              num_attention_heads: int = 2, intermediate_size: int | None = None, max_length: int = 64,
              seed: int = 0) -> Path:
    """An XLM-R-architecture encoder (random weights) and its tokenizer saved in ``folder``, as a
    hub repository is: load it with ``model: hf:<folder>``."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaModel

    folder = Path(folder)
    tok = xlmr_tokenizer(texts, vocab_size, max_length)
    config = XLMRobertaConfig(vocab_size=len(tok), hidden_size=hidden_size, num_hidden_layers=num_hidden_layers,
                              num_attention_heads=num_attention_heads,
                              intermediate_size=intermediate_size or 4 * hidden_size,
                              max_position_embeddings=max_length + 2, type_vocab_size=1,
                              pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                              eos_token_id=tok.eos_token_id)
    torch.manual_seed(seed)
    XLMRobertaModel(config).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    return folder
