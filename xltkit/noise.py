"""Noise injection for robust training (Huang et al. 2021), as small removable pieces.

Huang, Ahmad, Peng & Chang (2021), "Improving Zero-Shot Cross-Lingual Transfer Learning
via Robust Training", EMNLP 2021, arXiv:2104.08645, read zero-shot failures as
adversarial examples: the target language's embeddings sit a small step away from the
source language's, so a model that tolerates small steps in embedding space transfers
better.  They train against that step in two ways (their section 3):

- **adversarial training**, the min-max objective of Madry et al. (2018)::

      min_theta  E_(x,y)  max_{||delta|| <= eps}  L(f_theta(e(x) + delta), y)

  solved approximately with K steps of projected gradient ascent on ``delta``
  (``xltkit.train.NoisyTrainer``, methods ``adv``: PGD, or FreeLB of Zhu et al. 2020,
  which averages the parameter gradients over the K ascent steps);
- **randomized smoothing**, training on the expectation over random perturbations::

      min_theta  E_(x,y)  E_delta  L(f_theta(x ⊕ delta), y)

  with ``delta`` a random vector in embedding space (**RS-RP**: :class:`EmbeddingNoise`, a
  forward hook on the input embeddings, the pattern of transformers' NEFTune) or a random
  substitution of words by their synonyms (**RS-DA**: :func:`perturb_frame`; each word is
  replaced uniformly by one of itself and its neighbours, as the authors' ``perturb.py``
  does with counter-fitted neighbours; the synonyms come from a file, from the encoder's
  embedding neighbours, or from the lab's own synonym lexicon).

The size of an embedding perturbation is given in embedding units, or (``unit="relative"``)
as a multiple of the encoder's own embedding size (:func:`embedding_unit`), so that one
setting means the same on encoders whose embeddings differ in scale.  Every setting has a
label naming each knob it uses (:func:`setting_label`), written beside every metric.

Besides these, the usual token-level noise (word dropout and local swaps, Lample et al.
2018; character noise, Belinkov & Bisk 2018) and code-switching with bilingual
dictionaries (CoSDA-ML, Qin et al. 2020) are dataset transforms on the training words.

Every random draw comes from a generator seeded by the run's ``seed``: same seed, same
noise.  Nothing here ever touches evaluation: the hook is a no-op unless
``module.training`` and is removed after training, and the transforms are applied to the
training frame only.
"""

from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from xltkit.config import EMBEDDING_NOISE, NOISE_METHODS, PAIR_UNSAFE_NOISE, SCALE_UNITS, TOKEN_NOISE, file_digest


@dataclass
class NoiseConfig:
    """What one training call injects; built from stage parameters by :func:`noise_config`.

    ``scale`` is the method's strength (radius, epsilon or probability per word, see
    ``FinetuneParams.noise_scale``); the other fields are the method's knobs.  With
    ``unit="relative"`` the embedding methods' ``scale`` and ``adv_step_size`` are multiples
    of the encoder's embedding size (:func:`embedding_unit`), turned into absolute numbers by
    :meth:`in_embedding_units` when training starts.
    """

    method: str = "none"
    scale: float = 0.0
    seed: int = 0
    unit: str = "absolute"  # rs-rp, adv: "absolute" | "relative" (see FinetuneParams.noise_scale_unit)
    distribution: str = "ball"  # rs-rp: "ball" | "gaussian"
    samples: int = 1  # rs-rp: noise draws per example and step
    adv_steps: int = 1
    adv_step_size: float | None = None
    adv_norm: str = "l2"  # "l2" | "linf"
    adv_variant: str = "pgd"  # "pgd" | "freelb"
    synonyms: dict[str, list[str]] | None = None  # rs-da table; None: nearest neighbours in embedding space
    synonym_neighbours: int = 5
    dictionaries: dict[str, dict[str, str]] = field(default_factory=dict)  # code-switch: lang -> src word -> word
    tag_names: tuple[str, ...] | None = None  # token tasks: label names, so BIO spans stay valid after edits

    def __post_init__(self):
        def allowed(name, value, values):
            if value not in values:
                raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(values)}")

        allowed("noise method", self.method, NOISE_METHODS)
        allowed("noise_scale_unit", self.unit, SCALE_UNITS)
        allowed("noise_distribution", self.distribution, ("ball", "gaussian"))
        allowed("adv_norm", self.adv_norm, ("l2", "linf"))
        allowed("adv_variant", self.adv_variant, ("pgd", "freelb"))
        for name, value, low in (("noise_scale", self.scale, 0), ("noise_samples", self.samples, 1),
                                 ("adv_steps", self.adv_steps, 1), ("synonym_neighbours", self.synonym_neighbours, 1)):
            if not value >= low:  # also refuses NaN
                raise ValueError(f"{name} must be >= {low} (got {value})")
        if self.adv_step_size is not None and not self.adv_step_size > 0:
            raise ValueError(f"adv_step_size must be > 0 or None (got {self.adv_step_size})")

    @property
    def step_size(self) -> float:
        return self.adv_step_size or 2.5 * self.scale / self.adv_steps

    @property
    def relative(self) -> bool:
        return self.unit == "relative" and self.method in EMBEDDING_NOISE

    def in_embedding_units(self, weight: torch.Tensor) -> tuple[NoiseConfig, float]:
        """This configuration with ``scale`` and ``adv_step_size`` in absolute embedding units,
        and the unit it was measured in (1.0 for absolute settings).

        ``weight`` is the input word-embedding matrix (vocab, hidden) of the model about to be
        trained; see :func:`embedding_unit` for what a relative unit is.
        """
        if not self.relative:
            return self, 1.0
        norm = "l2" if self.method == "rs-rp" and self.distribution == "ball" else (
            self.adv_norm if self.method == "adv" else "gaussian")
        u = embedding_unit(weight, norm)
        step = None if self.adv_step_size is None else self.adv_step_size * u
        return dataclasses.replace(self, scale=self.scale * u, adv_step_size=step, unit="absolute"), u

    def summary(self) -> dict:
        """The settings worth recording beside a training run's statistics."""
        out = {"method": self.method, "scale": self.scale, "seed": self.seed}
        if self.method in EMBEDDING_NOISE:
            out["unit"] = self.unit
        if self.method == "rs-rp":
            out.update(distribution=self.distribution, samples=self.samples)
        elif self.method == "adv":
            out.update(steps=self.adv_steps, step_size=self.step_size, norm=self.adv_norm, variant=self.adv_variant)
        return out


def _stage_noise(p, stage: str) -> tuple[str, float, str, str]:
    """(method, scale, task, training language) of ``stage`` for stage parameters ``p``."""
    if stage == "intermediate":
        if p.intermediate_lang == "none":  # no intermediate training: nothing to inject noise into
            return "none", 0.0, p.intermediate_task, "none"
        return p.intermediate_noise, p.intermediate_noise_scale, p.intermediate_task, p.intermediate_lang
    if stage == "finetune":
        return p.noise, p.noise_scale, p.target_task, p.source_lang
    raise ValueError(f"unknown stage {stage!r}; allowed: intermediate, finetune")


def _synonym_source(p) -> str:
    return p.synonym_source or ("file" if p.synonym_file else "neighbours")


def _code_switch_langs(p, src: str) -> list[str]:
    return [c for c in (p.code_switch_langs or p.langs) if c != src]


def setting_label(p, stage: str = "finetune") -> str:
    """A short deterministic label of the noise setting of ``stage`` ("intermediate" | "finetune"):
    the method and every knob it uses, e.g. ``"adv(pgd,l2,K=3,eps=0.01,rel)"``, ``"none"``.

    Two runs get the same label exactly when their noise is the same (the knobs a method
    does not use are left out, as from the cache keys), so analyses can group by it.
    Numbers are written as Python's shortest round-trip repr; a synonym file is named by
    its base name and a hash of its content.

    Example::

        >>> setting_label(FinetuneParams(noise="rs-rp", noise_scale=0.1))
        'rs-rp(ball,r=0.1,m=1)'
    """
    method, scale, _, src = _stage_noise(p, stage)
    if method == "none":
        return "none"
    num = repr(float(scale))
    if method == "rs-rp":
        parts = [p.noise_distribution, f"r={num}", f"m={p.noise_samples}"]
    elif method == "adv":
        parts = [p.adv_variant, p.adv_norm, f"K={p.adv_steps}", f"eps={num}"]
        if p.adv_step_size is not None:
            parts.append(f"alpha={float(p.adv_step_size)!r}")
    else:
        parts = [f"p={num}"]
    if method in EMBEDDING_NOISE and p.noise_scale_unit == "relative":
        parts.append("rel")
    if method == "rs-da":
        source = _synonym_source(p)
        if source == "file":
            parts.append(f"file={Path(p.synonym_file).name}@{file_digest(p.synonym_file)}")
        elif source == "neighbours":
            parts.append(f"neighbours={p.synonym_neighbours}")
        else:
            parts.append("lab")
    elif method == "code-switch":
        files = getattr(p, "code_switch_files", None)
        given = getattr(p, "code_switch_langs", None)
        if files:  # told apart by content, as synonym files are
            parts.append("files=" + "+".join(f"{lang}@{file_digest(path)}" for lang, path in sorted(files.items())))
        else:
            parts.append("to=" + ("+".join(sorted(_code_switch_langs(p, src))) if given else "others"))
    return f"{method}({','.join(parts)})"


def noise_config(p, stage: str = "finetune") -> NoiseConfig:
    """The :class:`NoiseConfig` of ``stage`` ("intermediate" | "finetune") for stage parameters ``p``."""
    from xltkit.tasks import get_task

    method, scale, task, src = _stage_noise(p, stage)
    cfg = NoiseConfig(method=method, scale=scale, seed=p.seed, unit=p.noise_scale_unit,
                      distribution=p.noise_distribution, samples=p.noise_samples, adv_steps=p.adv_steps,
                      adv_step_size=p.adv_step_size, adv_norm=p.adv_norm, adv_variant=p.adv_variant,
                      synonym_neighbours=p.synonym_neighbours, tag_names=get_task(task).labels)
    if method == "rs-da" and _synonym_source(p) == "file":
        cfg.synonyms = read_synonym_table(p.synonym_file)
    elif method == "rs-da" and _synonym_source(p) == "lab":
        cfg.synonyms = lab_synonyms(p, src)
    if method == "code-switch" and getattr(p, "code_switch_files", None):
        cfg.dictionaries = {lang: read_dictionary(path) for lang, path in sorted(p.code_switch_files.items())}
    elif method == "code-switch":
        from xltkit.stages import lab_of

        lab = lab_of(p)
        for tgt in _code_switch_langs(p, src):
            cfg.dictionaries[tgt] = lab.dictionary(src, tgt)
    return cfg


def lab_synonyms(p, lang: str) -> dict[str, list[str]]:
    """The lab's own synonym table of ``lang`` (main form -> its synonyms, :meth:`xltkit.lab.Lab.synonyms`),
    for RS-DA.  Words are matched whole: an inflected form (stem plus affixes) is not its main form."""
    from xltkit.stages import lab_of

    return {w: [s for s in syns if s != w] for w, syns in lab_of(p).synonyms(lang).items()}


# ---- embedding space ---------------------------------------------------------------------
def _generator(seed: int, device: torch.device) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(seed)


@torch.no_grad()
def embedding_unit(weight: torch.Tensor, norm: str) -> float:
    """The size of an encoder's input word embeddings, the unit of relative noise scales.

    Measured over the rows of the embedding matrix ``weight`` (vocab, hidden) that are not
    all zero (padding rows are):

    - ``"l2"`` (rs-rp ball, adv l2): the mean L2 norm of a row, so a relative radius ``r``
      allows ``||delta_i||_2 <= r * mean_v ||e_v||_2``;
    - ``"linf"`` (adv linf): the per-coordinate RMS ``sqrt(mean_{v,j} e_vj^2)``, so
      ``|delta_ij| <= eps * RMS``;
    - ``"gaussian"`` (rs-rp gaussian): the RMS row norm ``sqrt(mean_v ||e_v||^2)`` (= the
      per-coordinate RMS times ``sqrt(hidden)``), so that each coordinate's noise has
      standard deviation ``scale`` times the per-coordinate RMS.
    """
    w = weight.detach().float()
    sq = w.pow(2).sum(-1)  # (vocab,)
    sq = sq[sq > 0]
    if sq.numel() == 0:
        raise ValueError("noise_scale_unit='relative' needs input embeddings that are not all zero")
    if norm == "l2":
        return float(sq.sqrt().mean())
    if norm == "linf":
        return float((sq.mean() / w.shape[-1]).sqrt())
    if norm == "gaussian":
        return float(sq.mean().sqrt())
    raise ValueError(f"unknown norm {norm!r}; allowed: l2, linf, gaussian")


def sample_ball(shape: tuple[int, ...], radius: float, norm: str, generator: torch.Generator,
                device=None, dtype=None) -> torch.Tensor:
    """Uniform samples in the per-vector ball ``||v|| <= radius`` (last dimension = the vector).

    L2: a Gaussian direction times ``radius * U^(1/d)`` (uniform in volume); L-inf: uniform
    in the cube ``[-radius, radius]^d``.
    """
    if norm == "linf":
        return torch.empty(shape, device=device, dtype=dtype).uniform_(-radius, radius, generator=generator)
    # in-place throughout: on a small encoder the noise itself is a visible share of the step
    z = torch.empty(shape, device=device, dtype=dtype).normal_(generator=generator)  # (..., d)
    r = torch.empty((*shape[:-1], 1), device=device, dtype=dtype).uniform_(generator=generator)  # (..., 1)
    r.pow_(1.0 / shape[-1]).mul_(radius).div_(torch.linalg.vector_norm(z, dim=-1, keepdim=True).clamp_min_(1e-12))
    return z.mul_(r)


def project(delta: torch.Tensor, radius: float, norm: str) -> torch.Tensor:
    """Project every vector (last dimension) of ``delta`` onto ``||v|| <= radius``."""
    if norm == "linf":
        return delta.clamp(-radius, radius)
    n = delta.norm(dim=-1, keepdim=True)  # (..., 1)
    return delta * (radius / n.clamp_min(1e-12)).clamp(max=1.0)


def ascent_direction(grad: torch.Tensor, norm: str) -> torch.Tensor:
    """The steepest-ascent unit step per vector: ``g/||g||_2`` (L2) or ``sign(g)`` (L-inf)."""
    if norm == "linf":
        return grad.sign()
    return grad / grad.norm(dim=-1, keepdim=True).clamp_min(1e-12)


class EmbeddingNoise:
    """RS-RP: random perturbation of the input word embeddings, in training only.

    Randomized smoothing with random perturbation (Huang et al. 2021, sec. 3, RS-RP):
    minimise ``E_delta L(f(e(x) + delta), y)`` with ``delta`` drawn afresh for every token
    of every forward pass.  ``distribution="ball"`` draws ``delta`` uniformly in the L2
    ball of radius ``scale`` per token (so ``||delta_i||_2 <= scale`` always);
    ``"gaussian"`` draws ``N(0, scale^2/d I)`` (root-mean-square norm ``scale``; the
    Gaussian smoothing of Cohen et al. 2019, rescaled so that ``scale`` means the same
    size in both).  A forward hook on ``model.get_input_embeddings()`` that does nothing
    when ``module.training`` is false, as transformers' NEFTune hook.

    Args:
        scale: radius (ball) or RMS norm (gaussian) per token, in embedding units.
        distribution: "ball" | "gaussian".
        seed: seed of the hook's own generator (same seed, same sequence of noise).

    Example::

        handle = EmbeddingNoise(0.1, seed=0).attach(model)
        ...  # train
        handle.remove()
    """

    def __init__(self, scale: float, distribution: str = "ball", seed: int = 0):
        if scale < 0:
            raise ValueError(f"noise_scale must be >= 0 (got {scale})")
        if distribution not in ("ball", "gaussian"):
            raise ValueError(f"unknown noise_distribution {distribution!r}; allowed: ball, gaussian")
        self.scale, self.distribution, self.seed = scale, distribution, seed
        self.generator: torch.Generator | None = None

    def attach(self, model: nn.Module) -> torch.utils.hooks.RemovableHandle:
        return model.get_input_embeddings().register_forward_hook(self)

    def __call__(self, module: nn.Module, inputs, output: torch.Tensor) -> torch.Tensor:
        if not module.training or self.scale == 0:
            return output
        if self.generator is None or self.generator.device != output.device:
            self.generator = _generator(self.seed, output.device)
        shape = tuple(output.shape)  # (batch, seq, hidden)
        if self.distribution == "ball":
            delta = sample_ball(shape, self.scale, "l2", self.generator, output.device, output.dtype)
        else:
            delta = torch.empty(shape, device=output.device, dtype=output.dtype).normal_(
                0.0, self.scale / math.sqrt(shape[-1]), generator=self.generator)
        return output + delta


class AddPerturbation:
    """A forward hook adding a given tensor ``delta`` (batch, seq, hidden) to the input
    embeddings: the handle through which adversarial training reaches embedding space."""

    def __init__(self, delta: torch.Tensor):
        self.delta = delta

    def __call__(self, module, inputs, output):
        return output + self.delta


# ---- token level -------------------------------------------------------------------------
def _repair_bio(tags: list[int], names: tuple[str, ...] | None) -> list[int]:
    """After words were dropped or moved, make every span start with B- again (a B- right
    after a piece of the same type is joined to it: adjacent spans of one type merge)."""
    if not names or not any(n.startswith("I-") for n in names):
        return tags
    out, prev = [], "O"
    for t in tags:
        name = names[t]
        if name.startswith("I-") and prev[2:] != name[2:]:
            name = "B-" + name[2:]
        elif name.startswith("B-") and prev[2:] == name[2:] and f"I-{name[2:]}" in names:
            name = "I-" + name[2:]  # two pieces of one span moved next to each other
        out.append(names.index(name))
        prev = name
    return out


def word_dropout(words: list[str], tags: list[int] | None, p: float, rng: random.Random):
    """Drop every word with probability ``p`` (at least one word stays), with its tag."""
    keep = [rng.random() >= p for _ in words]
    if not any(keep):
        keep[rng.randrange(len(words))] = True
    return [w for w, k in zip(words, keep) if k], None if tags is None else [t for t, k in zip(tags, keep) if k]


def word_swap(words: list[str], tags: list[int] | None, p: float, rng: random.Random):
    """Swap neighbouring words with probability ``p`` per position (non-overlapping swaps), tags along."""
    words, tags = list(words), None if tags is None else list(tags)
    i = 0
    while i < len(words) - 1:
        if rng.random() < p:
            words[i], words[i + 1] = words[i + 1], words[i]
            if tags is not None:
                tags[i], tags[i + 1] = tags[i + 1], tags[i]
            i += 2
        else:
            i += 1
    return words, tags


def char_noise(word: str, alphabet: str, rng: random.Random) -> str:
    """One random character edit: delete, insert, substitute or swap two neighbours."""
    i = rng.randrange(len(word))
    op = rng.choice(("delete", "insert", "substitute", "swap") if len(word) > 1 else ("insert", "substitute"))
    if op == "delete":
        return word[:i] + word[i + 1:]
    if op == "insert":
        return word[:i] + rng.choice(alphabet) + word[i:]
    if op == "substitute":
        return word[:i] + rng.choice([c for c in alphabet if c != word[i]] or [word[i]]) + word[i + 1:]
    j = i + 1 if i + 1 < len(word) else i - 1
    chars = list(word)
    chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def substitute(words: list[str], table: dict[str, list[str]], p: float, rng: random.Random) -> list[str]:
    """Replace every word found in ``table`` with probability ``p`` by a uniform draw from
    itself and its entries (so ``p=1`` is the authors' RS-DA perturbation)."""
    return [rng.choice([w, *table[w]]) if w in table and table[w] and rng.random() < p else w for w in words]


def code_switch(words: list[str], dictionaries: dict[str, dict[str, str]], p: float, rng: random.Random) -> list[str]:
    """Replace every dictionary word with probability ``p`` by its translation in a random language."""
    langs = sorted(dictionaries)
    out = []
    for w in words:
        if rng.random() < p:
            lang = rng.choice(langs)
            w = dictionaries[lang].get(w, w)
        out.append(w)
    return out


def perturb_frame(df: pd.DataFrame, cfg: NoiseConfig, copy: int = 0, synonyms: dict[str, list[str]] | None = None
                  ) -> pd.DataFrame:
    """A noisy copy of a task frame (columns words, label | tags; pair tasks: words and
    words2, both perturbed): the token-level methods.

    ``copy`` selects an independent draw (copy ``c`` of seed ``s`` is always the same).
    Labels of sequence tasks stay; tags of token tasks follow their words (BIO spans are
    repaired after drops and swaps).  Words are changed only by the chosen method.
    """
    if cfg.method not in TOKEN_NOISE:
        raise ValueError(f"perturb_frame is for token-level noise ({', '.join(TOKEN_NOISE)}), not {cfg.method!r}")
    rng = random.Random(f"{cfg.seed}-{cfg.method}-{copy}")
    has_tags = "tags" in df.columns
    table = synonyms if synonyms is not None else cfg.synonyms
    if cfg.method == "rs-da" and table is None:
        raise ValueError("rs-da needs a synonym table (synonym_file, or embedding_synonyms(model, tokenizer, words))")
    if cfg.method == "code-switch" and not cfg.dictionaries:
        raise ValueError("code-switch needs bilingual dictionaries (code_switch_langs)")
    pair = "words2" in df.columns
    if pair and cfg.method in PAIR_UNSAFE_NOISE:
        raise ValueError(f"{cfg.method} can change the label of a sentence pair (a dropped 'not' turns a "
                         f"contradiction into an entailment); for pair tasks use one of "
                         f"{', '.join(m for m in TOKEN_NOISE if m not in PAIR_UNSAFE_NOISE)}")
    columns = ["words", "words2"] if pair else ["words"]
    alphabet = "".join(sorted({c for col in columns for ws in df[col] for w in ws for c in w}))
    out = df.copy()
    for col in columns:  # a pair's two sentences get independent draws of the same label-preserving noise
        new_words, new_tags = [], []
        for ws, tags in zip(df[col], df["tags"] if has_tags else [None] * len(df)):
            ws, tags = list(ws), None if tags is None else [int(t) for t in tags]
            if cfg.method == "word-dropout":
                ws, tags = word_dropout(ws, tags, cfg.scale, rng)
            elif cfg.method == "word-swap":
                ws, tags = word_swap(ws, tags, cfg.scale, rng)
            elif cfg.method == "char-noise":
                ws = [char_noise(w, alphabet, rng) if w and rng.random() < cfg.scale else w for w in ws]
            elif cfg.method == "rs-da":
                ws = substitute(ws, table, cfg.scale, rng)
            else:  # code-switch
                ws = code_switch(ws, cfg.dictionaries, cfg.scale, rng)
            if tags is not None and cfg.method in ("word-dropout", "word-swap"):
                tags = _repair_bio(tags, cfg.tag_names)
            new_words.append(ws)
            new_tags.append(tags)
        out[col] = new_words
        if has_tags:
            out["tags"] = new_tags
    return out


# ---- bilingual dictionaries (code-switching) -------------------------------------------------
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
    """Read a synonym TSV: one line per word, ``word<TAB>synonym[<TAB>synonym...]``.

    Blank lines and lines starting with ``#`` are skipped.  Raises ``ValueError`` naming the
    file, the line and the expected format (never returns a half-read table).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"synonym_file {str(path)!r} not found")
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
