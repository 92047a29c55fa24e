"""Noise injection for robust training (Huang et al. 2021), as small removable pieces.

Huang, Ahmad, Peng & Chang (2021), "Improving Zero-Shot Cross-Lingual Transfer Learning
via Robust Training", EMNLP 2021, arXiv:2104.08645, read zero-shot failures as
adversarial examples: the target language's embeddings sit a small step away from the
source language's, so a model that tolerates small steps in embedding space transfers
better.  They train against that step in two ways (their section 3):

- **adversarial training**, the min-max objective of Madry et al. (2018)::

      min_theta  E_(x,y)  max_{||delta|| <= eps}  L(f_theta(e(x) + delta), y)

  solved approximately with K steps of projected gradient ascent on ``delta``
  (``xltkit.modeling.trainer.NoisyTrainer``, methods ``adv``: PGD, or FreeLB of Zhu et al. 2020,
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

A method is one entry of :data:`NOISE_METHODS` (:mod:`xltkit.modeling.noise.methods`): its
family, the knobs it reads, the function that names its setting (the label is the metrics'
``noise_setting`` column and the method's part of a stage's cache key) and, for a token
method, its transform of one sentence.  The knobs are one parameter group
(:class:`xltkit.modeling.noise.params.NoiseParams`).  Embedding methods are carried out by
:class:`xltkit.modeling.trainer.NoisyTrainer` (a forward hook for rs-rp, its own training
step for adv).
"""

from __future__ import annotations

from xltkit.modeling.noise.methods import (NOISE_METHODS, SCALE_UNITS, SYNONYM_SOURCES, NoiseMethod, embedding_methods,
                                           token_methods)

__all__ = ["NOISE_METHODS", "SCALE_UNITS", "SYNONYM_SOURCES", "NoiseMethod", "embedding_methods", "token_methods"]
