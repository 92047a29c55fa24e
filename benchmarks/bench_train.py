"""Training throughput of xltkit's training path against a plain PyTorch loop (issue #14).

xltkit's path is :func:`xltkit.modeling.training.train_task` (a ``TrainJob``, the
``training_arguments`` and ``NoisyTrainer`` every training stage uses) on the demo's target
task (anim, sequence classification, 8,000 rows, batch 32, embeddings frozen). The plain
loop trains the same model from the same weights on the same rows with the same batching
(length-grouped batches of ``LengthGroupedSampler``, padded to a multiple of 8), the same
AdamW (lr, weight decay on the same parameters, betas, eps), the same linear schedule with
warm-up, and the same clipping at 1.0: only the machinery around forward and backward
differs. Compared, interleaved (A, B, A, B ...) over ``--repeats`` repeats:

- xltkit / plain loop, for the lab encoder (the lab's BERT at its default size) and a small
  XLM-R-architecture encoder, steady state (examples/s from step ``--skip`` on) and end to
  end (the call, tokenization and set-up before step 1 included); floor 0.95 (#14);
- xltkit against a naive loop that draws batches in random order (dynamic padding, no
  length grouping): what length grouping buys;
- length-grouped dynamic padding against padding every batch to the maximum length, both
  on xltkit's path, with the padding share of each.

A step is timed at the model's forward pass (a pre-forward hook, the same in both paths),
which also counts the non-pad tokens. Each row gives min / median / max of the ratio over
repeats. Garbage is collected before each run, outside the clock (a full collection with a lab
in memory costs 0.6 s and otherwise falls in whichever run crosses gc's threshold). ``torch.set_num_threads(1)`` unless ``--threads``.

    .venv/bin/python benchmarks/bench_train.py [--quick] [--json OUT.json] [--models lab xlmr]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import torch
from benchlib import row

LANGS = ["lab_eng", "lab_fin", "lab_tur"]
MAX_LEN = 64  # the demo's max_length
XLMR_SMALL = dict(hidden_size=128, num_hidden_layers=4, num_attention_heads=4, intermediate_size=512)


class StepClock:
    """A pre-forward hook: when each training forward pass starts, and its tokens."""

    def __init__(self, model):
        self.times: list[float] = []
        self.cpu: list[float] = []
        self.tokens: list[int] = []
        self.cells: list[int] = []
        self.handle = model.register_forward_pre_hook(self, with_kwargs=True)

    def __call__(self, module, args, kwargs):
        if module.training:
            self.times.append(time.perf_counter())
            self.cpu.append(time.thread_time())
            mask = kwargs["attention_mask"]
            self.tokens.append(int(mask.sum()))
            self.cells.append(mask.numel())

    def result(self, start: float, end: float, batch: int, skip: int) -> dict:
        self.handle.remove()
        n = len(self.times)
        skip = min(skip, n - 2)
        steady = (self.times[-1] - self.times[skip]) / (n - 1 - skip)  # steps skip .. n-2, whole
        cpu = (self.cpu[-1] - self.cpu[skip]) / (n - 1 - skip)  # CPU seconds of this thread per step
        return {"steps": n, "setup_s": self.times[0] - start, "e2e_s": end - start,
                "steady_step_s": steady, "steady_ex_s": batch / steady, "e2e_ex_s": n * batch / (end - start),
                "steady_cpu_ex_s": batch / cpu,
                "steady_tok_s": sum(self.tokens[skip:-1]) / (self.times[-1] - self.times[skip]),
                "pad_share": 1 - sum(self.tokens) / sum(self.cells), "tokens": self.tokens}


def build_data(rows: int, seed: int = 0):
    from xltkit.lab import Lab
    from xltkit.modeling.tokenization import train_tokenizer
    from xltkit.tasks import get_task

    lab = Lab(LANGS, lab_seed=seed)
    texts = [s for c in LANGS for s in lab.corpus(c, 500)]
    task = get_task("anim")
    frame = task.make(lab, "lab_eng", "train", rows)
    return texts, train_tokenizer(texts, 800, MAX_LEN), task, frame


def build_model(kind: str, texts, lab_tok, folder: Path):
    """(tokenizer, model with a fresh head); its state dict is every run's start."""
    from xltkit.modeling.heads import get_head
    from xltkit.modeling.pretraining import lab_bert
    from xltkit.modeling.tiny import tiny_xlmr
    from xltkit.modeling.tokenization import load_tokenizer

    if kind == "lab":  # LabEncoderParams' defaults, saved and loaded as the stages do
        torch.manual_seed(0)
        lab_bert(len(lab_tok), 128, 2, 4, MAX_LEN, 0.05).save_pretrained(str(folder))
        lab_tok.save_pretrained(str(folder))
    else:
        tiny_xlmr(folder, texts, vocab_size=800, max_length=MAX_LEN, **XLMR_SMALL)
    tok = load_tokenizer(folder)
    tok.model_max_length = MAX_LEN
    torch.manual_seed(0)
    return tok, get_head("sequence").model(folder, 2)


def xltkit_run(model, tok, frame, task, steps, batch, lr, seed, max_padding=False) -> tuple[float, float]:
    """xltkit's path, as the fine-tuning stage calls it; (start, end) of the call."""
    from xltkit.modeling.heads import get_head
    from xltkit.modeling.params import TrainingParams
    from xltkit.modeling.training import TrainJob, train_task

    head = get_head(task.head)
    if max_padding:
        head = MaxPadHead(head)
    job = TrainJob(steps=steps, lr=lr, training=TrainingParams(batch_size=batch, seed=seed), desc="bench",
                   freeze_embeddings=True)
    t0 = time.perf_counter()
    train_task(model, tok, frame, task, head, job)
    return t0, time.perf_counter()


class MaxPadHead:
    """A head whose collator pads every batch to the maximum length (the comparison's baseline)."""

    def __init__(self, head):
        self.head = head

    def __getattr__(self, name):
        return getattr(self.head, name)

    def collator(self, tokenizer, pad_to_multiple_of=None):
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(tokenizer, padding="max_length", max_length=tokenizer.model_max_length)


def plain_run(model, tok, frame, steps, batch, lr, seed, grouped=True) -> tuple[float, float]:
    """A plain PyTorch loop with the same optimizer, schedule, clipping and batching: a ``DataLoader``
    over the tokenized rows with transformers' ``LengthGroupedSampler`` (drawing from the global
    generator, seeded as the Trainer seeds it, so both paths see the same batches), or in random
    order (``grouped=False``: the naive loop), padded to a multiple of 8 by a numpy fill."""
    import numpy as np
    from torch import nn
    from torch.utils.data import DataLoader
    from transformers import get_linear_schedule_with_warmup, set_seed
    from transformers.trainer_pt_utils import LengthGroupedSampler, get_parameter_names

    from xltkit.modeling.params import TrainingParams

    t0 = time.perf_counter()
    tp = TrainingParams(batch_size=batch, seed=seed)
    set_seed(seed)
    enc = tok(list(frame["words"]), is_split_into_words=True, truncation=True, max_length=tok.model_max_length)
    ids, labels = enc["input_ids"], [int(y) for y in frame["label"]]
    lengths = [len(x) for x in ids]
    for prm in model.base_model.embeddings.parameters():
        prm.requires_grad = False
    decay = set(get_parameter_names(model, [nn.LayerNorm], [r"bias", r"layernorm", r"rmsnorm"]))
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": [p for n, p in named if n in decay], "weight_decay": tp.weight_decay},
                             {"params": [p for n, p in named if n not in decay], "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.999), eps=1e-8)
    sched = get_linear_schedule_with_warmup(opt, tp.warmup(steps), steps)
    params = [p for _, p in named]
    pad = tok.pad_token_id

    def collate(rows):
        width = 8 * math.ceil(max(lengths[j] for j in rows) / 8)
        x = np.full((len(rows), width), pad, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for i, j in enumerate(rows):
            x[i, :lengths[j]] = ids[j]
            mask[i, :lengths[j]] = 1
        return torch.from_numpy(x), torch.from_numpy(mask), torch.tensor([labels[j] for j in rows])

    sampler = LengthGroupedSampler(batch, lengths=lengths) if grouped else None
    loader = DataLoader(range(len(ids)), batch_size=batch, sampler=sampler, shuffle=not grouped, collate_fn=collate)
    model.train()
    done = 0
    while done < steps:
        for x, mask, y in loader:
            loss = model(input_ids=x, attention_mask=mask, labels=y).loss
            loss.backward()
            nn.utils.clip_grad_norm_(params, tp.max_grad_norm)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            done += 1
            if done == steps:
                break
    return t0, time.perf_counter()


def timed(fn, init: dict, model, skip: int, **kw) -> dict:
    # the garbage of earlier runs is collected first, outside the clock: a full collection costs 0.6 s
    # with a lab in memory and would land, by allocation counts, in whichever run crosses the threshold
    gc.collect()
    model.load_state_dict(init)
    for prm in model.parameters():
        prm.requires_grad = True
    clock = StepClock(model)
    start, end = fn(model, **kw)
    return clock.result(start, end, kw["batch"], skip)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", metavar="PATH", help="write the rows to PATH (benchmarks/run_all.py reads it)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 60 steps, 2 repeats, 2,000 rows")
    ap.add_argument("--steps", type=int, default=None, help="optimisation steps per run (default 300)")
    ap.add_argument("--skip", type=int, default=None, help="first steps left out of the steady state (default 20)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 3)")
    ap.add_argument("--rows", type=int, default=None, help="training rows (default 8,000, the demo's n_train)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4, help="the demo's finetune_lr")
    ap.add_argument("--models", nargs="+", choices=["lab", "xlmr"], default=["lab", "xlmr"])
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    q = a.quick
    steps = a.steps or (60 if q else 300)
    skip = a.skip if a.skip is not None else (10 if q else 20)
    repeats = a.repeats or (2 if q else 3)
    rows_n = a.rows or (2000 if q else 8000)
    torch.set_num_threads(a.threads)
    from xltkit.modeling.head import _quiet_libraries

    _quiet_libraries()
    texts, lab_tok, task, frame = build_data(rows_n)
    common = dict(steps=steps, batch=a.batch_size, lr=a.lr, seed=0)
    pad_steps = max(skip + 10, steps // 5)
    rows: list[dict] = []
    raw: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for kind in a.models:
            tok, model = build_model(kind, texts, lab_tok, Path(tmp) / kind)
            init = {k: v.clone() for k, v in model.state_dict().items()}
            ways = {"xltkit": (xltkit_run, dict(tok=tok, frame=frame, task=task)),
                    "plain": (plain_run, dict(tok=tok, frame=frame))}
            if kind == "lab":
                ways["naive"] = (plain_run, dict(tok=tok, frame=frame, grouped=False))
                ways["xltkit max-pad"] = (xltkit_run, dict(tok=tok, frame=frame, task=task, max_padding=True,
                                                            steps=pad_steps))  # 4-5x slower a step: fewer
            res: dict[str, list[dict]] = {w: [] for w in ways}
            for rep in range(repeats):
                for w, (fn, kw) in (ways.items() if rep % 2 == 0 else reversed(ways.items())):
                    res[w].append(timed(fn, init, model, skip, **{**common, **kw}))
                print(f"{kind} repeat {rep + 1}/{repeats}: " + ", ".join(
                    f"{w} {r[-1]['steady_ex_s']:.0f} ex/s steady, {r[-1]['e2e_ex_s']:.0f} end to end, set-up "
                    f"{r[-1]['setup_s']:.2f} s" for w, r in res.items()), flush=True)
            raw[kind] = {w: [{k: v for k, v in r.items() if k != "tokens"} for r in rs] for w, rs in res.items()}
            same = all(x["tokens"] == p["tokens"] for x, p in zip(res["xltkit"], res["plain"]))
            label = "lab encoder" if kind == "lab" else "small XLM-R ({hidden_size}x{num_hidden_layers})".format(
                **XLMR_SMALL)

            def ratios(num, den, key):
                return [x[key] / y[key] for x, y in zip(res[num], res[den])]

            def med(way, key):
                return round(statistics.median(r[key] for r in res[way]), 1)

            for key, what in (("steady_ex_s", "steady state"), ("e2e_ex_s", "end to end")):
                cpu = ratios("xltkit", "plain", "steady_cpu_ex_s")
                notes = (f"CPU time of the training thread per step: ratio {statistics.median(cpu):.3f} "
                         f"[{min(cpu):.3f}-{max(cpu):.3f}]; "
                         f"{med('xltkit', 'steady_tok_s'):.0f} non-pad tokens/s (plain {med('plain', 'steady_tok_s'):.0f}); "
                         f"plain {med('plain', key)} ex/s; set-up before step 1: xltkit "
                         f"{statistics.median(r['setup_s'] for r in res['xltkit']):.2f} s, plain "
                         f"{statistics.median(r['setup_s'] for r in res['plain']):.2f} s; {steps} steps x batch "
                         f"{a.batch_size}, steady from step {skip}; "
                         f"{'same' if same else 'different'} batches (token counts per step)")
                rows.append(row(f"xltkit training, {label}, {what}", "plain PyTorch loop", ratios("xltkit", "plain", key),
                                value=med("xltkit", key), unit="examples/s", notes=notes, floor=0.95))
            if kind == "lab":
                pad = {w: statistics.median(r["pad_share"] for r in res[w]) for w in res}
                rows.append(row("xltkit training (length-grouped), lab encoder, steady state",
                                "naive loop (random order, dynamic padding)", ratios("xltkit", "naive", "steady_ex_s"),
                                value=med("xltkit", "steady_ex_s"), unit="examples/s",
                                notes=f"padding share {pad['xltkit']:.1%} vs {pad['naive']:.1%}; naive "
                                f"{med('naive', 'steady_ex_s')} ex/s"))
                rows.append(row("length-grouped dynamic padding (xltkit), lab encoder, steady state",
                                f"padding to max_length {MAX_LEN} (xltkit)", ratios("xltkit", "xltkit max-pad", "steady_ex_s"),
                                value=med("xltkit", "steady_ex_s"), unit="examples/s",
                                notes=f"padding share {pad['xltkit']:.1%} vs {pad['xltkit max-pad']:.1%}; max-length "
                                f"{med('xltkit max-pad', 'steady_ex_s')} ex/s over {pad_steps} steps"))
    device = f"CPU, {a.threads} thread(s)"
    out = {"benchmark": "bench_train", "rows": rows, "device": device, "steps": steps, "repeats": repeats,
           "rows_train": rows_n, "raw": raw}
    for r in rows:
        ok = "" if r["floor"] is None else f"; floor {r['floor']}: {'ok' if r['ratio_median'] >= r['floor'] else 'MISSED'}"
        print(f"{r['name']} vs {r['baseline']}: {r['ratio_median']:.3f}x [{r['ratio_min']:.3f}-{r['ratio_max']:.3f}]; "
              f"{r['value']} {r['unit']}{ok}; {r['notes']}", flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
