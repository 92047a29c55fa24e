"""Lab generation speed: 100,000 sentences of one language (floor: under 10 s), beside a
baseline that only draws the same number of meanings (the generator's share of the cost).

Languages: the English- and Finnish-like presets, and a language with every grammatical
option the lab has (vowel harmony, possessive suffixes, person agreement, fusional
endings) in a lab with cognates and synonyms (rendered in 20% of content words)."""

import random
import time

from xltkit.lab import Lab, LanguageSpec

RICH = LanguageSpec(code="lab_rich", name="every option", word_order="SOV", order_freedom=0.2,
                    case_marking="suffixes", adjective_position="before", genitive_position="before",
                    morphology="fusional", noun_categories=("number", "case", "possession"),
                    verb_categories=("tense", "polarity", "agreement", "person"), vowel_harmony=True)


def main(n: int = 100_000) -> None:
    lab = Lab(["lab_eng", "lab_fin", "lab_rich"], lab_seed=0, cognate_share=0.2, synonym_rate=0.2,
              specs={"lab_rich": RICH})
    t = time.perf_counter()
    r = random.Random(0)
    for _ in range(n):
        lab.world.meaning(r)
    base = time.perf_counter() - t
    for code in lab.langs:
        t = time.perf_counter()
        lab.corpus(code, n)
        secs = time.perf_counter() - t
        print(f"{code}: {n} sentences in {secs:.2f}s ({n / secs:,.0f}/s); "
              f"{secs / base:.2f}x the cost of drawing the meanings alone ({base:.2f}s); floor 10 s")


if __name__ == "__main__":
    main()
