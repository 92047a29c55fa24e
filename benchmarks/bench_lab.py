"""Lab generation speed: 100,000 sentences of one language (floor: under 10 s), beside a
baseline that only draws the same number of meanings (the generator's share of the cost).

Languages: the English- and Finnish-like presets, and a language with every grammatical
option the lab has (vowel harmony, possessive suffixes, person agreement, fusional
endings) in a lab with cognates and synonyms (rendered in 20% of content words).  Each
repeat draws the meanings and then every language's corpus in turn (interleaved); the
ratio is a language's time over the meanings' time in the same repeat.

    .venv/bin/python benchmarks/bench_lab.py [--quick] [--json PATH]
"""

import random
import statistics

from benchlib import Timer, parser, repeats, row, write

from xltkit.lab import Lab, LanguageSpec

RICH = LanguageSpec(code="lab_rich", name="every option", word_order="SOV", order_freedom=0.2,
                    case_marking="suffixes", adjective_position="before", genitive_position="before",
                    morphology="fusional", noun_categories=("number", "case", "possession"),
                    verb_categories=("tense", "polarity", "agreement", "person"), vowel_harmony=True)


def main(argv=None) -> None:
    ap = parser(__doc__)
    ap.add_argument("--n", type=int, default=100_000, help="sentences per language")
    args = ap.parse_args(argv)
    n = 5_000 if args.quick else args.n
    lab = Lab(["lab_eng", "lab_fin", "lab_rich"], lab_seed=0, cognate_share=0.2, synonym_rate=0.2,
              specs={"lab_rich": RICH})
    for code in lab.langs:  # built once, outside the timing
        lab.language(code)
    base, secs = [], {code: [] for code in lab.langs}
    for rep in range(repeats(args)):
        with Timer() as t:
            r = random.Random(rep)
            for _ in range(n):
                lab.world.meaning(r)
        base.append(t.s)
        for code in lab.langs:
            with Timer() as t:
                lab.corpus(code, n)
            secs[code].append(t.s)
    rows = [row(f"{code}: {n:,} sentences", f"drawing {n:,} meanings alone ({statistics.median(base):.2f} s)",
                [s / b for s, b in zip(secs[code], base)], floor=10.0 * n / 100_000, better="lower", floor_on="value",
                unit="s", value=round(statistics.median(secs[code]), 3),
                notes=f"{n / statistics.median(secs[code]):,.0f} sentences/s")
            for code in lab.langs]
    write(args, "bench_lab", rows)


if __name__ == "__main__":
    main()
