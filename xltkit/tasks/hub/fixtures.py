"""Tiny datasets in exactly the hub's schemas, laid out as the hub repositories are, for
offline tests and for checking a set-up without the hub (``hub_root: <folder>``).

Each dataset the registry names gets a folder ``<root>/<owner>/<name>/`` with the same
files as on the hub (``<config>/<split>-00000-of-00001.parquet`` and a README whose
``configs:`` name them; the raw files of a repository without configs: the HuLU sets'
pretty-printed JSON arrays, whose HuCoPA train numbers the choices "1"/"2" and validation
0/1 as on GitHub, SocialIQa's parquet, universal_dependencies' parquet branch with its
multiword tokens), the same column names, the same feature types and the same label names,
so ``datasets.load_dataset`` reads them with the same call it makes on the hub.  Rows are synthetic words of a made-up vocabulary per
language; labels are drawn so that every label occurs, and the validation and test splits
of parallel sets (XNLI, PAWS-X) have the same labels in every language.  Extractive-QA sets
have three questions per context, each answered by the word after the question's first word,
at its ``answer_start`` (XQuAD's and MLQA's ids the same in every language, SQuAD dev holding
some of XQuAD's; TyDiQA's languages mixed, told by id prefix; a quarter of the SQuAD 2.0-style
sets' questions unanswerable; squad_v2_fi's gzipped and MILQA's plain SQuAD JSON, nested as on
the hub; :func:`milqa_answers` rewrites it in MILQA's long / short answer layout).  Tatoeba's sets are aligned sentence pairs (google/xtreme's lines keep their newline,
as its loading script read them).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np

from xltkit.tasks.hub import definitions as d
from xltkit.tasks.hub.reading import TYDIQA_NAMES
from xltkit.tasks.registry import TASKS

#: extractive-QA kinds -> (ids the same in every language, every how many-th question has no answer; 0: none)
QA_KINDS = {"squad": (False, 0), "squad_v2": (False, 4), "xquad": (True, 0), "mlqa": (True, 0), "tydiqa": (False, 0),
            "squad_fi": (False, 4), "milqa": (False, 4)}
NESTED = {"squad_fi", "milqa"}  # SQuAD's own JSON, as the repository ships it


def _vocab(lang: str, n: int = 60) -> list[str]:
    rng = np.random.default_rng(abs(hash(lang)) % (2**32) if False else sum(map(ord, lang)))
    syll = ["ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "vu", "ja", "hä", "ön", "ty", "el", "az"]
    return ["".join(rng.choice(syll, size=rng.integers(1, 4))) + lang[:1] for _ in range(n)]


def _sentence(rng, vocab, lo=3, hi=9) -> list[str]:
    return list(rng.choice(vocab, size=int(rng.integers(lo, hi))))


def _features(kind: str):
    from datasets import ClassLabel, Features, Sequence, Value

    s, i = Value("string"), Value("int32")
    return {
        "xnli": Features({"premise": s, "hypothesis": s, "label": ClassLabel(names=list(d.NLI))}),
        "glue-mnli": Features({"premise": s, "hypothesis": s, "label": ClassLabel(names=list(d.NLI)), "idx": i}),
        "paws": Features({"id": i, "sentence1": s, "sentence2": s, "label": ClassLabel(names=["0", "1"])}),
        "xcopa": Features({"premise": s, "choice1": s, "choice2": s, "question": s, "label": i, "idx": i,
                           "changed": Value("bool")}),
        "superglue-copa": Features({"premise": s, "choice1": s, "choice2": s, "question": s, "idx": i,
                                    "label": ClassLabel(names=["choice1", "choice2"])}),
        "udpos": Features({"tokens": Sequence(s), "pos_tags": Sequence(ClassLabel(names=list(d.UPOS17)))}),
        "wikiann": Features({"tokens": Sequence(s), "ner_tags": Sequence(ClassLabel(names=list(d.NER7))),
                             "langs": Sequence(s), "spans": Sequence(s)}),
        "siqa": Features({"context": s, "question": s, "answerA": s, "answerB": s, "answerC": s, "label": s}),
        "superglue-rte": Features({"premise": s, "hypothesis": s, "idx": i,
                                   "label": ClassLabel(names=["entailment", "not_entailment"])}),
        "glue-qqp": Features({"question1": s, "question2": s, "label": ClassLabel(names=["not_duplicate", "duplicate"]),
                              "idx": i}),
        "ud": Features({"idx": s, "text": s, "tokens": Sequence(s), "lemmas": Sequence(s),
                        "upos": Sequence(ClassLabel(names=list(d.UD_UPOS))), "xpos": Sequence(s)}),
        # rajpurkar/squad(_v2): answers Sequence({text, answer_start}); google/xtreme's QA: answer_start first
        "squad": Features({"id": s, "title": s, "context": s, "question": s,
                           "answers": Sequence({"text": s, "answer_start": i})}),
        "xquad": Features({"id": s, "context": s, "question": s, "answers": Sequence({"text": s, "answer_start": i})}),
        "mlqa": Features({"id": s, "title": s, "context": s, "question": s,
                          "answers": Sequence({"answer_start": i, "text": s})}),
        "tatoeba-xtreme": Features({"source_sentence": s, "target_sentence": s, "source_lang": s, "target_lang": s}),
        "tatoeba-mteb": Features({"sentence1": s, "sentence2": s}),
    }[{"squad_v2": "squad", "tydiqa": "mlqa"}.get(kind, kind)]


def _kind(path: str, config: str | None) -> str:
    if path == "google/xtreme" and config:
        return "mlqa" if config.startswith("MLQA.") else "tydiqa" if config == "tydiqa" else \
            "tatoeba-xtreme" if config.startswith("tatoeba.") else "udpos"
    if (path, config) == ("aps/super_glue", "rte"):
        return "superglue-rte"
    if (path, config) == ("nyu-mll/glue", "qqp"):
        return "glue-qqp"
    return {"universal-dependencies/universal_dependencies": "ud", "facebook/xnli": "xnli", "nyu-mll/glue": "glue-mnli", "google-research-datasets/paws-x": "paws",
            "google-research-datasets/paws": "paws", "cambridgeltl/xcopa": "xcopa", "aps/super_glue": "superglue-copa",
            "google/xtreme": "udpos", "unimelb-nlp/wikiann": "wikiann", "allenai/social_i_qa": "siqa",
            "NYTK/HuRTE": "hurte", "NYTK/HuCoPA": "hucopa", "google/xquad": "xquad", "rajpurkar/squad": "squad",
            "rajpurkar/squad_v2": "squad_v2", "TurkuNLP/squad_v2_fi": "squad_fi", "SzegedAI/MILQA": "milqa",
            "mteb/tatoeba-bitext-mining": "tatoeba-mteb"}[path]


def _qa_rows(kind: str, lang: str, split: str, n: int, placeholder: bool = False) -> list[dict]:
    """``n`` SQuAD-style questions (TyDiQA: ``n`` per language, ids prefixed by the language), three
    per context, each answered by the word after the question's first word, at its answer_start."""
    parallel, every = QA_KINDS[kind]
    langs = dict(TYDIQA_NAMES) if kind == "tydiqa" else {lang: ""}
    rows = []
    for code, prefix in langs.items():
        v = _vocab(code)
        rng = np.random.default_rng(sum(map(ord, f"{kind}-{lang}-{prefix}-{split}")))
        for k in range(n):
            if k % 3 == 0:
                words = [w for _ in range(3) for w in [*_sentence(rng, v, 5, 9), "."]]
                starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]]).tolist()
                context = " ".join(words)
            j = int(rng.integers(1, len(words) - 1))
            while words[j] == "." or words[j - 1] == ".":
                j = int(rng.integers(1, len(words) - 1))
            unanswerable = every and k % every == every - 1
            question = " ".join([words[j - 1], *_sentence(rng, v, 2, 4)]) + "?"
            answers = {"text": [], "answer_start": []} if unanswerable else \
                {"text": [words[j]], "answer_start": [starts[j]]}
            if placeholder:  # the XTREME repository's test files
                answers = {"text": [""], "answer_start": [0]}
            shared = parallel or (kind == "squad" and split == "validation" and k % 4 == 0)  # XQuAD's are SQuAD dev's
            digest = hashlib.sha1(f"{'' if shared else lang}-{k}".encode()).hexdigest()  # parallel: one id everywhere
            qid = f"{prefix}-{k:019d}-0" if prefix else f"{k:06d}" + digest[:34 if kind == "mlqa" else 18]  # ascending
            rows.append({"id": qid, "title": f"Title_{k // 3}", "context": context, "question": question,
                         "answers": answers})
    return rows


def _nested(rows: list[dict], kind: str) -> dict:
    """Flat SQuAD rows as SQuAD's own JSON (TurkuNLP's answers also carry its ``texts`` / ``starts``)."""
    data, by_context = [], {}
    for r in rows:
        if r["context"] not in by_context:
            by_context[r["context"]] = {"context": r["context"], "qas": []}
            data.append({"title": r["title"], "paragraphs": [by_context[r["context"]]]})
        answers = [{"text": t, "answer_start": a, **({"texts": [t], "starts": [a]} if kind == "squad_fi" else {})}
                   for t, a in zip(r["answers"]["text"], r["answers"]["answer_start"])]
        by_context[r["context"]]["qas"].append({"question": r["question"], "id": r["id"], "answers": answers,
                                                 "is_impossible": not answers})
    return {"version": "v2.0", "data": data}


def milqa_answers(doc: dict) -> dict:
    """SQuAD's nested JSON (:func:`_nested`) with every question's answers in the layout two public
    readers of SzegedAI/MILQA's files expect (not seen here: see
    :func:`xltkit.tasks.hub.squad_json.nested_rows`): ``{"long": [the sentence that holds the
    answer], "short": [{text, start (a string), end, modanswer}]}`` and a ``qtype``; an unanswerable
    question has both lists empty.  The same rows read either way."""
    out = json.loads(json.dumps(doc))
    for article in out["data"]:
        for par in article["paragraphs"]:
            ctx = par["context"]
            for qa in par["qas"]:
                short, long = [], []
                for a in qa["answers"]:
                    s0 = ctx.rfind(". ", 0, a["answer_start"]) + 2 if ". " in ctx[:a["answer_start"]] else 0
                    s1 = ctx.find(" .", a["answer_start"])
                    s1 = len(ctx) if s1 < 0 else s1 + 2
                    long.append({"text": ctx[s0:s1], "start": s0, "end": s1})
                    short.append({"text": a["text"], "start": str(a["answer_start"]),
                                  "end": str(a["answer_start"] + len(a["text"])), "modanswer": []})
                qa["answers"] = {"long": long[:1], "short": short}
                qa["qtype"] = "simple"
    return out


def _rows(kind: str, lang: str, split: str, n: int, labels: np.ndarray, placeholder: bool = False) -> dict[str, list]:
    """``n`` rows of a dataset kind in ``lang`` with the given label sequence."""
    rng = np.random.default_rng(sum(map(ord, f"{kind}-{lang}-{split}")))
    v = _vocab(lang)
    sent = lambda: " ".join(_sentence(rng, v))  # noqa: E731
    if kind in QA_KINDS:
        rows = _qa_rows(kind, lang, split, n * (8 if kind == "milqa" else 1), placeholder)
        cols = [c for c in _features(kind)] if kind not in NESTED else ["id", "title", "context", "question", "answers"]
        return {c: [r[c] for r in rows] for c in cols}
    if kind in ("tatoeba-xtreme", "tatoeba-mteb"):
        eng = _vocab("eng")
        pairs = [(sent(), " ".join(_sentence(rng, eng))) for _ in range(n)]
        if kind == "tatoeba-mteb":
            return {"sentence1": [a for a, _ in pairs], "sentence2": [b for _, b in pairs]}
        return {"source_sentence": [a + "\n" for a, _ in pairs], "target_sentence": [b + "\n" for _, b in pairs],
                "source_lang": [lang] * n, "target_lang": ["eng"] * n}
    if kind in ("xnli", "glue-mnli", "superglue-rte"):
        rows = {"premise": [sent() for _ in range(n)], "hypothesis": [sent() for _ in range(n)],
                "label": labels.tolist()}
        if kind != "xnli":
            rows["idx"] = list(range(n))
        return rows
    if kind == "glue-qqp":
        return {"question1": [sent() for _ in range(n)], "question2": [sent() for _ in range(n)],
                "label": labels.tolist(), "idx": list(range(n))}
    if kind == "ud":  # a tag follows from the form; every few sentences a multiword token ("_") and its words
        toks, tags = [], []
        for _ in range(n):
            t = _sentence(rng, v)
            tg = [d.UD_UPOS.index(d.UPOS17[sum(map(ord, w)) % len(d.UPOS17)]) for w in t]
            if rng.random() < 0.5:
                t, tg = [t[0] + t[1], *t], [d.UD_UPOS.index("_"), *tg]
            toks.append(t)
            tags.append(tg)
        return {"idx": [str(k) for k in range(n)], "text": [" ".join(t) for t in toks], "tokens": toks,
                "lemmas": toks, "upos": tags, "xpos": [["_"] * len(t) for t in toks]}
    if kind == "paws":
        return {"id": list(range(n)), "sentence1": [sent() for _ in range(n)], "sentence2": [sent() for _ in range(n)],
                "label": labels.tolist()}
    if kind in ("xcopa", "superglue-copa", "hucopa"):
        rows = {"premise": [sent() for _ in range(n)], "choice1": [sent() for _ in range(n)],
                "choice2": [sent() for _ in range(n)],
                "question": [("cause", "effect")[k % 2] for k in range(n)]}
        if kind == "xcopa":
            return {**rows, "label": labels.tolist(), "idx": list(range(n)), "changed": [False] * n}
        if kind == "superglue-copa":
            return {**rows, "idx": list(range(n)), "label": labels.tolist()}
        if split == "train":  # HuCoPA's train.json: "idx", choices "1" / "2"
            return {**rows, "idx": [str(k + 1) for k in range(n)], "label": [str(int(y) + 1) for y in labels]}
        return {**rows, "id": [str(k + 1) for k in range(n)], "label": [int(y) for y in labels]}  # val.json: 0 / 1
    if kind == "hurte":
        return {"id": [str(k) for k in range(n)], "premise": [sent() for _ in range(n)],
                "hypothesis": [sent() for _ in range(n)], "label": [1 - int(y) for y in labels]}  # 1 = entails
    if kind == "siqa":
        return {"context": [sent() for _ in range(n)], "question": [sent() for _ in range(n)],
                "answerA": [sent() for _ in range(n)], "answerB": [sent() for _ in range(n)],
                "answerC": [sent() for _ in range(n)], "label": [str(int(y) + 1) for y in labels]}
    if kind in ("udpos", "wikiann"):
        toks = [_sentence(rng, v) for _ in range(n)]
        n_labels = len(d.UPOS17) if kind == "udpos" else len(d.NER7)
        if kind == "udpos":  # a word's tag follows from its form (learnable), every tag occurs
            tags = [[(sum(map(ord, w)) + k) % n_labels for k, w in enumerate(t)] for t in toks]
        else:  # mostly O, some PER / LOC spans
            tags = [[0] * len(t) for t in toks]
            for t, tg in zip(toks, tags):
                j = int(rng.integers(0, len(t)))
                tg[j] = int(rng.choice([1, 3, 5]))
                if j + 1 < len(t):
                    tg[j + 1] = tg[j] + 1
        rows = {"tokens": toks, ("pos_tags" if kind == "udpos" else "ner_tags"): tags}
        if kind == "wikiann":
            rows.update(langs=[[lang] * len(t) for t in toks], spans=[[] for _ in toks])
        return rows
    raise ValueError(kind)


def _n_labels(kind: str) -> int:
    return {"xnli": 3, "glue-mnli": 3, "siqa": 3}.get(kind, 2)


def write_fixtures(root: str | Path, n: int = 48, placeholder_test: tuple[str, ...] = ()) -> Path:
    """Write every registered hub task's datasets under ``root`` (``n`` rows per split; PAWS-X
    train gets a few -1 labels).  ``placeholder_test``: dataset ids whose test split gets one
    constant label (as the XTREME repository's own files have), to test that it is refused."""
    import datasets
    from datasets import Dataset

    datasets.disable_progress_bars()
    root = Path(root)
    configs: dict[str, dict[str, dict[str, str]]] = {}
    done = set()
    every = [(lang, src) for task in TASKS.values() for lang, src in
             [*getattr(task, "sources", {}).items(), *getattr(task, "train_sources", {}).items(),
              *((lang, alt) for lang, alts in getattr(task, "alternatives", {}).items() for alt in alts.values())]]
    for lang, src in every:
        kind = _kind(src.path, src.config)
        for split, hub_split in src.splits.items():
            key = (src.path, src.config, hub_split)
            if key in done:
                continue
            done.add(key)
            # validation/test: the same labels in every language (parallel sets)
            rng = np.random.default_rng(sum(map(ord, f"{kind}-{hub_split}" if split != "train" else
                                                f"{kind}-{lang}-{hub_split}")))
            labels = rng.integers(0, _n_labels(kind), size=n)
            labels[: _n_labels(kind)] = np.arange(_n_labels(kind))  # every label occurs
            placeholder = split == "test" and src.path in placeholder_test
            if placeholder:
                labels[:] = 0
            rows = _rows(kind, lang, hub_split, n, labels, placeholder)
            folder = root / src.path
            if src.data_files:  # a raw repository: the file the registry names
                target = folder / src.data_files[hub_split].replace("*", "0000")
                target.parent.mkdir(parents=True, exist_ok=True)
                if kind in NESTED:  # SQuAD's JSON, gzipped where the repository gzips it
                    text = json.dumps(_nested([dict(zip(rows, vals)) for vals in zip(*rows.values())], kind),
                                      ensure_ascii=False)
                    target.write_bytes(gzip.compress(text.encode()) if target.suffix == ".gz" else text.encode())
                elif target.suffix == ".json":  # HuLU: one pretty-printed JSON array
                    target.write_text(json.dumps([dict(zip(rows, vals)) for vals in zip(*rows.values())],
                                                 indent=2, ensure_ascii=False))
                else:
                    Dataset.from_dict(rows, features=_features(kind)).to_parquet(str(target))
                continue
            if kind == "paws" and split == "train" and src.path == "google-research-datasets/paws-x":
                rows["label"][-3:] = [-1, -1, -1]  # the card: missing or wrong labels were replaced by -1
            config = src.config or "default"
            target = folder / config / f"{hub_split}-00000-of-00001.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            Dataset.from_dict(rows, features=_features(kind)).to_parquet(str(target))
            configs.setdefault(src.path, {}).setdefault(config, {})[hub_split] = f"{config}/{hub_split}-*"
    for path, cfgs in configs.items():
        lines = ["---", "configs:"]
        for config, splits in sorted(cfgs.items()):
            lines += [f"- config_name: {config}", "  data_files:"]
            lines += [f"  - split: {sp}\n    path: {pattern}" for sp, pattern in sorted(splits.items())]
        (root / path / "README.md").write_text("\n".join(lines) + "\n---\n")
    return root


def fixture_text(root: str | Path) -> list[str]:
    """Every sentence of the fixtures (to train a tokenizer on)."""
    return [" ".join(_sentence(np.random.default_rng(i), _vocab(lang), 3, 12))
            for i, lang in enumerate(sorted({c for t in TASKS.values() for c in getattr(t, "sources", {})}) * 20)]
