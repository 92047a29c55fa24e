"""Tasks whose data comes from the Hugging Face hub (the real study).

A :class:`HubTask` maps each of its languages (ISO 639-3) to a :class:`HubSource`: the
dataset id, its config, a pinned revision and the names of its splits.  Loading first puts
the files that language needs (the config's folder and the README that names it, or the raw
files) in a local folder: the hub's snapshot of that revision (``snapshot_download``, which
with ``HF_HUB_OFFLINE=1`` uses the local cache only and refuses a revision it does not
hold), or the same repository under ``hub_root`` (an offline mirror, or the test fixtures).
Then one ``datasets.load_dataset`` call reads that folder, the same call for the hub and the
fixtures.  Every loaded split is checked before anyone trains on it:

- the hub columns and label names are those the registry expects (labels are mapped by
  name, never by position);
- a split whose labels are all one value (all one class, all ``O``, all -1) is refused as
  *placeholder labels* (the XTREME repository's own test files carry such labels: XNLI test
  accuracy then comes out near 33%, google-research/xtreme issue 24);
- examples with an invalid label (PAWS-X's -1) or without text are dropped and counted, and
  a split that loses more than :data:`MAX_DROPPED` of its rows is refused;
- a subsample (``n_train`` / ``n_dev`` / ``n_test``, ``intermediate_examples``) takes the
  same hub rows in every language (drawn from the hub's row ids before any row is dropped),
  so a parallel set stays parallel.

What was loaded is recorded (:attr:`HubTask.notes`): rows on the hub, rows dropped, rows
used, the source and the commit it was read at.  A source may need the registry's help to
reach the task's column contract (:meth:`HubTask.convert`); a language a task has no data
for says why (no Finnish COPA on the hub), and a local folder can stand in for it
(``task_files``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xltkit.tasks.base import SPLITS, DataContext, Task, TaskError
from xltkit.tasks.hub.files import (_fingerprint, _label_names, _load_folder, _load_source, _row_ids, fetch_command,
                                    lacking, script_name, script_refusal)
from xltkit.typology.languages import info as language_info

#: our split -> the hub's, for the many datasets that name them so
SPLITS3 = {"train": "train", "dev": "validation", "test": "test"}
#: the largest share of a split's rows that may be dropped (invalid labels, no text) before
#: the split is refused: more means the data is not what the registry describes
MAX_DROPPED = 0.2


@dataclass(frozen=True)
class HubSource:
    """One language's data of a task on the hub.

    Attributes:
        path: the dataset's hub id (``facebook/xnli``).
        config: its config (subset) name, or None.
        revision: the commit to load (a full sha; where it was found is said in the registry).
        splits: our split (train, dev, test) -> the hub's split name; a split not named here
            does not exist for that language (or has no labels: GLUE and HuLU test sets).
        data_files: for a repository without configs (raw JSON files): hub split -> file path
            inside the repository.
    """

    path: str
    config: str | None
    revision: str | None
    splits: Mapping[str, str]
    data_files: Mapping[str, str] | None = None
    licence: str = ""
    sizes: Mapping[str, int] | None = None  # hub split -> rows, as the dataset card gives them
    #: the corpora its training split holds (XNLI's English train *is* MNLI): an intermediate
    #: task whose training data shares one with the target's training data is flagged
    corpus: tuple[str, ...] = ()

    def corpora(self) -> tuple[str, ...]:
        return self.corpus or (f"{self.path}:{self.config}",)

    def patterns(self) -> tuple[str, ...]:
        """The repository files this source reads: its raw files, or its config's folder and the
        README whose ``configs:`` name that folder's files."""
        if self.data_files:
            return tuple(sorted(set(self.data_files.values())))
        return ("README.md", f"{self.config or 'default'}/*")

    def size(self, split: str) -> int | None:
        hub = self.splits.get(split)
        return (self.sizes or {}).get(hub) if hub else None

    def describe(self) -> str:
        return f"{self.path}" + (f" ({self.config})" if self.config else "") + f" @ {self.revision or 'default branch'}"


class HubTask(Task):
    """A task of hub datasets (see the module docstring).

    Subclasses set ``sources`` (language -> :class:`HubSource`), ``unavailable`` (language ->
    why the hub has no data for it), ``hub_columns`` (the columns :meth:`convert` reads) and
    ``hub_labels`` (the hub's label names in index order, or None for unnamed integer
    labels), and implement :meth:`convert`.  ``alternatives`` (language -> name -> source)
    are other sources of a language a run may choose (``source_choices``): English QQP for
    the paraphrase task instead of PAWS, which is PAWS-X's own English training set.
    """

    reads = ("hub",)
    sources: Mapping[str, HubSource] = {}
    alternatives: Mapping[str, Mapping[str, HubSource]] = {}
    unavailable: Mapping[str, str] = {}
    hub_columns: Mapping[str, tuple[str, ...]] = {}  # dataset id -> the columns convert reads
    hub_labels: Mapping[str, tuple[str, ...]] = {}  # dataset id -> its ClassLabel names, in index order
    labels_by_name: frozenset[str] = frozenset()  # dataset ids whose label order is free: convert maps by name
    invalid_label: int | None = None  # a label value meaning "no label" (PAWS-X: -1), dropped and counted
    files_schema: str | None = None  # the dataset id whose schema task_files follow (default: the first source's)
    #: class attributes that do not change what the task trains on (its name and description, how it is scored
    #: and costed, which source each language reads: the training split's own source is hashed instead)
    not_training: frozenset[str] = frozenset({"name", "description", "metrics", "typical_tokens", "two_languages",
                                              "unavailable", "sources", "alternatives", "not_training"})

    def __init__(self):
        self.notes: dict[str, dict] = {}
        self._where: dict[str, tuple[str, str | None]] = {}  # language -> (source, commit it was read at)

    def languages(self, data: DataContext) -> tuple[str, ...]:
        files = self._task_files(data)
        return tuple(dict.fromkeys([*self.active_sources(data), *files]))

    def active_sources(self, data: DataContext | None) -> dict[str, HubSource]:
        """Language -> the source a run reads: the registry's, or the alternative it chose."""
        out = dict(self.sources)
        if data is None:
            return out
        for lang, name in ((self._hub(data).source_choices or {}).get(self.name, {})).items():
            options = self.alternatives.get(lang, {})
            if name not in options:
                raise TaskError(f"source_choices: task {self.name!r} has no alternative source {name!r} for {lang!r}; "
                                f"allowed: {', '.join(options) or '(none)'}")
            out[lang] = options[name]
        return out

    def _hub(self, data: DataContext):
        return data.group("hub", self.name)

    def _task_files(self, data: DataContext) -> dict[str, str]:
        return dict((self._hub(data).task_files or {}).get(self.name, {}))

    def revision(self, source: HubSource, data: DataContext) -> str | None:
        return (self._hub(data).dataset_revisions or {}).get(source.path, source.revision)

    def data_identity(self, data: DataContext) -> dict:
        hub = self._hub(data)
        sources = self.active_sources(data)
        out: dict[str, Any] = {"sources": {lang: [s.path, s.config, self.revision(s, data), dict(s.splits)]
                                           for lang, s in sorted(sources.items())},
                               "subsample_seed": hub.subsample_seed}
        if hub.hub_root:  # a local mirror: what is in it (fixtures differ from the hub)
            out["local"] = {p: _fingerprint(Path(hub.hub_root) / p) for p in sorted({s.path for s in sources.values()})
                            if (Path(hub.hub_root) / p).is_dir()}
        files = self._task_files(data)
        if files:
            out["task_files"] = {lang: _fingerprint(Path(path)) for lang, path in sorted(files.items())}
        return out

    def training_identity(self, lang: str, splits: tuple[str, ...], data: DataContext) -> dict | None:
        """The training split of ``lang`` as data another entry may share: its source (dataset, config,
        revision, the hub split and the splits drawn from it, a local copy's contents), the hub settings
        that read it, and the task's class less its name, description and scoring
        (:mod:`xltkit.tasks.hub.identity`).  A dev set that picks the checkpoint, or ``lang`` from
        task_files, keeps the task's own key (None)."""
        from xltkit.tasks.hub import identity

        if tuple(splits) != ("train",) or lang in self._task_files(data) or lang not in self.languages(data):
            return None
        src = self.source_for("train", lang, data)
        hub_split = src.splits.get("train")
        if hub_split is None:
            return None
        hub = self._hub(data)
        local = Path(hub.hub_root) / src.path if hub.hub_root else None
        return {"source": [src.path, src.config, self.revision(src, data), hub_split,
                           (src.data_files or {}).get(hub_split)],
                "drawn_from_it": sorted(s for s, h in src.splits.items() if h == hub_split),
                "local": _fingerprint(local) if local is not None and local.is_dir() else None,
                "hub": {k: v for k, v in hub.canonical().items()
                        if k not in ("hub_root", "dataset_revisions", "source_choices", "task_files")},
                "declared": identity.declared(type(self), self.not_training), "code": identity.code(self)}

    def source_for(self, split: str, lang: str, data: DataContext) -> HubSource:
        """The source ``split`` of ``lang`` is read from (one per language here; QA may train elsewhere)."""
        return self.source(lang, data)

    def load_notes(self) -> dict[str, dict]:
        return dict(self.notes)

    def forget_notes(self) -> None:
        self.notes = {}

    def split_size(self, lang: str, split: str, data: DataContext | None = None) -> int | None:
        if data is not None and lang in self._task_files(data):
            return None
        src = self.active_sources(data).get(lang)
        return src.size(split) if src else None

    def eval_splits(self, lang: str, data: DataContext) -> tuple[str, ...]:
        sources = self.active_sources(data)
        if lang in self._task_files(data) or lang not in sources:
            return ("dev", "test")
        return tuple(s for s in ("dev", "test") if s in sources[lang].splits)

    def language_facts(self, lang: str, data: DataContext) -> dict:
        facts = super().language_facts(lang, data)
        src = self.active_sources(data).get(lang)
        files = self._task_files(data)
        where, commit = self._where.get(lang, (None, None))  # the commit a branch resolved to, once loaded
        facts["revision"] = f"task_files:{_fingerprint(Path(files[lang]))}" if lang in files else \
            (f"{src.path}@{commit or self.revision(src, data)}" if src else None)
        return facts

    def train_corpora(self, lang: str, data: DataContext) -> tuple[str, ...]:
        files = self._task_files(data)
        if lang in files:
            return (f"task_files:{_fingerprint(Path(files[lang]))}",)
        src = self.active_sources(data).get(lang)
        return src.corpora() if src and "train" in src.splits else ()

    def code_files(self) -> list[Path]:
        import inspect

        from xltkit.tasks.hub import files

        # the shared loading code, and the module defining the task (its label tables and helpers)
        return [Path(__file__), Path(files.__file__), Path(inspect.getfile(type(self)))]

    # ---- loading ---------------------------------------------------------------------------
    def source(self, lang: str, data: DataContext) -> HubSource:
        sources = self.active_sources(data)
        if lang in sources:
            return sources[lang]
        why = self.unavailable.get(lang)
        language_info(lang)  # an unknown code says so, with the allowed ones
        raise TaskError(f"task {self.name!r} has no data in {lang!r}" + (f": {why}" if why else "") +
                        f"; its languages: {', '.join(sources)}" +
                        f" (a local folder can stand in: task_files: {{{self.name}: {{{lang}: <folder>}}}})")

    def folder(self, src: HubSource, data: DataContext) -> tuple[Path, str | None]:
        """The local folder holding ``src``'s files and the commit it is at (None for hub_root):
        the hub's snapshot of the revision (fetched where the hub is reachable, only the files the
        source reads and its loading script; from the local cache only with ``HF_HUB_OFFLINE=1``), or
        hub_root's copy.  A loading-script dataset without its data files is refused (never run)."""
        hub = self._hub(data)
        revision = self.revision(src, data)
        if hub.hub_root:
            folder = Path(hub.hub_root) / src.path
            if not folder.is_dir():
                raise TaskError(f"task {self.name!r}: hub_root {hub.hub_root!r} has no folder {src.path!r} (the "
                                "dataset repository, laid out as on the hub)")
            commit = None
        else:
            from huggingface_hub import snapshot_download

            try:  # the loading script too, where the repository has one: to refuse it by name
                folder = Path(snapshot_download(src.path, repo_type="dataset", revision=revision,
                                                allow_patterns=[*src.patterns(), script_name(src)]))
            except Exception as e:  # offline without the snapshot, an unknown revision, no network
                raise TaskError(f"task {self.name!r}: cannot get {src.describe()}: {type(e).__name__}: "
                                f"{str(e)[:300]}; where the hub is reachable, fetch it with `{fetch_command(src, revision)}`"
                                ", or point hub_root at a local copy") from None
            commit = folder.name  # snapshots/<commit>: what a branch name resolved to
        files = [str(f.relative_to(folder)) for f in folder.rglob("*") if f.is_file()]
        missing = lacking(files, src.patterns())
        refusal = script_refusal(self.name, src, folder, revision, missing, bool(hub.hub_root)) if missing else None
        if refusal:
            raise TaskError(refusal)
        if missing:
            raise TaskError(f"task {self.name!r}: {folder} (for {src.describe()}) has no {', '.join(missing)}; "
                            f"fetch them with `{fetch_command(src, revision)}`")
        return folder, commit

    def raw(self, split: str, lang: str, data: DataContext):
        """The hub's split of ``lang``, as the hub has it (checked against the registry's schema)."""
        if split not in SPLITS:
            raise TaskError(f"task {self.name!r}: unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        files = self._task_files(data)
        if lang in files:
            ds = _load_folder(Path(files[lang]), split, self.name, lang)
            self._where[lang] = ("task_files", None)
            where = f"task_files {files[lang]}"
        else:
            src = self.source(lang, data)
            hub_split = src.splits.get(split)
            if hub_split is None:
                raise TaskError(f"task {self.name!r}: {src.describe()} has no labelled {split!r} split for {lang!r} "
                                f"(splits: {', '.join(f'{k}={v}' for k, v in src.splits.items())})")
            folder, commit = self.folder(src, data)
            self._where[lang] = (src.describe(), commit or self.revision(src, data))
            try:
                ds = _load_source(folder, src, hub_split, Path(data.cache_dir) / "hf-datasets" /
                                  (commit or _fingerprint(folder)))
            except Exception as e:  # a file that does not parse, a README without the config
                raise TaskError(f"task {self.name!r} ({lang}, {split}): cannot read {src.describe()} from "
                                f"{folder}: {type(e).__name__}: {str(e)[:300]}") from None
            where = src.describe()
        self._check_schema(ds, where, self.schema(lang, data), named=lang not in files)
        return ds

    def schema(self, lang: str, data: DataContext) -> str:
        """The dataset id whose schema ``lang``'s data has (task_files follow ``files_schema``)."""
        sources = self.active_sources(data)
        if lang in sources and lang not in self._task_files(data):
            return sources[lang].path
        return self.files_schema or next(iter(self.sources.values())).path

    def _check_schema(self, ds, where: str, path: str, named: bool = True) -> None:
        """The columns, and the label names where the data names them (hub datasets must; plain
        task_files carry label indices in the schema's order)."""
        expected = self.hub_columns.get(path, ())
        missing = [c for c in expected or () if c not in ds.column_names]
        if missing:
            raise TaskError(f"task {self.name!r}: {where} lacks the columns {', '.join(missing)} the registry "
                            f"expects (expected {', '.join(expected)}; found {', '.join(ds.column_names)})")
        names = self.hub_labels.get(path)
        if names is not None:
            found = _label_names(ds)
            same = found is not None and (sorted(found) == sorted(names) if path in self.labels_by_name
                                          else tuple(found) == tuple(names))
            if (found is None and named) or (found is not None and not same):
                raise TaskError(f"task {self.name!r}: {where} has the label names {found}; the registry expects "
                                f"{list(names)} (labels are mapped by name, never by position)")

    @abstractmethod
    def convert(self, ds, schema: str):
        """A split in the schema of dataset ``schema`` as the head's column contract (without
        ``id``; labels as indices into :attr:`labels`, invalid ones as ``invalid_label``; a missing
        sentence as no words, which is dropped and counted)."""

    def index_of(self, mapping: Mapping[str, str]) -> dict[str, int]:
        """A hub label name -> task label index table from hub name -> task label name."""
        return {hub: self.labels.index(ours) for hub, ours in mapping.items()}

    def load(self, split: str, lang: str, data: DataContext, lang2: str | None = None):
        n = data.size(split)
        ds = self._one(split, lang, data, n)
        key = f"{lang}/{split}"
        if lang2 not in (None, lang):
            if not self.two_languages:
                raise TaskError(f"task {self.name!r} has one sentence per example; a second language needs a "
                                "pair task whose sets are parallel")
            first = len(ds)
            ds = self._pair_with(ds, self._one(split, lang2, data, n), lang, lang2)
            key = f"{lang}+{lang2}/{split}"
            self.notes[key] = {"first": f"{lang}/{split}", "second": f"{lang2}/{split}",
                               "unpaired_or_disagreeing": first - len(ds)}
        self.notes[key] = {**self.notes.get(key, {}), "used": len(ds)}
        return self.check_columns(ds, f" ({lang}, {split})")

    def _one(self, split: str, lang: str, data: DataContext, n: int | None):
        """One language's split in the head's contract: ids are the hub's row numbers (or its own ``id``);
        invalid labels and empty sentences are dropped and counted, then a subsample of ``n`` takes the
        first usable rows in one seeded order of the hub's ids (the same in every language: still parallel)."""
        from xltkit.tasks.base import HEADS

        raw = self.raw(split, lang, data)
        hub_rows = len(raw)
        ids = _row_ids(raw)
        ds = self.convert(raw, self.schema(lang, data))
        ds = ds.add_column("id", ids)
        contract = HEADS[self.head]
        self._check_placeholders(ds, split, lang)  # before dropping: an all -1 split is placeholder labels
        before = invalid = len(ds)
        if self.invalid_label is not None and not contract.per_word:
            bad = self.invalid_label  # not self in the lambda: datasets hashes it, and the task's notes change
            ds = ds.filter(lambda y: y != bad, input_columns=contract.label)
        invalid -= len(ds)
        columns = contract.words or (("premise",) if "premise" in ds.column_names else ())
        n_before = len(ds)
        ds = ds.filter(lambda *cols: all(c is not None and len(c) > 0 for c in cols), input_columns=list(columns)) \
            if columns else ds
        empty = n_before - len(ds)
        if before and (invalid + empty) > MAX_DROPPED * before:
            raise TaskError(f"task {self.name!r}: the {split} split of {lang!r} loses {invalid + empty} of {before} "
                            f"rows ({invalid} invalid labels, {empty} without text), more than "
                            f"{MAX_DROPPED:.0%}: the data is not what the registry describes")
        self._check_placeholders(ds, split, lang)
        if n is not None and len(ds) > n:  # the first n usable rows in one seeded order of the hub's row ids,
            universe = sorted(ids)  # the same order in every language of a parallel set
            order = np.random.default_rng(self._hub(data).subsample_seed).permutation(hub_rows).tolist()
            rank, kept = {universe[k]: r for r, k in enumerate(order)}, ds["id"]
            ds = ds.select(sorted(sorted(range(len(ds)), key=lambda j: rank[kept[j]])[:n]))
        where, commit = self._where.get(lang, ("task_files", None))
        self.notes[f"{lang}/{split}"] = {"hub_rows": hub_rows, "subsampled_to": len(ds),
                                         "dropped_invalid_labels": invalid, "dropped_without_text": empty,
                                         "source": where, "revision": commit}
        return ds

    def _check_placeholders(self, ds, split: str, lang: str) -> None:
        from xltkit.tasks.base import HEADS

        contract = HEADS[self.head]
        column = ds[contract.label]
        values = {t for row in column for t in row} if contract.per_word else set(column)
        if len(ds) == 0:
            raise TaskError(f"task {self.name!r}: the {split} split of {lang!r} has no usable rows")
        if len(ds) > 1 and len(values) <= 1:
            raise TaskError(f"task {self.name!r}: the {split} split of {lang!r} has placeholder labels (every label "
                            f"is {next(iter(values), None)!r}): it cannot be scored; use a labelled split")

    def _pair_with(self, first, second, lang: str, lang2: str):
        """Pairs with the first sentence in ``lang`` and the second in ``lang2`` (the generalized
        setting): the sets are parallel, so the same id is the same pair in both; pairs missing
        in one language or whose labels disagree are dropped (and counted by :meth:`load`)."""
        b = {i: (w2, y) for i, w2, y in zip(second["id"], second["words2"], second["label"])}
        rows = [(i, w, b[i][0], y) for i, w, y in zip(first["id"], first["words"], first["label"])
                if i in b and b[i][1] == y]
        if len(rows) < 0.9 * min(len(first), len(second)):
            raise TaskError(f"task {self.name!r}: {lang} and {lang2} do not look parallel ({len(rows)} of "
                            f"{len(first)} pairs have the same id and label)")
        from datasets import Dataset

        return Dataset.from_dict({"id": [r[0] for r in rows], "words": [r[1] for r in rows],
                                  "words2": [r[2] for r in rows], "label": [r[3] for r in rows]})
