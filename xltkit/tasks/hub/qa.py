"""Extractive question answering from the hub: how a SQuAD-style split is read and checked.

A :class:`QATask` reads every split into the ``extractive_qa`` contract (``id``, ``context``,
``question``, ``answers: {text: [str], answer_start: [int]}``; the id is the hub's own string
id) from parquet in the hub's SQuAD schema, or from SQuAD's own nested JSON
(``data[].paragraphs[].qas[]``, as TurkuNLP/squad_v2_fi and SzegedAI/MILQA ship it; a question's
answers as SQuAD's list or as MILQA's long and short answers: :mod:`xltkit.tasks.hub.squad_json`),
and checks it before anyone trains on it:

- every answer must occur in the context at its ``answer_start``: a split where more than
  :data:`MAX_MISALIGNED` of the questions have one that does not is refused, naming up to
  three (id, answer, what the context holds there); below that they are dropped and counted;
- a question without an answer (SQuAD 2.0's unanswerable ones; an answer text "" counts as
  none) is kept or dropped as ``qa_unanswerable`` says, and counted;
- a split where no question has an answer is refused as *placeholder answers* (the XTREME
  repository's test files carry ``answers=[{answer_start: 0, text: ''}]`` on every row), and a
  task whose data has no unanswerable questions by design (``unanswerable = False``: XQuAD,
  MLQA, TyDiQA) refuses a split where more than :data:`MAX_DROPPED` of them have none;
- a subsample (``n_train`` / ``n_dev`` / ``n_test``) takes the questions whose hashed hub id
  (seeded by ``subsample_seed``) is smallest, so a parallel set (XQuAD: the same ids in every
  language) stays parallel, and a set whose ids only partly agree (MLQA) keeps what it shares.

A language may read its training splits from another dataset than its evaluation splits
(``train_sources``: XQuAD's and MLQA's English training set is SQuAD v1.1, as in XTREME), and
a source without a dev split may hold out part of its train, by context, as dev
(``holdout_dev``).  The tasks themselves are in :mod:`xltkit.tasks.hub.reading`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from xltkit.tasks.base import SPLITS, TaskError
from xltkit.tasks.hub.base import MAX_DROPPED, HubSource, HubTask
from xltkit.tasks.hub.files import _fingerprint, _load_folder, _load_source
from xltkit.tasks.hub import squad_json
from xltkit.tasks.hub.squad_json import nested_rows, read_json

#: the largest share of a split's questions whose answer is not at its answer_start before the
#: split is refused (a shifted or re-tokenized context); below it they are dropped and counted
MAX_MISALIGNED = 0.01
QA_COLUMNS = ("id", "context", "question", "answers")


def qa_features():
    """The contract's features: answers as a struct of two lists, as the hub's SQuAD sets load."""
    from datasets import Features, Sequence, Value

    return Features({"id": Value("string"), "context": Value("string"), "question": Value("string"),
                     "answers": {"text": Sequence(Value("string")), "answer_start": Sequence(Value("int32"))}})


def _nested_dataset(path: Path, where: str, long_only: list[str]):
    from datasets import Dataset

    return Dataset.from_list(nested_rows(read_json(path), where, long_only), features=qa_features())


def _task_files(folder: Path, split: str, task: str, lang: str, long_only: list[str]):
    """A task_files folder: the hub's SQuAD schema in parquet / jsonl / csv (``_load_folder``), or
    SQuAD's own nested JSON (``train*.json[.gz]``, ``dev*`` / ``validation*``, ``test*``)."""
    names = {"train": ("train",), "dev": ("validation", "dev", "val"), "test": ("test",)}[split]
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.split(".")[0].split("-")[0] in names) \
        if folder.is_dir() else ([folder] if split == "train" else [])
    nested = [p for p in files if p.name.endswith((".json", ".json.gz"))]
    if nested and len(nested) == len(files):
        docs = [read_json(p) for p in nested]
        if all(isinstance(d, dict) and "data" in d for d in docs):
            from datasets import Dataset

            rows = [r for p, d in zip(nested, docs) for r in nested_rows(d, f"task {task!r} ({lang}): {p}", long_only)]
            return Dataset.from_list(rows, features=qa_features())
    return _load_folder(folder, split, task, lang)


def _answers(a) -> dict:
    """A row's answers as {text: [...], answer_start: [...]} (a list of answer dicts also reads)."""
    if isinstance(a, list):
        return {"text": [x["text"] for x in a], "answer_start": [int(x["answer_start"]) for x in a]}
    return {"text": list(a.get("text") or []), "answer_start": [int(s) for s in a.get("answer_start") or []]}


def _no_answer(row) -> bool:
    return not any(t for t in row["answers"]["text"])  # no answer, or only "" (a placeholder's)


def _misplaced(row) -> tuple[str, int] | None:
    """The first answer that is not in the context at its answer_start (answer, start), if any."""
    a = row["answers"]
    if len(a["text"]) != len(a["answer_start"]):
        return (str(a["text"]), -1)
    for text, start in zip(a["text"], a["answer_start"]):
        if text and (start < 0 or row["context"][start:start + len(text)] != text):
            return text, start
    return None


def _rank(seed: int, key: str) -> str:
    return hashlib.sha1(f"{seed}:{key}".encode()).hexdigest()


def subsample(rows: list[dict], n: int, seed: int) -> list[dict]:
    """The ``n`` rows whose hashed id is smallest, in their hub order: the same ids in every
    language of a parallel set, whatever else each language holds."""
    keep = set(sorted(range(len(rows)), key=lambda i: _rank(seed, rows[i]["id"]))[:n])
    return [r for i, r in enumerate(rows) if i in keep]


def holdout(rows: list[dict], share: float, seed: int) -> tuple[list[dict], list[dict]]:
    """(train, dev): ``share`` of the contexts (rounded, at least one), those whose seeded hash is
    smallest, with all their questions as dev; the rest as train.  Deterministic, and no context
    is in both."""
    contexts = sorted({r["context"] for r in rows}, key=lambda c: _rank(seed, "holdout:" + c))
    held = set(contexts[:max(1, round(share * len(contexts)))])
    return [r for r in rows if r["context"] not in held], [r for r in rows if r["context"] in held]


class QATask(HubTask):
    """A task of SQuAD-style extractive QA (see the module docstring).

    Attributes (besides :class:`HubTask`'s):
        qa_normalization: the answer-normalization rule its F1 and exact match use ("squad": the
            English SQuAD rule XTREME applies to every language; "mlqa": MLQA's per-language rule;
            "xltkit": the toolkit's own, for the intermediate task's Finnish and Hungarian dev sets).
        unanswerable: whether its questions can have no answer (SQuAD 2.0-style): the head may
            then predict none; a task without them refuses a split where many have none.
        train_sources: language -> the source of the splits it names (XQuAD's English train).
        nested: dataset ids whose files are SQuAD's nested JSON.
        holdout_dev: dataset id -> share of its train held out (by context) as its dev split.
        dev_without_test: languages whose dev split leaves out the questions their test split
            holds (XQuAD's English dev is SQuAD v1.1's, which holds XQuAD's English questions).
    """

    head = "extractive_qa"
    labels = ()
    metrics = ("f1", "exact_match")
    controls = ("rule-bow",)  # the sliding-window word-overlap answer (xltkit.modeling.qa_rules)
    qa_normalization = "squad"
    unanswerable = False
    typical_tokens = 256
    train_sources: Mapping[str, HubSource] = {}
    nested: frozenset[str] = frozenset()
    holdout_dev: Mapping[str, float] = {}
    dev_without_test: frozenset[str] = frozenset()
    _read: tuple[str, str | None] = ("", None)  # the source and commit the last raw() read
    _long_only: frozenset[str] = frozenset()  # the ids of its questions with a long answer only (MILQA's layout)
    #: besides HubTask's: the answer normalization scores, the training split's source is hashed itself, and
    #: dev_without_test changes only a dev split (so XQuAD and MLQA, both trained on SQuAD v1.1, share it)
    not_training = HubTask.not_training | {"qa_normalization", "train_sources", "dev_without_test", "_read",
                                           "_long_only"}

    def declaration(self) -> dict:
        return {**super().declaration(), "qa_normalization": self.qa_normalization,
                "unanswerable": self.unanswerable}

    def code_files(self) -> list[Path]:
        return [*super().code_files(), Path(__file__), Path(squad_json.__file__)]  # the reading and checks

    def keeps_unanswerable(self, data) -> bool:
        """Whether loaded splits keep questions without an answer (``qa_unanswerable: keep``)."""
        return self.unanswerable and self._hub(data).qa_unanswerable == "keep"

    # ---- which source a split comes from ------------------------------------------------
    def source_for(self, split: str, lang: str, data) -> HubSource:
        train = self.train_sources.get(lang)
        if train is not None and split in train.splits:
            return train
        return self.source(lang, data)

    def sources_of(self, lang: str, data) -> tuple[HubSource, ...]:
        """Every hub source ``lang`` reads (the pre-flight fetches them all): its own, and its
        training source where it has one."""
        if lang in self._task_files(data):
            return ()
        own = self.active_sources(data).get(lang)
        return tuple(s for s in (own, self.train_sources.get(lang)) if s is not None)

    def split_size(self, lang: str, split: str, data=None) -> int | None:
        if data is not None and lang in self._task_files(data):
            return None
        train = self.train_sources.get(lang)
        src = train if train is not None and split in train.splits else self.active_sources(data).get(lang)
        if src is None or src.path in self.holdout_dev:  # a hold-out's size is known once loaded
            return None
        return src.size(split)

    def eval_splits(self, lang: str, data) -> tuple[str, ...]:
        if lang in self._task_files(data):
            return ("dev", "test")
        src = self.active_sources(data).get(lang)
        return tuple(s for s in ("dev", "test") if src is not None and s in src.splits)

    def train_corpora(self, lang: str, data) -> tuple[str, ...]:
        if lang not in self._task_files(data) and lang in self.train_sources:
            return self.train_sources[lang].corpora()
        return super().train_corpora(lang, data)

    def data_identity(self, data) -> dict:
        out = super().data_identity(data)
        hub = self._hub(data)
        if self.train_sources:
            out["train_sources"] = {lang: [s.path, s.config, self.revision(s, data), dict(s.splits)]
                                    for lang, s in sorted(self.train_sources.items())}
            if hub.hub_root:
                out.setdefault("local", {}).update({s.path: _fingerprint(Path(hub.hub_root) / s.path)
                                                    for s in self.train_sources.values()
                                                    if (Path(hub.hub_root) / s.path).is_dir()})
        out["qa_unanswerable"] = hub.qa_unanswerable
        return out

    # ---- reading ------------------------------------------------------------------------
    def convert(self, ds, schema: str):
        """The contract's columns (a split is read and checked by :meth:`_one`)."""
        return ds.select_columns(list(QA_COLUMNS))

    def raw(self, split: str, lang: str, data):
        """The split as the hub has it, flattened to the contract's columns where it is nested JSON
        (the whole hub split: a language filter or a dev hold-out comes after, in :meth:`_one`)."""
        if split not in SPLITS:
            raise TaskError(f"task {self.name!r}: unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        files = self._task_files(data)
        long_only: list[str] = []
        if lang in files:
            ds = _task_files(Path(files[lang]), split, self.name, lang, long_only)
            self._where[lang] = self._read = ("task_files", None)
            where = f"task_files {files[lang]}"
        else:
            src = self.source_for(split, lang, data)
            hub_split = src.splits.get(split)
            if hub_split is None:
                raise TaskError(f"task {self.name!r}: {src.describe()} has no labelled {split!r} split for {lang!r} "
                                f"(splits: {', '.join(f'{k}={v}' for k, v in src.splits.items())})")
            folder, commit = self.folder(src, data)
            self._read = (src.describe(), commit or self.revision(src, data))
            if src is self.active_sources(data).get(lang):
                self._where[lang] = self._read
            where = src.describe()
            try:
                ds = _nested_dataset(folder / src.data_files[hub_split], where, long_only) \
                    if src.path in self.nested else _load_source(folder, src, hub_split, Path(data.cache_dir) /
                                                                 "hf-datasets" / (commit or _fingerprint(folder)))
            except TaskError:
                raise
            except Exception as e:  # a file that does not parse, a README without the config
                raise TaskError(f"task {self.name!r} ({lang}, {split}): cannot read {where} from {folder}: "
                                f"{type(e).__name__}: {str(e)[:300]}") from None
        self._long_only = frozenset(long_only)
        missing = [c for c in QA_COLUMNS if c not in ds.column_names]
        inner = ds.features.get("answers")
        inner = getattr(inner, "feature", inner)
        keys = set(inner) if isinstance(inner, dict) else set(inner[0]) if isinstance(inner, list) else set()
        if missing or not {"text", "answer_start"} <= keys:
            raise TaskError(f"task {self.name!r}: {where} is not in SQuAD's schema (the columns "
                            f"{', '.join(QA_COLUMNS)}, answers with text and answer_start); found "
                            f"{', '.join(ds.column_names)}"
                            + (f", answers with {', '.join(sorted(keys))}" if "answers" in ds.column_names else ""))
        return ds

    def _select(self, rows: list[dict], split: str, lang: str, data) -> tuple[list[dict], dict]:
        """The rows of the hub split that are this language's split (a dev hold-out here; the
        language filter of a mixed set in its task), and what selecting them notes."""
        files = self._task_files(data)
        src = None if lang in files else self.source_for(split, lang, data)
        share = self.holdout_dev.get(src.path) if src is not None else None
        notes: dict = {}
        if share and split in ("train", "dev") and src.splits.get("dev") == src.splits.get("train"):
            train, dev = holdout(rows, share, self._hub(data).subsample_seed)
            rows, notes = (dev, {"held_out_from": "train", "rows_in_hub_split": len(rows)}) if split == "dev" else \
                (train, {"held_out_as_dev": len(dev), "rows_in_hub_split": len(rows)})
        if split == "dev" and src is not None and lang in self.dev_without_test:
            test = set(self.raw("test", lang, data)["id"])  # XQuAD's English questions are SQuAD dev's, same ids
            kept = [r for r in rows if r["id"] not in test]
            rows, notes = kept, {**notes, "dropped_in_test": len(rows) - len(kept)}
        return rows, notes

    def _misplaced_answers(self, rows: list[dict], split: str, lang: str) -> dict[str, tuple[str, int]]:
        """id -> (answer, start) of the questions whose answer is not at its start; a split of
        placeholder answers, or with more than :data:`MAX_MISALIGNED` such questions, is refused."""
        where = f"the {split} split of {lang!r}"
        if len(rows) > 1 and all(_no_answer(r) for r in rows):
            raise TaskError(f"task {self.name!r}: {where} has placeholder answers (no question has one; the XTREME "
                            "repository's test files carry answers=[{answer_start: 0, text: ''}]): it cannot be "
                            "scored; use a labelled split")
        bad = {r["id"]: m for r in rows if not _no_answer(r) and (m := _misplaced(r))}
        if len(bad) > MAX_MISALIGNED * len(rows):
            context = {r["id"]: r["context"] for r in rows}
            shown = "; ".join(f"{i}: answer {a!r} at {s}, the context has {context[i][max(s, 0):max(s, 0) + len(a)]!r}"
                              for i, (a, s) in list(bad.items())[:3])
            raise TaskError(f"task {self.name!r}: in {where}, {len(bad)} of {len(rows)} questions have an answer that "
                            f"is not in the context at its answer_start (more than {MAX_MISALIGNED:.0%}): {shown}")
        return bad

    def _one(self, split: str, lang: str, data, n: int | None):
        """One language's split: read, selected (language, hold-out), checked, questions without
        text or with a misplaced answer dropped, unanswerable ones kept or dropped, then subsampled
        by hashed id (so ``n`` counts usable questions: ``intermediate_examples`` is what every
        language trains on); every count noted."""
        from datasets import Dataset

        raw = self.raw(split, lang, data)
        (where, commit), long_only = self._read, self._long_only
        rows = [{"id": str(r["id"]), "context": r["context"], "question": r["question"],
                 "answers": _answers(r["answers"])} for r in raw.select_columns(list(QA_COLUMNS)).to_list()]
        rows, notes = self._select(rows, split, lang, data)
        selected = len(rows)
        rows = [r for r in rows if r["id"] not in long_only]  # MILQA: no span to learn, and not unanswerable
        notes["dropped_long_answer_only"] = selected - len(rows)
        bad = self._misplaced_answers(rows, split, lang)
        hub_rows = before = len(rows)
        rows = [r for r in rows if (r["context"] or "").strip() and (r["question"] or "").strip()]
        empty = before - len(rows)
        if split == "train":  # training reads answer_start; scoring compares texts, so a test set stays whole
            rows = [r for r in rows if r["id"] not in bad]
        misaligned = before - empty - len(rows)
        if before and (empty + misaligned) > MAX_DROPPED * before:
            raise TaskError(f"task {self.name!r}: the {split} split of {lang!r} loses {empty + misaligned} of {before} "
                            f"rows ({empty} without text, {misaligned} misaligned answers), more than "
                            f"{MAX_DROPPED:.0%}")
        none = [r for r in rows if _no_answer(r)]
        if not self.unanswerable and len(none) > MAX_DROPPED * max(len(rows), 1):
            raise TaskError(f"task {self.name!r}: {len(none)} of {len(rows)} questions of the {split} split of "
                            f"{lang!r} have no answer, and this task has none by design: placeholder answers?")
        keep = self.keeps_unanswerable(data)
        for r in none:  # an answer text "" is no answer
            r["answers"] = {"text": [], "answer_start": []}
        rows = rows if keep else [r for r in rows if r["answers"]["text"]]
        usable = len(rows)
        if n is not None and len(rows) > n:
            rows = subsample(rows, n, self._hub(data).subsample_seed)
        if not rows:
            raise TaskError(f"task {self.name!r}: the {split} split of {lang!r} has no usable rows")
        self.notes[f"{lang}/{split}"] = {**notes, "hub_rows": hub_rows, "usable": usable, "subsampled_to": len(rows),
                                         "dropped_without_text": empty, "dropped_misaligned": misaligned,
                                         "misaligned_in_split": len(bad), "unanswerable_kept": len(none) if keep else 0,
                                         "unanswerable_dropped": 0 if keep else len(none), "source": where,
                                         "revision": commit}
        return Dataset.from_list(rows, features=qa_features())
