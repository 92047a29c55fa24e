"""The pipeline stages, one function each; each stage notebook calls :func:`run_from_notebook`.

A stage function takes the run's parameters, the output folder of the stage it runs after
(None for the first) and its own output folder, which it builds atomically; it never
calls another stage.  :func:`ensure` walks the run's chain (:func:`xltkit.pipeline.graph.chain`)
and builds what is missing, so any stage notebook runs alone with its defaults, and the
runner, which executes the stages in order, finds each upstream stage already done.
Nothing here asks which task or model a run has: the task and the model do their part
through their interfaces (the lab's data stage is the one stage that is the lab's own).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pandas as pd

from xltkit.core import results
from xltkit.core.io import building, is_done, locked, read_json, write_json, write_parquet
from xltkit.core.params import ParamsError, unknown_key_message
from xltkit.pipeline import checks, graph
from xltkit.pipeline.params import GROUPS, RunParams, stage_params


def _setup(run: RunParams) -> None:
    import torch

    torch.set_num_threads(run.run.threads)


def _checkpoints(run: RunParams, out: Path):
    """Checkpoints of the stage's training (a killed stage resumes from the last one)."""
    from xltkit.modeling.checkpoints import checkpointing

    return checkpointing(out, run.run.checkpoint_every, run.run.checkpoint_keep)


def _tokenized(run: RunParams, task):
    """The tokenized cache of the stage's encodings (``cache_dir/tokenized``, shared by every run
    of the project): a second training or evaluation on the same data with the same tokenizer
    reads its encoding back (:mod:`xltkit.modeling.tokenized`); keyed by the task's code too."""
    from xltkit.modeling.tokenized import caching

    return caching(Path(run.run.cache_dir) / "tokenized", salt=task.fingerprint)


def _info(stage: str, node_reads: dict, **extra) -> dict:
    return {"stage": stage, "reads": node_reads, **extra}


def _passed_on(upstream: Path | None) -> dict[str, Any]:
    """What a stage passes on to the stages after it through its ``stats.json``: ``model_commit``, the
    commit of the hub weights the chain started from (recorded by the first stage that read them), so
    that every results row names it; {} where none was recorded (a lab model, a rule, a local folder)."""
    stats = upstream / "stats.json" if upstream is not None else None
    commit = read_json(stats).get("model_commit") if stats is not None and stats.is_file() else None
    return {"model_commit": commit} if commit else {}


# ---- 00 data ---------------------------------------------------------------------------
def data(run: RunParams, upstream: Path | None, out: Path) -> Path:
    """Corpora of every lab language (sizes by resource level), the lexicon table, a
    BPE tokenizer trained on an equal share of every language's monolingual text and,
    with ``parallel_sentences``, translation pairs with ``parallel_source``."""
    from xltkit.lab.corpora import corpus_frame, lexicon_frame, parallel_frame, tokenizer_texts
    from xltkit.modeling.params import EncoderParams
    from xltkit.modeling.tokenization import train_tokenizer

    t0 = time.time()
    lab = run.lab
    corpus, sizes = corpus_frame(lab)
    tok = train_tokenizer(tokenizer_texts(corpus, sizes, lab.langs), lab.vocab_size,
                          EncoderParams.model_fields["max_length"].default)
    lexicon, parallel = lexicon_frame(lab), parallel_frame(lab)
    stats: dict[str, Any] = {"sentences": sizes, "vocab_size": len(tok)}
    if parallel is not None:
        stats["parallel_pairs"] = {c: lab.parallel_sentences for c in lab.parallel_langs()}
    world = lab.build()
    with building(out, _info("data", graph.STAGES["data"].reads(run), seconds=time.time() - t0)) as tmp:
        corpus.to_parquet(tmp / "corpus.parquet", index=False)
        lexicon.to_parquet(tmp / "lexicon.parquet", index=False)
        if parallel is not None:
            parallel.to_parquet(tmp / "parallel.parquet", index=False)
        tok.save_pretrained(str(tmp / "tokenizer"))
        write_json({c: world.language(c).spec.model_dump() for c in lab.langs}, tmp / "languages.json")
        write_json(stats, tmp / "stats.json")
    return out


# ---- 01 pretrain -----------------------------------------------------------------------
def pretrain(run: RunParams, upstream: Path | None, out: Path) -> Path:
    """The lab encoder: MLM pretraining (with ``tlm_share`` of the sequences translation
    pairs), or a randomly initialised copy (the no-pretraining control).  ``stats.json``
    records the loss curve, the MLM and TLM sequences and tokens per language, and held-out
    masked-word accuracy per language next to its unigram baseline."""
    _setup(run)
    with _checkpoints(run, out), building(out, _info("pretrain", graph.STAGES["pretrain"].reads(run))) as tmp:
        run.model.prepare(upstream, tmp, run.lab, run.encoder, run.lab_encoder, run.pretraining)
    return out


# ---- 02 intermediate / 03 finetune -----------------------------------------------------
def _job(run: RunParams, stage: str, task, lang: str):
    from xltkit.modeling.params import steps_for
    from xltkit.modeling.training import TrainJob

    data = run.data_context(stage)
    task.forget_notes()  # the task object outlives a stage (kept kernels): note only this stage's loads
    train = task.load("train", lang, data)
    short = checks.too_few_examples(run, task, lang, len(train)) if stage == "intermediate" else None
    if short:  # the languages would not train on equal amounts
        raise ValueError(short)
    if stage == "intermediate":
        i = run.intermediate
        steps, epochs, lr, freeze = i.intermediate_steps, i.intermediate_epochs, i.intermediate_lr, False
    else:
        t = run.target
        steps, epochs, lr, freeze = t.finetune_steps, t.finetune_epochs, t.finetune_lr, t.freeze_embeddings
    training = run.stage_training(stage)
    dev = task.load("dev", lang, data) if training.eval_every is not None else None
    method = run.stage_noise(stage)[0]
    copies = run.noise_knobs.rs_da_copies if method == "rs-da" and run.noise_knobs.rs_da_copies else 1
    job = TrainJob(steps=steps_for(len(train) * copies, training, steps, epochs), lr=lr, training=training,
                   desc=f"{stage} {task.name}/{lang}", checkpoint=stage,  # one training call per stage output
                   freeze_embeddings=freeze, noise=noise_config(run, stage, task), dev=dev, epochs=epochs)
    return train, job


def intermediate(run: RunParams, upstream: Path | None, out: Path) -> Path:
    """Train the encoder on the intermediate task in ``intermediate_lang``; save the bare
    encoder (the task head is discarded)."""
    _setup(run)
    task, model = run.intermediate_task, run.model
    train, job = _job(run, "intermediate", task, run.intermediate.intermediate_lang)
    with _tokenized(run, task), _checkpoints(run, out), \
            building(out, _info("intermediate", graph.STAGES["intermediate"].reads(run))) as tmp:
        stats = {**_passed_on(upstream), **model.train_encoder(task, train, tmp, model.source(upstream), job,
                                                                run.encoder)}
        write_json({**stats, "train_examples": len(train), "data": task.load_notes()}, tmp / "stats.json")
    return out


def finetune(run: RunParams, upstream: Path | None, out: Path) -> Path:
    """Train the target task in ``source_lang`` (or fit a surface-cue rule on the same data)."""
    _setup(run)
    task, model = run.target_task, run.model
    train, job = _job(run, "finetune", task, run.target.source_lang)
    with _tokenized(run, task), _checkpoints(run, out), \
            building(out, _info("finetune", graph.STAGES["finetune"].reads(run))) as tmp:
        stats = {**_passed_on(upstream), **model.fit(task, train, tmp, model.source(upstream), job, run.encoder)}
        notes = task.load_notes()
        if stats or notes:
            write_json({**stats, "train_examples": len(train), **({"data": notes} if notes else {})},
                       tmp / "stats.json")
    return out


def noise_config(run: RunParams, stage: str, task):
    """The :class:`xltkit.modeling.noise.config.NoiseConfig` of ``stage``: method and scale from the
    stage, knobs from the noise group, dictionaries and synonyms from files or from the task."""
    from xltkit.modeling.noise.config import NoiseConfig
    from xltkit.modeling.noise.resources import read_dictionary, read_synonym_table

    method, scale, src = run.stage_noise(stage)
    k, data = run.noise_knobs, run.data_context()
    cfg = NoiseConfig(method=method, scale=scale, seed=run.training.seed, unit=k.noise_scale_unit,
                      distribution=k.noise_distribution, samples=k.noise_samples, adv_steps=k.adv_steps,
                      adv_step_size=k.adv_step_size, adv_norm=k.adv_norm, adv_variant=k.adv_variant,
                      synonym_neighbours=k.synonym_neighbours, tag_names=task.labels,
                      copies=k.rs_da_copies if method == "rs-da" else None,
                      label_changing=frozenset(task.label_changing_noise))
    if method == "rs-da" and k.resolved_synonym_source == "file":
        cfg.synonyms = read_synonym_table(k.synonym_file)
    elif method == "rs-da" and k.resolved_synonym_source == "lab":
        cfg.synonyms = task.synonyms(src, data)
    if method == "code-switch" and k.code_switch_files:
        cfg.dictionaries = {lang: read_dictionary(path) for lang, path in sorted(k.code_switch_files.items())}
    elif method == "code-switch":
        for tgt in [c for c in (k.code_switch_langs or task.languages(data)) if c != src]:
            cfg.dictionaries[tgt] = task.dictionary(src, tgt, data)
    return cfg


# ---- 04 evaluate -----------------------------------------------------------------------
def evaluate(run: RunParams, upstream: Path | None, out: Path) -> pd.DataFrame:
    """Zero-shot evaluation on every language's dev and test sets (pair tasks also in the
    generalized setting, each language with the second-sentence languages
    :meth:`RunParams.second_langs` names); writes tidy ``metrics.parquet`` and per-example
    ``predictions.parquet`` to the run's folder and returns the metrics."""
    from xltkit.modeling.metrics import score
    from xltkit.tasks.base import HEADS
    from xltkit.typology.languages import relatives

    _setup(run)
    task, model, data = run.target_task, run.model, run.data_context()
    task.forget_notes()
    trained = HEADS[task.head].trained  # retrieval: the encoder as the stages before left it
    source = upstream if trained else model.source(upstream)
    predict = model.predictor(task, source, run.encoder, seed=run.training.seed)
    # the hub weights' commit as the training stages passed it on, or (nothing trained) as read here
    commit = _passed_on(upstream).get("model_commit") or model.model_commit(source, run.encoder)
    src = run.target.source_lang
    frames, preds = [], []
    inter_iso = None
    if run.has_intermediate:
        inter_iso = run.intermediate_task.language_facts(run.intermediate.intermediate_lang,
                                                         run.data_context("intermediate"))["iso"]
    same_data = run.intermediate_same_data
    with _tokenized(run, task):  # every run scores the same sets: their encodings are read back
        for lang in run.eval_langs():
            scored = []
            # the second sentence in lang ("same"), then in each language run.second_langs pairs lang with
            for setting, lang2 in [("same", None), *(("generalized", c) for c in run.second_langs(lang))]:
                for split in task.eval_splits(lang, data):
                    ds = task.load(split, lang, data, lang2)
                    m, pr = score(task, ds.to_pandas(), predict(ds), lang=lang)
                    cell = dict(eval_lang=lang, split=split, eval_setting=setting, eval_lang2=lang2 or "")
                    scored.append(m.assign(**cell))
                    preds.append(pr.assign(**cell))
            facts = task.language_facts(lang, data)  # after loading: the commit the data was read at
            seen = run.has_intermediate and lang == run.intermediate.intermediate_lang
            where = {"eval_seen": seen, "eval_relative": bool(inter_iso and facts["iso"] and not seen and
                                                              relatives(facts["iso"], inter_iso)),
                     "eval_low_resource": facts["low_resource"], "dataset_revision": facts["revision"],
                     "intermediate_same_data": same_data}
            frames += [f.assign(**where) for f in scored]
    rid = graph.run_id(run)
    ident = {"experiment": run.evaluation.experiment, "run_id": rid, "model": run.encoder.model,
             "intermediate_task": run.intermediate.intermediate_task if run.has_intermediate else "none",
             "intermediate_lang": run.intermediate.intermediate_lang, "target_task": task.name, "source_lang": src,
             "noise": run.target.noise, "noise_scale": run.target.noise_scale,
             "noise_setting": run.noise_label("finetune"), "intermediate_noise_setting": run.noise_label("intermediate"),
             "seed": run.training.seed, "intermediate_recipe": graph.intermediate_recipe(run),
             "model_commit": commit or ""}
    from xltkit.modeling.heads import get_head

    ident.update(get_head(task.head, run.encoder, task).recorded())  # e.g. retrieval's pooling, beside every score
    metrics = results.check_metrics(pd.concat(frames, ignore_index=True).assign(**ident))
    predictions = pd.concat(preds, ignore_index=True).assign(run_id=rid)
    write_parquet(predictions, Path(out) / "predictions.parquet")
    write_parquet(metrics, Path(out) / "metrics.parquet")
    if task.load_notes():  # what was loaded from where: rows on the hub, dropped, used, revision
        write_json(task.load_notes(), Path(out) / "data.json")
    return metrics


FUNCTIONS = {"data": data, "pretrain": pretrain, "intermediate": intermediate, "finetune": finetune,
             "evaluate": evaluate}


def ensure(stage: str, run: RunParams) -> Any:
    """Run ``stage`` for ``run``, building the upstream stages it needs that are not done yet.

    Returns the stage's output folder (``evaluate``: its metrics).  Where the run does not
    need the stage (no intermediate task, a rule without pretraining), it returns what the
    stage would have passed on: the output of the nearest stage before it (None if none)."""
    if stage not in graph.STAGES:
        raise ValueError(f"unknown stage {stage!r}; allowed: {', '.join(graph.STAGES)}")
    upstream: Path | None = None
    for node in graph.chain(run):
        out = graph.output_dir(node, run)
        if node.stage.name == stage:
            if not node.stage.per_run and is_done(out):
                return out
            with locked(out, inside=node.stage.per_run):  # another process may be building it: wait, then use it
                if not node.stage.per_run and is_done(out):
                    return out
                return FUNCTIONS[stage](run, upstream, out)
        if graph.ORDER.index(node.stage.name) > graph.ORDER.index(stage):
            break
        if not is_done(out):
            with locked(out):
                if not is_done(out):
                    FUNCTIONS[node.stage.name](run, upstream, out)
        upstream = out
    print(f"stage {stage!r} is not part of this run; passing on {upstream or 'nothing'}")
    return upstream


# ---- 05 analysis -----------------------------------------------------------------------
def analysis(p):
    """Gains with confidence intervals, controls, mixed-effects models and figures."""
    from xltkit.analysis.report import analyze

    return analyze(p)


IGNORED = ("In", "Out", "exit", "quit", "get_ipython")


def run_from_notebook(stage: str, namespace: dict[str, Any]):
    """Validate the parameters found in a notebook's namespace and run ``stage``.

    Papermill injects parameters as plain assignments and only *warns* about names the
    notebook does not declare; here any plain value in the namespace that is not a field
    of the stage's groups is refused, so a typo fails before any work starts.
    """
    from xltkit.analysis.params import AnalysisParams

    fields = list(AnalysisParams.model_fields) if stage == "analysis" else \
        [f for g in graph.STAGES[stage].groups for f in GROUPS[g].model_fields]
    values, unknown = {}, []
    for name, value in namespace.items():
        if name.startswith("_") or name in IGNORED:
            continue
        if name in fields:
            values[name] = value
        elif isinstance(value, (str, int, float, bool, list, dict, tuple)) or value is None:
            unknown.append(name)
    where = f"notebook parameters of stage {stage!r}"
    if unknown:
        raise ParamsError(unknown_key_message(unknown[0], fields, where))
    if stage == "analysis":
        return analysis(AnalysisParams.from_dict(values, where))
    return ensure(stage, stage_params(graph.STAGES[stage].groups, values, where))
