"""What one training call injects: :class:`NoiseConfig`, built by the pipeline from a
stage's method and scale, the noise knobs and the task's lexical resources."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import torch

from xltkit.modeling.noise.methods import NOISE_METHODS, SCALE_UNITS, embedding_methods
from xltkit.modeling.noise.embedding import embedding_unit


@dataclass
class NoiseConfig:
    """What one training call injects; built from a run by :func:`xltkit.pipeline.stages.noise_config`.

    ``scale`` is the method's strength (radius, epsilon or probability per word, see
    ``TargetParams.noise_scale``); the other fields are the method's knobs.  With
    ``unit="relative"`` the embedding methods' ``scale`` and ``adv_step_size`` are multiples
    of the encoder's embedding size (:func:`embedding_unit`), turned into absolute numbers by
    :meth:`in_embedding_units` when training starts.
    """

    method: str = "none"
    scale: float = 0.0
    seed: int = 0
    unit: str = "absolute"  # rs-rp, adv: "absolute" | "relative" (see NoiseParams.noise_scale_unit)
    distribution: str = "ball"  # rs-rp: "ball" | "gaussian"
    samples: int = 1  # rs-rp: noise draws per example and step
    adv_steps: int = 1
    adv_step_size: float | None = None
    adv_norm: str = "l2"  # "l2" | "linf"
    adv_variant: str = "pgd"  # "pgd" | "freelb"
    synonyms: dict[str, list[str]] | None = None  # rs-da table; None: nearest neighbours in embedding space
    synonym_neighbours: int = 5
    copies: int | None = None  # token noise: exactly this many noisy copies of the training set (None: as steps need)
    dictionaries: dict[str, dict[str, str]] = field(default_factory=dict)  # code-switch: lang -> src word -> word
    tag_names: tuple[str, ...] | None = None  # token tasks: label names, so BIO spans stay valid after edits
    label_changing: frozenset[str] = frozenset()  # methods the task refuses (they can change its labels)

    def __post_init__(self):
        def allowed(name, value, values):
            if value not in values:
                raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(values)}")

        allowed("noise method", self.method, NOISE_METHODS.names())
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
        return self.unit == "relative" and self.method in embedding_methods()

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
        if self.method in embedding_methods():
            out["unit"] = self.unit
        if self.method == "rs-rp":
            out.update(distribution=self.distribution, samples=self.samples)
        elif self.method == "adv":
            out.update(steps=self.adv_steps, step_size=self.step_size, norm=self.adv_norm, variant=self.adv_variant)
        return out
