"""The stage graph, written once, as data.

A run is a chain of stages; each :class:`Stage` says which parameter groups its notebook
takes, which stages it runs after (the nearest one the run needs), whether a run needs it
at all, and what of the run's parameters its result depends on.  Its cache key hashes
exactly that plus the key of the stage it runs after, so a key changes when anything
upstream changes (a key may also change where the result cannot: a knob that is hashed
though unused costs a rebuild, never a wrong reuse).  The runner plans from :func:`chain` (and shares a
stage between runs with the same key); a stage notebook run alone builds its missing
upstream stages in process from the same chain (:func:`xltkit.pipeline.stages.ensure`).

- ``data``: the lab's corpora and tokenizer (lab encoders only);
- ``pretrain``: the lab encoder (MLM, or the untrained control's initialisation);
- ``intermediate``: intermediate-task training in one language (when ``intermediate_lang``
  is not "none");
- ``finetune``: the target task in the source language (or a surface-cue rule fitted on it),
  keyed by its training data (:meth:`xltkit.tasks.base.Task.training_identity`), so targets
  trained on the same data with the same settings (XQuAD and MLQA) share one fine-tune;
- ``evaluate``: zero-shot evaluation in every language, per run (its key is the run id); a
  task that is not trained (retrieval) is evaluated on the encoder as the stages before left it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xltkit import __version__
from xltkit.core.hashing import files_hash, stable_hash
from xltkit.pipeline.params import RunParams
from xltkit.tasks.base import HEADS


@dataclass(frozen=True)
class Stage:
    name: str
    notebook: str
    title: str
    summary: str
    groups: tuple[str, ...]  # the parameter groups of its notebook: its own and its upstream stages'
    after: tuple[str, ...]  # upstream candidates, nearest first: it runs after the first one the run needs
    needed: Callable[[RunParams], bool]
    reads: Callable[[RunParams], dict[str, Any]]
    per_run: bool = False  # writes into the run's folder (never shared, never cached)
    priority: int = 9  # lower starts first among ready stages (long poles first)


def _task_data(run: RunParams, task, split_sizes: tuple[str, ...], stage: str | None = None) -> dict[str, Any]:
    """What a stage reads of a task's data: its definition, its world's groups, the split sizes."""
    data = run.data_context(stage)
    out: dict[str, Any] = {"task": task.name, "task_fingerprint": task.fingerprint, **task.data_identity(data)}
    out.update({f"n_{s}": data.size(s) for s in split_sizes})
    return out


def _data_reads(run: RunParams) -> dict[str, Any]:
    """The lab's corpora and tokenizer: its parameters and the code that renders and tokenizes them."""
    from importlib.util import find_spec

    import xltkit.lab as lab

    code = [*lab.RENDERING_FILES, *(find_spec(m).origin for m in ("xltkit.lab.corpora", "xltkit.modeling.tokenization"))]
    return {"lab": run.lab.canonical(), "code": files_hash(code)}


def _model(run: RunParams) -> dict[str, Any]:
    return run.model.reads(run.encoder, run.lab_encoder, run.pretraining)


def _training(run: RunParams, stage: str, group: str) -> dict[str, Any]:
    """A training stage's settings; a model that does not train (a rule) reads none of them."""
    if not run.model.trainable:
        return {}
    # the stage's own settings: the intermediate stage's dev interval, not the target's (so that grids of
    # different targets share their intermediate-trained encoders)
    out = {group: getattr(run, group).canonical(), "training": run.stage_training(stage).canonical(),
           "noise": run.noise_label(stage)}
    if run.eval_every(stage) is not None:  # the dev set picks the checkpoint
        out["n_dev"] = run.data.n_dev
    return out


def _head(run: RunParams, task, training: bool = False) -> dict[str, Any]:
    """The settings of the task's head kind that are not the model's (QA windows, retrieval
    pooling): a training stage hashes those training reads, the evaluation all of them;
    nothing for the heads without settings."""
    knobs = run.encoder.head_knobs(task.head, training=training)
    return {"head": knobs} if knobs else {}


def _intermediate_reads(run: RunParams) -> dict[str, Any]:
    return {**_task_data(run, run.intermediate_task, ("train",), "intermediate"),
            "lang": run.intermediate.intermediate_lang,
            **_training(run, "intermediate", "intermediate"), "model": _model(run),
            **_head(run, run.intermediate_task, training=True)}


def _finetune_reads(run: RunParams) -> dict[str, Any]:
    """What fine-tuning reads: the target's training data (by the task's name, or the data's own
    identity where the task says another entry may train on the same: then the target's name is
    hashed nowhere, so XQuAD's and MLQA's SQuAD fine-tunes are one job), the settings, the model."""
    task, lang = run.target_task, run.target.source_lang
    splits = ("train",) if run.eval_every("finetune") is None else ("train", "dev")
    context = run.data_context()
    shared = task.training_identity(lang, splits, context)
    training = _training(run, "finetune", "target")
    if shared is None:
        data = _task_data(run, task, ("train",))
    else:
        data = {"training_data": shared, "n_train": context.size("train")}
        if "target" in training:
            training["target"] = {k: v for k, v in training["target"].items() if k != "target_task"}
    return {**data, "source_lang": lang, **training, "model": _model(run), **_head(run, task, training=True)}


def _evaluate_reads(run: RunParams) -> dict[str, Any]:
    """What the evaluation reads, and every identity column it writes into the results (a
    rule fitted once serves its seeds, but each seed is a run of the grid)."""
    task = run.target_task
    # a task that is not trained reads the encoder here (there may be no stage before: a hub encoder as it is)
    heads = {} if HEADS[task.head].trained else {"model": _model(run)}
    ev = run.evaluation
    # hashed only where it is not the default, so the runs from before it keep their keys
    pairs = {"generalized_pairs": ev.generalized_pairs} if ev.generalized_pairs != "source" and task.two_languages \
        else {}
    return {**_task_data(run, task, ("dev", "test")), "eval_langs": run.eval_langs(), **heads, **_head(run, task),
            "generalized": ev.generalized if task.two_languages else None, **pairs,
            "seed": run.training.seed, "noise": run.noise_label("finetune"),
            "intermediate_noise": run.noise_label("intermediate")}


STAGES: dict[str, Stage] = {s.name: s for s in [
    Stage("data", "00_data.ipynb", "Data: the synthetic typology lab",
          "Renders the lab languages' pretraining corpora from one meaning generator and trains the shared "
          "tokenizer (only for lab encoders). Task sets are built on demand by the stages that use them.",
          groups=("lab", "run"), after=(), needed=lambda r: "data" in r.model.stages,
          reads=_data_reads, priority=2),
    Stage("pretrain", "01_pretrain.ipynb", "Pretrain: masked language modelling",
          "Pretrains the lab's tiny BERT on all lab languages (or builds the untrained control); hub encoders "
          "need no such stage.",
          groups=("lab", "run", "encoder", "lab_encoder", "pretraining"), after=("data",),
          needed=lambda r: "pretrain" in r.model.stages, reads=_model, priority=0),
    Stage("intermediate", "02_intermediate.ipynb", "Intermediate-task training",
          "Trains the encoder on the intermediate task in one language; keeps the bare encoder.",
          groups=("lab", "run", "encoder", "lab_encoder", "pretraining", "data", "hub", "training", "noise_knobs",
                  "intermediate"),
          after=("pretrain",), needed=lambda r: r.has_intermediate, reads=_intermediate_reads, priority=1),
    Stage("finetune", "03_finetune.ipynb", "Target fine-tuning (source language)",
          "Fine-tunes on the target task in the source language (or fits a surface-cue rule).",
          groups=("lab", "run", "encoder", "lab_encoder", "pretraining", "data", "hub", "training", "noise_knobs",
                  "intermediate", "target"),
          after=("intermediate", "pretrain"), needed=lambda r: HEADS[r.target_task.head].trained,
          reads=_finetune_reads, priority=3),
    Stage("evaluate", "04_evaluate.ipynb", "Zero-shot evaluation",
          "Evaluates the fine-tuned model on every language's dev and test sets; writes tidy metrics.",
          groups=("lab", "run", "encoder", "lab_encoder", "pretraining", "data", "hub", "training", "noise_knobs",
                  "intermediate", "target", "evaluation"),
          after=("finetune", "intermediate", "pretrain"), needed=lambda r: True, reads=_evaluate_reads, per_run=True,
          priority=4),
]}


ORDER = list(STAGES)


@dataclass(frozen=True)
class Node:
    """One stage of one run: its key and the stage it runs after (None: the first)."""

    stage: Stage
    key: str
    after: str | None


def chain(run: RunParams) -> list[Node]:
    """The stages ``run`` needs, in order, with their keys."""
    nodes: dict[str, Node] = {}
    for s in STAGES.values():
        if not s.needed(run):
            continue
        after = next((a for a in s.after if a in nodes), None)
        blob = {"stage": s.name, "xltkit": __version__, "reads": s.reads(run),
                "after": nodes[after].key if after else None}
        nodes[s.name] = Node(s, stable_hash(blob), after)
    return list(nodes.values())


def key(stage: str, run: RunParams) -> str | None:
    """The cache key of ``stage`` for ``run`` (None if the run does not need that stage)."""
    return next((n.key for n in chain(run) if n.stage.name == stage), None)


def intermediate_recipe(run: RunParams) -> str:
    """What the intermediate-trained encoder is, without its seed: the same for the seeds of one
    intermediate training, different for another recipe or other data (a results column, so that
    scores of several targets are combined only where they come from the same training)."""
    if not run.has_intermediate:
        return "none"
    reads = _intermediate_reads(run)
    reads["training"] = {k: v for k, v in reads["training"].items() if k != "seed"}
    return stable_hash({"reads": reads, "xltkit": __version__})[:12]


def run_id(run: RunParams) -> str:
    """A run's id: the key of its evaluation, which hashes everything the run's numbers depend on."""
    return key("evaluate", run)


def output_dir(node: Node, run: RunParams) -> Path:
    """Where a stage's output goes: ``cache_dir/<stage>/<key>``, or the run's folder for per-run stages."""
    if node.stage.per_run:
        return Path(run.evaluation.run_dir)
    return Path(run.run.cache_dir) / node.stage.name / node.key
