"""The real study's reading-comprehension tasks: XTREME-R's extractive-QA targets (XQuAD, MLQA,
TyDiQA-GoldP) and SQuAD-style QA as an intermediate task in English, Finnish and Hungarian.

As XTREME trains them (google-research/xtreme ``scripts/train_qa.sh``): XQuAD and MLQA are
scored zero-shot after fine-tuning on English SQuAD v1.1, so their English ``train`` (and
XQuAD's English ``dev``) is SQuAD v1.1 (``train_sources``); TyDiQA-GoldP trains on the English
part of its own train and its "test" is the GoldP dev set of each language.  Every task is
read and checked by :class:`~xltkit.tasks.hub.qa.QATask`.

Each revision says beside it how sure it is, in :mod:`xltkit.tasks.hub.definitions`' terms
(**seen**: the full sha on a stored copy of the hub's own pages; **pinned elsewhere**: the
full sha from public code that pins the dataset).
"""

from __future__ import annotations

from dataclasses import replace

from xltkit.tasks.base import TaskError
from xltkit.tasks.hub.base import HubSource
from xltkit.tasks.hub.qa import QATask
from xltkit.tasks.hub.tagging import XTREME_REV
from xltkit.tasks.registry import register_task
from xltkit.typology.languages import iso3

#: google/xquad, "Convert dataset to Parquet (#3)": pinned elsewhere (several, e.g. MTEB's XQuADRetrieval),
#: its short sha 51adfef seen on the hub's README page; files xquad.<lang>/validation-00000-of-00001.parquet
XQUAD_REV = "51adfef1c1287aab1d2d91b5bead9bcfb9c68583"
#: rajpurkar/squad (config plain_text, plain_text/{train,validation}-00000-of-00001.parquet): pinned elsewhere
#: (many; datasets' cache folder squad/plain_text/0.0.0/<sha> shows the parquet layout at it); short sha not seen
SQUAD_REV = "7b6d24c440a36b6815f21b70d25016731768db1f"
#: rajpurkar/squad_v2 (squad_v2/{train,validation}-00000-of-00001.parquet): pinned elsewhere, with those file
#: paths and their sha256; short sha not seen
SQUAD2_REV = "3ffb306f725f7d2ce8394bc1873b24868140c412"
#: TurkuNLP/squad_v2_fi, "Upload gzipped datafiles": seen (a stored tree page of that commit lists
#: train-v2.0.json.gz and dev-v2.0.json.gz, unchanged on main since).  The repository's loading script is never
#: run: the gzipped SQuAD JSON is read.  Its refs/convert/parquet branch exists, but its files were not seen.
SQUAD_FI_REV = "3b45c4aacf8f3a79ec6eb446574857dec36aa214"
#: SzegedAI/MILQA: no full sha was found (main's head c858b25 "Update README.md" was seen): the default branch
#: is read, and the commit it resolved to is recorded with every score
MILQA_REV = None

#: TyDiQA-GoldP's id prefix of each language (google-research/xtreme utils_preprocess.py, tydiqa_preprocess)
TYDIQA_NAMES = {"eng": "english", "arb": "arabic", "ben": "bengali", "fin": "finnish", "ind": "indonesian",
                "kor": "korean", "rus": "russian", "swh": "swahili", "tel": "telugu"}
#: questions per language (train, GoldP dev), from the TyDi QA paper's table as remembered (not re-read): they sum
#: exactly to google/xtreme tydiqa's train 49,881 and validation 5,077 (its dataset_infos.json, huggingface/datasets
#: @91e797c), which is all that was checked
TYDIQA_SIZES = {"eng": (3_696, 440), "arb": (14_805, 921), "ben": (2_390, 113), "fin": (6_855, 782),
                "ind": (5_702, 565), "kor": (1_625, 276), "rus": (6_490, 812), "swh": (2_755, 499), "tel": (5_563, 669)}
#: MLQA.<L>.<L> (validation, test), google/xtreme's dataset_infos.json (huggingface/datasets@91e797c)
MLQA_SIZES = {"ar": (517, 5_335), "de": (512, 4_517), "en": (1_148, 11_590), "es": (500, 5_253), "hi": (507, 4_918),
              "vi": (511, 5_495), "zh": (504, 5_137)}

#: SQuAD v1.1 (Rajpurkar et al. 2016): XQuAD's and MLQA's English training set, and the English intermediate task
SQUAD11 = HubSource("rajpurkar/squad", "plain_text", SQUAD_REV, {"train": "train", "dev": "validation"},
                    licence="cc-by-sa-4.0", sizes={"train": 87_599, "validation": 10_570}, corpus=("squad",))
#: SQuAD 2.0 (Rajpurkar et al. 2018): SQuAD v1.1's questions (train: 86,821 answerable) and unanswerable ones
#: (train 43,498; dev 5,945 of 11,873), as counted by public code at this revision
SQUAD20 = HubSource("rajpurkar/squad_v2", "squad_v2", SQUAD2_REV, {"train": "train", "dev": "validation"},
                    licence="cc-by-sa-4.0", sizes={"train": 130_319, "validation": 11_873}, corpus=("squad", "squad2"))


class XQuAD(QATask):
    """XQuAD (Artetxe et al. 2020): 240 paragraphs and 1,190 questions of SQuAD v1.1's dev set,
    professionally translated (12 languages with Romanian), the same ids in every language.  The
    hub has one split per language, its test set; the English training set is SQuAD v1.1, and
    English ``dev`` is SQuAD v1.1's dev set without XQuAD's own 1,190 questions (which it holds)."""

    name = "xquad"
    description = ("Extractive QA, 12 languages, parallel (XQuAD; English train = SQuAD v1.1); F1 and exact match "
                   "with the English SQuAD normalization, as XTREME.")
    sources = {iso3(c): HubSource("google/xquad", f"xquad.{c}", XQUAD_REV, {"test": "validation"},
                                  licence="cc-by-sa-4.0", sizes={"validation": 1_190})
               for c in "ar de el en es hi ro ru th tr vi zh".split()}
    train_sources = {"eng": SQUAD11}
    dev_without_test = frozenset({"eng"})


class MLQA(QATask):
    """MLQA (Lewis et al. 2020), context and question in the same language (google/xtreme
    ``MLQA.<L>.<L>``, the pairs XTREME-R scores): dev and test in 7 languages; the English
    training set is SQuAD v1.1.  English dev is MLQA's own, scored beside the other languages'
    (XTREME's script evaluates SQuAD v1.1's dev set while it trains).  MLQA's normalization."""

    name = "mlqa"
    qa_normalization = "mlqa"
    description = ("Extractive QA, 7 languages (MLQA, context and question in one language; English train = SQuAD "
                   "v1.1); F1 and exact match with MLQA's normalization.")
    sources = {iso3(c): HubSource("google/xtreme", f"MLQA.{c}.{c}", XTREME_REV, {"dev": "validation", "test": "test"},
                                  licence="cc-by-sa-3.0", sizes=dict(zip(("validation", "test"), MLQA_SIZES[c])))
               for c in MLQA_SIZES}
    train_sources = {"eng": replace(SQUAD11, splits={"train": "train"})}


class TyDiQA(QATask):
    """TyDiQA-GoldP (Clark et al. 2020) as XTREME packages it (google/xtreme ``tydiqa``): train
    and GoldP dev hold all nine languages, each question's language is its id's prefix
    (``finnish-...``); a language's splits are its questions.  XTREME trains on the English
    train and scores the GoldP dev set of each language as its test (its English one is also what
    XTREME evaluates during training: there is no separate dev split)."""

    name = "tydiqa"
    typical_tokens = 224
    description = ("Extractive QA, 9 languages (TyDiQA-GoldP; train on its English part, test = GoldP dev); F1 and "
                   "exact match with the English SQuAD normalization, as XTREME.")
    sources = {lang: HubSource("google/xtreme", "tydiqa", XTREME_REV, {"train": "train", "test": "validation"},
                               sizes=dict(zip(("train", "validation"), TYDIQA_SIZES[lang])), corpus=(f"tydiqa:{name}",))
               for lang, name in TYDIQA_NAMES.items()}

    def _select(self, rows, split, lang, data):
        if lang in self._task_files(data):
            return super()._select(rows, split, lang, data)
        prefix = TYDIQA_NAMES[lang] + "-"
        mine = [r for r in rows if r["id"].startswith(prefix)]
        if not mine:
            found = sorted({r["id"].split("-")[0] for r in rows})
            raise TaskError(f"task {self.name!r}: no question of the {split} split has an id starting with "
                            f"{prefix!r} (the language's); the prefixes found: {', '.join(found[:12]) or 'none'}")
        return mine, {"rows_all_languages": len(rows)}


class SQuAD(QATask):
    """Extractive QA as an intermediate task, SQuAD-style in every language: English SQuAD v1.1
    (or SQuAD 2.0: ``source_choices: {squad: {eng: squad-v2}}``; both hold XQuAD's and MLQA's
    English training set), Finnish TurkuNLP/squad_v2_fi (SQuAD 2.0 machine-translated with DeepL,
    arXiv 2501.05963; its card forbids machine-translation work with it) and Hungarian
    SzegedAI/MILQA (SQuAD 2.0-style; no dev split: ``holdout_dev`` holds out a tenth of its train's
    contexts).  Unanswerable questions are kept or dropped as ``qa_unanswerable`` says; the
    Finnish set translates SQuAD, so before XQuAD or MLQA it is flagged as the target's own data."""

    name = "squad"
    unanswerable = True
    qa_normalization = "xltkit"
    typical_tokens = 192
    description = ("Extractive QA: English SQuAD v1.1 (or 2.0), Finnish SQuAD 2.0 (machine-translated), Hungarian "
                   "MILQA; F1 and exact match.")
    sources = {"eng": SQUAD11,
               "fin": HubSource("TurkuNLP/squad_v2_fi", None, SQUAD_FI_REV, {"train": "train", "dev": "validation"},
                                data_files={"train": "train-v2.0.json.gz", "validation": "dev-v2.0.json.gz"},
                                licence="cc-by-sa-4.0", sizes={"train": 130_319, "validation": 11_873},
                                corpus=("squad", "squad2")),  # a translation of SQuAD 2.0, as XNLI's of MNLI
               "hun": HubSource("SzegedAI/MILQA", None, MILQA_REV, {"train": "train", "dev": "train", "test": "test"},
                                data_files={"train": "train.MILQA-2023-03-27.squad.s.json",
                                            "test": "test.MILQA-2023-03-27.squad.s.json"},
                                licence="cc-by-sa-4.0", corpus=("milqa",))}
    alternatives = {"eng": {"squad-v2": SQUAD20}}
    nested = frozenset({"TurkuNLP/squad_v2_fi", "SzegedAI/MILQA"})
    holdout_dev = {"SzegedAI/MILQA": 0.1}


for _task in (XQuAD(), MLQA(), TyDiQA(), SQuAD()):
    register_task(_task)
