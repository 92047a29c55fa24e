"""GPU throughput and model FLOPs utilization (MFU) of xltkit's training step against a plain
PyTorch loop, evaluation throughput, and bf16 against fp32 (issue #14, item 3).

An XLM-R-base-sized encoder (``--size large``: XLM-R large) is built from its config with
random weights (no download), PyTorch SDPA attention (``attn_implementation="sdpa"``), a
sequence-classification head, batch 32 x 128 tokens of random ids (no padding: every token
counts).  Timed, interleaved over ``--repeats`` repeats, from the same initial weights:

- xltkit's step: :class:`xltkit.modeling.trainer.NoisyTrainer` with
  :func:`xltkit.modeling.training.training_arguments` (bf16, AdamW, linear schedule with
  warm-up, clipping at 1.0, length-grouped sampling), as the training stages run it, the
  head's collator as ``train_task`` wraps it (padding to a multiple of 8), logging every 15
  steps as a 300-step stage does;
- a plain loop: the same model, batches, AdamW, schedule and clipping, ``torch.autocast``
  bf16, nothing else.

Model FLOPs per token (PaLM, Chowdhery et al. 2022, appendix B): training ``6 N + 12 L d T``
and a forward pass ``2 N + 4 L d T``, with N the non-embedding parameters (Kaplan et al. 2020,
sec. 2.1: an embedding lookup does no multiply-adds, and a classifier has no vocabulary
projection), L layers, d the hidden size, T the sequence length.  MFU = model FLOPs per
second / the device's peak dense bf16 FLOP/s (:data:`PEAK`, or ``--peak-tflops``).  Floor:
MFU >= 40% for the base size at batch 32 x 128 on the GPU.  The bf16 check trains the plain
loop in fp32 and in bf16 autocast for the first ``--compare-steps`` steps from the same
weights and batches: the losses' largest relative gap must stay under ``--tolerance``.

    python benchmarks/bench_gpu.py                  # on a GPU: XLM-R base (~1-2 min on an H100)
    python benchmarks/bench_gpu.py --size large     # XLM-R large
    python benchmarks/bench_gpu.py --size tiny      # anywhere: the same code at a tiny size on CPU (tests)

Without CUDA only ``--size tiny`` runs; there the xltkit step trains in fp32 (its
``training_arguments`` refuses bf16 without a GPU) and so does the plain loop, and the bf16
check uses CPU autocast.
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time

import torch
from benchlib import parser, row, write

NEEDS_CUDA = True  # run_all.py runs this only where torch.cuda.is_available()

#: peak dense bf16 tensor FLOP/s (NVIDIA datasheets; sparsity not counted), matched in order against the device name
PEAK = [("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("A100", 312e12)]
SIZES = {"tiny": dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
         "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
         "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)}


def build(size: str, vocab: int, seq: int):
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    cfg = XLMRobertaConfig(vocab_size=vocab, max_position_embeddings=seq + 2, type_vocab_size=1, num_labels=3,
                           pad_token_id=1, attn_implementation="sdpa", **SIZES[size])
    torch.manual_seed(0)
    return XLMRobertaForSequenceClassification(cfg)


def flops_per_token(model, seq: int) -> tuple[float, float]:
    """(training, forward) model FLOPs per token: 6N + 12LdT and 2N + 4LdT (PaLM, appendix B)."""
    cfg = model.config
    emb = sum(p.numel() for p in model.base_model.embeddings.parameters())
    n = sum(p.numel() for p in model.parameters()) - emb
    attn = cfg.num_hidden_layers * cfg.hidden_size * seq
    return 6 * n + 12 * attn, 2 * n + 4 * attn


def peak_flops(device, override: float | None) -> float | None:
    if override:
        return override * 1e12
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((p for key, p in PEAK if key in name), None)


def batches(n: int, batch: int, seq: int, vocab: int, seed: int = 1) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randint(5, vocab, (batch, seq), generator=g), torch.randint(0, 3, (batch,), generator=g))
            for _ in range(n)]


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain(model, data, device, bf16: bool, lr: float, warmup: int, record_losses: bool = False):
    """The baseline loop; (seconds for the steps after ``warmup``, losses)."""
    from transformers import get_linear_schedule_with_warmup

    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = get_linear_schedule_with_warmup(opt, max(1, len(data) // 10), len(data))
    losses, t0 = [], None
    for step, (ids, labels) in enumerate(data):
        if step == warmup:
            sync(device)
            t0 = time.perf_counter()
        ids, labels = ids.to(device, non_blocking=True), labels.to(device, non_blocking=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        if record_losses:
            losses.append(float(loss.detach()))
    sync(device)
    return (time.perf_counter() - t0 if t0 is not None else math.nan), losses


def xltkit_step(model, data, device, bf16: bool, lr: float, warmup: int) -> float:
    """xltkit's training path on the same batches; seconds for the steps after ``warmup``."""
    from datasets import Dataset
    from transformers import PrinterCallback, TrainerCallback

    from xltkit.modeling.heads import get_head
    from xltkit.modeling.params import TrainingParams
    from xltkit.modeling.tiny import xlmr_tokenizer
    from xltkit.modeling.trainer import NoisyTrainer
    from xltkit.modeling.training import fast_padding, training_arguments

    class Clock(TrainerCallback):
        t0 = t1 = None

        def on_step_begin(self, args, state, control, **kw):
            if state.global_step == warmup and self.t0 is None:
                sync(device)
                self.t0 = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            if state.global_step == state.max_steps:
                sync(device)
                self.t1 = time.perf_counter()

    ids = torch.cat([b[0] for b in data]).tolist()
    ds = Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(r) for r in ids],
                            "labels": torch.cat([b[1] for b in data]).tolist()})
    tok = xlmr_tokenizer(["a b c"], vocab_size=40)  # only its pad id is used by the collator
    batch = len(data[0][0])
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        args = training_arguments(tmp, len(data), lr, TrainingParams(batch_size=batch, seed=0,
                                                                     precision="bf16" if bf16 else "fp32"),
                                  logging_steps=15)
        trainer = NoisyTrainer(model=model, args=args, train_dataset=ds, callbacks=[clock], desc="bench_gpu",
                               data_collator=fast_padding(get_head("sequence").collator(tok, pad_to_multiple_of=8)))
        trainer.remove_callback(PrinterCallback)
        trainer.train()
    return clock.t1 - clock.t0


def evaluate(model, data, device, bf16: bool, warmup: int) -> float:
    model.eval()
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
        for step, (ids, _) in enumerate(data):
            if step == warmup:
                sync(device)
                t0 = time.perf_counter()
            model(input_ids=ids.to(device), attention_mask=torch.ones_like(ids, device=device)).logits.float()
    sync(device)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = parser(__doc__)
    ap.add_argument("--size", choices=list(SIZES), default=None, help="default: base on a GPU, tiny on CPU")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per way and repeat")
    ap.add_argument("--warmup", type=int, default=5, help="steps before the clock starts")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=250_002, help="XLM-R's vocabulary (tiny: 500)")
    ap.add_argument("--lr", type=float, default=2e-5)
    ap.add_argument("--peak-tflops", type=float, default=None, help="the device's peak dense bf16 TFLOP/s")
    ap.add_argument("--compare-steps", type=int, default=5, help="first steps on which bf16 and fp32 must agree")
    ap.add_argument("--tolerance", type=float, default=0.05, help="largest relative loss gap allowed")
    a = ap.parse_args(argv)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    size = a.size or ("base" if cuda and not a.quick else "tiny")
    if size != "tiny" and not cuda:
        sys.exit(f"--size {size} needs a CUDA GPU and none is visible; --size tiny runs on the CPU")
    if size == "tiny":
        a.vocab = min(a.vocab, 500)
        a.batch, a.seq = min(a.batch, 8), min(a.seq, 32)
        a.steps, a.warmup = min(a.steps, 6), min(a.warmup, 2)
    if a.quick:
        a.repeats = min(a.repeats, 2)
    if not cuda:
        torch.set_num_threads(1)
    bf16 = cuda  # the throughput ways; the bf16 check below runs everywhere
    peak = peak_flops(device, a.peak_tflops)
    init = build(size, a.vocab, a.seq)
    state = {k: v.clone() for k, v in init.state_dict().items()}
    train_flops, fwd_flops = flops_per_token(init, a.seq)
    data = batches(a.warmup + a.steps, a.batch, a.seq, a.vocab)
    tokens = a.steps * a.batch * a.seq

    def fresh():
        model = build(size, a.vocab, a.seq)
        model.load_state_dict(state)
        return model.to(device)

    secs = {"xltkit": [], "plain": [], "eval": []}
    for rep in range(a.repeats):
        secs["xltkit"].append(xltkit_step(fresh(), data, device, bf16, a.lr, a.warmup))
        secs["plain"].append(plain(fresh(), data, device, bf16, a.lr, a.warmup)[0])
        secs["eval"].append(evaluate(fresh(), data, device, bf16, a.warmup))
        print(f"repeat {rep + 1}: " + ", ".join(f"{w} {v[-1]:.3f} s" for w, v in secs.items()), flush=True)
    rate = {w: tokens / statistics.median(v) for w, v in secs.items()}
    check = data[: a.compare_steps]
    fp32 = plain(fresh(), check, device, False, a.lr, 0, record_losses=True)[1]
    half = plain(fresh(), check, device, True, a.lr, 0, record_losses=True)[1]
    gaps = [abs(x - y) / max(abs(y), 1e-8) for x, y in zip(half, fp32)]
    name = torch.cuda.get_device_name(device) if cuda else "CPU (1 thread)"
    precision = "bf16 autocast" if bf16 else "fp32 (no GPU: xltkit's training_arguments allow bf16 on CUDA only)"
    shape = f"{size}, batch {a.batch} x {a.seq}, {a.steps} timed steps"

    def mfu(ts: list[float], per_token: float) -> list[float]:
        return [tokens * per_token / t / peak for t in ts] if peak else []

    rows = [row(f"xltkit training step (NoisyTrainer, training_arguments; {shape})", "plain PyTorch loop",
                [p / x for x, p in zip(secs["xltkit"], secs["plain"])], floor=0.95, unit="tokens/s",
                value=round(rate["xltkit"]), notes=f"plain loop {rate['plain']:,.0f} tokens/s; {precision}; {name}")]
    if peak:
        m_x, m_p = mfu(secs["xltkit"], train_flops), mfu(secs["plain"], train_flops)
        rows.append(row("MFU of xltkit's training step", f"device peak {peak / 1e12:g} TFLOP/s dense bf16", m_x,
                        floor=0.40 if size == "base" and cuda else None, unit="% MFU",
                        value=round(100 * statistics.median(m_x), 1),
                        notes=f"plain loop {100 * statistics.median(m_p):.1f}% MFU; {train_flops / 1e6:,.1f} MFLOP "
                              "a token (6N + 12LdT, N non-embedding; the embeddings' update is work not counted)"))
    rows.append(row("evaluation: forward passes in inference_mode", "xltkit training step (tokens/s)",
                    [x / e for x, e in zip(secs["xltkit"], secs["eval"])], unit="tokens/s", value=round(rate["eval"]),
                    notes=(f"{100 * statistics.median(mfu(secs['eval'], fwd_flops)):.1f}% MFU (2N + 4LdT); "
                           if peak else "") + ("bf16 autocast" if bf16 else "fp32")))
    rows.append(row(f"bf16 autocast losses, first {len(gaps)} steps", "fp32 losses, same weights and batches",
                    max(gaps), floor=a.tolerance, better="lower", unit="largest relative gap",
                    value=round(max(gaps), 6), notes=f"ran on {device.type} ({'CUDA' if cuda else 'CPU'} autocast); "
                    f"fp32 {fp32[0]:.4f} -> {fp32[-1]:.4f}, bf16 {half[0]:.4f} -> {half[-1]:.4f}"))
    write(a, "bench_gpu", rows, device=name, size=size, peak_flops=peak, train_flops_per_token=train_flops,
          forward_flops_per_token=fwd_flops, bf16_check={"ran": True, "device": device.type, "gaps": gaps,
                                                        "fp32": fp32, "bf16": half, "tolerance": a.tolerance})
    return 0


if __name__ == "__main__":
    sys.exit(main())
