"""What a grid costs before it starts: ``xltkit plan PARAMS``.

For every stage job of the grid (shared ones counted once): whether it is done already, the
training (or evaluation) examples and tokens it will process, and an estimate of its device
hours from :mod:`xltkit.modeling.throughput` (each estimate names its source).  Example
counts come from the params (steps x batch, or epochs x the training set) and, for hub
datasets, from the split sizes their cards give; tokens per example are each task's typical
length (``typical_tokens``, an estimate), capped at ``max_length``.
"""

from __future__ import annotations

import math

import pandas as pd

from xltkit.core.io import is_done
from xltkit.pipeline import graph
from xltkit.pipeline.params import RunParams


def _split_rows(run: RunParams, task, lang: str, split: str, stage: str | None = None) -> int | None:
    """How many examples a run takes from a split: n_<split> for generated data, else the smaller of
    n_<split> and the split's size on the hub (None where neither is known)."""
    n = run.data_context(stage).size(split)
    hub = task.split_size(lang, split)
    if hub is None:
        return n
    return hub if n is None else min(n, hub)


def _train_examples(run: RunParams, stage: str) -> int | None:
    if stage == "pretrain":
        p = run.pretraining
        pretrains = "pretraining" in run.model.reads(run.encoder, run.lab_encoder, p)  # not the untrained control
        return p.pretrain_steps * p.pretrain_batch_size if pretrains else 0
    if not run.model.trainable:
        return 0
    if stage == "intermediate":
        task, lang, steps, epochs = (run.intermediate_task, run.intermediate.intermediate_lang,
                                     run.intermediate.intermediate_steps, run.intermediate.intermediate_epochs)
    else:
        task, lang, steps, epochs = (run.target_task, run.target.source_lang, run.target.finetune_steps,
                                     run.target.finetune_epochs)
    per_step = run.training.batch_size * run.training.gradient_accumulation_steps
    if epochs is None:
        return steps * per_step
    rows = _split_rows(run, task, lang, "train", stage)
    return None if rows is None else math.ceil(epochs * rows / per_step) * per_step


def _eval_examples(run: RunParams) -> int | None:
    task = run.target_task
    total = 0
    settings = 2 if task.two_languages and run.evaluation.generalized else 1
    for lang in run.eval_langs():
        for split in task.eval_splits(lang, run.data_context()):
            rows = _split_rows(run, task, lang, split)
            if rows is None:
                return None
            total += rows * (settings if lang != run.target.source_lang else 1)
    return total


def plan(runs: list[RunParams]) -> pd.DataFrame:
    """One row per stage job: stage, key, runs, done, examples, tokens, device hours and the source of the rate."""
    from xltkit.modeling.throughput import FORWARD_SHARE, throughput

    rows: dict[str, dict] = {}
    for run in runs:
        for node in graph.chain(run):
            jid = f"{node.stage.name}-{node.key}"
            if jid in rows:
                rows[jid]["runs"] += 1
                continue
            stage = node.stage.name
            task = run.intermediate_task if stage == "intermediate" else run.target_task
            length = min(getattr(task, "typical_tokens", 32), run.encoder.max_length)
            if stage == "pretrain":
                length = 20  # a lab sentence
            if stage == "evaluate":
                examples, share = _eval_examples(run), FORWARD_SHARE
            elif stage == "data":
                examples, share = 0, 0.0
            else:
                examples, share = _train_examples(run, stage), 1.0
            rate = throughput(run.encoder.model)
            tokens = None if examples is None else examples * length
            hours = None if tokens is None or rate is None or not run.model.trainable and stage != "evaluate" else \
                tokens * share / rate.tokens_per_second / 3600
            if not run.model.trainable:
                hours = 0.0  # a rule: seconds of CPU
            done = is_done(graph.output_dir(node, run)) if not node.stage.per_run else \
                (graph.output_dir(node, run) / "metrics.parquet").is_file()
            source = rate.source if rate else "no throughput known for this encoder"
            if not run.model.trainable or stage == "data":
                source = "CPU seconds (a surface-cue rule, or the lab's corpora)"
            rows[jid] = {"stage": stage, "key": node.key, "model": run.encoder.model, "task": task.name,
                         "runs": 1, "done": done, "examples": examples, "tokens": tokens, "device_hours": hours,
                         "rate_source": source}
    return pd.DataFrame(list(rows.values()))


def summary(table: pd.DataFrame) -> str:
    todo = table[~table.done]
    lines = [f"{len(table)} stage jobs ({int(table.done.sum())} done); at most "
             f"{int(table.runs.max() if len(table) else 0)} runs share one job"]
    by = todo.groupby("stage").agg(jobs=("key", "size"), examples=("examples", lambda s: s.sum(min_count=1)),
                                   tokens=("tokens", lambda s: s.sum(min_count=1)),
                                   hours=("device_hours", lambda s: s.sum(min_count=1)))
    if len(by):
        lines.append(by.to_string(float_format=lambda x: f"{x:,.2f}"))
    unknown = todo.device_hours.isna().sum()
    total = todo.device_hours.sum()
    lines.append(f"to do: about {total:,.2f} device hours" + (f" plus {unknown} jobs of unknown cost" if unknown else ""))
    for src in sorted(set(todo.rate_source)):
        lines.append(f"  rate: {src}")
    return "\n".join(lines)
