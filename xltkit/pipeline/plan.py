"""What a grid costs before it starts: ``xltkit plan PARAMS``.

For every stage job of the grid (shared ones counted once): whether it is done already, the
training (or evaluation) examples and tokens it will process, and an estimate of its device
hours from :mod:`xltkit.modeling.throughput` (each estimate names its source).  Example
counts come from the params (steps x batch, or epochs x the training set, times RS-DA's
copies) and, for hub datasets, from the split sizes their cards give; a training stage also
evaluates its dev set every ``eval_every`` steps (and saves a checkpoint each time), which
is counted as forward passes.  Tokens per example are each task's typical length
(``typical_tokens``, an estimate), capped at ``max_length``: the ``tokens_est`` column is an
estimate, and so is every device hour.  A step costs at least the table's per-step time
(small batches are bound by kernel launches, not by arithmetic).

``examples`` counts the model's inputs: an extractive-QA question is one per window of its
context (``windows_est``), as many as a context of its source's typical length makes at the
run's ``max_length``, ``qa_stride`` and ``qa_stride_mode`` (the head's
:meth:`~xltkit.modeling.head.Head.inputs_per_example`; the typical lengths, estimates, in
:data:`xltkit.tasks.hub.sizes.QA_LENGTHS`; one window where the source has none).  An epoch
trains on every window, so windows multiply epochs' examples and every evaluation's, not a
stage trained for a number of steps.
"""

from __future__ import annotations

import math

import pandas as pd

from xltkit.core.io import is_done
from xltkit.pipeline import graph
from xltkit.pipeline.params import RunParams


#: (task, language, split, data identity) -> rows, of splits counted on this machine (``--count``)
COUNTED: dict[tuple, int] = {}
#: splits whose size neither the registry nor this machine knows (what makes a cost unknown)
UNKNOWN: set[tuple[str, str, str]] = set()
COUNT = {"on": False}


def _split_rows(run: RunParams, task, lang: str, split: str, stage: str | None = None) -> int | None:
    """How many examples a run takes from a split: n_<split> for generated data, else the smaller of
    n_<split> and the split's size on the hub (the registry's, from the dataset card; with
    ``count`` on, the split's own rows where this machine has the data); None where none is known."""
    data = run.data_context(stage)
    n = data.size(split)
    hub = task.split_size(lang, split, data)
    if hub is None and task.reads and "hub" in task.reads:
        key = (task.name, lang, split, str(task.data_identity(data)))
        if key not in COUNTED and COUNT["on"]:
            try:
                COUNTED[key] = len(task.raw(split, lang, data))
            except Exception:  # not on this machine: the size stays unknown
                COUNTED[key] = -1
        hub = COUNTED.get(key, -1)
        hub = None if hub < 0 else hub
        if hub is None and n is None:
            UNKNOWN.add((task.name, lang, split))
    if hub is None:
        return n
    return hub if n is None else min(n, hub)


def _windows(run: RunParams, task, lang: str, split: str, stage: str | None = None) -> int:
    """Model inputs per example of a split: the windows an example of its source's typical lengths
    makes with the run's settings (an estimate: see the module docstring); 1 where none is known."""
    from xltkit.tasks.base import TaskError
    from xltkit.tasks.hub.sizes import QA_LENGTHS

    if not task.reads or "hub" not in task.reads:
        return 1
    try:
        lengths = QA_LENGTHS.get(task.source_for(split, lang, run.data_context(stage)).path)
    except TaskError:  # a language without a hub source (its own files)
        return 1
    if lengths is None:
        return 1
    from xltkit.modeling.heads import get_head

    return get_head(task.head, run.encoder, task).inputs_per_example(run.encoder.max_length, *lengths)


def _stage_task(run: RunParams, stage: str):
    """(task, language) a training stage trains on."""
    if stage == "intermediate":
        return run.intermediate_task, run.intermediate.intermediate_lang
    return run.target_task, run.target.source_lang


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
    method = run.stage_noise(stage)[0]
    copies = run.noise_knobs.rs_da_copies if method == "rs-da" and run.noise_knobs.rs_da_copies else 1
    windows = _windows(run, task, lang, "train", stage)
    return None if rows is None else math.ceil(epochs * rows * windows * copies / per_step) * per_step


def _dev_examples(run: RunParams, stage: str, train_examples: int | None) -> tuple[int | None, int]:
    """(dev examples evaluated, dev evaluations) of a training stage: its dev set every eval_every steps."""
    every = run.eval_every(stage)
    if every is None or train_examples is None or not run.model.trainable or stage == "pretrain":
        return (0 if every is None or stage == "pretrain" else None), 0
    task, lang = _stage_task(run, stage)
    steps = train_examples // (run.training.batch_size * run.training.gradient_accumulation_steps)
    evals = max(1, steps // every)
    rows = _split_rows(run, task, lang, "dev", stage)
    return (None if rows is None else rows * _windows(run, task, lang, "dev", stage) * evals), evals


def _eval_examples(run: RunParams) -> tuple[int | None, int, int, int]:
    """(evaluation examples, of which in the generalized setting, generalized language pairs, questions
    or sentences before windows) of a run: each language's dev and test sets once in the same setting
    and once more with each second-sentence language :meth:`RunParams.second_langs` pairs it with
    (counted at the first language's size: pairs missing in the second language are dropped when
    loaded, not here), an extractive-QA question once per window.  Unknown sizes: None examples."""
    task = run.target_task
    total = generalized = pairs = rows_total = 0
    known = True
    for lang in run.eval_langs():
        second = len(run.second_langs(lang))
        pairs += second
        for split in task.eval_splits(lang, run.data_context()):
            rows = _split_rows(run, task, lang, split)  # every unknown one is noted, not only the first
            if rows is None:
                known = False
                continue
            inputs = rows * _windows(run, task, lang, split)
            total += inputs * (1 + second)
            generalized += inputs * second
            rows_total += rows * (1 + second)
    return (total if known else None), generalized, pairs, rows_total


def plan(runs: list[RunParams], count: bool = False, rates: dict | None = None) -> pd.DataFrame:
    """One row per stage job: stage, key, runs, done, examples, tokens, device hours and the source of
    the rate.  ``count``: read the splits whose size the registry lacks, where this machine has them.
    ``rates``: measured throughput rows (:func:`xltkit.modeling.throughput.measured`) in place of the
    table's for their encoders."""
    from xltkit.modeling.throughput import FORWARD_SHARE, THROUGHPUT, throughput

    table = {**THROUGHPUT, **(rates or {})}

    COUNT["on"] = count
    UNKNOWN.clear()

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
            pair_examples = lang_pairs = 0
            windows = 1.0
            if stage == "evaluate":
                (examples, pair_examples, lang_pairs, questions), share = _eval_examples(run), FORWARD_SHARE
                windows = examples / questions if examples and questions else 1.0
            elif stage == "data":
                examples, share = 0, 0.0
            else:
                examples, share = _train_examples(run, stage), 1.0
                if stage != "pretrain":
                    windows = float(_windows(run, *_stage_task(run, stage), "train", stage))
            rate = throughput(run.encoder.model, table, precision=run.training.precision if share == 1.0 else "fp32",
                              shape=(run.training.batch_size, length))  # a measured rate: is it this job's?
            dev, evals = (0, 0) if stage in ("evaluate", "data") else _dev_examples(run, stage, examples)
            tokens = None if examples is None else examples * length
            hours = None
            if tokens is not None and rate is not None and dev is not None:
                micro = run.training.batch_size
                steps = math.ceil(examples / micro) + math.ceil(dev / max(64, micro)) if share == 1.0 else \
                    math.ceil(examples / max(64, micro))
                compute = (tokens * share + dev * length * FORWARD_SHARE) / rate.tokens_per_second
                hours = max(compute, steps * rate.step_seconds * (1 if share == 1.0 else FORWARD_SHARE)) / 3600
            if not run.model.trainable or stage == "data":
                hours = 0.0  # a rule: seconds of CPU
            done = is_done(graph.output_dir(node, run)) if not node.stage.per_run else \
                (graph.output_dir(node, run) / "metrics.parquet").is_file()
            source = rate.source if rate else "no throughput known for this encoder"
            if not run.model.trainable or stage == "data":
                source = "CPU seconds (a surface-cue rule, or the lab's corpora)"
            rows[jid] = {"stage": stage, "key": node.key, "model": run.encoder.model, "task": task.name,
                         "runs": 1, "done": done, "examples": examples, "windows_est": windows,
                         "dev_examples": dev, "dev_evals": evals,
                         "tokens_est": tokens, "device_hours": hours, "rate_source": source,
                         "lang_pairs": lang_pairs, "pair_examples": pair_examples}
    return pd.DataFrame(list(rows.values()))


def summary(table: pd.DataFrame) -> str:
    todo = table[~table.done]
    lines = [f"{len(table)} stage jobs ({int(table.done.sum())} done); at most "
             f"{int(table.runs.max() if len(table) else 0)} runs share one job"]
    by = todo.groupby("stage").agg(jobs=("key", "size"), examples=("examples", lambda s: s.sum(min_count=1)),
                                   dev_evals=("dev_evals", "sum"),
                                   tokens_est=("tokens_est", lambda s: s.sum(min_count=1)),
                                   hours_est=("device_hours", lambda s: s.sum(min_count=1)))
    if len(by):
        lines.append(by.to_string(float_format=lambda x: f"{x:,.2f}"))
    unknown = todo.device_hours.isna().sum()
    total = todo.device_hours.sum()
    lines.append(f"to do: about {total:,.2f} device hours (an estimate)" +
                 (f" plus {unknown} jobs of unknown cost (a split size the dataset card does not give)" if unknown else ""))
    if UNKNOWN:
        lines.append(f"  split sizes unknown ({len(UNKNOWN)}; `xltkit plan --count` reads them where the data is on "
                     "this machine): " + ", ".join("/".join(u) for u in sorted(UNKNOWN)[:12]) +
                     (" ..." if len(UNKNOWN) > 12 else ""))
    gen = todo[(todo.pair_examples > 0) & todo.examples.notna()]
    if len(gen):  # what the generalized setting costs (generalized_pairs: all, 15 XNLI languages: 210 pairs)
        lines.append(f"  generalized setting: up to {int(gen.lang_pairs.max())} pairs of languages per run, "
                     f"{int(gen.pair_examples.sum()):,} of the {int(gen.examples.sum()):,} evaluation examples "
                     "of those runs")
    if len(todo) and todo.windows_est.max() > 1:  # extractive QA: several windows a question
        lines.append(f"  extractive QA: up to {todo.windows_est.max():.1f} windows (model inputs) a question, from "
                     "typical context lengths (estimates: xltkit/tasks/hub/sizes.py)")
    saves = int(todo.dev_evals.sum())
    if saves:
        lines.append(f"  dev evaluations (each saves a checkpoint while it is the best): {saves:,}")
    for src in sorted(set(todo.rate_source)):
        lines.append(f"  rate: {src}")
    return "\n".join(lines)
