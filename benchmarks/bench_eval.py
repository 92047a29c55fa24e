"""Zero-shot evaluation over many languages: xltkit's evaluation stage against a naive
per-language loop, on the same model and data.

The demo's shape: the lab encoder (hidden 128, 2 layers, 4 heads; random weights, saved
as a fine-tuned sequence classifier is), agent animacy (``anim``), dev (300) and test
(1,500) sets of each of the 8 default lab languages, one torch thread as a stage has.

- ``xltkit evaluate stage``: :func:`xltkit.pipeline.stages.evaluate` as a run calls it:
  the model and tokenizer loaded by the model's predictor, each split loaded, predicted
  (``Head.predict``: ``datasets.map`` tokenization, length-sorted batches of 256), scored
  (:func:`xltkit.modeling.metrics.score`) and written to parquet;
- ``xltkit predictions``: the predictor's calls alone (model loaded, data in memory);
- baseline, ``naive loop``: per language and split, the frame read, tokenized in one call,
  one padded batch (the largest: the whole split) through the model in ``inference_mode``,
  argmax and accuracy, no Python per token.

Ratios are throughputs, xltkit over naive (higher is better; floor 0.95, the training
path's floor in issue #14); each repeat runs the ways in turn.  The predictions of the
stage and of the naive loop are compared (agreement in the notes).

    .venv/bin/python benchmarks/bench_eval.py [--quick] [--json PATH]
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from benchlib import Timer, parser, repeats, row, write


def setup(root: Path, n_dev: int, n_test: int):
    """A run of the demo's evaluation shape, its frames generated and cached, a model folder."""
    from transformers import BertConfig, BertForSequenceClassification

    from xltkit.modeling.tokenization import train_tokenizer
    from xltkit.pipeline.params import RunParams

    run = RunParams(cache_dir=str(root / "cache"), run_dir=str(root / "run"), target_task="anim", n_dev=n_dev,
                    n_test=n_test, n_train=100, vocab_size=800)
    task, data = run.target_task, run.data_context()
    lab = task.lab(data)
    langs = run.eval_langs()
    tok = train_tokenizer([s for c in langs for s in lab.corpus(c, 2000)], 800, run.encoder.max_length)
    enc = run.lab_encoder
    cfg = BertConfig(vocab_size=len(tok), hidden_size=enc.hidden_size, num_hidden_layers=enc.num_layers,
                     num_attention_heads=enc.num_heads, intermediate_size=4 * enc.hidden_size,
                     max_position_embeddings=run.encoder.max_length, num_labels=len(task.labels))
    torch.manual_seed(0)
    folder = root / "model"
    BertForSequenceClassification(cfg).save_pretrained(str(folder))
    tok.save_pretrained(str(folder))
    frames = {(lang, split): task.frame(split, lang, data) for lang in langs for split in task.eval_splits(lang, data)}
    return run, folder, frames


def naive_load(folder: Path):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    return AutoModelForSequenceClassification.from_pretrained(str(folder)).eval(), AutoTokenizer.from_pretrained(
        str(folder))


def naive_predict(model, tok, frame: pd.DataFrame, max_length: int) -> np.ndarray:
    enc = tok(list(map(list, frame["words"])), is_split_into_words=True, truncation=True, max_length=max_length,
              padding=True, return_tensors="pt", return_token_type_ids=False)
    with torch.inference_mode():
        return model(**enc).logits.argmax(-1).numpy()


def naive(run, folder: Path, keys) -> dict:
    """The baseline: read, tokenize, one forward pass, argmax, accuracy, per language and split."""
    model, tok = naive_load(folder)
    task, data, out = run.target_task, run.data_context(), {}
    for lang, split in keys:
        frame = task.frame(split, lang, data)
        pred = naive_predict(model, tok, frame, run.encoder.max_length)
        out[lang, split] = (pred, float((pred == frame["label"].to_numpy()).mean()))
    return out


def main(argv=None) -> None:
    from datasets import Dataset

    from xltkit.pipeline import stages

    ap = parser(__doc__)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # as a stage runs (run.threads)
    n_dev, n_test = (30, 150) if args.quick else (300, 1500)
    root = Path(tempfile.mkdtemp(prefix="xltkit-bench-eval-"))
    try:
        run, folder, frames = setup(root, n_dev, n_test)
        n = sum(len(f) for f in frames.values())
        task = run.target_task
        predict = run.model.predictor(task, folder, run.encoder)
        datasets = {k: Dataset.from_pandas(f, preserve_index=False) for k, f in frames.items()}
        model, tok = naive_load(folder)
        times = {w: [] for w in ("stage", "naive", "predict", "naive predict")}
        for rep in range(repeats(args)):
            with Timer() as t:
                metrics = stages.evaluate(run, folder, root / f"out{rep}")
            times["stage"].append(t.s)
            with Timer() as t:
                base = naive(run, folder, frames)
            times["naive"].append(t.s)
            with Timer() as t:
                ours = {k: predict(ds) for k, ds in datasets.items()}
            times["predict"].append(t.s)
            with Timer() as t:
                for k, f in frames.items():
                    naive_predict(model, tok, f, run.encoder.max_length)
            times["naive predict"].append(t.s)
            print(f"repeat {rep + 1}: " + ", ".join(f"{w} {v[-1]:.2f} s" for w, v in times.items()), flush=True)
        preds = pd.read_parquet(root / f"out{rep}" / "predictions.parquet")
        agree = [float((preds[(preds.eval_lang == lang) & (preds.split == split)]["pred"].to_numpy() == p).mean())
                 for (lang, split), (p, _) in base.items()]
        same_pred = all(list(ours[k]) == list(base[k][0]) for k in frames)
        acc = metrics[(metrics.metric == "accuracy") & (metrics.phenomenon == "all")]
        acc_gap = max(abs(float(acc[(acc.eval_lang == lang) & (acc.split == split)]["value"].iloc[0]) - a)
                      for (lang, split), (_, a) in base.items())
        med = {w: statistics.median(v) for w, v in times.items()}
        langs = sorted({lang for lang, _ in frames})
        shape = f"{len(langs)} languages x (dev {n_dev} + test {n_test})"
        rows = [row(f"xltkit evaluate stage, {n:,} sentences ({shape})", "naive per-language loop (load, tokenize, "
                    "one inference_mode batch per split, argmax, accuracy)",
                    [b / s for s, b in zip(times["stage"], times["naive"])], floor=0.95, unit="sentences/s",
                    value=round(n / med["stage"]),
                    notes=f"naive {n / med['naive']:,.0f} sentences/s; stage {med['stage']:.2f} s, naive "
                          f"{med['naive']:.2f} s; predictions agree with naive on {min(agree):.4f}+ of each split, "
                          f"accuracy differs by at most {acc_gap:.4f}"),
                row("xltkit predictions (Head.predict per split, model loaded)", "naive forward passes (model loaded)",
                    [b / s for s, b in zip(times["predict"], times["naive predict"])], floor=None,
                    unit="sentences/s", value=round(n / med["predict"]),
                    notes=f"naive {n / med['naive predict']:,.0f} sentences/s; the predictor's own predictions "
                          f"{'equal' if same_pred else 'DIFFER FROM'} the naive loop's")]
        write(args, "bench_eval", rows, setup=f"lab encoder hidden {run.lab_encoder.hidden_size}, "
              f"{run.lab_encoder.num_layers} layers, max_length {run.encoder.max_length}, 1 torch thread, "
              f"{repeats(args)} repeats")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
