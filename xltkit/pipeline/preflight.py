"""What a grid needs from the hub, and whether this machine has it: ``xltkit check PARAMS``.

Every run names a model and tasks; hub models (``hf:<id>``: config, tokenizer, weights) and
hub datasets (each task's source for every language the run trains or evaluates in, at its
pinned revision: the files that source reads) are looked up in the local Hugging Face cache
(or under ``hub_root``) without contacting the hub, the way loading finds them offline (the
snapshot of that revision).  With ``HF_HUB_OFFLINE=1`` ``xltkit run`` does this before any
training and stops with the whole list of what is missing and the ``hf download`` command
that fetches each (only the files needed).  ``xltkit check --load`` then reads every split
the grid uses and checks its columns and labels, so that a mismatch in an evaluation
language is found before training, not after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from xltkit.pipeline.params import RunParams


#: what a model needs from its repository (not every weight format): the config, the tokenizer, the weights
MODEL_FILES = ("config.json", "tokenizer*", "sentencepiece.bpe.model", "*.model", "vocab.txt", "special_tokens_map.json",
               "model.safetensors")
#: at least one file of each group must be there
MODEL_NEEDS = {"config": ("config.json",), "tokenizer": ("tokenizer.json", "sentencepiece.bpe.model", "*.model",
                                                         "vocab.txt"),
               "weights": ("model.safetensors", "model-*.safetensors", "pytorch_model.bin")}


@dataclass(frozen=True)
class Need:
    kind: str  # "model" | "dataset"
    repo: str
    revision: str | None
    patterns: tuple[str, ...] = ()  # the files of a dataset's config(s) the runs read
    local: str | None = None  # a folder that stands in for the repository (hub_root, a local model)
    sources: tuple = ()  # (task name, HubSource) of each registry entry that reads it

    def fetch(self) -> str:
        parts = [f"hf download {self.repo}"]
        if self.kind == "dataset":
            parts.append("--repo-type dataset")
        parts.append(f"--revision {self.revision or 'main'}")
        parts += [f"--include '{p}'" for p in self.patterns]
        return " ".join(parts)

    def describe(self) -> str:
        what = f"{self.kind} {self.repo} @ {self.revision or 'default branch'}"
        return what + (f" ({', '.join(self.patterns)})" if self.patterns and self.kind == "dataset" else "")


def _hub_sources(run: RunParams):
    """(task, language, source or None for task_files, data context) of every hub dataset ``run``
    reads: the target task in its training and evaluation languages, the intermediate task in its
    language (a language may read more than its own source: XQuAD's English trains on SQuAD)."""
    from xltkit.tasks.hub import HubTask

    uses = [(run.target_task, run.data_context(), {run.target.source_lang, *run.eval_langs()})]
    if run.has_intermediate:
        uses.append((run.intermediate_task, run.data_context("intermediate"), {run.intermediate.intermediate_lang}))
    for task, data, langs in uses:
        if not isinstance(task, HubTask):
            continue
        files = (run.hub.task_files or {}).get(task.name, {})
        sources = task.active_sources(data)
        for lang in sorted(langs):
            if lang in files:
                yield task, lang, None, data
            elif lang in sources:
                for src in (task.sources_of(lang, data) if hasattr(task, "sources_of") else (sources[lang],)):
                    yield task, lang, src, data


def pinned(run: RunParams) -> dict[str, str]:
    """What the run reads from the hub, at which revision, for its manifest: ``"model"`` and
    ``"<task>/<lang>"`` -> ``"<repo>[:<config>]@<revision>"`` (``"task_files:<folder>"`` for local files;
    several sources joined by ``" + "``).  The commit a branch resolved to is in the run's data.json."""
    from xltkit.modeling.models import HubEncoder

    out: dict[str, str] = {}
    if isinstance(run.model, HubEncoder):
        out["model"] = (f"{run.model.model_id} (a local folder)" if Path(run.model.model_id).is_dir() else
                        f"{run.model.model_id}@{run.encoder.revision or 'main'}")
    for task, lang, src, data in _hub_sources(run):
        key = f"{task.name}/{lang}"
        what = (f"task_files:{run.hub.task_files[task.name][lang]}" if src is None else
                f"{src.path}{':' + src.config if src.config else ''}@{task.revision(src, data) or 'main'}")
        out[key] = what if key not in out or what in out[key] else f"{out[key]} + {what}"
    return out


def needs(runs: list[RunParams]) -> list[Need]:
    """The hub models and datasets the runs read, one entry per repository and revision."""
    from xltkit.modeling.models import HubEncoder

    found: dict[tuple, set[str]] = {}
    local: dict[tuple, str | None] = {}
    sources: dict[tuple, dict] = {}
    for run in runs:
        model = run.model
        if isinstance(model, HubEncoder) and not Path(model.model_id).is_dir():
            key = ("model", model.model_id, run.encoder.revision)
            found.setdefault(key, set()).update(MODEL_FILES)
        for task, _, src, data in _hub_sources(run):
            if src is None:
                continue
            key = ("dataset", src.path, task.revision(src, data))
            found.setdefault(key, set()).update(src.patterns())
            local[key] = str(Path(run.hub.hub_root) / src.path) if run.hub.hub_root else None
            sources.setdefault(key, {})[(task.name, src.config)] = (task.name, src)
    return [Need(k[0], k[1], k[2], tuple(sorted(p)), local.get(k), tuple(sources.get(k, {}).values()))
            for k, p in sorted(found.items(), key=str)]


def missing(needs_: list[Need]) -> list[tuple[Need, str]]:
    """The needs this machine cannot meet without the hub, each with why."""
    out = []
    for need in needs_:
        why = _why_missing(need)
        if why:
            out.append((need, why))
    return out


def _why_missing(need: Need) -> str | None:
    import fnmatch

    if need.local is not None:
        folder = Path(need.local)
        if not folder.is_dir():
            return f"{folder} does not exist (hub_root)"
        where = str(folder)
    else:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:  # the snapshot of this revision: what loading reads offline
            folder = Path(snapshot_download(need.repo, repo_type=need.kind, revision=need.revision,
                                            local_files_only=True))
        except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError) as e:
            return f"not in the local Hugging Face cache ({type(e).__name__})"
        where = "the cached snapshot"
    files = [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
    has = lambda pat: any(fnmatch.fnmatch(f, pat) for f in files)  # noqa: E731
    if need.kind == "model":
        absent = [what for what, pats in MODEL_NEEDS.items() if not any(has(p) for p in pats)]
        return f"{where} has no {' or '.join(absent)} files" if absent else None
    from xltkit.tasks.hub.files import lacking, script_refusal

    missing_files = lacking(files, need.patterns)
    if not missing_files:
        return None
    for task, src in need.sources:  # a loading script, never run: the loader's own refusal, saying what to read
        refusal = script_refusal(task, src, folder, need.revision, missing_files, mirror=need.local is not None)
        if refusal:
            return refusal
    return f"{where} lacks {', '.join(missing_files)}"


def report(runs: list[RunParams]) -> tuple[list[Need], list[tuple[Need, str]], str]:
    """(needs, missing, a readable report) for ``runs``."""
    n = needs(runs)
    m = missing(n)
    lines = [f"{len(runs)} runs read {sum(x.kind == 'model' for x in n)} hub models and "
             f"{sum(x.kind == 'dataset' for x in n)} hub datasets"]
    if not m:
        lines.append("everything they read is on this machine" if n else "nothing from the hub")
    else:
        lines.append(f"missing on this machine ({len(m)}):")
        for need, why in m:
            lines.append(f"  {need.describe()}: {why}")
            if need.local is None and "loading-script dataset" not in why:  # its refusal says what to fetch
                lines.append(f"      {need.fetch()}")
        lines.append("fetch them where the hub is reachable (the commands above), or point hub_root at a local copy")
    return n, m, "\n".join(lines)


def reads(run: RunParams) -> list[tuple]:
    """(task, data context, language, splits, second language or None) of every split ``run``
    reads: the training language's train split in each training stage (and its dev split where the
    stage scores one), the evaluation splits of every evaluation language, and each pair of the
    generalized setting (the first sentence in one language, the second in another)."""
    from xltkit.pipeline import graph

    stages = {n.stage.name for n in graph.chain(run)}
    out = []
    if "intermediate" in stages:
        out.append((run.intermediate_task, run.data_context("intermediate"), run.intermediate.intermediate_lang,
                    ("train", "dev") if run.eval_every("intermediate") is not None else ("train",), None))
    data = run.data_context()
    if "finetune" in stages:  # a retrieval target trains nothing; a rule is fitted on the same data
        out.append((run.target_task, data, run.target.source_lang,
                    ("train", "dev") if run.eval_every("finetune") is not None else ("train",), None))
    for lang in run.eval_langs():
        splits = tuple(run.target_task.eval_splits(lang, data))
        out += [(run.target_task, data, lang, splits, lang2) for lang2 in (None, *run.second_langs(lang))]
    return out


def load_all(runs: list[RunParams], hub_only: bool = False) -> list[str]:
    """Read every split every run trains, selects on or evaluates (each task, language and split
    once) and check it (columns, label names, placeholder labels, dropped rows): the problems,
    each naming its task, language and split.  ``hub_only``: the hub's tasks only (a lab task's
    data is made by the grid's own data stage)."""
    from xltkit.pipeline.checks import too_few_examples
    from xltkit.tasks.base import TaskError
    from xltkit.tasks.hub import HubTask

    seen: set[tuple] = set()
    problems: list[str] = []
    for run in runs:
        for task, data, lang, splits, lang2 in reads(run):
            if hub_only and not isinstance(task, HubTask):
                continue
            for split in splits:
                key = (task.name, lang, lang2, split, task.fingerprint, str(task.data_identity(data)), data.size(split))
                if key in seen:
                    continue
                seen.add(key)
                where = f"{task.name} {lang}{'+' + lang2 if lang2 else ''} {split}"
                try:
                    ds = task.load(split, lang, data, lang2)
                    if split == "train" and run.has_intermediate and task is run.intermediate_task:
                        short = too_few_examples(run, task, lang, len(ds))
                        if short:
                            problems.append(f"{where}: {short}")
                except TaskError as e:
                    problems.append(f"{where}: {e}")
                except (OSError, ValueError) as e:  # unreadable files, the hub unreachable: named, not a traceback
                    problems.append(f"{where}: could not be read ({type(e).__name__}: {e})")
    return problems


def machine_problems(runs: list[RunParams]) -> list[str]:
    """What this machine lacks for the runs (a GPU for bf16 / fp16): checked by ``xltkit run``
    before any work starts, not when params are validated (a GPU grid validates, and is
    planned, on a laptop)."""
    precisions = {r.training.precision for r in runs if r.model.trainable} - {"fp32"}
    if not precisions:
        return []
    import torch

    if not torch.cuda.is_available():
        return [f"precision {', '.join(sorted(precisions))} needs a CUDA GPU and none is visible here; run on a GPU "
                "machine or set precision: fp32"]
    if "bf16" in precisions and not torch.cuda.is_bf16_supported():
        return ["precision bf16 needs a GPU with bfloat16 (Ampere or newer); use fp16 or fp32"]
    return []
