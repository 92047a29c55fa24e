"""The real study's tagging tasks: UD-POS as XTREME packages it (with single UD 2.7 treebanks
where the hub's packaging merges other varieties, and for XTREME-R's additions), single UD
treebanks as the POS intermediate task, WikiANN / PAN-X, and the Turku NER corpus."""

from __future__ import annotations

from xltkit.tasks.base import TaskError
from xltkit.tasks.hub import sizes as card_sizes
from xltkit.tasks.hub.base import SPLITS3, HubSource, HubTask
from xltkit.typology.languages import iso3

WIKIANN_REV = "f0a3be6dc5564c0cc4150bb660144800a1f539d4"  # unimelb-nlp/wikiann, "... (#11)": pinned elsewhere
XTREME_REV = "ec5f1f46e9af79639a90684a7a70a956c4998f04"  # google/xtreme, "... (#9)": pinned elsewhere
#: universal-dependencies/universal_dependencies (UD 2.7) ships a loading script; the hub's own parquet
#: conversion is the refs/convert/parquet branch (``<treebank>/<split>/0000.parquet``; commit bc04fa5... seen,
#: the full sha not): loaded from the branch, and the commit it resolved to is recorded with every score
UD_REV = "refs/convert/parquet"
UPOS17 = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
          "SCONJ", "SYM", "VERB", "X")  # google/xtreme udpos: alphabetical (VERB=15, X=16 seen; the rest inferred)
#: universal_dependencies' upos ClassLabel (its loading script; "_" marks a multiword token's surface form,
#: whose syntactic words follow it): mapped to UPOS17 by name, the "_" tokens dropped as XTREME drops them
UD_UPOS = ("NOUN", "PUNCT", "ADP", "NUM", "SYM", "SCONJ", "ADJ", "PART", "DET", "CCONJ", "PROPN", "PRON", "X", "_",
           "ADV", "INTJ", "VERB", "AUX")
NER7 = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC")
#: the Turku NER corpus (Luoma et al. 2020): six entity types, BIO
TURKU_NER = ("O", *[f"{bi}-{t}" for t in ("DATE", "EVENT", "LOC", "ORG", "PER", "PRO") for bi in "BI"])


#: UD-POS configs of google/xtreme that merge other varieties into the language (the loading script globs
#: every treebank whose name contains the language's): scored on one modern treebank instead
UDPOS_MERGED = {"ell": ("el_gdt", "Ancient Greek (PROIEL, Perseus)"), "fra": ("fr_gsd", "Old French (SRCMF)"),
                "rus": ("ru_gsd", "Old Russian (TOROT, RNC)"), "cmn": ("zh_gsd", "Classical Chinese (Kyoto)"),
                "deu": ("de_gsd", "Swiss German (UZH)")}
#: google/xtreme's udpos.<Name> config of each XTREME language
UDPOS_NAMES = {
    "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French",
    "he": "Hebrew", "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "mr": "Marathi", "nl": "Dutch", "pt": "Portuguese", "ru": "Russian", "ta": "Tamil",
    "te": "Telugu", "tr": "Turkish", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese", "kk": "Kazakh",
    "th": "Thai", "tl": "Tagalog", "yo": "Yoruba"}
#: XTREME-R's UD 2.7 additions, one treebank each (XTREME-R merges a language's treebanks; one is used here)
UD27_ADDITIONS = {"lit": "lt_alksnis", "pol": "pl_pdb", "ukr": "uk_iu", "wol": "wo_wtb", "ron": "ro_rrt"}


def _ud(treebank: str, splits=SPLITS3) -> HubSource:
    return HubSource("universal-dependencies/universal_dependencies", treebank, UD_REV, splits,
                     data_files={hub: f"{treebank}/{hub}/*.parquet" for hub in splits.values()},
                     sizes=card_sizes.card(card_sizes.UD.get(treebank)),  # the card's (sizes.py)
                     corpus=(f"ud:{treebank}",))


def _ud_tags(ds, names: tuple[str, ...]):
    """universal_dependencies rows as words and UPOS17 tags: by name, multiword surface tokens dropped."""
    index = {i: (UPOS17.index(n) if n != "_" else None) for i, n in enumerate(names)}

    def one(tokens, tags):
        kept = [(w, index[t]) for w, t in zip(tokens, tags) if index[t] is not None]
        return [w for w, _ in kept], [t for _, t in kept]

    return ds.map(lambda b: dict(zip(("words", "tags"), map(list, zip(*[one(w, t) for w, t in
                                                                        zip(b["tokens"], b["upos"])])))),
                  batched=True, remove_columns=ds.column_names)


class _Tagging(HubTask):
    """A tag per word, scored by seqeval span F1 with token accuracy beside it."""

    head = "token"
    metrics = ("span_f1", "token_accuracy")
    controls = ("rule-length", "rule-bow")


class UDPOS(_Tagging):
    """UD-POS as XTREME packages it (UD 2.5, google/xtreme ``udpos.<Language>``, every treebank of
    the language merged): 17 UPOS tags, scored with seqeval-style F1 as XTREME does (consecutive
    equal tags form one span), token accuracy beside it.  Where the hub's config merges other
    varieties into a language (Ancient Greek into Greek: :data:`UDPOS_MERGED`), and for XTREME-R's
    UD 2.7 additions, the language is read from one treebank of universal_dependencies (UD 2.7)
    instead: those scores are not comparable with XTREME's published ones."""

    name = "udpos"
    labels = UPOS17
    description = "Universal Dependencies part of speech (XTREME's UD 2.5 sets); seqeval F1 as XTREME, token accuracy."
    typical_tokens = 30
    sources = {iso3(c): HubSource("google/xtreme", f"udpos.{UDPOS_NAMES[c]}", XTREME_REV, SPLITS3,
                                  sizes=card_sizes.card(card_sizes.UDPOS.get(UDPOS_NAMES[c])),  # sizes.py
                                  corpus=tuple(f"ud:{c}_{t}" for t in ({"en": ("ewt", "gum", "lines", "partut"),
                                                                        "fi": ("tdt", "ftb"), "hu": ("szeged",)}
                                                                       .get(c, ("*",)))))
               for c in ("af ar bg et eu fa fi he hi hu id it ja ko mr nl pt ta te tr ur vi en es").split()}
    sources.update({iso3(c): HubSource("google/xtreme", f"udpos.{UDPOS_NAMES[c]}", XTREME_REV, {"test": "test"},
                                       sizes=card_sizes.card(card_sizes.UDPOS.get(UDPOS_NAMES[c])))
                    for c in "kk th tl yo".split()})  # test-only in XTREME
    sources.update({lang: _ud(tb) for lang, (tb, _) in UDPOS_MERGED.items()})
    sources.update({lang: _ud(tb) for lang, tb in UD27_ADDITIONS.items()})
    hub_columns = {"google/xtreme": ("tokens", "pos_tags"),
                   "universal-dependencies/universal_dependencies": ("tokens", "upos")}
    hub_labels = {"google/xtreme": UPOS17, "universal-dependencies/universal_dependencies": UD_UPOS}
    labels_by_name = frozenset({"universal-dependencies/universal_dependencies"})

    def convert(self, ds, schema):
        if schema == "universal-dependencies/universal_dependencies":
            from xltkit.tasks.hub.files import _label_names

            return _ud_tags(ds, tuple(_label_names(ds) or UD_UPOS))
        return ds.map(lambda b: {"words": b["tokens"], "tags": b["pos_tags"]}, batched=True,
                      remove_columns=ds.column_names)


class UD(UDPOS):
    """Part of speech on single UD 2.7 treebanks (universal_dependencies): the POS intermediate
    task of the real study, English EWT, Finnish TDT, Hungarian Szeged."""

    name = "ud"
    description = "Part of speech on one UD 2.7 treebank per language (EWT, TDT, Szeged); seqeval F1, token accuracy."
    sources = {"eng": _ud("en_ewt"), "fin": _ud("fi_tdt"), "hun": _ud("hu_szeged")}


class PANX(_Tagging):
    """PAN-X / WikiANN named entities (Pan et al. 2017; Rahimi et al. 2019 splits) in XTREME-R's 48
    languages, from unimelb-nlp/wikiann; seqeval F1."""

    name = "panx"
    labels = NER7
    description = "Named entities (PAN-X/WikiANN) in XTREME-R's 48 languages; seqeval span F1."
    typical_tokens = 20
    sources = {iso3(c): HubSource("unimelb-nlp/wikiann", c, WIKIANN_REV, SPLITS3,
                                  sizes=card_sizes.card(card_sizes.WIKIANN.get(c)),  # sizes.py
                                  corpus=(f"wikiann:{c}",))
               for c in ("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru "
                         "sw ta te th tl tr ur vi yo zh qu pl uk az lt pa gu ro").split()}
    hub_columns = {"unimelb-nlp/wikiann": ("tokens", "ner_tags")}
    hub_labels = {"unimelb-nlp/wikiann": NER7}

    def convert(self, ds, schema):
        return ds.map(lambda b: {"words": b["tokens"], "tags": b["ner_tags"]}, batched=True,
                      remove_columns=ds.column_names)


class TurkuNER(_Tagging):
    """The Turku NER corpus (Luoma et al. 2020, LREC), Finnish, six entity types: a Finnish NER
    intermediate task beside WikiANN's.  Its licence is **CC-BY-NC-SA-4.0** (the dataset card):
    non-commercial use only.  The hub's TurkuNLP/turku_ner_corpus ships a loading script only, so
    give the corpus in task_files (``tokens`` and ``ner_tags``: tag names, or ClassLabel indices
    with their names in the file's features)."""

    name = "turku-ner"
    labels = TURKU_NER
    description = "Finnish named entities (Turku NER corpus, CC-BY-NC-SA-4.0), by task_files; seqeval span F1."
    typical_tokens = 20
    sources = {}
    unavailable = {"fin": "TurkuNLP/turku_ner_corpus ships only a loading script (licence CC-BY-NC-SA-4.0)"}
    files_schema = "TurkuNLP/turku_ner_corpus"
    hub_columns = {"TurkuNLP/turku_ner_corpus": ("tokens", "ner_tags")}
    hub_labels = {"TurkuNLP/turku_ner_corpus": TURKU_NER}
    labels_by_name = frozenset({"TurkuNLP/turku_ner_corpus"})

    def convert(self, ds, schema):
        from xltkit.tasks.hub.files import _label_names

        names = _label_names(ds)

        def tag(t):
            name = t if isinstance(t, str) else (names[t] if names else None)
            if name not in TURKU_NER:
                raise TaskError(f"task {self.name!r}: tag {t!r} is not one of {', '.join(TURKU_NER)}" +
                                ("" if names or isinstance(t, str) else " (integer tags need their names: give "
                                 "tag names, or a parquet file whose ner_tags feature names them)"))
            return TURKU_NER.index(name)

        return ds.map(lambda b: {"words": b["tokens"], "tags": [[tag(t) for t in row] for row in b["ner_tags"]]},
                      batched=True, remove_columns=ds.column_names)
