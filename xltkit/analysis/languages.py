"""The experiment's languages: their typology, resource level and measured morphological
richness, and the distances between intermediate and evaluation languages, joined to the
gains for the typology model."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from xltkit.analysis.controls import model_roles
from xltkit.core import results
from xltkit.core.io import is_done, read_json
from xltkit.core.paths import resolve


def language_table(exp_dir: Path, notes: list[str]) -> pd.DataFrame:
    """Typology and measured morphological richness of the experiment's lab languages:
    the preset's parameters, resource level, and corpus measures (MATTR, unigram entropy,
    characters per word, subword fertility) on equal-sized samples of the pretraining text."""
    from xltkit.analysis.morphology import richness_table
    from xltkit.lab import get_spec
    from xltkit.lab.params import LabParams

    runs = results.finished_runs(exp_dir)
    if not runs:
        return pd.DataFrame()
    with_data = [r for r in runs if read_json(r / "manifest.json").get("stage_dirs", {}).get("data")]
    if not with_data:  # real languages: measured on the evaluation data the runs read
        return real_language_table(exp_dir, notes)
    man = read_json(with_data[0] / "manifest.json")
    dp = LabParams(**{k: v for k, v in man["params"].items() if k in LabParams.model_fields})
    data_dir = resolve(man["stage_dirs"]["data"])  # manifests hold paths as the run read them
    if not is_done(data_dir):
        notes.append(f"language table left out: the lab data {data_dir} is missing")
        return pd.DataFrame()
    from tokenizers import Tokenizer  # the bare tokenizer: no need to import transformers here

    corpus = pd.read_parquet(data_dir / "corpus.parquet")
    corpora = {lang: g["text"].tolist() for lang, g in corpus.groupby("lang")}
    n = min(20000, min(sum(len(s.split()) for s in v) for v in corpora.values()))
    rich = richness_table(corpora, Tokenizer.from_file(str(data_dir / "tokenizer" / "tokenizer.json")), n_words=n)
    specs = pd.DataFrame([{"lang": s.code, "imitates": s.imitates, "resource": s.resource, "word_order": s.word_order,
                           "case_marking": s.case_marking, "morphology": s.morphology,
                           "genitive_position": s.genitive_position, "vowel_harmony": s.vowel_harmony,
                           "n_categories": len(s.noun_categories) + len(s.verb_categories)}
                          for s in map(get_spec, dp.langs)])
    table = specs.merge(rich, on="lang")
    for run in runs:  # how well the shared pretraining learnt each language (held-out masked words)
        d = read_json(run / "manifest.json")
        pre = d.get("stage_dirs", {}).get("pretrain")
        if model_roles([d["params"].get("model")])[d["params"].get("model")] == "encoder" and pre and \
                (resolve(pre) / "stats.json").is_file():
            acc = read_json(resolve(pre) / "stats.json").get("heldout_mlm_accuracy", {})
            table["mlm_accuracy"] = table["lang"].map(acc)
            if table["mlm_accuracy"].mean() < 0.05:
                notes.append(f"pretraining barely learnt: held-out masked-word accuracy "
                             f"{table['mlm_accuracy'].mean():.3f} on average ({pre}); encoder results are not "
                             "evidence about the languages: pretrain longer or on fewer languages")
            break
    try:  # the real language's inflectional richness from Grambank, beside the lab's measured one
        from xltkit.lab.typology import morphology_index

        gb = morphology_index(list(dp.langs))[["lang", "morphology_index"]]
        table = table.merge(gb.rename(columns={"morphology_index": "grambank_morphology_index"}), on="lang", how="left")
    except Exception as e:
        notes.append(f"Grambank morphology index left out: {e}")
    return table


#: languages written without spaces between words (whitespace splits give phrases, not words)
NO_SPACES = frozenset({"cmn", "zho", "yue", "jpn", "tha", "mya", "khm", "lao", "bod"})


def real_language_table(exp_dir: Path, notes: list[str], n_words: int = 20000, min_words: int = 200) -> pd.DataFrame:
    """The same table for real languages (ISO 639-3 codes): Joshi et al. (2020) class and
    resource level, the Grambank morphology index, and the corpus measures of
    :func:`richness_table` on the words of each language's evaluation data (its intermediate
    training data for an intermediate language that is not evaluated), with the subword
    fertility of the experiment's own tokenizer (its first fine-tuned encoder's)."""
    from xltkit.analysis.morphology import richness_table
    from xltkit.tasks import TASKS
    from xltkit.tasks.base import DataContext, TaskDataParams
    from xltkit.tasks.hub.params import HubParams
    from xltkit.typology.languages import LANGUAGES

    res = pd.read_parquet(Path(exp_dir) / "results.parquet")
    runs = results.finished_runs(exp_dir)
    man = read_json(runs[0] / "manifest.json")
    params = man["params"]
    data = DataContext(cache_dir=str(resolve(params.get("cache_dir", "outputs/cache"))), sizes={"train": 2000, "dev": None,
                                                                                 "test": 2000},
                       params={"hub": HubParams(**{k: v for k, v in params.items() if k in HubParams.model_fields}),
                               "data": TaskDataParams()})
    want = {lang: (task, "test") for task, lang in zip(res.target_task, res.eval_lang)}
    for task, lang in zip(res.intermediate_task, res.intermediate_lang):
        if lang != "none":
            want.setdefault(lang, (task, "train"))
    corpora = {}
    for lang, (task, split) in sorted(want.items()):
        if task not in TASKS or lang not in LANGUAGES:
            continue
        try:
            frame = TASKS[task].load(split, lang, data).to_pandas()
        except Exception as e:  # the data went missing since the runs: say so and go on
            notes.append(f"language table: no text for {lang} ({task}, {split}): {e}")
            continue
        text = [" ".join(ws) for col in ("words", "words2") if col in frame for ws in frame[col]]
        if not text:
            text = [" ".join([p, *c]) for p, c in zip(frame.get("premise", []), frame.get("choices", []))]
        corpora[lang] = text
    if not corpora:
        notes.append("language table left out: no run's languages have text to measure")
        return pd.DataFrame()
    tokenizer = None
    finetune = next((read_json(r / "manifest.json").get("stage_dirs", {}).get("finetune") for r in runs
                     if (resolve(read_json(r / "manifest.json").get("stage_dirs", {}).get("finetune", "-")) /
                         "tokenizer.json").is_file()), None)
    if finetune:
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(resolve(finetune) / "tokenizer.json"))
    unsplit = sorted(c for c in corpora if c in NO_SPACES)
    if unsplit:  # whitespace "words" there are phrases or sentences: no word-based measure means anything
        notes.append(f"language table: {', '.join(unsplit)} write no spaces between words, so their word-based "
                     "richness measures are left empty (a word segmenter would be needed)")
    sizes = {c: sum(len(t.split()) for t in v) for c, v in corpora.items() if c not in NO_SPACES}
    small = sorted(c for c, k in sizes.items() if k < min_words)
    if small:
        notes.append(f"language table: {', '.join(small)} have fewer than {min_words} words of text: their richness "
                     "measures are left empty")
    measured = {c: corpora[c] for c, k in sizes.items() if k >= min_words}
    table = pd.DataFrame({"lang": []})
    if measured:
        n = min(n_words, min(sizes[c] for c in measured))  # measures of type counts depend on the sample's size
        notes.append(f"language table: richness measured on the first {n} words of each language's text")
        table = richness_table(measured, tokenizer, n_words=n)
    table = pd.concat([table, pd.DataFrame({"lang": sorted(c for c in corpora if c not in measured)})],
                      ignore_index=True)
    table["joshi_class"] = table["lang"].map(lambda c: LANGUAGES[c].joshi)
    table["resource"] = table["joshi_class"].map(lambda j: "low" if j <= 2 else "high")
    try:
        from xltkit.lab.typology import morphology_index

        gb = morphology_index(list(table["lang"]))[["lang", "morphology_index"]]
        table = table.merge(gb.rename(columns={"morphology_index": "grambank_morphology_index"}), on="lang", how="left")
    except Exception as e:
        notes.append(f"Grambank morphology index left out: {e}")
    if tokenizer is None:
        notes.append("language table: no tokenizer of the experiment was found, so no subword fertility")
    return table


def distances(pairs: pd.DataFrame, notes: list[str], kind: str = "syntactic") -> pd.DataFrame:
    """URIEL+ ``kind`` distance between each intermediate and evaluation language (lab
    languages stand in for the real languages they imitate); missing ones are reported."""
    try:
        from xltkit.lab.typology import distance_table

        langs = sorted(set(pairs.intermediate_lang) | set(pairs.eval_lang))
        d = distance_table(langs, langs, kinds=[kind])
    except Exception as e:  # no typology data: the rest of the analysis goes on
        notes.append(f"typological distance left out: {e}")
        return pd.DataFrame(columns=["intermediate_lang", "eval_lang", f"{kind}_distance"])
    for _, row in d[d.missing != ""].iterrows():
        notes.append(f"no {kind} distance for {row.source}-{row.target}: {row.missing}")
    return d.rename(columns={"source": "intermediate_lang", "target": "eval_lang", kind: f"{kind}_distance"})[
        ["intermediate_lang", "eval_lang", f"{kind}_distance"]]


def model_table(zero_shot: pd.DataFrame, languages: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Per-seed zero-shot gains joined with the properties of the intermediate and target
    languages (resource level, measured morphological richness) and their distance."""
    if languages.empty:
        return zero_shot
    props = languages.set_index("lang")
    data = zero_shot.copy()
    for side, col in (("target", "eval_lang"), ("inter", "intermediate_lang")):
        for measure in ("fertility", "chars_per_word", "mattr"):
            if measure in props:
                data[f"{side}_{measure}"] = data[col].map(props[measure])
        data[f"{side}_low_resource"] = data[col].map(props["resource"].eq("low").astype(float))
    data = data.merge(distances(data[["intermediate_lang", "eval_lang"]].drop_duplicates(), notes),
                      on=["intermediate_lang", "eval_lang"], how="left")
    return data
