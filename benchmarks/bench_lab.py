"""Lab generation speed: 100,000 sentences of one language (floor: under 10 s), beside a
baseline that only draws the same number of meanings (the generator's share of the cost)."""

import time

from xltkit.lab import Lab


def main(n: int = 100_000) -> None:
    lab = Lab(["lab_eng", "lab_fin"], lab_seed=0)
    import random

    t = time.perf_counter()
    r = random.Random(0)
    for _ in range(n):
        lab.world.meaning(r)
    base = time.perf_counter() - t
    for code in ("lab_eng", "lab_fin"):
        t = time.perf_counter()
        sents = lab.corpus(code, n)
        secs = time.perf_counter() - t
        print(f"{code}: {n} sentences in {secs:.2f}s ({n / secs:,.0f}/s); "
              f"{secs / base:.2f}x the cost of drawing the meanings alone ({base:.2f}s); floor 10 s")


if __name__ == "__main__":
    main()
