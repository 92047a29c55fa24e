"""Noise in input-embedding space: the RS-RP hook, the adversarial perturbation's pieces
(sampling in a ball, projection, ascent direction) and the embedding unit of relative scales."""

from __future__ import annotations

import math

import torch
from torch import nn


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
    """A forward hook adding a given tensor ``delta`` to the input embeddings, of the shape they
    put out: (batch, seq, hidden); (batch * choices, seq, hidden) for multiple choice, whose models
    flatten the choices first.  The handle through which adversarial training reaches embedding space."""

    def __init__(self, delta: torch.Tensor):
        self.delta = delta

    def __call__(self, module, inputs, output):
        return output + self.delta
