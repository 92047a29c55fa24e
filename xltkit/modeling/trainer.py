"""``NoisyTrainer``: the one ``transformers.Trainer`` subclass of xltkit, where noise in
input-embedding space plugs in, and where a diverging run stops instead of finishing
silently (a non-finite loss raises :class:`NonFiniteLossError` naming the step and the
learning rate; the Trainer's own ``logging_nan_inf_filter`` would hide it).

It also skips work of the Trainer that changes no number (issue #14, ``benchmarks/bench_train.py``):
the length-grouped sampler reads the lengths of the input column from Arrow instead of reading
every row, the FLOP count of a step does not walk the model, and on a CPU the start of training
does not run a full garbage collection."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch
from transformers import Trainer

from xltkit.modeling.noise.config import NoiseConfig
from xltkit.modeling.noise.embedding import AddPerturbation, EmbeddingNoise, ascent_direction, project, sample_ball

NOISE_STATE = "xltkit_noise_rng.pt"  # the noise generators' states, in each checkpoint (.<process index>)


class NonFiniteLossError(FloatingPointError):
    """Training produced a non-finite loss (or weights): the run diverged."""


class NoisyTrainer(Trainer):
    """``Trainer`` with noise in the input-embedding space, in training only.

    - ``rs-rp``: an :class:`xltkit.modeling.noise.embedding.EmbeddingNoise` hook is attached for the duration
      of :meth:`train` and removed afterwards; with ``samples > 1`` every batch is repeated
      ``samples`` times so that one step averages the loss over that many noise draws
      (randomized smoothing, Huang et al. 2021, sec. 3).
    - ``adv``: adversarial training in embedding space (Huang et al. 2021, sec. 3; the
      min-max objective ``min_theta E max_{||delta_i|| <= eps} L(f(e(x) + delta), y)`` of
      Madry et al. 2018, eq. 2.1), one bound ``eps = scale`` per token in L2 or L-inf.
      ``delta`` starts uniformly inside the bound and takes ``K = adv_steps`` projected
      ascent steps ``delta <- Proj(delta + alpha * g/||g||)`` (``sign(g)`` for L-inf).
      ``pgd`` (Madry et al. 2018) then takes the descent step on the loss at the last
      ``delta``: K+1 forward/backward passes.  ``freelb`` (Zhu et al. 2020, ICLR, Alg. 1)
      accumulates the parameter gradients of all K ascent passes, ``1/K sum_t grad
      L(delta_t)``: K passes.

    With ``noise.unit == "relative"`` the radius / epsilon (and step size) are multiples of
    the model's input-embedding size (:func:`xltkit.modeling.noise.embedding.embedding_unit`), measured once
    when :meth:`train` starts (or at the first adversarial step when ``training_step`` is
    called directly); :attr:`applied` holds the absolute numbers used.

    Any other method (token-level noise) acts on the data, so the trainer is plain.
    """

    def __init__(self, *args, noise: NoiseConfig | None = None, desc: str = "training", **kwargs):
        super().__init__(*args, **kwargs)
        self.noise = noise or NoiseConfig()
        self.desc = desc
        self._adv_generator: torch.Generator | None = None
        self._rs_noise: EmbeddingNoise | None = None
        self._applied: tuple[NoiseConfig, float] | None = None
        self._non_embedding_params: int | None = None
        if self.args.device.type == "cpu" and not self.is_deepspeed_enabled:
            # accelerate's free_memory runs gc.collect() (0.3-0.6 s in a process holding a lab) to release the
            # memory of a previous training on an accelerator; a CPU gets nothing back from it
            self.accelerator.free_memory = self._forget_prepared

    def _in_embedding_units(self) -> NoiseConfig:
        """``self.noise`` in absolute embedding units, measured on this model once per training."""
        if self._applied is None:
            weight = self.accelerator.unwrap_model(self.model).get_input_embeddings().weight
            self._applied = self.noise.in_embedding_units(weight)
        return self._applied[0]

    @property
    def applied(self) -> dict:
        """The absolute noise used in training (for the run's statistics); empty before training."""
        if self._applied is None or self.noise.method not in ("rs-rp", "adv"):
            return {}
        cfg, unit = self._applied
        out = {"applied_scale": cfg.scale, "embedding_unit": unit}
        if cfg.method == "adv":
            out["applied_step_size"] = cfg.step_size
        return out

    def train(self, *args, **kwargs):
        handle = None
        self._non_embedding_params = None
        self._applied = None  # measured afresh on the model as it is now
        cfg = self._in_embedding_units()
        if cfg.method == "rs-rp":
            self._rs_noise = EmbeddingNoise(cfg.scale, cfg.distribution, self._noise_seed())
            handle = self._rs_noise.attach(self.accelerator.unwrap_model(self.model))
        try:
            return super().train(*args, **kwargs)
        finally:
            if handle is not None:
                handle.remove()

    # ---- speed: the same numbers with less work (issue #14) ------------------------------------
    def _forget_prepared(self, *objects):
        """``Accelerator.free_memory`` without its ``gc.collect()``: the prepared objects are forgotten."""
        acc = self.accelerator
        acc._schedulers, acc._optimizers, acc._models, acc._dataloaders = [], [], [], []
        acc.step = 0
        return [None] * len(objects)

    def _get_train_sampler(self, train_dataset=None):
        """The Trainer's ``LengthGroupedSampler`` with the same lengths (``len`` of each row's main input),
        read from the Arrow column at once: the Trainer removes the ``length`` column before building
        the sampler, which then formats every row of the dataset (0.3 s for 8,000 rows)."""
        from transformers.trainer_pt_utils import LengthGroupedSampler

        ds = self.train_dataset if train_dataset is None else train_dataset
        grouped = self.args.train_sampling_strategy == "group_by_length"
        own = getattr(ds, "column_names", None) and self.args.length_column_name in ds.column_names  # read as is
        lengths = input_lengths(ds, self._main_input()) if grouped and not own else None
        if lengths is None:
            return super()._get_train_sampler(train_dataset)
        return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps, lengths=lengths)

    def _main_input(self) -> str:
        pc = self.processing_class
        return pc.model_input_names[0] if pc is not None and hasattr(pc, "model_input_names") else "input_ids"

    def floating_point_ops(self, inputs) -> int:
        """The Trainer's count (6 x tokens x non-embedding parameters) with the parameters counted once per
        training, not by walking the model at every step."""
        main = getattr(self.model, "main_input_name", "input_ids")
        if main not in inputs or not hasattr(self.model, "num_parameters"):
            return super().floating_point_ops(inputs)
        if self._non_embedding_params is None:
            self._non_embedding_params = self.model.num_parameters(exclude_embeddings=True)
        return 6 * inputs[main].numel() * self._non_embedding_params

    # ---- checkpoints: the noise generators travel with the Trainer's own RNG states ----------
    def _save_checkpoint(self, model, trial):
        super()._save_checkpoint(model, trial)
        from xltkit.modeling import checkpoints

        folder = Path(self._get_output_dir(trial=trial)) / f"checkpoint-{self.state.global_step}"
        states = {name: g.get_state() for name, g in self._generators().items() if g is not None}
        if states:  # every process its own: each draws its own noise
            torch.save(states, folder / f"{NOISE_STATE}.{self.args.process_index}")
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()  # every process's files are written before the checkpoint is called whole
        if self.args.should_save:
            checkpoints.mark_complete(folder, self.state.global_step, [p.name for p in folder.iterdir() if p.is_file()])
            ck = checkpoints.current()
            if ck is not None:  # the Trainer keeps one more than asked, so a complete one is always on disk
                checkpoints.prune(folder.parent, ck.keep, protect=self.state.best_model_checkpoint)

    def _load_rng_state(self, checkpoint):
        super()._load_rng_state(checkpoint)
        path = Path(checkpoint) / f"{NOISE_STATE}.{self.args.process_index}" if checkpoint else None
        if path is None or not path.is_file():
            return
        device = self.args.device
        for name, state in torch.load(path, map_location="cpu", weights_only=True).items():
            if name == "adv":
                self._adv_generator = torch.Generator(device=device)
                self._adv_generator.set_state(state)
            elif name == "rs-rp" and self._rs_noise is not None:
                self._rs_noise.generator = torch.Generator(device=device)
                self._rs_noise.generator.set_state(state)

    def _generators(self) -> dict[str, torch.Generator | None]:
        return {"adv": self._adv_generator, "rs-rp": self._rs_noise.generator if self._rs_noise else None}

    def _noise_seed(self) -> int:
        """The noise seed; each process of a distributed run draws its own noise."""
        return self.noise.seed + 1_000_003 * self.args.process_index

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        m = self.noise.samples if self.noise.method == "rs-rp" else 1
        if m > 1 and model.training:  # m noise draws per example in one forward pass
            inputs = {k: v.repeat_interleave(m, dim=0) if torch.is_tensor(v) and v.dim() > 0 else v
                      for k, v in inputs.items()}  # (batch * m, ...)
            if num_items_in_batch is not None:
                num_items_in_batch = num_items_in_batch * m
        return super().compute_loss(model, inputs, return_outputs=return_outputs, num_items_in_batch=num_items_in_batch)

    def training_step(self, model, inputs, num_items_in_batch=None):
        if self.noise.method == "adv":
            loss = self._adversarial_step(model, inputs, num_items_in_batch)
        else:
            loss = super().training_step(model, inputs, num_items_in_batch)
        if not torch.isfinite(loss).all():  # one sync per step, as the Trainer's own NaN filter costs
            raise NonFiniteLossError(self._diverged(f"non-finite training loss ({float(loss.detach().float().mean())})"))
        return loss

    def _diverged(self, what: str) -> str:
        lr = self.lr_scheduler.get_last_lr()[0] if self.lr_scheduler is not None else self.args.learning_rate
        return (f"{self.desc}: {what} at step {self.state.global_step + 1} of {self.state.max_steps}, learning rate "
                f"{lr:.3g} (peak {self.args.learning_rate:g}): the run diverged; lower the learning rate, or clip "
                "gradients harder (a smaller max_grad_norm)")

    def check_finite_weights(self) -> None:
        """Raise :class:`NonFiniteLossError` if any weight is NaN or infinite (after training)."""
        bad = [n for n, p in self.accelerator.unwrap_model(self.model).named_parameters()
               if not torch.isfinite(p.detach()).all()]
        if bad:
            raise NonFiniteLossError(f"{self.desc}: {len(bad)} weight tensors are not finite after training "
                                     f"(first: {bad[0]}), learning rate {self.args.learning_rate:g}: the run diverged")

    def _adversarial_step(self, model, inputs, num_items_in_batch=None):
        model.train()
        if hasattr(self.optimizer, "train") and callable(self.optimizer.train):
            self.optimizer.train()
        inputs = self._prepare_inputs(inputs)
        cfg = self._in_embedding_units()
        emb = self.accelerator.unwrap_model(model).get_input_embeddings()
        # (batch, seq), or (batch, choices, seq) for multiple choice, which the model flattens to
        # (batch * choices, seq) before its embeddings: delta has the shape the embeddings put out
        ids = inputs["input_ids"].flatten(0, -2)  # (rows, seq)
        if self._adv_generator is None:
            self._adv_generator = torch.Generator(device=ids.device).manual_seed(self._noise_seed())
        delta = sample_ball((*ids.shape, emb.embedding_dim), cfg.scale, cfg.adv_norm, self._adv_generator,
                            ids.device, emb.weight.dtype)  # (rows, seq, hidden)
        hook = AddPerturbation(delta)
        handle = emb.register_forward_hook(hook)
        total = torch.zeros((), device=ids.device)
        try:
            for t in range(cfg.adv_steps):
                hook.delta = delta.detach().requires_grad_()
                last = t == cfg.adv_steps - 1
                if cfg.adv_variant == "freelb":
                    ctx = contextlib.nullcontext() if last else self.accelerator.no_sync(model)
                    with ctx:
                        loss = self._loss(model, inputs, num_items_in_batch)
                        self.accelerator.backward(loss / cfg.adv_steps)
                    grad = hook.delta.grad
                    total = total + loss.detach()
                else:  # pgd: the ascent passes compute only the gradient of delta
                    with self.accelerator.no_sync(model):
                        loss = self._loss(model, inputs, num_items_in_batch)
                        (grad,) = torch.autograd.grad(loss, hook.delta)
                if not (last and cfg.adv_variant == "freelb"):
                    delta = project(hook.delta.detach() + cfg.step_size * ascent_direction(grad, cfg.adv_norm),
                                    cfg.scale, cfg.adv_norm)
            if cfg.adv_variant == "pgd":
                hook.delta = delta.detach()
                loss = self._loss(model, inputs, num_items_in_batch)
                self.accelerator.backward(loss)
                total = loss.detach()
            else:
                total /= cfg.adv_steps
        finally:
            handle.remove()
        return total

    def _loss(self, model, inputs, num_items_in_batch):
        """The training loss as ``Trainer.training_step`` scales it (devices, gradient accumulation)."""
        with self.compute_loss_context_manager():
            loss = self.compute_loss(model, inputs, num_items_in_batch=num_items_in_batch)
        if self.args.n_gpu > 1:
            loss = loss.mean()
        scaled = self.loss_is_scaled_for_ga if self.loss_is_scaled_for_ga is not None else (
            (self.model_accepts_loss_kwargs and num_items_in_batch is not None) or self.compute_loss_func is not None)
        return loss if scaled else loss / self.current_gradient_accumulation_steps


def input_lengths(ds, column: str = "input_ids") -> list[int] | None:
    """``[len(row[column]) for row in ds]`` of a ``datasets.Dataset`` read from its Arrow list column
    (its rows selected and ordered as the dataset's are), or None where ``ds`` has no such column."""
    try:
        import datasets
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        return None
    if not isinstance(ds, datasets.Dataset) or column not in ds.column_names:
        return None
    col = ds.select_columns([column]).with_format("arrow")[:][column]
    if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)
            or pa.types.is_fixed_size_list(col.type)) or col.null_count:
        return None
    return pc.list_value_length(col).to_pylist()
