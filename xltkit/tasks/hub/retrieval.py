"""Sentence retrieval from the hub: Tatoeba (Artetxe & Schwenk 2019) as XTREME-R scores it.

Each language's set is up to 1,000 sentences aligned with their English translations (LASER's
``tatoeba.<xx>-eng``), row *i* of one side the translation of row *i* of the other, and only a
test split: the ``retrieval`` contract's ``text`` is the sentence in the language, ``text2`` the
English one.  The model is the encoder itself (nothing is trained on Tatoeba), so a run's
``source_lang`` is English, the pivot of every pair, which has no set of its own.

XTREME's 36 languages come from google/xtreme ``tatoeba.<iso3>`` (validation, the LASER files
read as they are: ``source_sentence`` in the language, ``target_sentence`` English with
``target_lang`` "eng"; lines keep their newline, stripped here), XTREME-R's five additions (az,
lt, pl, ro, uk) from mteb/tatoeba-bitext-mining ``<iso3>-eng`` (test: ``sentence1`` in the
language, ``sentence2`` English), read from the hub's parquet conversion of it.  A set is refused
when its sides differ in length or more than :data:`MAX_EMPTY` of its pairs have an empty side
(below that those pairs are dropped and counted), and when its English side is sorted (the
XTREME repository's own files sort it, losing the gold alignment).
"""

from __future__ import annotations

import numpy as np

from xltkit.tasks.base import TaskError
from xltkit.tasks.hub.base import HubSource, HubTask
from xltkit.tasks.hub.tagging import XTREME_REV
from xltkit.tasks.registry import register_task

#: mteb/tatoeba-bitext-mining is read from the hub's parquet conversion (``<xx>-eng/test/0000.parquet``, seen on
#: the branch's tree pages); MTEB pins main at 69e8f12da6e31d59addadda9a9c8a2e601a0e282, whose gzipped JSON lines
#: were not seen.  The commit the branch resolved to is recorded with every score.
MTEB_TATOEBA_REV = "refs/convert/parquet"
#: the largest share of pairs with an empty side before a set is refused
MAX_EMPTY = 0.01
#: the English side: the pivot of every pair, a language of the task without a set
PIVOT = "eng"
#: google/xtreme's 36 tatoeba.<iso3> configs and their sizes (validation; dataset_infos.json at huggingface/datasets
#: @91e797c: 1,000 unless listed)
TATOEBA_XTREME = {c: 1_000 for c in ("afr ara ben bul cmn deu ell est eus fin fra heb hin hun ind ita jav jpn kat kaz "
                                     "kor mal mar nld pes por rus spa swh tam tel tgl tha tur urd vie").split()}
TATOEBA_XTREME.update(jav=205, kat=746, kaz=575, mal=687, swh=390, tam=307, tel=234, tha=548)
#: XTREME-R's additions, in MTEB's Tatoeba only (sizes not seen)
TATOEBA_MTEB = ("aze", "lit", "pol", "ron", "ukr")
#: the project's code where Tatoeba names a macrolanguage (ara, est, aze): the one its other tasks use (arb, ekk, azj)
OURS = {"ara": "arb", "est": "ekk", "aze": "azj"}
#: each source's (language, English) columns
SIDES = {"google/xtreme": ("source_sentence", "target_sentence"),
         "mteb/tatoeba-bitext-mining": ("sentence1", "sentence2")}


def _clean(text) -> str:
    return text.strip() if isinstance(text, str) else ""


class Tatoeba(HubTask):
    """Tatoeba sentence retrieval in XTREME-R's 41 languages: for each sentence, its translation is
    the nearest English sentence (``accuracy``, top-1, xx -> en as XTREME reports it) and the reverse
    (``accuracy_reverse``, en -> xx)."""

    name = "tatoeba"
    head = "retrieval"
    labels = ()
    metrics = ("accuracy", "accuracy_reverse")
    controls = ("rule-bow",)  # character n-gram TF-IDF neighbours (xltkit.modeling.rules.CharNgramRetrievalRule)
    typical_tokens = 20
    description = ("Sentence retrieval against English, 41 languages (Tatoeba; no training: the encoder as it is); "
                   "top-1 accuracy xx->en, and en->xx.")
    sources = {**{OURS.get(c, c): HubSource("google/xtreme", f"tatoeba.{c}", XTREME_REV, {"test": "validation"},
                                            licence="cc-by-2.0", sizes={"validation": size})
                  for c, size in TATOEBA_XTREME.items()},
               **{OURS.get(c, c): HubSource("mteb/tatoeba-bitext-mining", f"{c}-eng", MTEB_TATOEBA_REV,
                                            {"test": "test"}, data_files={"test": f"{c}-eng/test/*.parquet"},
                                            licence="cc-by-2.0")
                  for c in TATOEBA_MTEB}}
    unavailable = {PIVOT: "English is the pivot side (text2) of every Tatoeba pair; it has no set of its own"}
    hub_columns = {path: cols for path, cols in SIDES.items()}
    files_schema = "mteb/tatoeba-bitext-mining"

    def languages(self, data) -> tuple[str, ...]:
        return tuple(dict.fromkeys([*super().languages(data), PIVOT]))

    def eval_splits(self, lang: str, data) -> tuple[str, ...]:
        return () if lang == PIVOT else ("test",)

    def convert(self, ds, schema: str):
        """The pairs as ``text`` (the language) and ``text2`` (English), whichever side the hub gives
        first (google/xtreme says which in ``target_lang``), stripped of their newlines."""
        from datasets import Dataset

        a, b = SIDES[schema]
        first, second = ds[a], ds[b]
        if "target_lang" in ds.column_names and "source_lang" in ds.column_names:
            target, source = set(ds["target_lang"]), set(ds["source_lang"])
            if target != {PIVOT}:
                if source != {PIVOT}:
                    raise TaskError(f"task {self.name!r}: neither side of {schema} is all English (target_lang "
                                    f"{sorted(map(str, target))[:3]}, source_lang {sorted(map(str, source))[:3]})")
                first, second = second, first
        return Dataset.from_dict({"text": [_clean(t) for t in first], "text2": [_clean(t) for t in second]})

    def _one(self, split: str, lang: str, data, n: int | None):
        from datasets import Dataset

        raw = self.raw(split, lang, data)
        where, commit = self._where.get(lang, ("task_files", None))
        pairs = self.convert(raw, self.schema(lang, data))
        text, text2 = pairs["text"], pairs["text2"]
        rows = len(text)
        empty = [i for i in range(rows) if not text[i] or not text2[i]]
        if len(empty) > MAX_EMPTY * rows:
            missing, missing2 = sum(not t for t in text), sum(not t for t in text2)
            what = (f"its two sides differ in length ({rows - missing} sentences in {lang}, {rows - missing2} in "
                    "English)" if missing != missing2 else f"{len(empty)} of its {rows} pairs have an empty side")
            raise TaskError(f"task {self.name!r}: the {split} set of {lang!r} ({where}) cannot be scored: {what}, more "
                            f"than {MAX_EMPTY:.0%}; row i of one side must be the translation of row i of the other")
        if rows > 10 and text2 == sorted(text2) and text != sorted(text):
            raise TaskError(f"task {self.name!r}: the English side of the {split} set of {lang!r} is sorted (as the "
                            "XTREME repository writes it, losing the gold alignment): read the aligned LASER files")
        ids = list(range(rows))
        if n is not None and rows > n:
            ids = sorted(np.random.default_rng(self._hub(data).subsample_seed).permutation(rows)[:n].tolist())
        picked = len(ids)
        dropped = set(empty)
        ids = [i for i in ids if i not in dropped]
        if not ids:
            raise TaskError(f"task {self.name!r}: the {split} set of {lang!r} has no usable pairs")
        kept2 = [text2[i] for i in ids]
        self.notes[f"{lang}/{split}"] = {"hub_rows": rows, "subsampled_to": picked,
                                         "dropped_empty_side": picked - len(ids),
                                         "duplicate_english": len(kept2) - len(set(kept2)), "source": where,
                                         "revision": commit}
        return Dataset.from_dict({"id": ids, "text": [text[i] for i in ids], "text2": kept2})


register_task(Tatoeba())
