"""The pipeline stages, one function each; each notebook calls exactly one of them.

Every stage takes its typed parameters, builds its upstream stages if they are missing
(each is cached on disk under ``cache_dir/<stage>/<key>``, the key being a hash of the
parameters it depends on) and returns where its output lies.  So any stage notebook runs
alone with its defaults, and the runner, which executes stages in order, finds each
upstream stage already done.
"""

from __future__ import annotations

import pickle
import platform
from collections import Counter
import random
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from xltkit import results
from xltkit.config import (
    RULES,
    STAGES,
    AnalysisParams,
    DataParams,
    EvaluateParams,
    FinetuneParams,
    IntermediateParams,
    ParamsError,
    PretrainParams,
    StageParams,
)
from xltkit.lab import Lab, Meaning, concept_keys
from xltkit.tasks import get_task, make_examples, task_code_hash


def lab_of(p: DataParams) -> Lab:
    return Lab(list(p.langs), lab_seed=p.lab_seed, shared_share=p.shared_share, cognate_share=p.cognate_share,
               n_synonyms=p.n_synonyms, synonym_rate=p.synonym_rate, numeral_share=p.numeral_share)


def meaning_concepts(m: Meaning) -> list[str]:
    """The concept keys a meaning puts into words (a pronoun agent names no noun), in a fixed order."""
    keys = [] if m.agent_person is not None else [f"n{m.agent}"] + [f"a{a}" for a in m.agent_adjs]
    keys += [f"v{m.verb}", f"n{m.patient}"] + [f"a{a}" for a in m.patient_adjs]
    return keys + ([f"n{m.possessor}"] if m.possessor is not None else [])


def parallel_pairs(lab: Lab, src: str, lang: str, n: int) -> pd.DataFrame:
    """``n`` translation pairs: one meaning per pair rendered in ``src`` and in ``lang``
    (free word order and synonyms drawn independently per side), from a stream of their
    own, independent of the monolingual corpora and of other languages' pairs.

    Columns: lang, src_text, text, concepts (the meaning's concept keys, space-separated).
    """
    r = random.Random(f"{lab.lab_seed}-parallel-{src}-{lang}")
    a, b, rows = lab.language(src), lab.language(lang), []
    for _ in range(n):
        m = lab.world.meaning(r)
        rows.append((lang, a.sentence(m, r), b.sentence(m, r), " ".join(meaning_concepts(m))))
    return pd.DataFrame(rows, columns=["lang", "src_text", "text", "concepts"])


def _dir(p: StageParams, stage: str) -> Path:
    return Path(p.cache_dir) / stage / p.key()


def _as(cls, p: StageParams):
    """View run parameters ``p`` as the parameters of an upstream stage class."""
    return cls(**p.model_dump(include=set(cls.model_fields)))


def _setup(p: PretrainParams | DataParams) -> None:
    torch.set_num_threads(getattr(p, "threads", 1))


# ---- 00 data ---------------------------------------------------------------------------
def data(p: DataParams) -> Path:
    """Corpora of every lab language (sizes by resource level), the lexicon table, a
    BPE tokenizer trained on an equal share of every language's monolingual text and,
    with ``parallel_sentences``, translation pairs with ``parallel_source``
    (``parallel.parquet``, see :func:`parallel_pairs`)."""
    from xltkit.models import train_tokenizer

    out = _dir(p, "data")
    if results.is_done(out):
        return out
    t0 = time.time()
    lab = lab_of(p)
    rows, sizes = [], {}
    for code in p.langs:
        low = lab.language(code).spec.resource == "low"
        n = max(10, round(p.sentences_high * (p.low_resource_ratio if low else 1.0)))
        sizes[code] = n
        rows += [(code, s) for s in lab.corpus(code, n)]
    corpus = pd.DataFrame(rows, columns=["lang", "text"])
    n_tok = min(sizes.values())  # the tokenizer sees every language equally
    tok_texts = [t for code in p.langs for t in corpus.loc[corpus.lang == code, "text"].iloc[:n_tok]]
    max_length = PretrainParams.model_fields["max_length"].default
    tok = train_tokenizer(tok_texts, p.vocab_size, max_length)
    lexicon = pd.DataFrame([(k, code, lab.language(code).lexicon[k], k in lab.shared_forms,
                             k in lab.language(code).cognate_keys)
                            for k in concept_keys() for code in p.langs],
                           columns=["concept", "lang", "form", "shared", "cognate"])
    plangs = p.parallel_langs()
    parallel = pd.concat([parallel_pairs(lab, p.parallel_source, c, p.parallel_sentences) for c in plangs],
                         ignore_index=True) if plangs else None
    stats = {"sentences": sizes, "vocab_size": len(tok)}
    if parallel is not None:
        stats["parallel_pairs"] = {c: p.parallel_sentences for c in plangs}
    with results.building(out, {"stage": "data", "params": p.relevant(), "seconds": time.time() - t0}) as tmp:
        corpus.to_parquet(tmp / "corpus.parquet", index=False)
        lexicon.to_parquet(tmp / "lexicon.parquet", index=False)
        if parallel is not None:
            parallel.to_parquet(tmp / "parallel.parquet", index=False)
        tok.save_pretrained(str(tmp / "tokenizer"))
        results.write_json({c: lab.language(c).spec.model_dump() for c in p.langs}, tmp / "languages.json")
        results.write_json(stats, tmp / "stats.json")
    return out


def task_frame(p: DataParams, task: str, lang: str, split: str, lang2: str | None = None) -> pd.DataFrame:
    """A task split of one language (pair tasks: second sentences in ``lang2``), built on
    first use and cached (deterministic per seed)."""
    n = {"train": p.n_train, "dev": p.n_dev, "test": p.n_test}[split]
    name = lang if lang2 in (None, lang) else f"{lang}+{lang2}"
    path = Path(p.cache_dir) / "tasks" / _as(DataParams, p).key() / f"{task}-{task_code_hash()}" / \
        f"{name}-{split}-{n}.parquet"
    if path.is_file():
        return pd.read_parquet(path)
    df = make_examples(lab_of(p), task, lang, split, n, lang2)
    results.write_parquet(df, path)
    return df


# ---- 01 pretrain -----------------------------------------------------------------------
def pretrain(p: PretrainParams) -> Path | None:
    """MLM pretraining of the lab BERT, with ``tlm_share`` of the sequences translation
    pairs (TLM), or a randomly initialised copy (the no-pretraining control).  Surface-cue
    rules need no encoder: returns None for them.  ``stats.json`` records the loss curve,
    the MLM and TLM sequences and tokens per language, and held-out masked-word accuracy
    per language next to its unigram baseline."""
    if p.model in RULES:
        return None
    p = _as(PretrainParams, p)
    out = _dir(p, "pretrain")
    if results.is_done(out):
        return out
    from xltkit.models import lab_bert, load_tokenizer
    from xltkit.train import pretrain_mlm

    _setup(p)
    data_dir = data(_as(DataParams, p))
    tok = load_tokenizer(data_dir / "tokenizer")
    tok.model_max_length = p.max_length
    torch.manual_seed(p.pretrain_seed)
    model = lab_bert(len(tok), p.hidden_size, p.num_layers, p.num_heads, p.max_length, p.init_std)
    stats: dict[str, Any] = {"encoder_parameters": sum(x.numel() for x in model.bert.parameters())}
    if p.model == "lab-bert" and p.pretrain_steps > 0:
        corpus = pd.read_parquet(data_dir / "corpus.parquet")
        corpora = {lang: g["text"].tolist() for lang, g in corpus.groupby("lang")}
        parallel = None
        if p.tlm_share > 0:
            pairs = pd.read_parquet(data_dir / "parallel.parquet")
            parallel = {lang: list(zip(g["src_text"], g["text"])) for lang, g in pairs.groupby("lang")}
        stats.update(pretrain_mlm(model, tok, corpora, p.pretrain_steps, p.pretrain_batch_size, p.pretrain_lr,
                                  p.mask_prob, p.language_alpha, p.pretrain_seed, parallel=parallel,
                                  tlm_share=p.tlm_share, parallel_source=p.parallel_source))
    lab = lab_of(p)
    stats["heldout_mlm_accuracy"] = mlm_accuracy(model, tok, lab, p.langs)
    stats["heldout_unigram_accuracy"] = unigram_accuracy(tok, lab, p.langs)
    with results.building(out, {"stage": "pretrain", "params": p.relevant()}) as tmp:
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        results.write_json(stats, tmp / "stats.json")
    return out


def unigram_accuracy(tok, lab: Lab, langs: list[str], n: int = 300) -> dict[str, float]:
    """The baseline of :func:`mlm_accuracy`: per language, the accuracy of always guessing
    its most frequent token (the frequency of that token among the non-special tokens of
    the same held-out sentences).  An encoder that does no better has learnt no context."""
    special = set(tok.all_special_ids)
    out = {}
    for lang in langs:
        ids = [i for row in tok(lab.corpus(lang, n, stream="heldout"))["input_ids"] for i in row if i not in special]
        out[lang] = round(Counter(ids).most_common(1)[0][1] / len(ids), 4)
    return out


@torch.no_grad()
def mlm_accuracy(model, tok, lab: Lab, langs: list[str], n: int = 300, seed: int = 1) -> dict[str, float]:
    """Masked-word accuracy on held-out sentences, per language (15% of tokens masked)."""
    model.eval()
    g = torch.Generator().manual_seed(seed)
    acc = {}
    for lang in langs:
        enc = tok(lab.corpus(lang, n, stream="heldout"), padding=True, truncation=True, return_tensors="pt")
        x = enc["input_ids"]  # (batch, seq)
        special = torch.tensor(tok.all_special_ids)
        m = (torch.rand(x.shape, generator=g) < 0.15) & ~torch.isin(x, special)
        logits = model(input_ids=x.masked_fill(m, tok.mask_token_id), attention_mask=enc["attention_mask"]).logits
        acc[lang] = round(float((logits.argmax(-1)[m] == x[m]).float().mean()), 4)
    return acc


# ---- 02 intermediate -------------------------------------------------------------------
def intermediate(p: IntermediateParams) -> Path | None:
    """Train the encoder on the intermediate task in ``intermediate_lang``; save the bare
    encoder (the task head is discarded).  With ``intermediate_lang: none`` this is the
    pretrained encoder itself."""
    p = _as(IntermediateParams, p)
    if p.intermediate_lang == "none" or p.model in RULES:
        return pretrain(p)
    out = _dir(p, "intermediate")
    if results.is_done(out):
        return out
    from xltkit.models import load_for_task, load_tokenizer, save_encoder
    from xltkit.noise import noise_config
    from xltkit.train import train_task

    _setup(p)
    src = pretrain(p)
    task = get_task(p.intermediate_task)
    df = task_frame(p, task.name, p.intermediate_lang, "train")
    tok = load_tokenizer(src)
    torch.manual_seed(p.seed)
    model = load_for_task(src, task.kind, len(task.labels))
    stats = train_task(model, tok, df, task.kind, p.intermediate_steps, p.batch_size, p.intermediate_lr, p.seed,
                       freeze_embeddings=False, desc=f"intermediate {task.name}/{p.intermediate_lang}",
                       noise=noise_config(p, "intermediate"))
    with results.building(out, {"stage": "intermediate", "params": p.relevant()}) as tmp:
        save_encoder(model, tok, tmp)
        results.write_json(stats, tmp / "stats.json")
    return out


# ---- 03 finetune -----------------------------------------------------------------------
def finetune(p: FinetuneParams) -> Path:
    """Train the target task in ``source_lang`` (English-like by default).  For a
    surface-cue rule, fit the rule on the same training data instead."""
    p = _as(FinetuneParams, p)
    out = _dir(p, "finetune")
    if results.is_done(out):
        return out
    task = get_task(p.target_task)
    df = task_frame(p, task.name, p.source_lang, "train")
    if p.model in RULES:
        from xltkit.controls import fit_rule

        rule = fit_rule(p.model, task.kind, df)
        with results.building(out, {"stage": "finetune", "params": p.relevant()}) as tmp:
            (tmp / "rule.pkl").write_bytes(pickle.dumps(rule))
        return out
    from xltkit.models import load_for_task, load_tokenizer
    from xltkit.noise import noise_config
    from xltkit.train import train_task

    _setup(p)
    src = intermediate(p)
    tok = load_tokenizer(src)
    torch.manual_seed(p.seed)
    model = load_for_task(src, task.kind, len(task.labels))
    stats = train_task(model, tok, df, task.kind, p.finetune_steps, p.batch_size, p.finetune_lr, p.seed,
                       freeze_embeddings=p.freeze_embeddings, desc=f"finetune {task.name}/{p.source_lang}",
                       noise=noise_config(p, "finetune"))
    with results.building(out, {"stage": "finetune", "params": p.relevant()}) as tmp:
        model.save_pretrained(str(tmp))
        tok.save_pretrained(str(tmp))
        results.write_json(stats, tmp / "stats.json")
    return out


# ---- 04 evaluate -----------------------------------------------------------------------
def evaluate(p: EvaluateParams) -> pd.DataFrame:
    """Zero-shot evaluation on every language's test set; writes tidy ``metrics.parquet``
    and per-example ``predictions.parquet`` to ``run_dir`` and returns the metrics."""
    from xltkit.evaluate import score
    from xltkit.noise import setting_label

    _setup(p)
    model_dir = finetune(p)
    task = get_task(p.target_task)
    if p.model in RULES:
        rule = pickle.loads((model_dir / "rule.pkl").read_bytes())
        predict_fn = rule.predict
    else:
        from xltkit.models import load_for_task, load_tokenizer
        from xltkit.train import predict

        tok = load_tokenizer(model_dir)
        model = load_for_task(model_dir, task.kind, len(task.labels))

        def predict_fn(df):
            return predict(model, tok, df, task.kind)

    frames, preds = [], []
    settings = {"same": None}
    if task.kind == "pair" and p.generalized:
        settings["generalized"] = p.source_lang  # the second sentence in the source language
    for lang in p.eval_langs or p.langs:
        for setting, lang2 in settings.items():
            if setting == "generalized" and lang == p.source_lang:
                continue  # identical to "same"
            for split in ("dev", "test"):
                df = task_frame(p, task.name, lang, split, lang2)
                m, pr = score(task, df, predict_fn(df))
                frames.append(m.assign(eval_lang=lang, split=split, eval_setting=setting))
                preds.append(pr.assign(eval_lang=lang, split=split, eval_setting=setting))
    run_id = p.run_id()
    ident = {"experiment": p.experiment, "run_id": run_id, "model": p.model,
             "intermediate_task": p.intermediate_task if p.intermediate_lang != "none" else "none",
             "intermediate_lang": p.intermediate_lang, "target_task": p.target_task, "source_lang": p.source_lang,
             "noise": p.noise, "noise_scale": p.noise_scale, "noise_setting": setting_label(p, "finetune"),
             "intermediate_noise_setting": setting_label(p, "intermediate"), "seed": p.seed}
    metrics = results.check_metrics(pd.concat(frames, ignore_index=True).assign(**ident))
    predictions = pd.concat(preds, ignore_index=True).assign(run_id=run_id)
    run_dir = Path(p.run_dir)
    results.write_parquet(predictions, run_dir / "predictions.parquet")
    results.write_parquet(metrics, run_dir / "metrics.parquet")
    return metrics


# ---- 05 analysis -----------------------------------------------------------------------
def analysis(p: AnalysisParams):
    """Gains with confidence intervals, controls, a mixed-effects model and figures."""
    from xltkit.analysis import analyze

    return analyze(p)


STAGE_FUNCTIONS = {"data": data, "pretrain": pretrain, "intermediate": intermediate, "finetune": finetune,
                   "evaluate": evaluate, "analysis": analysis}


def run_from_notebook(stage: str, namespace: dict[str, Any]):
    """Validate the parameters found in a notebook's namespace and run ``stage``.

    Papermill injects parameters as plain assignments and only *warns* about names the
    notebook does not declare; here any plain value in the namespace that is not a field
    of the stage's class is refused, so a typo fails before any work starts.
    """
    cls = STAGES[stage]
    values, unknown = {}, []
    for name, value in namespace.items():
        if name.startswith("_") or name in ("In", "Out", "exit", "quit", "get_ipython"):
            continue
        if name in cls.model_fields:
            values[name] = value
        elif isinstance(value, (str, int, float, bool, list, dict, tuple)) or value is None:
            unknown.append(name)
    if unknown:
        from xltkit.config import _unknown_key_message

        raise ParamsError(_unknown_key_message(unknown[0], cls.field_names(), f"notebook parameters of stage {stage!r}"))
    params = cls.from_dict(values, f"notebook parameters of stage {stage!r}")
    return STAGE_FUNCTIONS[stage](params)


def environment() -> dict[str, str]:
    """Versions recorded in every manifest."""
    import importlib.metadata as md

    pk = ["xltkit", "torch", "transformers", "datasets", "tokenizers", "pandas", "numpy", "statsmodels", "papermill"]
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for name in pk:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out

