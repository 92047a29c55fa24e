"""Lexical resources of the token-level methods: bilingual dictionaries (code-switching),
synonym tables (RS-DA) from files or from an encoder's embedding neighbours."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn


def read_dictionary(path: str | Path) -> dict[str, str]:
    """Read a MUSE-style bilingual dictionary (Conneau et al. 2018): one ``source target``
    pair per line, separated by whitespace; a source word listed again keeps its first
    translation.  Blank lines and ``#`` comments are skipped.  Raises ``ValueError`` naming
    the file, the line and the format."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"code_switch_files: {str(path)!r} not found")
    table: dict[str, str] = {}
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split()
        if len(cols) != 2:
            raise ValueError(f"code_switch_files: {str(path)!r}, line {i}: expected 'source_word target_word' "
                             f"(two whitespace-separated words); got {line[:80]!r}")
        table.setdefault(cols[0], cols[1])
    if not table:
        raise ValueError(f"code_switch_files: {str(path)!r} holds no word pairs ('source_word target_word' per line)")
    return table


# ---- synonym tables (RS-DA) ----------------------------------------------------------------
def read_synonym_table(path: str | Path) -> dict[str, list[str]]:
    """Read a synonym table: a TSV, one line per word, ``word<TAB>synonym[<TAB>synonym...]``, or
    a JSON object ``{word: [neighbour, ...]}`` (``.json``: the format of Huang et al. 2021's
    ``counterfitted_neighbors.json``; words with no neighbours may map to ``[]``).

    In the TSV, blank lines and lines starting with ``#`` are skipped.  Raises ``ValueError``
    naming the file, the line (or entry) and the expected format (never returns a half-read table).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"synonym_file {str(path)!r} not found")
    if path.suffix == ".json":
        import json

        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise ValueError(f"synonym_file {str(path)!r}: not valid JSON ({e}); expected {{word: [neighbour, "
                             "...]}}") from None
        if not isinstance(raw, dict) or not raw:
            raise ValueError(f"synonym_file {str(path)!r}: expected a non-empty JSON object {{word: [neighbour, ...]}}")
        table = {}
        for word, syns in raw.items():
            if not isinstance(syns, list) or not all(isinstance(x, str) for x in syns):
                raise ValueError(f"synonym_file {str(path)!r}: entry {word!r}: expected a list of words, got "
                                 f"{str(syns)[:60]}")
            table[word] = [x for x in syns if x != word]
        return table
    table: dict[str, list[str]] = {}
    expected = "expected word<TAB>synonym[<TAB>synonym...]"
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.rstrip("\r").split("\t")
        if len(cols) < 2 or any(not c.strip() or " " in c.strip() for c in cols):
            raise ValueError(f"synonym_file {str(path)!r}, line {i}: {expected} (single words, no empty columns); "
                             f"got {line[:80]!r}")
        word = cols[0].strip()
        if word in table:
            raise ValueError(f"synonym_file {str(path)!r}, line {i}: word {word!r} listed twice; {expected}")
        table[word] = [c.strip() for c in cols[1:] if c.strip() != word]
    if not table:
        raise ValueError(f"synonym_file {str(path)!r} holds no entries; {expected}")
    return table


def _whole_words(tokenizer) -> dict[str, int]:
    """Vocabulary entries that are whole words (WordPiece: no '##'; SentencePiece: '▁' prefix)."""
    vocab = tokenizer.get_vocab()
    special = set(tokenizer.all_special_tokens)
    spm = any(t.startswith("▁") for t in vocab)
    out = {}
    for tok, i in vocab.items():
        if tok in special:
            continue
        if spm and tok.startswith("▁") and len(tok) > 1:
            out[tok[1:]] = i
        elif not spm and not tok.startswith("##"):
            out[tok] = i
    return out


@torch.no_grad()
def embedding_synonyms(model: nn.Module, tokenizer, words, k: int = 5, chunk: int = 4096) -> dict[str, list[str]]:
    """A synonym table from the encoder's own input-embedding space.

    For every word of ``words`` that is one whole-word token, its ``k`` nearest words of
    ``words`` that are whole-word tokens too, by cosine similarity of input embeddings (the multilingual stand-in for the
    counter-fitted neighbours of Huang et al. 2021's RS-DA).  Deterministic given the model.
    """
    words = set(words)
    # SentencePiece-style '▁' pieces may also be word-initial fragments ('▁l' of 'larodi'):
    # only pieces that are real words of the text count
    vocab = {w: i for w, i in _whole_words(tokenizer).items() if w in words}
    cand = sorted(vocab)
    pos = {w: j for j, w in enumerate(cand)}
    if len(cand) < 2:
        return {}
    emb = model.get_input_embeddings().weight.detach().float()
    cand_ids = torch.tensor([vocab[w] for w in cand], device=emb.device)
    c = nn.functional.normalize(emb[cand_ids], dim=-1)  # (n_cand, hidden)
    queries = sorted({w for w in words if w in vocab})
    k = min(k, len(cand) - 1)
    table: dict[str, list[str]] = {}
    for start in range(0, len(queries), chunk):
        q_words = queries[start: start + chunk]
        q = nn.functional.normalize(emb[torch.tensor([vocab[w] for w in q_words], device=emb.device)], dim=-1)
        sim = q @ c.T  # (chunk, n_cand)
        sim[torch.arange(len(q_words)), torch.tensor([pos[w] for w in q_words])] = -2  # not itself
        top = sim.topk(k, dim=-1).indices.cpu().tolist()
        table.update({w: [cand[j] for j in row] for w, row in zip(q_words, top)})
    return table
