"""Tasks whose data comes from the Hugging Face hub (the real study).

A :class:`HubTask` maps each of its languages (ISO 639-3) to a :class:`HubSource`: the
dataset id, its config, a pinned revision and the names of its splits.  Loading goes
through ``datasets.load_dataset`` with that revision (``HF_HUB_OFFLINE=1`` makes it use the
local cache only), or with the same call on a local folder laid out like the hub
repository (``hub_root``: an offline mirror, or the test fixtures).  Every loaded split is
checked before anyone trains on it:

- the hub columns and label names are those the registry expects (labels are mapped by
  name, never by position);
- a split whose labels are all one value (all one class, all ``O``, all -1) is refused as
  *placeholder labels* (the XTREME repository's own test files carry such labels: XNLI test
  accuracy then comes out near 33%, google-research/xtreme issue 24);
- examples with an invalid label (PAWS-X's -1) are dropped and counted;
- a subsample (``n_train`` / ``n_dev`` / ``n_test``, ``intermediate_examples``) takes the
  same row indices in every language, so a parallel set stays parallel.

What was loaded is recorded (:attr:`HubTask.notes`): rows on the hub, rows dropped, rows
used, the source and the revision.  A source may need the registry's help to reach the
task's column contract (:meth:`HubTask.convert`); a language a task has no data for says
why (no Finnish COPA on the hub), and a local folder can stand in for it (``task_files``).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xltkit.core.hashing import folder_fingerprint, stable_hash
from xltkit.tasks.base import SPLITS, DataContext, Task, TaskError
from xltkit.typology.languages import info as language_info


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
    labels), and implement :meth:`convert`.
    """

    reads = ("hub",)
    sources: Mapping[str, HubSource] = {}
    unavailable: Mapping[str, str] = {}
    hub_columns: Mapping[str, tuple[str, ...]] = {}  # dataset id -> the columns convert reads
    hub_labels: Mapping[str, tuple[str, ...]] = {}  # dataset id -> its ClassLabel names, in index order
    invalid_label: int | None = None  # a label value meaning "no label" (PAWS-X: -1), dropped and counted
    files_schema: str | None = None  # the dataset id whose schema task_files follow (default: the first source's)

    def __init__(self):
        self.notes: dict[str, dict] = {}

    def languages(self, data: DataContext) -> tuple[str, ...]:
        files = self._task_files(data)
        return tuple(dict.fromkeys([*self.sources, *files]))

    def _hub(self, data: DataContext):
        return data.group("hub", self.name)

    def _task_files(self, data: DataContext) -> dict[str, str]:
        return dict((self._hub(data).task_files or {}).get(self.name, {}))

    def revision(self, source: HubSource, data: DataContext) -> str | None:
        return (self._hub(data).dataset_revisions or {}).get(source.path, source.revision)

    def data_identity(self, data: DataContext) -> dict:
        hub = self._hub(data)
        out: dict[str, Any] = {"sources": {lang: [s.path, s.config, self.revision(s, data), dict(s.splits)]
                                           for lang, s in sorted(self.sources.items())},
                               "subsample_seed": hub.subsample_seed}
        if hub.hub_root:  # a local mirror: what is in it (fixtures differ from the hub)
            out["local"] = {p: _fingerprint(Path(hub.hub_root) / p) for p in sorted({s.path for s in self.sources.values()})
                            if (Path(hub.hub_root) / p).is_dir()}
        files = self._task_files(data)
        if files:
            out["task_files"] = {lang: _fingerprint(Path(path)) for lang, path in sorted(files.items())}
        return out

    def load_notes(self) -> dict[str, dict]:
        return dict(self.notes)

    def split_size(self, lang: str, split: str) -> int | None:
        src = self.sources.get(lang)
        return src.size(split) if src else None

    def eval_splits(self, lang: str, data: DataContext) -> tuple[str, ...]:
        if lang in self._task_files(data) or lang not in self.sources:
            return ("dev", "test")
        return tuple(s for s in ("dev", "test") if s in self.sources[lang].splits)

    def language_facts(self, lang: str, data: DataContext) -> dict:
        facts = super().language_facts(lang, data)
        src = self.sources.get(lang)
        files = self._task_files(data)
        facts["revision"] = f"task_files:{_fingerprint(Path(files[lang]))}" if lang in files else \
            (f"{src.path}@{self.revision(src, data)}" if src else None)
        return facts

    # ---- loading ---------------------------------------------------------------------------
    def source(self, lang: str, data: DataContext) -> HubSource:
        if lang in self.sources:
            return self.sources[lang]
        why = self.unavailable.get(lang)
        language_info(lang)  # an unknown code says so, with the allowed ones
        raise TaskError(f"task {self.name!r} has no data in {lang!r}" + (f": {why}" if why else "") +
                        f"; its languages: {', '.join(self.sources)}" +
                        f" (a local folder can stand in: task_files: {{{self.name}: {{{lang}: <folder>}}}})")

    def raw(self, split: str, lang: str, data: DataContext):
        """The hub's split of ``lang``, as the hub has it (checked against the registry's schema)."""
        import datasets

        if split not in SPLITS:
            raise TaskError(f"task {self.name!r}: unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        files = self._task_files(data)
        if lang in files:
            ds = _load_folder(Path(files[lang]), split, self.name, lang)
            where = f"task_files {files[lang]}"
        else:
            src = self.source(lang, data)
            hub_split = src.splits.get(split)
            if hub_split is None:
                raise TaskError(f"task {self.name!r}: {src.describe()} has no labelled {split!r} split for {lang!r} "
                                f"(splits: {', '.join(f'{k}={v}' for k, v in src.splits.items())})")
            hub = self._hub(data)
            revision = self.revision(src, data)
            local = Path(hub.hub_root) / src.path if hub.hub_root else None
            target = str(local) if local is not None else src.path
            if local is not None and not local.is_dir():
                raise TaskError(f"task {self.name!r}: hub_root {hub.hub_root!r} has no folder {src.path!r} (the "
                                "dataset repository, laid out as on the hub)")
            kwargs: dict[str, Any] = {"split": hub_split}
            if src.data_files:
                kwargs["data_files"] = {hub_split: src.data_files[hub_split]}
            if local is None:
                kwargs["revision"] = revision
            else:  # datasets caches a local folder by its name, not its content: two mirrors (or fixture sets)
                # of one dataset would share a cache, so each content gets its own
                kwargs["cache_dir"] = str(Path(data.cache_dir) / "hf-datasets" / _fingerprint(local))
            try:
                ds = datasets.load_dataset(target, src.config, **kwargs)
            except Exception as e:  # offline without a cache, a moved file, a script-only repository
                raise TaskError(f"task {self.name!r} ({lang}, {split}): cannot load {src.describe()}: "
                                f"{type(e).__name__}: {str(e)[:300]}; where the hub is reachable, fetch it with "
                                f"`hf download {src.path} --repo-type dataset --revision "
                                f"{revision or 'main'}`, or point hub_root at a local copy") from None
            where = src.describe()
        self._check_schema(ds, where, self.schema(lang, data), named=lang not in files)
        return ds

    def schema(self, lang: str, data: DataContext) -> str:
        """The dataset id whose schema ``lang``'s data has (task_files follow ``files_schema``)."""
        if lang in self.sources and lang not in self._task_files(data):
            return self.sources[lang].path
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
            if (found is None and named) or (found is not None and tuple(found) != tuple(names)):
                raise TaskError(f"task {self.name!r}: {where} has the label names {found}; the registry expects "
                                f"{list(names)} (labels are mapped by name, never by position)")

    @abstractmethod
    def convert(self, ds, schema: str):
        """A split in the schema of dataset ``schema`` as the head's column contract (without
        ``id``; labels as indices into :attr:`labels`, invalid ones as ``invalid_label``)."""

    def index_of(self, mapping: Mapping[str, str]) -> dict[str, int]:
        """A hub label name -> task label index table from hub name -> task label name."""
        return {hub: self.labels.index(ours) for hub, ours in mapping.items()}

    def load(self, split: str, lang: str, data: DataContext, lang2: str | None = None):
        ds = self._one(split, lang, data)
        if lang2 not in (None, lang):
            if not self.two_languages:
                raise TaskError(f"task {self.name!r} has one sentence per example; a second language needs a "
                                "pair task whose sets are parallel")
            ds = self._pair_with(ds, self._one(split, lang2, data), lang, lang2)
        n = data.size(split)
        if n is not None and len(ds) > n:
            keep = np.sort(np.random.default_rng(self._hub(data).subsample_seed).permutation(len(ds))[:n])
            ds = ds.select(keep.tolist())
        self.notes[f"{lang}{'+' + lang2 if lang2 not in (None, lang) else ''}/{split}"] = {
            **self.notes.get(f"{lang}/{split}", {}), "used": len(ds)}
        return self.check_columns(ds, f" ({lang}, {split})")

    def _one(self, split: str, lang: str, data: DataContext):
        raw = self.raw(split, lang, data)
        ds = self.convert(raw, self.schema(lang, data))
        ds = ds.add_column("id", list(range(len(ds))))
        dropped = 0
        if self.invalid_label is not None:
            label = "label"
            before = len(ds)
            ds = ds.filter(lambda y: y != self.invalid_label, input_columns=label)
            dropped = before - len(ds)
        self._check_placeholders(ds, split, lang)
        src = self.sources.get(lang)
        self.notes[f"{lang}/{split}"] = {"hub_rows": len(raw), "dropped_invalid_labels": dropped,
                                         "source": src.describe() if src else "task_files",
                                         "revision": self.revision(src, data) if src else None}
        return ds

    def _check_placeholders(self, ds, split: str, lang: str) -> None:
        from xltkit.tasks.base import HEADS

        contract = HEADS[self.head]
        column = ds[contract.label]
        values = {t for row in column for t in row} if contract.per_word else set(column)
        if len(ds) > 1 and len(values) <= 1:
            raise TaskError(f"task {self.name!r}: the {split} split of {lang!r} has placeholder labels (every label "
                            f"is {next(iter(values), None)!r}): it cannot be scored; use a labelled split")

    def _pair_with(self, first, second, lang: str, lang2: str):
        """Pairs with the first sentence in ``lang`` and the second in ``lang2`` (the generalized
        setting): the sets are parallel, so example i is the same pair in both."""
        a = {i: (w, y) for i, w, y in zip(first["id"], first["words"], first["label"])}
        rows = [(i, a[i][0], w2, a[i][1]) for i, w2, y in zip(second["id"], second["words2"], second["label"])
                if i in a and a[i][1] == y]
        if len(rows) < 0.9 * min(len(first), len(second)):
            raise TaskError(f"task {self.name!r}: {lang} and {lang2} do not look parallel ({len(rows)} of "
                            f"{len(first)} pairs have the same label at the same index)")
        from datasets import Dataset

        return Dataset.from_dict({"id": [r[0] for r in rows], "words": [r[1] for r in rows],
                                  "words2": [r[2] for r in rows], "label": [r[3] for r in rows]})


def _label_names(ds) -> list[str] | None:
    """The ClassLabel names of a dataset's label column (``label``, or the per-word one), if any."""
    for name, feature in ds.features.items():
        inner = getattr(feature, "feature", feature)  # Sequence(ClassLabel)
        if hasattr(inner, "names") and name in ("label", "labels", "ner_tags", "pos_tags", "tags"):
            return list(inner.names)
    return None


def _load_folder(folder: Path, split: str, task: str, lang: str):
    """A local folder standing in for a language (``task_files``): ``<split>*.parquet|jsonl|json|csv``
    with ``dev`` also found as ``validation``/``val``; a single file serves as the train split."""
    import datasets

    names = {"train": ("train",), "dev": ("validation", "dev", "val"), "test": ("test",)}[split]
    if folder.is_file():
        files = [folder] if split == "train" else []
    else:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.split(".")[0].split("-")[0] in names)
    if not files:
        raise TaskError(f"task {task!r}: task_files for {lang!r} ({folder}) have no {split} file ({'|'.join(names)}"
                        ".parquet/.jsonl/.json/.csv)")
    suffix = files[0].suffix.lstrip(".")
    builder = {"jsonl": "json", "json": "json", "parquet": "parquet", "csv": "csv"}.get(suffix)
    if builder is None:
        raise TaskError(f"task {task!r}: {files[0]}: unknown file type {suffix!r}; use parquet, jsonl, json or csv")
    return datasets.load_dataset(builder, data_files=[str(f) for f in files], split="train")


_FINGERPRINTS: dict[str, str] = {}


def _fingerprint(path: Path) -> str:
    key = str(path.resolve())
    if key not in _FINGERPRINTS:
        _FINGERPRINTS[key] = folder_fingerprint(path) if path.is_dir() else stable_hash(path.read_bytes().hex())
    return _FINGERPRINTS[key]
