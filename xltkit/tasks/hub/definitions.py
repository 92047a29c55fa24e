"""The real study's tasks on the hub: XTREME-R's classification, multiple-choice and tagging
targets, and the intermediate tasks by type in English, Finnish and Hungarian.

Revisions are pinned to the commit that holds each dataset as parquet (the "Convert dataset
to Parquet" pull requests of the hub's maintainers), as found on stored copies of the hub's
pages in November 2026: **seen** means the full sha was read on the hub's own tree or commit
page; **pinned elsewhere** means the full sha comes from public code pinning the dataset and
its first seven characters were seen on the hub.  Check them once with
``huggingface_hub.HfApi().dataset_info(id, revision=sha)`` where the hub is reachable; a
different revision can be given in ``dataset_revisions``.

Sentences are split into words on whitespace (the column contract is words); hub tokens of
the tagging sets are their own words.
"""

from __future__ import annotations

from xltkit.tasks.base import TaskError
from xltkit.tasks.hub.base import SPLITS3, HubSource, HubTask
from xltkit.tasks.hub.tagging import NER7, PANX, TURKU_NER, UD, UD_UPOS, UDPOS, UPOS17, TurkuNER  # noqa: F401
from xltkit.tasks.registry import register_task
from xltkit.typology.languages import iso3

#: the hub's own parquet commits (see the module docstring for how sure each is)
XNLI_REV = "b8dd5d7af51114dbda02c0e3f6133f332186418e"  # facebook/xnli, "Convert dataset to Parquet (#10)": seen
PAWSX_REV = "4cd8187c404bda33cb1f62b49b001115862acf37"  # google-research-datasets/paws-x: pinned elsewhere
XCOPA_REV = "042f78955ba48e6404616762fa6e05e839c3907a"  # cambridgeltl/xcopa, "... to Parquet (#3)": pinned elsewhere
GLUE_REV = "a3f3ab759b9d7018046ce361f115ef38276d2e1e"  # nyu-mll/glue, "... (#16)": seen
SUPERGLUE_REV = "3de24cf8022e94f4ee4b9d55a6f539891524d646"  # aps/super_glue: pinned elsewhere (short sha not seen)
HURTE_REV = "d30f85b36746777f2617dfa14ba8c77b1ad3cd3c"  # NYTK/HuRTE, "replace label str to int": seen
HUCOPA_REV = "d0401c33584e1fd3b286a7f0422d38789301a932"  # NYTK/HuCoPA, a data commit: seen (head not seen)
SIQA_REV = "6db3dcea20d5430c3dd74bf85fe9ca87268ea91b"  # allenai/social_i_qa refs/pr/3 (parquet; main is a script)
PAWS_REV = "161ece9501cf0a11f3e48bd356eaa82de46d6a09"  # google-research-datasets/paws, "... (#3)": seen

NLI = ("entailment", "neutral", "contradiction")
COPA_QUESTIONS = {"cause": "What was the cause?", "effect": "What happened as a result?"}


def _words(text: str | None) -> list[str]:
    return text.split() if isinstance(text, str) else []  # a missing sentence: no words (dropped, counted)


def _pair(ds, first: str, second: str, label=None):
    """A hub sentence-pair split in the pair head's contract: the words of its ``first`` and
    ``second`` sentence columns and its label (mapped by ``label`` where the hub's differ)."""
    return ds.map(lambda b: {"words": [_words(t) for t in b[first]], "words2": [_words(t) for t in b[second]],
                             "label": b["label"] if label is None else [label(y) for y in b["label"]]},
                  batched=True, remove_columns=ds.column_names)


def _offset(values, n: int, where: str) -> int:
    """What to subtract from a split's choice labels to make them 0-based: the HuLU sets' raw
    files number choices from 1 in some files and from 0 in others, so each split says which."""
    got = set(values)
    if got <= set(range(n)) and 0 in got:
        return 0
    if got <= set(range(1, n + 1)) and n in got:
        return 1
    raise TaskError(f"{where}: choice labels {sorted(got)} are neither 0..{n - 1} nor 1..{n}; cannot tell "
                    "which choice they name")


# ---- targets -------------------------------------------------------------------------------
class XNLI(HubTask):
    """XNLI (Conneau et al. 2018): 15 languages; the English training set is MNLI."""

    name = "xnli"
    head = "pair"
    labels = NLI
    two_languages = True
    controls = ("rule-length", "rule-bow", "rule-overlap")
    label_changing_noise = frozenset({"word-dropout", "word-swap"})
    description = "Natural language inference in 15 languages (XNLI; English train = MNLI); accuracy."
    typical_tokens = 60
    sources = {iso3(c): HubSource("facebook/xnli", c, XNLI_REV, SPLITS3,
                                  sizes={"train": 392_702, "validation": 2_490, "test": 5_010},
                                  corpus=("mnli",))  # every language's train is MNLI (translated)
               for c in "ar bg de el en es fr hi ru sw th tr ur vi zh".split()}
    unavailable = {"fin": "XNLI has no Finnish", "hun": "XNLI has no Hungarian"}
    hub_columns = {"facebook/xnli": ("premise", "hypothesis", "label")}
    hub_labels = {"facebook/xnli": NLI}

    def convert(self, ds, schema):
        return _pair(ds, "premise", "hypothesis")


class PAWSX(HubTask):
    """PAWS-X (Yang et al. 2019): 7 languages; missing or wrong labels are -1 on the hub and dropped."""

    name = "paws-x"
    head = "pair"
    labels = ("not_paraphrase", "paraphrase")
    two_languages = True
    controls = ("rule-length", "rule-bow", "rule-overlap")
    label_changing_noise = frozenset({"word-dropout", "word-swap"})
    invalid_label = -1
    description = "Paraphrase identification in 7 languages (PAWS-X); -1 labels dropped and counted; accuracy."
    typical_tokens = 70
    sources = {iso3(c): HubSource("google-research-datasets/paws-x", c, PAWSX_REV, SPLITS3,
                                  sizes={"train": 49_401, "validation": 2_000, "test": 2_000},
                                  corpus=("paws",))  # English train = PAWS labeled_final; the others translate it
               for c in "de en es fr ja ko zh".split()}
    hub_columns = {"google-research-datasets/paws-x": ("sentence1", "sentence2", "label")}
    hub_labels = {"google-research-datasets/paws-x": ("0", "1")}

    def convert(self, ds, schema):
        return _pair(ds, "sentence1", "sentence2")


class _CopaLike(HubTask):
    """COPA-style multiple choice: premise, cause/effect question, two choices."""

    head = "multiple_choice"
    labels = ("choice1", "choice2")
    label_changing_noise = frozenset({"word-dropout", "word-swap"})
    controls = ("rule-length", "rule-bow", "rule-overlap")

    def _copa(self, ds, schema: str):
        offset = _offset([int(y) for y in ds["label"]], 2, f"task {self.name!r} ({schema})")
        return ds.map(lambda b: {"premise": b["premise"], "question": [COPA_QUESTIONS[q] for q in b["question"]],
                                 "choices": [[a, c] for a, c in zip(b["choice1"], b["choice2"])],
                                 "label": [int(y) - offset for y in b["label"]]},
                      batched=True, remove_columns=ds.column_names)


class XCOPA(_CopaLike):
    """XCOPA (Ponti et al. 2020): 11 languages (validation 100, test 500); the English training
    set is COPA (Roemmele et al. 2011).  XTREME-R trains on SocialIQa, then COPA: that is an
    intermediate task (``siqa``) before this target."""

    name = "xcopa"
    description = "Causal commonsense reasoning, two choices, 11 languages (XCOPA; English train = COPA); accuracy."
    typical_tokens = 60  # two choices of about 30
    sources = {**{iso3(c): HubSource("cambridgeltl/xcopa", c, XCOPA_REV, {"dev": "validation", "test": "test"},
                                     licence="cc-by-4.0", sizes={"validation": 100, "test": 500})
                  for c in "et ht id it sw ta th tr vi zh".split()},
               "quz": HubSource("cambridgeltl/xcopa", "qu", XCOPA_REV, {"dev": "validation", "test": "test"},
                                sizes={"validation": 100, "test": 500}),
               "eng": HubSource("aps/super_glue", "copa", SUPERGLUE_REV, {"train": "train", "dev": "validation"},
                                sizes={"train": 400, "validation": 100}, corpus=("copa",))}
    hub_columns = {p: ("premise", "choice1", "choice2", "question", "label")
                   for p in ("cambridgeltl/xcopa", "aps/super_glue")}
    hub_labels = {"aps/super_glue": ("choice1", "choice2")}  # xcopa's label is a plain 0/1 integer

    def convert(self, ds, schema):
        return self._copa(ds, schema)


# ---- intermediate tasks by type ----------------------------------------------------------------
class RTE(HubTask):
    """Textual entailment, two-way, so that languages compete on equal terms: English MNLI
    (neutral and contradiction become not_entailment), or English RTE (SuperGLUE; ``source_choices:
    {rte: {eng: superglue-rte}}``; MNLI is XNLI's own English training set), Hungarian HuRTE (HuLU;
    its test split is unlabelled); Finnish has no native NLI set on the hub: give a local one (e.g.
    a machine translation of MNLI in GLUE's mnli schema) in task_files."""

    name = "rte"
    head = "pair"
    labels = ("entailment", "not_entailment")
    controls = ("rule-length", "rule-bow", "rule-overlap")
    label_changing_noise = frozenset({"word-dropout", "word-swap"})
    description = "Two-way textual entailment: English MNLI (collapsed) or RTE, Hungarian HuRTE; Finnish by task_files."
    typical_tokens = 60
    sources = {"eng": HubSource("nyu-mll/glue", "mnli", GLUE_REV, {"train": "train", "dev": "validation_matched"},
                                sizes={"train": 392_702, "validation_matched": 9_815}, corpus=("mnli",)),
               "hun": HubSource("NYTK/HuRTE", None, HURTE_REV, {"train": "train", "dev": "validation"},
                                data_files={"train": "data/train.json", "validation": "data/val.json"},
                                licence="cc-by-sa-4.0", sizes={"train": 2_131, "validation": 242})}
    alternatives = {"eng": {"superglue-rte": HubSource("aps/super_glue", "rte", SUPERGLUE_REV,
                                                       {"train": "train", "dev": "validation"},
                                                       sizes={"train": 2_490, "validation": 277}, corpus=("rte",))}}
    unavailable = {"fin": "no Finnish NLI set exists on the hub"}
    files_schema = "nyu-mll/glue"
    hub_columns = {"nyu-mll/glue": ("premise", "hypothesis", "label"), "NYTK/HuRTE": ("premise", "hypothesis", "label"),
                   "aps/super_glue": ("premise", "hypothesis", "label")}
    hub_labels = {"nyu-mll/glue": NLI, "aps/super_glue": ("entailment", "not_entailment")}

    def convert(self, ds, schema):
        if schema == "NYTK/HuRTE":  # 1 = the premise entails the hypothesis
            label = lambda y: 0 if int(y) == 1 else 1  # noqa: E731
        elif schema == "aps/super_glue":  # already entailment / not_entailment
            label = int
        else:  # MNLI: entailment stays, neutral and contradiction are not entailment
            label = lambda y: 0 if int(y) == 0 else 1  # noqa: E731
        return _pair(ds, "premise", "hypothesis", label)


class COPA(_CopaLike):
    """COPA as an intermediate task: English COPA (SuperGLUE; it is XCOPA's English training set),
    Hungarian HuCoPA (HuLU; its raw files number the choices 1/2 in some splits and 0/1 in others,
    so each split's numbering is read from its labels; its test split is unlabelled).  No Finnish
    COPA exists on the hub."""

    name = "copa"
    description = "Causal commonsense reasoning, two choices: English COPA, Hungarian HuCoPA; Finnish by task_files."
    typical_tokens = 60
    sources = {"eng": HubSource("aps/super_glue", "copa", SUPERGLUE_REV, {"train": "train", "dev": "validation"},
                                sizes={"train": 400, "validation": 100}, corpus=("copa",)),
               "hun": HubSource("NYTK/HuCoPA", None, HUCOPA_REV, {"train": "train", "dev": "validation"},
                                data_files={"train": "data/train.json", "validation": "data/val.json"},
                                licence="bsd-2-clause", sizes={"train": 400, "validation": 100})}
    unavailable = {"fin": "no Finnish COPA exists on the hub"}
    hub_columns = {p: ("premise", "choice1", "choice2", "question", "label") for p in ("aps/super_glue", "NYTK/HuCoPA")}
    hub_labels = {"aps/super_glue": ("choice1", "choice2")}

    def convert(self, ds, schema):
        return self._copa(ds, schema)


class SIQA(HubTask):
    """SocialIQa (Sap et al. 2019), English, three choices; XTREME-R's first step before COPA for
    XCOPA.  Parquet only on the hub's refs/pr/3 (the main branch is a loading script, which is
    never fetched: only the parquet files are read)."""

    name = "siqa"
    head = "multiple_choice"
    controls = ("rule-length", "rule-bow", "rule-overlap")
    labels = ("answerA", "answerB", "answerC")
    description = "Social commonsense reasoning, three choices (SocialIQa), English."
    sources = {"eng": HubSource("allenai/social_i_qa", None, SIQA_REV, {"train": "train", "dev": "validation"},
                                data_files={"train": "data/train-00000-of-00001.parquet",
                                            "validation": "data/validation-00000-of-00001.parquet"},
                                sizes={"train": 33_410, "validation": 1_954}, corpus=("siqa",))}
    typical_tokens = 120  # three choices of about 40
    hub_columns = {"allenai/social_i_qa": ("context", "question", "answerA", "answerB", "answerC", "label")}

    def convert(self, ds, schema):
        offset = _offset([int(y) for y in ds["label"]], 3, f"task {self.name!r} ({schema})")
        return ds.map(lambda b: {"premise": b["context"], "question": b["question"],
                                 "choices": [list(t) for t in zip(b["answerA"], b["answerB"], b["answerC"])],
                                 "label": [int(y) - offset for y in b["label"]]},
                      batched=True, remove_columns=ds.column_names)


class Paraphrase(HubTask):
    """Paraphrase identification as an intermediate task: English PAWS (labeled_final; it is
    PAWS-X's own English training set) or QQP (``source_choices: {paraphrase: {eng: qqp}}``); the
    Finnish Turku paraphrase corpus ships only a loading script: give it in task_files (PAWS's
    schema, label 1 = paraphrase)."""

    name = "paraphrase"
    head = "pair"
    labels = ("not_paraphrase", "paraphrase")
    controls = ("rule-length", "rule-bow", "rule-overlap")
    label_changing_noise = frozenset({"word-dropout", "word-swap"})
    description = "Paraphrase identification: English PAWS or QQP; Finnish (Turku paraphrase corpus) by task_files."
    typical_tokens = 70
    sources = {"eng": HubSource("google-research-datasets/paws", "labeled_final", PAWS_REV, SPLITS3,
                                sizes={"train": 49_401, "validation": 8_000, "test": 8_000}, corpus=("paws",))}
    alternatives = {"eng": {"qqp": HubSource("nyu-mll/glue", "qqp", GLUE_REV, {"train": "train", "dev": "validation"},
                                             sizes={"train": 363_846, "validation": 40_430}, corpus=("qqp",))}}
    unavailable = {"fin": "TurkuNLP/turku_paraphrase_corpus ships only a loading script",
                   "hun": "no Hungarian paraphrase set was found on the hub"}
    files_schema = "google-research-datasets/paws"
    hub_columns = {"google-research-datasets/paws": ("sentence1", "sentence2", "label"),
                   "nyu-mll/glue": ("question1", "question2", "label")}
    hub_labels = {"google-research-datasets/paws": ("0", "1"), "nyu-mll/glue": ("not_duplicate", "duplicate")}

    def convert(self, ds, schema):
        first, second = ("question1", "question2") if schema == "nyu-mll/glue" else ("sentence1", "sentence2")
        return _pair(ds, first, second, int)


for _task in (XNLI(), PAWSX(), XCOPA(), UDPOS(), PANX(), RTE(), COPA(), SIQA(), Paraphrase(), UD(), TurkuNER()):
    register_task(_task)
