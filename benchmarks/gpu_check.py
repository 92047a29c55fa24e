"""GPU check: does training an XLM-R-base-sized encoder work here, in bf16, as in fp32?

Builds XLM-R base's architecture from its config (random weights, no download), trains a
sequence-classification and a token-classification head for a few hundred steps on random
token ids whose labels are a fixed function of the ids (so the loss can fall), in bf16
autocast, and checks (1) that the loss falls and (2) that over the first steps bf16 and fp32
losses agree within a tolerance, from the same weights and batches.  It prints tokens per
second and seconds per step, the numbers ``xltkit plan`` needs in place of its estimates
(``xltkit/modeling/throughput.py``); measure them at the study's shapes (micro-batch 8, about
64 tokens: ``--batch 8 --seq 64``), since a small batch is slower per token than a large one.

    python benchmarks/gpu_check.py                 # on a GPU: XLM-R base, 300 steps (a few minutes)
    python benchmarks/gpu_check.py --batch 8 --seq 64   # the real study's step shape
    python benchmarks/gpu_check.py --size tiny     # anywhere: the same checks at a tiny size (the test suite)

Exit status 0 when every check passes; the results also go to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch


def build(kind: str, size: str, vocab: int, n_labels: int, seed: int):
    from transformers import (XLMRobertaConfig, XLMRobertaForSequenceClassification,
                              XLMRobertaForTokenClassification)

    from xltkit.modeling.tiny import XLMR_BASE

    dims = XLMR_BASE if size == "base" else dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                                 intermediate_size=64)
    cfg = XLMRobertaConfig(vocab_size=vocab, max_position_embeddings=514, type_vocab_size=1, num_labels=n_labels,
                           hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, **dims)
    torch.manual_seed(seed)
    cls = XLMRobertaForSequenceClassification if kind == "sequence" else XLMRobertaForTokenClassification
    return cls(cfg)


def batches(kind: str, n: int, batch: int, seq: int, vocab: int, n_labels: int, seed: int, device):
    g = torch.Generator().manual_seed(seed)
    for _ in range(n):
        ids = torch.randint(5 + n_labels, vocab, (batch, seq), generator=g)
        if kind == "sequence":  # the label is written as a marker token: learnable in a few hundred steps
            labels = torch.randint(0, n_labels, (batch,), generator=g)
            ids[:, 1] = 5 + labels
        else:  # each token's label is a function of the token
            labels = ids % n_labels
        yield ids.to(device), labels.to(device)


def train(kind: str, size: str, steps: int, precision: str, device, args) -> tuple[list[float], float]:
    n_labels = 3 if kind == "sequence" else 7
    model = build(kind, size, args.vocab, n_labels, seed=0).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr)
    losses, tokens, t0 = [], 0, None
    for step, (ids, labels) in enumerate(batches(kind, steps, args.batch, args.seq, args.vocab, n_labels, 1, device)):
        if step == 5:  # past the first steps' compilation and allocation
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0, tokens = time.time(), 0
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(float(loss.detach()))
        tokens += ids.numel()
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.time() - t0 if t0 else float("nan")
    return losses, tokens / elapsed, elapsed / max(1, steps - 5)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=["base", "tiny"], default="base")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--compare-steps", type=int, default=5, help="first steps on which bf16 and fp32 must agree")
    ap.add_argument("--tolerance", type=float, default=0.05, help="relative loss difference allowed")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--vocab", type=int, default=250_002)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    report = {"device": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu", "size": args.size,
              "model": "xlm-roberta-base" if args.size == "base" else "tiny",  # the encoder xltkit plan --rates prices
              "steps": args.steps, "batch": args.batch, "seq": args.seq,
              "precision": "bf16",  # what the rates are of (xltkit plan prices only jobs of that precision with them)
              "checks": {}}
    ok = True
    for kind in ("sequence", "token"):
        bf16, rate, per_step = train(kind, args.size, args.steps, "bf16", device, args)
        fp32, _, _ = train(kind, args.size, args.compare_steps, "fp32", device, args)
        first, last = sum(bf16[:10]) / 10, sum(bf16[-10:]) / 10
        gap = max(abs(a - b) / max(abs(b), 1e-8) for a, b in zip(bf16[: args.compare_steps], fp32))
        checks = {"loss_falls": last < 0.8 * first, "bf16_matches_fp32": gap < args.tolerance}
        report["checks"][kind] = {**checks, "first_loss": round(first, 4), "last_loss": round(last, 4),
                                  "max_relative_gap_first_steps": round(gap, 5), "bf16_tokens_per_second": round(rate),
                                  "bf16_seconds_per_step": round(per_step, 5)}
        ok &= all(checks.values())
        print(f"{kind}: loss {first:.3f} -> {last:.3f}, bf16 vs fp32 gap {gap:.2e} over {args.compare_steps} steps, "
              f"{rate:,.0f} tokens/s, {per_step * 1000:.1f} ms a step (bf16, {report['device']}, batch {args.batch} x "
              f"{args.seq}): {'ok' if all(checks.values()) else 'FAILED'}")
    report["ok"] = ok
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
