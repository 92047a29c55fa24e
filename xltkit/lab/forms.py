"""Sounds and word forms of the lab languages: the sound inventory, vowel harmony, new
forms, the regular sound correspondences of cognates, and UD FEATS strings.
"""

from __future__ import annotations

import random

from xltkit.lab.spec import LanguageSpec

CONSONANTS, VOWELS, CODAS = "bdgklmnprstvh", "aeiou", "nkrst"
BACK_VOWELS, FRONT_VOWELS = "aou", "äöy"  # harmonic pairs a/ä, o/ö, u/y, as in Finnish
_TO_FRONT = str.maketrans(BACK_VOWELS, FRONT_VOWELS)
_CASE_FEAT = {"NOM": "Nom", "ACC": "Acc", "GEN": "Gen"}
_TENSE_FEAT = {"PRES": "Pres", "PAST": "Past", "FUT": "Fut"}


def is_front(form: str) -> bool:
    """Vowel-harmony class of a stem: its last back or front vowel decides; a stem with
    neither (only e, i) takes front suffixes, as Finnish neutral-vowel stems do."""
    for c in reversed(form):
        if c in FRONT_VOWELS:
            return True
        if c in BACK_VOWELS:
            return False
    return True


def _feats(**feats) -> str:
    """UD FEATS string: ``Name=Value`` pairs sorted by name (case-insensitive), "_" if none."""
    pairs = sorted(((k.replace("_psor", "[psor]"), v) for k, v in feats.items() if v), key=lambda kv: kv[0].lower())
    return "|".join(f"{k}={v}" for k, v in pairs) or "_"


def _new_form(r: random.Random, used: set[str], lo: int, hi: int, vowels: str = VOWELS) -> str:
    while True:
        f = "".join(r.choice(CONSONANTS) + r.choice(vowels) for _ in range(r.randint(lo, hi)))
        if r.random() < 0.3:
            f += r.choice(CODAS)
        if f not in used:
            used.add(f)
            return f


def sound_correspondences(lab_seed: int, spec: LanguageSpec) -> dict[str, str]:
    """Proto-sound -> sound in ``spec``'s language: a seeded, one-to-one sound change.

    About a third of the consonants and vowels shift (at least two consonants), the rest
    stay; one-to-one, so distinct proto-forms stay distinct.  A harmonic language maps
    the proto-vowels a e i o u into its own a o u ä ö y.
    """
    r = random.Random(f"{lab_seed}-sounds-{spec.code}")
    changed = [c for c in CONSONANTS if r.random() < 0.3]
    if len(changed) < 2:
        changed = r.sample(CONSONANTS, 2)
    targets = changed[:]
    while targets == changed:
        r.shuffle(targets)
    out = {c: c for c in CONSONANTS} | dict(zip(changed, targets))
    if spec.vowel_harmony:
        keep = [v for v in VOWELS if v in BACK_VOWELS and r.random() < 0.6]
        free = [v for v in BACK_VOWELS + FRONT_VOWELS if v not in keep]
        r.shuffle(free)
        rest = iter(free)
        out.update({v: v if v in keep else next(rest) for v in VOWELS})
    else:
        changed = [v for v in VOWELS if r.random() < 0.35]
        targets = changed[:]
        r.shuffle(targets)
        out |= {v: v for v in VOWELS} | dict(zip(changed, targets))
    return out
