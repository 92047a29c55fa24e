"""The synthetic typology lab: artificial languages rendered from one meaning generator.

A *world* is a fixed inventory of concepts (nouns in semantic classes, verbs with
selectional preferences, adjectives) and a generator of meanings (who does what to whom,
when, negated or not).  A *language* is a set of typological parameters
(:class:`LanguageSpec`) plus a lexicon drawn from a seed.  Rendering a meaning in a
language gives a sentence with word-level annotations (UD part of speech, semantic role),
so task labels are exact in every language and the typology of every language is known
exactly.

Everything is deterministic given ``lab_seed``: the same seed gives the same lexicons,
the same corpora and the same task sets on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

WordOrder = Literal["SOV", "SVO", "VSO", "VOS", "OVS", "OSV"]
CaseMarking = Literal["none", "prepositions", "postpositions", "suffixes"]
MorphType = Literal["isolating", "agglutinative", "fusional"]
NOUN_CATEGORIES = ("number", "case")
VERB_CATEGORIES = ("tense", "polarity", "agreement")

N_NOUNS, N_VERBS, N_ADJS = 80, 48, 40
NOUN_CLASSES = ("person", "animal", "object", "place")  # the first two are animate
ANIMATE_CLASSES = (0, 1)
TENSES = ("PRES", "PAST", "FUT")


class LanguageSpec(BaseModel):
    """Typological parameters of one lab language.

    Each field is one typological choice; ``sources`` records where a preset's values
    come from (WALS feature ids, Grambank, or "lab choice").
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(description="lab language code, e.g. 'lab_fin' (never an ISO code)")
    name: str = Field(description="human-readable name, e.g. 'Finnish-like'")
    imitates: str | None = Field(None, description="ISO 639-3 code of the real language it imitates")
    word_order: WordOrder = Field(description="basic order of subject (agent), object (patient) and verb (WALS 81A)")
    order_freedom: float = Field(0.0, ge=0.0, le=1.0, description="share of sentences in a random other order")
    case_marking: CaseMarking = Field(description="how agent/patient roles are marked besides word order (WALS 49A/51A)")
    adjective_position: Literal["before", "after"] = Field(description="adjective before or after its noun (WALS 87A)")
    morphology: MorphType = Field(
        description="isolating: grammatical markers are separate words; agglutinative: one suffix per category, "
        "chained; fusional: one portmanteau affix per combination of categories (WALS 20A/21A)"
    )
    verb_affixes: Literal["suffix", "prefix"] = Field("suffix", description="where verbal affixes attach (WALS 26A)")
    noun_categories: tuple[str, ...] = Field(("number",), description=f"inflectional categories on nouns, from {NOUN_CATEGORIES}")
    verb_categories: tuple[str, ...] = Field(("tense", "polarity"), description=f"inflectional categories on verbs, from {VERB_CATEGORIES}")
    resource: Literal["high", "low"] = Field("high", description="amount of pretraining text")
    sources: dict[str, str] = Field(default_factory=dict, description="field -> where its value comes from")

    @model_validator(mode="after")
    def _check(self) -> "LanguageSpec":
        bad = [c for c in self.noun_categories if c not in NOUN_CATEGORIES]
        if bad:
            raise ValueError(f"unknown noun category {bad[0]!r}; allowed: {', '.join(NOUN_CATEGORIES)}")
        bad = [c for c in self.verb_categories if c not in VERB_CATEGORIES]
        if bad:
            raise ValueError(f"unknown verb category {bad[0]!r}; allowed: {', '.join(VERB_CATEGORIES)}")
        if self.morphology != "isolating" and not (self.noun_categories or self.verb_categories):
            raise ValueError(
                f"{self.code}: morphology={self.morphology!r} needs at least one inflectional category "
                f"(noun_categories from {NOUN_CATEGORIES}, verb_categories from {VERB_CATEGORIES}); "
                "use morphology='isolating' for a language without inflection"
            )
        if self.case_marking == "suffixes" and self.morphology == "isolating":
            raise ValueError(f"{self.code}: case suffixes need agglutinative or fusional morphology, not isolating")
        if self.case_marking == "suffixes" and "case" not in self.noun_categories:
            raise ValueError(f"{self.code}: case_marking='suffixes' needs 'case' in noun_categories")
        return self


@dataclass(frozen=True)
class Meaning:
    """One proposition: agent VERB patient, with number, modifiers, tense and polarity."""

    agent: int
    verb: int
    patient: int
    agent_pl: bool = False
    patient_pl: bool = False
    agent_adjs: tuple[int, ...] = ()
    patient_adjs: tuple[int, ...] = ()
    tense: int = 0
    neg: bool = False


@dataclass(frozen=True)
class Token:
    """One rendered word with its annotations."""

    form: str
    upos: str  # UD part of speech
    role: str  # "AGENT", "PATIENT", "VERB" or "O"


@dataclass
class World:
    """The shared concept inventory and meaning generator (identical for all languages).

    ``pref`` is the probability that an argument comes from the verb's preferred noun
    class; ``fingerprint`` the probability that it comes from a small verb-specific set.
    Both make lexical meaning visible in word distributions, which is what lets a tiny
    encoder learn (and align) it from monolingual text.
    """

    seed: int = 0
    pref: float = 0.9
    fingerprint: float = 0.7

    def __post_init__(self):
        r = random.Random(f"world-{self.seed}")
        self.noun_class = [i % len(NOUN_CLASSES) for i in range(N_NOUNS)]
        self.nouns_of = {c: [n for n in range(N_NOUNS) if self.noun_class[n] == c] for c in range(len(NOUN_CLASSES))}
        self.animate = frozenset(n for n in range(N_NOUNS) if self.noun_class[n] in ANIMATE_CLASSES)
        # most verbs want an animate agent; a quarter take inanimate agents ("the storm breaks ...")
        self.verb_agent_class = [r.choice(ANIMATE_CLASSES) if r.random() < 0.75 else r.choice((2, 3)) for _ in range(N_VERBS)]
        self.verb_patient_class = [r.randrange(len(NOUN_CLASSES)) for _ in range(N_VERBS)]
        self.verb_agents = [r.sample(self.nouns_of[c], 3) for c in self.verb_agent_class]
        self.verb_patients = [r.sample(self.nouns_of[c], 3) for c in self.verb_patient_class]
        self.noun_adjs = [r.sample(range(N_ADJS), 2) for _ in range(N_NOUNS)]
        self._zipf = [1 / (i + 1) ** 0.8 for i in range(max(N_NOUNS, N_VERBS, N_ADJS))]

    def _noun(self, r: random.Random, cls: int, special: list[int]) -> int:
        if r.random() < self.fingerprint:
            return r.choice(special)
        if r.random() < self.pref:
            return r.choice(self.nouns_of[cls])
        return r.randrange(N_NOUNS)

    def _adjs(self, r: random.Random, noun: int) -> tuple[int, ...]:
        k = r.choices((0, 1, 2), (0.4, 0.4, 0.2))[0]
        out: list[int] = []
        for _ in range(k):
            a = r.choice(self.noun_adjs[noun]) if r.random() < self.fingerprint else r.randrange(N_ADJS)
            if a not in out:
                out.append(a)
        return tuple(out)

    def meaning(self, r: random.Random, verb: int | None = None, agent: int | None = None,
                patient: int | None = None) -> Meaning:
        """Draw a meaning; ``verb``/``agent``/``patient`` fix those slots."""
        v = verb if verb is not None else r.choices(range(N_VERBS), self._zipf[:N_VERBS])[0]
        a = agent if agent is not None else self._noun(r, self.verb_agent_class[v], self.verb_agents[v])
        p = patient if patient is not None else self._noun(r, self.verb_patient_class[v], self.verb_patients[v])
        while p == a:
            p = r.randrange(N_NOUNS)
        return Meaning(agent=a, verb=v, patient=p, agent_pl=r.random() < 0.5, patient_pl=r.random() < 0.5,
                       agent_adjs=self._adjs(r, a), patient_adjs=self._adjs(r, p), tense=r.randrange(3),
                       neg=r.random() < 0.3)


CONSONANTS, VOWELS, CODAS = "bdgklmnprstvh", "aeiou", "nkrst"


@dataclass
class Language:
    """A :class:`LanguageSpec` with its lexicon and grammatical markers, ready to render.

    ``shared`` is the set of concept keys whose form is common to all lab languages
    (names, loanwords); the form itself comes from ``shared_forms``.
    """

    spec: LanguageSpec
    lab_seed: int
    shared_forms: dict[str, str] = field(default_factory=dict)

    @cached_property
    def lexicon(self) -> dict[str, str]:
        """Concept key ('n12', 'v3', 'a7') -> word form."""
        r = random.Random(f"{self.lab_seed}-lex-{self.spec.code}")
        used = set(self.shared_forms.values())
        lex = {}
        for key in concept_keys():
            if key in self.shared_forms:
                lex[key] = self.shared_forms[key]
                continue
            lex[key] = _new_form(r, used, 2, 3)
        return lex

    @cached_property
    def markers(self) -> dict[str, str]:
        """Grammatical marker key -> form (affix or particle, by morphology)."""
        r = random.Random(f"{self.lab_seed}-mark-{self.spec.code}")
        used: set[str] = set()
        keys = ["PL", "ACC", "NOM", "PAST", "FUT", "NEG", "3PL"]
        if self.spec.morphology == "fusional":  # one portmanteau per combination of values
            keys += [f"N.{pl}.{c}" for pl in "SP" for c in ("NOM", "ACC")]
            keys += [f"V.{t}.{n}.{a}" for t in TENSES for n in "PN" for a in "SP"]
        return {k: _new_form(r, used, 1, 1) for k in keys}

    # ---- rendering -------------------------------------------------------------------
    def _noun_phrase(self, noun: int, pl: bool, adjs: tuple[int, ...], case: str, role: str) -> list[Token]:
        s, m = self.spec, self.markers
        stem = self.lexicon[f"n{noun}"]
        number = "number" in s.noun_categories and pl
        marked_case = "case" in s.noun_categories and s.case_marking == "suffixes"
        extra: list[Token] = []
        if s.morphology == "isolating":
            word = stem
            if number:
                extra.append(Token(m["PL"], "DET", role))  # plural word, as in Tagalog 'mga'
        elif s.morphology == "agglutinative":
            word = stem + (m["PL"] if number else "") + (m["ACC"] if marked_case and case == "ACC" else "")
        else:  # fusional: one ending for number+case (zero for singular nominative)
            key = f"N.{'P' if number else 'S'}.{case if marked_case else 'NOM'}"
            word = stem + (m[key] if key != "N.S.NOM" and ("number" in s.noun_categories or marked_case) else "")
        noun_tok = Token(word, "NOUN", role)
        adj_toks = [Token(self.lexicon[f"a{a}"], "ADJ", role) for a in adjs]
        np = adj_toks + [noun_tok] + extra if s.adjective_position == "before" else [noun_tok] + extra + adj_toks
        if s.case_marking == "postpositions":
            np.append(Token(m[case], "ADP", role))
        elif s.case_marking == "prepositions" and case == "ACC":
            np.insert(0, Token(m["ACC"], "ADP", role))
        return np

    def _verb_phrase(self, mng: Meaning) -> list[Token]:
        s, m = self.spec, self.markers
        stem = self.lexicon[f"v{mng.verb}"]
        cats = s.verb_categories
        tense = TENSES[mng.tense] if "tense" in cats else "PRES"
        neg = mng.neg  # polarity is always expressed; 'polarity' in cats makes it an affix
        agr = "agreement" in cats and mng.agent_pl
        if s.morphology == "isolating":
            parts = ([Token(m["NEG"], "PART", "O")] if neg else []) + \
                    ([Token(m[tense], "AUX", "O")] if tense != "PRES" else [])
            return parts + [Token(stem, "VERB", "VERB")] + ([Token(m["3PL"], "PART", "O")] if agr else [])
        neg_affixed = neg and "polarity" in cats
        particle = [Token(m["NEG"], "PART", "O")] if neg and not neg_affixed else []
        if s.morphology == "agglutinative":
            affixes = (m["NEG"] if neg_affixed else "") + (m[tense] if tense != "PRES" else "") + (m["3PL"] if agr else "")
        else:
            key = f"V.{tense}.{'N' if neg_affixed else 'P'}.{'P' if agr else 'S'}"
            affixes = m[key] if key != "V.PRES.P.S" else ""
        word = affixes + stem if s.verb_affixes == "prefix" else stem + affixes
        return particle + [Token(word, "VERB", "VERB")]

    def render(self, mng: Meaning, r: random.Random | None = None) -> list[Token]:
        """The sentence for ``mng`` as annotated tokens; ``r`` draws the free word order."""
        s = self.spec
        parts = {"S": self._noun_phrase(mng.agent, mng.agent_pl, mng.agent_adjs, "NOM", "AGENT"),
                 "O": self._noun_phrase(mng.patient, mng.patient_pl, mng.patient_adjs, "ACC", "PATIENT"),
                 "V": self._verb_phrase(mng)}
        order = s.word_order
        if s.order_freedom and r is not None and r.random() < s.order_freedom:
            order = r.choice(["SOV", "SVO", "VSO", "VOS", "OVS", "OSV"])
        return [t for k in order for t in parts[k]]

    def sentence(self, mng: Meaning, r: random.Random | None = None) -> str:
        return " ".join(t.form for t in self.render(mng, r))


def concept_keys() -> list[str]:
    return [f"n{i}" for i in range(N_NOUNS)] + [f"v{i}" for i in range(N_VERBS)] + [f"a{i}" for i in range(N_ADJS)]


def _new_form(r: random.Random, used: set[str], lo: int, hi: int) -> str:
    while True:
        f = "".join(r.choice(CONSONANTS) + r.choice(VOWELS) for _ in range(r.randint(lo, hi)))
        if r.random() < 0.3:
            f += r.choice(CODAS)
        if f not in used:
            used.add(f)
            return f


@dataclass
class Lab:
    """A world plus a set of languages: the whole synthetic lab for one seed.

    >>> lab = Lab(["lab_eng", "lab_fin"], lab_seed=0)
    >>> m = lab.world.meaning(random.Random(1))
    >>> lab.language("lab_fin").sentence(m)  # doctest: +SKIP
    'kamo tirpe husaren ...'
    """

    langs: list[str]
    lab_seed: int = 0
    shared_share: float = 0.2
    pref: float = 0.9
    fingerprint: float = 0.7

    def __post_init__(self):
        self.world = World(seed=self.lab_seed, pref=self.pref, fingerprint=self.fingerprint)
        r = random.Random(f"{self.lab_seed}-shared")
        keys = concept_keys()
        shared_keys = sorted(r.sample(keys, round(self.shared_share * len(keys))), key=keys.index)
        used: set[str] = set()
        self.shared_forms = {k: _new_form(r, used, 2, 3) for k in shared_keys}
        self._langs = {c: Language(get_spec(c), self.lab_seed, self.shared_forms) for c in self.langs}

    def language(self, code: str) -> Language:
        try:
            return self._langs[code]
        except KeyError:
            raise ValueError(f"language {code!r} is not in this lab; it has: {', '.join(self.langs)}") from None

    def corpus(self, code: str, n: int, stream: str = "pretrain") -> list[str]:
        """``n`` monolingual sentences of ``code`` (independent meanings per language)."""
        r = random.Random(f"{self.lab_seed}-{stream}-{code}")
        lang, world = self.language(code), self.world
        return [lang.sentence(world.meaning(r), r) for _ in range(n)]

    def dictionary(self, src: str, tgt: str) -> dict[str, str]:
        """Bilingual word list ``src`` form -> ``tgt`` form over all concepts."""
        a, b = self.language(src).lexicon, self.language(tgt).lexicon
        return {a[k]: b[k] for k in concept_keys()}


# Presets live in xltkit.presets (they import LanguageSpec from here); re-exported for callers.
from xltkit.presets import DEFAULT_LANGS, PRESETS, SERIES, get_spec, morphology_series  # noqa: E402,F401
