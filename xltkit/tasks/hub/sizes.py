"""Split sizes (rows) of the tagging sets as their dataset cards give them ("card sizes"), for
``xltkit plan``'s cost estimates.  Nothing here is loaded or trained on: a wrong number makes an
estimate wrong, never a result, and the rows a run actually used are recorded with it.

Where each table was read (every number is the card's ``dataset_info`` ``splits: - name: ...
num_examples: N`` of that config, not a count of the data):

- :data:`WIKIANN`: ``unimelb-nlp/wikiann``, config ``<lang>``, in huggingface/datasets @ d7dfbc8
  (2022-10-03, the last commit holding the hub datasets' metadata on GitHub),
  ``datasets/wikiann/dataset_infos.json`` (builder version 1.1.0).  The hub's parquet conversion
  kept them: its "Add <lang> data files" commits show tr 20000/10000/10000 and ml 10000/1000/1000.
  Cross-checked: google/xtreme's own ``PAN-X.<lang>`` configs (the same Rahimi et al. 2019 splits,
  ``datasets/xtreme/dataset_infos.json`` at the same commit) give the same three numbers for all 40
  XTREME languages; the 8 XTREME-R additions (qu pl uk az lt pa gu ro) have that one source only.
- :data:`UDPOS`: ``google/xtreme``, config ``udpos.<Language>`` (UD 2.5), in the same commit's
  ``datasets/xtreme/dataset_infos.json``.  The hub's parquet conversion ("Add udpos.<Language>
  data files", February 2024) shows the same numbers for English 21253/3974/5440, Estonian
  25749/3125/3760, Urdu 4043/552/535 and Afrikaans 1315/194/425; Finnish and Hungarian match
  the hub commits ba09fc1 and 565ff6e (the registry's earlier figures).  Only the configs xltkit
  reads are listed (Greek, French, Russian, Chinese and German come from one UD 2.7 treebank).
  Kazakh has 31 training rows on the card, but xltkit reads its test split only, as XTREME does.
- :data:`UD`: ``universal-dependencies/universal_dependencies`` (UD 2.7: its loading script reads
  the treebanks' ``r2.7`` tags), config ``<treebank>``, in the same commit's
  ``datasets/universal_dependencies/dataset_infos.json``.  en_ewt, fi_tdt, hu_szeged and el_gdt
  match the sentence counts of the treebanks' own READMEs (the registry's earlier figures).

Not found: XTREME's paper table of dataset sizes (Hu et al. 2020, Table 1) could not be read
with the available corpora, so it is not used as a check.  A split missing from a row (None) is
missing on the card too.

Besides the sizes, :data:`QA_LENGTHS`: the typical context and question length of an extractive-QA
source, from which ``xltkit plan`` counts the windows (model inputs) a question makes at the
run's ``max_length`` / ``qa_stride`` / ``qa_stride_mode``.  These are estimates, not counts.  They
sit here, by dataset, and not on the task classes: a task's class source and attributes are
hashed into its cache keys (``Task.fingerprint``, ``identity.declared``), and an estimate must
not retrain anything.
"""

from __future__ import annotations

#: WikiANN / PAN-X (Rahimi et al. 2019 splits): config -> (train, validation, test)
WIKIANN = {
    "af": (5_000, 1_000, 1_000), "ar": (20_000, 10_000, 10_000), "bg": (20_000, 10_000, 10_000),
    "bn": (10_000, 1_000, 1_000), "de": (20_000, 10_000, 10_000), "el": (20_000, 10_000, 10_000),
    "en": (20_000, 10_000, 10_000), "es": (20_000, 10_000, 10_000), "et": (15_000, 10_000, 10_000),
    "eu": (10_000, 10_000, 10_000), "fa": (20_000, 10_000, 10_000), "fi": (20_000, 10_000, 10_000),
    "fr": (20_000, 10_000, 10_000), "he": (20_000, 10_000, 10_000), "hi": (5_000, 1_000, 1_000),
    "hu": (20_000, 10_000, 10_000), "id": (20_000, 10_000, 10_000), "it": (20_000, 10_000, 10_000),
    "ja": (20_000, 10_000, 10_000), "jv": (100, 100, 100), "ka": (10_000, 10_000, 10_000),
    "kk": (1_000, 1_000, 1_000), "ko": (20_000, 10_000, 10_000), "ml": (10_000, 1_000, 1_000),
    "mr": (5_000, 1_000, 1_000), "ms": (20_000, 1_000, 1_000), "my": (100, 100, 100),
    "nl": (20_000, 10_000, 10_000), "pt": (20_000, 10_000, 10_000), "ru": (20_000, 10_000, 10_000),
    "sw": (1_000, 1_000, 1_000), "ta": (15_000, 1_000, 1_000), "te": (1_000, 1_000, 1_000),
    "th": (20_000, 10_000, 10_000), "tl": (10_000, 1_000, 1_000), "tr": (20_000, 10_000, 10_000),
    "ur": (20_000, 1_000, 1_000), "vi": (20_000, 10_000, 10_000), "yo": (100, 100, 100),
    "zh": (20_000, 10_000, 10_000),
    # XTREME-R's additions (wikiann only; google/xtreme has no PAN-X config for them)
    "qu": (100, 100, 100), "pl": (20_000, 10_000, 10_000), "uk": (20_000, 10_000, 10_000),
    "az": (10_000, 1_000, 1_000), "lt": (10_000, 10_000, 10_000), "pa": (100, 100, 100),
    "gu": (100, 100, 100), "ro": (20_000, 10_000, 10_000),
}

#: google/xtreme udpos.<Language> (UD 2.5, every treebank of the language): config name -> (train, validation, test)
UDPOS = {
    "Afrikaans": (1_315, 194, 425), "Arabic": (6_075, 909, 1_680), "Bulgarian": (8_907, 1_115, 1_116),
    "English": (21_253, 3_974, 5_440), "Spanish": (28_492, 3_054, 3_147), "Estonian": (25_749, 3_125, 3_760),
    "Basque": (5_396, 1_798, 1_799), "Persian": (4_798, 599, 600), "Finnish": (27_198, 3_239, 4_422),
    "Hebrew": (5_241, 484, 491), "Hindi": (13_304, 1_659, 2_684), "Hungarian": (910, 441, 449),
    "Indonesian": (4_477, 559, 1_557), "Italian": (29_685, 2_278, 3_518), "Japanese": (7_125, 511, 2_372),
    "Korean": (27_410, 3_016, 4_276), "Marathi": (373, 46, 47), "Dutch": (18_051, 1_394, 1_471),
    "Portuguese": (17_992, 1_770, 2_681), "Tamil": (400, 80, 120), "Telugu": (1_051, 131, 146),
    "Turkish": (3_664, 988, 4_785), "Urdu": (4_043, 552, 535), "Vietnamese": (1_400, 800, 800),
    # test only in XTREME (Kazakh's 31 training rows are not read)
    "Kazakh": (31, None, 1_047), "Thai": (None, None, 1_000), "Tagalog": (None, None, 55),
    "Yoruba": (None, None, 100),
}

#: universal_dependencies (UD 2.7) treebanks the registry reads: config -> (train, validation, test) sentences
UD = {
    "en_ewt": (12_543, 2_002, 2_077), "fi_tdt": (12_217, 1_364, 1_555), "hu_szeged": (910, 441, 449),
    # read instead of google/xtreme's configs that merge older varieties into the language
    "el_gdt": (1_662, 403, 456), "fr_gsd": (14_449, 1_476, 416), "ru_gsd": (3_850, 579, 601),
    "zh_gsd": (3_997, 500, 500), "de_gsd": (13_814, 799, 977),
    # XTREME-R's UD 2.7 additions, one treebank each
    "lt_alksnis": (2_341, 617, 684), "pl_pdb": (17_722, 2_215, 2_215), "uk_iu": (5_496, 672, 892),
    "wo_wtb": (1_188, 449, 470), "ro_rrt": (8_043, 752, 729),
}


def card(rows: tuple[int | None, int | None, int | None] | None) -> dict[str, int] | None:
    """A table row as HubSource.sizes (hub split -> rows), leaving out the splits the card lacks."""
    if rows is None:
        return None
    return {split: n for split, n in zip(("train", "validation", "test"), rows) if n is not None}


#: extractive-QA source (dataset id) -> (context, question): typical lengths in XLM-R subwords, ESTIMATES.
#: SQuAD v1.1 and 2.0 (the same Wikipedia paragraphs): a context of about 140 words, about 1.3 XLM-R subwords a
#: word, so about 180; a question of about 11 words, so about 14.  Neither was counted on the data.  A source
#: not listed is priced at one window a question (as before windows were counted).
QA_LENGTHS: dict[str, tuple[int, int]] = {
    "rajpurkar/squad": (180, 14),
    "rajpurkar/squad_v2": (180, 14),
}
