"""The task interface: what a task declares and how it hands its data to the rest of xltkit.

A task is one registry entry (:mod:`xltkit.tasks`).  It declares its name, its head kind,
its labels, its languages, its metrics (the first is the primary one, which the analysis
uses) and what is true of its labels (which noise methods would change them, which
surface-cue controls apply), and it loads a split in a language as a
``datasets.Dataset`` in the column contract of its head kind (:data:`HEADS`).  Stages,
training, evaluation, the controls and the analysis read these declarations, never a
task's name; the lab's tasks (:mod:`xltkit.tasks.lab`) and the hub's (the real study) are
two implementations of the same interface.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from xltkit.core.params import Group

if TYPE_CHECKING:
    from datasets import Dataset

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class HeadContract:
    """The columns a head kind's datasets have: ``columns`` always, ``optional`` where the
    task has them (``phenomena``: a list of phenomenon names per example, for per-phenomenon
    scores); ``label`` is the gold column, ``per_word`` whether it holds one label per word,
    ``words`` the columns of words (what token-level noise rewrites)."""

    name: str
    columns: tuple[str, ...]
    description: str
    label: str = "label"
    per_word: bool = False
    words: tuple[str, ...] = ("words",)
    optional: tuple[str, ...] = ("phenomena",)
    trained: bool = True  # False: evaluated on the encoder as it is (retrieval), no target fine-tuning


#: one column contract per head kind (the last three for the real study's tasks: XCOPA, SQuAD-style QA,
#: Tatoeba)
HEADS: dict[str, HeadContract] = {h.name: h for h in [
    HeadContract("sequence", ("id", "words", "label"),
                 "one sentence (words: list of words), one label (label: int index into the task's labels)"),
    HeadContract("pair", ("id", "words", "words2", "label"),
                 "two sentences (words, words2), one label for the pair", words=("words", "words2")),
    HeadContract("token", ("id", "words", "tags"),
                 "one sentence, one label per word (tags: list of int indices into the task's labels)",
                 label="tags", per_word=True),
    HeadContract("multiple_choice", ("id", "premise", "question", "choices", "label"),
                 "a premise, a question and candidate continuations (choices: list of str); label: the right one",
                 words=()),
    HeadContract("extractive_qa", ("id", "context", "question", "answers"),
                 "a context, a question and its answer spans (answers: {text: [str], answer_start: [int]})",
                 label="answers", words=()),
    HeadContract("retrieval", ("id", "text", "text2"),
                 "aligned sentences: text in the language, text2 its translation (row i matches row i)",
                 label="id", words=(), trained=False),
]}


class TaskError(ValueError):
    """A task cannot do what was asked (a language it does not have, a resource it lacks)."""


class TaskDataParams(Group):
    """How many examples of each split a run uses: the lab generates that many; a hub
    task takes at most that many (a deterministic subsample; None = the whole split)."""

    n_train: int | None = Field(600, ge=10, description="training examples per task and language (hub tasks: at "
                                "most; None = all)")
    n_dev: int | None = Field(100, ge=10, description="dev examples per task and language (parallel across "
                              "languages; hub tasks: at most; None = all)")
    n_test: int | None = Field(200, ge=10, description="test examples per task and language (parallel across "
                               "languages; hub tasks: at most; None = all, as benchmarks report)")

    def size(self, split: str) -> int | None:
        return {"train": self.n_train, "dev": self.n_dev, "test": self.n_test}[split]


@dataclass(frozen=True)
class DataContext:
    """What a task needs to load its data in one run: where to cache it, how much of each
    split, and the run's parameter groups by name (a task reads those it names in ``reads``:
    ``params["lab"]`` for the lab's tasks)."""

    cache_dir: str
    sizes: Mapping[str, int | None] = field(default_factory=lambda: {"train": 600, "dev": 100, "test": 200})
    params: Mapping[str, Any] = field(default_factory=dict)

    def size(self, split: str) -> int | None:
        return self.sizes[split]

    def group(self, name: str, task: str) -> Any:
        try:
            return self.params[name]
        except KeyError:
            raise TaskError(f"task {task!r} needs the {name!r} parameters; this data context has "
                            f"{', '.join(self.params) or 'none'}") from None


class Task(ABC):
    """A task (see the module docstring).  Subclasses set the class attributes and implement
    :meth:`load` and :meth:`languages`.

    Attributes:
        name: the registry name, used in params and in the results' ``target_task`` column.
        head: the head kind, a key of :data:`HEADS`.
        description: what the task asks, in a sentence or two.
        metrics: metric names (``xltkit.modeling.metrics``), the primary one first.
        label_changing_noise: noise methods that can change an example's label (word
            dropout on NLI drops a "not"): refused for this task.
        controls: the surface-cue rules that apply to it (``rule-length``, ...).
        two_languages: whether a pair can be loaded with its second sentence in another
            language (the generalized cross-lingual setting).
        reads: parameter groups the task's data comes from (``("lab",)`` for lab tasks);
            :meth:`data_identity` says what of them a cache key must hash.
    """

    name: str
    head: str
    description: str = ""
    metrics: tuple[str, ...] = ("accuracy",)
    label_changing_noise: frozenset[str] = frozenset()
    controls: tuple[str, ...] = ()
    two_languages: bool = False
    reads: tuple[str, ...] = ()
    typical_tokens: int = 32  # an estimate of subword tokens per example, for cost estimates (xltkit plan)

    @property
    @abstractmethod
    def labels(self) -> tuple[str, ...]:
        """Label names; integer labels in the data index into them."""

    @property
    def primary_metric(self) -> str:
        return self.metrics[0]

    @abstractmethod
    def languages(self, data: DataContext) -> tuple[str, ...]:
        """The languages this task has data in (for the lab: the lab's languages)."""

    @abstractmethod
    def load(self, split: str, lang: str, data: DataContext, lang2: str | None = None) -> "Dataset":
        """Split ``split`` (train, dev, test) in ``lang`` as a dataset in the head's column contract;
        ``lang2``: the language of the second sentence of a pair (``two_languages`` tasks)."""

    # ---- lexical resources of the task's world (noise methods use them) ----------------
    def dictionary(self, src: str, tgt: str, data: DataContext) -> dict[str, str]:
        """A bilingual word list ``src`` word -> ``tgt`` word, for code-switching."""
        raise TaskError(f"task {self.name!r} has no built-in bilingual dictionaries: give code_switch_files "
                        "(MUSE-style 'source_word target_word' files, one per target language)")

    def synonyms(self, lang: str, data: DataContext) -> dict[str, list[str]]:
        """A synonym table of ``lang`` (word -> synonyms), for RS-DA with synonym_source 'lab'."""
        raise TaskError(f"task {self.name!r} has no built-in synonym lexicon: use synonym_source 'file' "
                        "(synonym_file) or 'neighbours'")

    def data_identity(self, data: DataContext) -> dict[str, Any]:
        """What the task's data depends on besides its definition and the split sizes (hashed
        into the key of every stage that uses the task): e.g. the lab's world, or a pinned
        dataset revision."""
        return {}

    def training_identity(self, lang: str, splits: tuple[str, ...], data: DataContext) -> dict[str, Any] | None:
        """What training on ``splits`` of ``lang`` reads of this task, where another registry entry
        may train on the very same data (rows, labels, head, reading code): the fine-tuning stage
        hashes it instead of the task's name, fingerprint and :meth:`data_identity`, so two targets
        with one training set (XQuAD and MLQA: SQuAD v1.1) and the same settings share one model.
        None (the default): the training is the task's own, keyed by its name."""
        return None

    def eval_splits(self, lang: str, data: DataContext) -> tuple[str, ...]:
        """The splits a language is evaluated on (dev and test where it has them)."""
        return ("dev", "test")

    def eval_languages(self, data: DataContext) -> tuple[str, ...]:
        """The languages with a test split: those a run evaluates by default."""
        return tuple(lang for lang in self.languages(data) if "test" in self.eval_splits(lang, data))

    def split_size(self, lang: str, split: str, data: DataContext | None = None) -> int | None:
        """Examples in a split before any subsample, where known without loading it (None: unknown)."""
        return None

    def train_corpora(self, lang: str, data: DataContext) -> tuple[str, ...]:
        """Names of the corpora ``lang``'s training split holds, so that an intermediate task that
        trains on the target's own data is told apart (generated data: none shared)."""
        return ()

    def load_notes(self) -> dict[str, dict]:
        """What loading found, per "<lang>/<split>" (rows on the source, rows dropped, rows used,
        source and revision) since :meth:`forget_notes`: recorded with the run.  Generated data
        has nothing to note."""
        return {}

    def forget_notes(self) -> None:
        """Start a new record of loads (a stage calls it first: the task object is shared by every
        stage a process runs)."""

    def language_facts(self, lang: str, data: DataContext) -> dict[str, Any]:
        """What the analysis needs to know of one of the task's languages: ``iso`` (the ISO 639-3
        code it is or stands for, None if none), ``low_resource`` (Joshi et al. 2020 classes 0-2;
        None if unknown) and ``revision`` (of the data it was scored on)."""
        from xltkit.typology.languages import LANGUAGES

        row = LANGUAGES.get(lang)
        return {"iso": lang if row else None, "low_resource": row.low_resource if row else None, "revision": None}

    def check_noise(self, method: str, knobs: Any, data: DataContext) -> None:
        """Raise ``ValueError`` if noise ``method`` with ``knobs`` (NoiseParams) cannot serve this task;
        the label-changing methods are refused by the pipeline from :attr:`label_changing_noise`.  By
        default a task has no lexical resources of its own (:meth:`dictionary`, :meth:`synonyms`), so
        code-switching needs ``code_switch_files`` and RS-DA a synonym file or embedding neighbours:
        refused here, before any work, not when a stage builds its noise."""
        if method == "code-switch" and not knobs.code_switch_files:
            raise ValueError(f"code-switch on task {self.name!r} needs code_switch_files (language -> a MUSE-style "
                             "file, one 'source_word target_word' pair per line, e.g. {deu: dicts/en-de.txt}): the "
                             "task has no bilingual dictionaries of its own")
        if method == "rs-da" and knobs.resolved_synonym_source == "lab":
            raise ValueError(f"synonym_source='lab' reads the lab's synonym lexicon; task {self.name!r} has none: use "
                             "synonym_source 'file' (synonym_file: a TSV, or Huang et al.'s JSON {word: "
                             "[neighbours]}) or 'neighbours' (the encoder's embedding neighbours)")

    # ---- identity -------------------------------------------------------------------------
    def declaration(self) -> dict[str, Any]:
        """What the task declares, as plain data (part of its fingerprint and of ``xltkit tasks``)."""
        return {"name": self.name, "head": self.head, "labels": list(self.labels), "metrics": list(self.metrics),
                "label_changing_noise": sorted(self.label_changing_noise), "controls": list(self.controls),
                "two_languages": self.two_languages, "reads": list(self.reads)}

    def code_files(self) -> list[Path]:
        """Source files besides the task's own classes whose code makes its data (shared machinery)."""
        return []

    @cached_property
    def fingerprint(self) -> str:
        """Hash of the task's own definition: its declaration, the source of its classes and of
        the machinery it names in :meth:`code_files`.  Stages that use the task hash it into
        their cache keys, so editing a task rebuilds what used it and nothing else; adding
        another task changes no other task's fingerprint."""
        h = hashlib.sha1(json.dumps(self.declaration(), sort_keys=True).encode())
        for cls in type(self).__mro__:
            if cls in (Task, ABC, object):
                break
            try:
                h.update(inspect.getsource(cls).encode())
            except (OSError, TypeError):  # defined where there is no source (an interactive session)
                h.update(cls.__qualname__.encode())
        for path in self.code_files():
            h.update(Path(path).read_bytes())
        return h.hexdigest()[:10]

    def check_columns(self, ds, where: str = "") -> Any:
        """``ds`` if it has the columns of this task's head contract, else a :class:`TaskError`
        naming what is missing and what was found."""
        missing = [c for c in HEADS[self.head].columns if c not in ds.column_names]
        if missing:
            raise TaskError(f"task {self.name!r}{where}: the {self.head} head needs columns "
                            f"{', '.join(HEADS[self.head].columns)}; missing {', '.join(missing)} (found "
                            f"{', '.join(ds.column_names)})")
        return ds

    def check_language(self, lang: str, data: DataContext, what: str = "language") -> str:
        langs = self.languages(data)
        if lang not in langs:
            raise TaskError(f"task {self.name!r} has no {what} {lang!r}; allowed: {', '.join(langs)}")
        return lang

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({self.head})>"
