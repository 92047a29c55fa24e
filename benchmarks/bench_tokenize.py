"""Tokenization of a hub-style dataset: ``datasets.map(batched=True)`` with a fast
tokenizer, into the datasets cache (cold) and read back from it (warm), against the same
map unbatched.

Fixture, built here: an XNLI-style parquet file (premise, hypothesis, label) of lab
sentences, read through ``datasets.load_dataset("parquet", cache_dir=...)`` and put in the
pair head's contract as hub tasks do (:mod:`xltkit.tasks.hub.definitions`), then encoded by
the pair head (:meth:`xltkit.modeling.heads.ClassificationHead.encode`, the call a hub
task's training and evaluation make) with an XLM-R-style fast tokenizer trained on lab text
(:func:`xltkit.modeling.tiny.xlmr_tokenizer`).  Each repeat starts from an empty cache and
times, in turn: the batched map (cold: it writes its cache file), the same rows mapped
one example at a time (``batched=False``, cold), and the batched map again (warm: the
fingerprint matches, the cache file is read).  Then the path a stage takes
(:mod:`xltkit.modeling.tokenized`): the same file loaded afresh, encoded through the
tokenized cache (first: tokenized and written), then again with the tokenizer saved and
loaded from another folder, as the next fine-tune or evaluation loads it from its model's
folder (second: read back); beside it, ``datasets``' own map cache with that reloaded
tokenizer, which misses (its hash of the tokenizer changes with the folder and the first call).

Rows (floors set here; the issue names none): batched over unbatched, as a speed-up
(at least 1); warm time as a share of cold (at most 0.5); the tokenized cache's second
tokenization as a share of its first (at most 0.5).

    .venv/bin/python benchmarks/bench_tokenize.py [--quick] [--json PATH] [--n 40000]
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
from pathlib import Path

import pandas as pd
from benchlib import Timer, parser, repeats, row, write


def fixture(root: Path, n: int) -> tuple[Path, object]:
    """An XNLI-style parquet file of ``n`` pairs and a fast tokenizer trained on lab text."""
    import random

    from xltkit.lab import Lab
    from xltkit.modeling.tiny import xlmr_tokenizer

    lab = Lab(["lab_eng", "lab_fin", "lab_tur"], lab_seed=0)
    text = [s for c in lab.langs for s in lab.corpus(c, (n + 2) // 3 * 2)]
    r = random.Random(0)
    r.shuffle(text)
    path = root / "xnli-style" / "train-00000-of-00001.parquet"
    path.parent.mkdir(parents=True)
    pd.DataFrame({"premise": text[:n], "hypothesis": text[n: 2 * n],
                  "label": [r.randrange(3) for _ in range(n)]}).to_parquet(path)
    return path, xlmr_tokenizer(text[:5000], vocab_size=2000, max_length=128)


def unbatched(tok):
    """The pair head's encoding, one example per call (the baseline)."""
    def fn(ex):
        enc = tok(ex["words"], ex["words2"], is_split_into_words=True, truncation=True,
                  max_length=tok.model_max_length, return_token_type_ids=True)
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                "token_type_ids": enc["token_type_ids"], "labels": int(ex["label"]), "length": len(enc["input_ids"])}
    return fn


def main(argv=None) -> None:
    import datasets

    from xltkit.modeling import tokenized
    from xltkit.modeling.heads import get_head
    from xltkit.modeling.tokenization import load_tokenizer
    from xltkit.tasks.hub.definitions import _pair

    ap = parser(__doc__)
    ap.add_argument("--n", type=int, default=40_000, help="pairs in the fixture")
    args = ap.parse_args(argv)
    n = 2_000 if args.quick else args.n
    root = Path(tempfile.mkdtemp(prefix="xltkit-bench-tok-"))
    datasets.disable_progress_bars()
    head = get_head("pair")
    try:
        path, tok = fixture(root, n)
        tok.save_pretrained(str(root / "model"))  # the next fine-tune's tokenizer: the same, from its folder
        again = load_tokenizer(root / "model")
        again.model_max_length = tok.model_max_length
        times = {w: [] for w in ("cold", "unbatched", "warm", "first", "second", "reloaded")}
        hits, same, reads, own = [], [], [], []
        for rep in range(repeats(args)):
            cache = root / f"cache{rep}"
            raw = datasets.load_dataset("parquet", data_files={"train": [str(path)]}, split="train",
                                        cache_dir=str(cache))
            ds = _pair(raw, "premise", "hypothesis")
            with Timer() as t:
                cold = head.encode(tok, ds)
            times["cold"].append(t.s)
            with Timer() as t:
                one = ds.map(unbatched(tok), remove_columns=ds.column_names)
            times["unbatched"].append(t.s)
            with Timer() as t:
                warm = head.encode(tok, ds)
            times["warm"].append(t.s)
            with Timer() as t:
                other = head.encode(again, ds)
            times["reloaded"].append(t.s)
            own.append(other.cache_files == cold.cache_files)
            fresh = [_pair(datasets.load_dataset("parquet", data_files={"train": [str(path)]}, split="train",
                                                 cache_dir=str(root / f"fresh{rep}")), "premise", "hypothesis")
                     for _ in range(2)]  # the file loaded afresh (twice, as two runs load it): no map cached yet
            with tokenized.caching(root / f"tokenized{rep}") as cache:
                with Timer() as t:
                    first = tokenized.encode(head, tok, fresh[0])
                times["first"].append(t.s)
                with Timer() as t:
                    second = tokenized.encode(head, again, fresh[1])
                times["second"].append(t.s)
            reads.append((cache.misses, cache.hits) == (1, 1) and second[:50] == first[:50] == cold[:50])
            hits.append(bool(cold.cache_files) and warm.cache_files == cold.cache_files)
            same.append(one[:50]["input_ids"] == cold[:50]["input_ids"] and one[-50:]["labels"] == cold[-50:]["labels"])
            print(f"repeat {rep + 1}: " + ", ".join(f"{w} {v[-1]:.2f} s" for w, v in times.items()), flush=True)
        med = {w: statistics.median(v) for w, v in times.items()}
        tokens = sum(cold["length"])
        rows = [row(f"batched map (pair head, fast tokenizer), cold cache, {n:,} pairs",
                    f"unbatched map (batched=False), cold cache ({med['unbatched']:.2f} s)",
                    [u / c for c, u in zip(times["cold"], times["unbatched"])], floor=1.0, unit="pairs/s",
                    value=round(n / med["cold"]),
                    notes=f"speed-up; {tokens / med['cold']:,.0f} tokens/s batched; same ids as unbatched: {all(same)}"),
                row("warm cache (the same map again)", f"cold batched map ({med['cold']:.2f} s)",
                    [w / c for c, w in zip(times["cold"], times["warm"])], floor=0.5, better="lower", unit="s",
                    value=round(med["warm"], 3), notes=f"time as a share of cold; read from the cache file: {all(hits)}"),
                row("second tokenization through the tokenized cache, tokenizer reloaded from another folder",
                    f"first tokenization through it ({med['first']:.2f} s: tokenized and written)",
                    [b / a for a, b in zip(times["first"], times["second"])], floor=0.5, better="lower", unit="s",
                    value=round(med["second"], 3),
                    notes=f"time as a share of the first; read back, same rows: {all(reads)}; datasets' own map "
                          f"cache with the reloaded tokenizer: {med['reloaded']:.2f} s, read from its cache file: "
                          f"{any(own)}")]
        write(args, "bench_tokenize", rows, setup=f"{n:,} XNLI-style pairs of lab sentences, {tokens:,} tokens, "
              f"vocabulary {len(tok)}, {repeats(args)} repeats, each from an empty cache")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
