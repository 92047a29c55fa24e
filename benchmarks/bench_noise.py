"""Step time of every noise method against clean training, in one process.

Each repeat trains every method for ``--steps`` steps from the same initial weights, the
methods in turn (interleaved, so that drift of a shared machine hits all of them alike);
the ratio of a method is median(step time) / median(clean step time) within a repeat,
and the report gives the median ratio over repeats with its range.  A step is timed from
``on_step_begin`` to ``on_step_end`` (forward, backward, clipping, optimizer step; data
loading excluded).  Token-level methods rewrite the data before training: their
one-off preprocessing time is reported beside the ratio.

Targets (robust-training issue): RS-RP at most 1.05x clean; K-step adversarial training at
most 1.1 x (K+1) clean.

    python benchmarks/bench_noise.py                 # lab-sized BERT, ~2-3 min on one core
    python benchmarks/bench_noise.py --size base     # XLM-R-base-shaped encoder (GPU advised)
    python benchmarks/bench_noise.py --quick --json rows.json   # a smoke run; the rows for run_all.py
"""

from __future__ import annotations

import statistics
import tempfile
import time

import torch
from benchlib import parser, repeats, row, write
from datasets import Dataset
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    PrinterCallback,
    TrainerCallback,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
)

from xltkit.lab import Lab
from xltkit.modeling.heads import get_head
from xltkit.modeling.noise import token_methods
from xltkit.modeling.noise.config import NoiseConfig
from xltkit.modeling.noise.tokens import perturb_frame
from xltkit.modeling.params import TrainingParams
from xltkit.modeling.tokenization import train_tokenizer
from xltkit.modeling.trainer import NoisyTrainer
from xltkit.modeling.training import training_arguments
from xltkit.tasks import get_task

LANGS = ["lab_eng", "lab_fin", "lab_tur"]


class StepTimer(TrainerCallback):
    def __init__(self):
        self.times: list[float] = []
        self._t0 = 0.0

    def on_step_begin(self, args, state, control, **kw):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self._t0 = time.perf_counter()

    def on_step_end(self, args, state, control, **kw):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.times.append(time.perf_counter() - self._t0)


def methods(k: int) -> dict[str, NoiseConfig]:
    return {
        "clean": NoiseConfig(),
        "rs-rp": NoiseConfig("rs-rp", 0.1),
        "rs-rp gaussian": NoiseConfig("rs-rp", 0.1, distribution="gaussian"),
        "adv K=1": NoiseConfig("adv", 0.1, adv_steps=1),
        f"adv K={k}": NoiseConfig("adv", 0.1, adv_steps=k),
        f"adv freelb K={k}": NoiseConfig("adv", 0.1, adv_steps=k, adv_variant="freelb"),
        # relative units: the embedding size is measured once when training starts, not per step
        "rs-rp rel": NoiseConfig("rs-rp", 0.1, unit="relative"),
        f"adv K={k} rel": NoiseConfig("adv", 0.1, adv_steps=k, unit="relative"),
        "word-dropout": NoiseConfig("word-dropout", 0.1),
        "code-switch": NoiseConfig("code-switch", 0.3),
    }


def build(size: str, vocab: int, max_len: int):
    if size == "lab":  # the lab's default encoder (LabEncoderParams defaults)
        cfg = BertConfig(vocab_size=vocab, hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=512, max_position_embeddings=max_len, num_labels=2)
        return BertForSequenceClassification(cfg)
    cfg = XLMRobertaConfig(vocab_size=vocab, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                           intermediate_size=3072, max_position_embeddings=max_len + 2, pad_token_id=0, num_labels=2)
    return XLMRobertaForSequenceClassification(cfg)


def main(argv=None):
    ap = parser(__doc__)
    ap.add_argument("--size", choices=["lab", "base"], default="lab")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per method and repeat")
    ap.add_argument("--warmup", type=int, default=3, help="first steps of each run left out")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--k", type=int, default=3, help="adversarial ascent steps K")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", nargs="*", help="methods to run besides clean")
    a = ap.parse_args(argv)
    if a.quick:
        a.steps, a.warmup = 6, 2
    a.repeats = repeats(a)
    torch.set_num_threads(a.threads)

    lab = Lab(LANGS, lab_seed=0)
    max_len = 32
    tok = train_tokenizer([s for c in LANGS for s in lab.corpus(c, 500)], 800, max_len)
    task = get_task("anim")
    head = get_head(task.head)
    df = task.make(lab, "lab_eng", "train", (a.steps + a.warmup) * a.batch_size)
    dicts = {c: lab.dictionary("lab_eng", c) for c in LANGS[1:]}
    torch.manual_seed(0)
    init = build(a.size, len(tok), max_len).state_dict()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    collator = DataCollatorWithPadding(tok, pad_to_multiple_of=8)
    todo = methods(a.k)
    if a.only:
        todo = {n: c for n, c in todo.items() if n == "clean" or n in a.only}
    data, prep = {}, {}
    for name, cfg in todo.items():  # token-level noise: the one-off rewrite of the training frame
        if name == "code-switch":
            cfg.dictionaries = dicts
        t0 = time.perf_counter()
        frame = perturb_frame(df, cfg) if cfg.method in token_methods() else df
        data[name] = head.encode(tok, Dataset.from_pandas(frame, preserve_index=False))
        prep[name] = time.perf_counter() - t0

    ratios: dict[str, list[float]] = {n: [] for n in todo}
    medians: dict[str, list[float]] = {n: [] for n in todo}
    for rep in range(a.repeats):
        for name, cfg in todo.items():
            model = build(a.size, len(tok), max_len)
            model.load_state_dict(init)
            for prm in model.base_model.embeddings.parameters():  # as fine-tuning does by default
                prm.requires_grad = False
            timer = StepTimer()
            with tempfile.TemporaryDirectory() as tmp:
                args = training_arguments(tmp, a.steps + a.warmup, 5e-4,
                                          TrainingParams(batch_size=a.batch_size, seed=0), logging_steps=10**9)
                trainer = NoisyTrainer(model=model.to(device), args=args, train_dataset=data[name],
                                       data_collator=collator, callbacks=[timer], noise=cfg, desc=name)
                trainer.remove_callback(PrinterCallback)
                trainer.train()
            medians[name].append(statistics.median(timer.times[a.warmup:]))
        for name in todo:
            ratios[name].append(medians[name][-1] / medians["clean"][-1])
        print(f"repeat {rep + 1}/{a.repeats}: " + ", ".join(f"{n} {r[-1]:.2f}x" for n, r in ratios.items()), flush=True)

    dev = torch.cuda.get_device_name() if device == "cuda" else f"CPU, {a.threads} thread(s)"
    print(f"\n{a.size} encoder, batch {a.batch_size}, {a.steps} timed steps x {a.repeats} repeats, {dev}; "
          f"clean step {1000 * statistics.median(medians['clean']):.1f} ms")
    rows = []
    for name, r in ratios.items():
        if name == "clean":
            continue
        cfg, floor = todo[name], None
        if cfg.method == "rs-rp":
            floor = 1.05
        elif cfg.method == "adv":
            floor = round(1.1 * (cfg.adv_steps + 1), 2)
        ms = 1000 * statistics.median(medians[name])
        rows.append(row(name, f"clean training ({1000 * statistics.median(medians['clean']):.1f} ms a step)", r,
                        floor=floor, better="lower", unit="ms a step", value=round(ms, 2),
                        notes=(f"plus {prep[name]:.2f} s preprocessing ({prep['clean']:.2f} s clean)"
                               if cfg.method not in ("rs-rp", "adv") else "step time ratio") + f"; {dev}"))
    write(a, "bench_noise", rows, setup=f"{a.size} encoder, batch {a.batch_size}, {a.steps} timed steps x "
          f"{a.repeats} repeats, {dev}")


if __name__ == "__main__":
    main()
