"""The synthetic typology lab: artificial languages rendered from one meaning generator.

A *world* is a fixed inventory of concepts (nouns in semantic classes, verbs with
selectional preferences, adjectives) and a generator of meanings (who does what to whom,
when, negated or not, whose patient; the agent sometimes a personal pronoun).  A
*language* is a set of typological parameters (:class:`LanguageSpec`) plus a lexicon
drawn from a seed.  Rendering a meaning in a language gives a sentence with word-level
annotations (UD part of speech, UD morphological features, semantic role), so task
labels are exact in every language and the typology of every language is known exactly.

The lexicon has three kinds of concepts: *shared* ones (names, loanwords: one identical
form in every language), *cognates* (one proto-form, changed by each language's own
regular sound correspondences) and the rest (independent forms per language); each
concept can also have synonyms.  Plural noun phrases can carry a cardinal numeral written
in digits ("2".."9"), identical in every language like digits in real text (``numeral_share``).

Everything is deterministic given ``lab_seed``: the same seed gives the same lexicons,
the same corpora and the same task sets on every machine and in every process.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property
from itertools import accumulate
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

WordOrder = Literal["SOV", "SVO", "VSO", "VOS", "OVS", "OSV"]
WORD_ORDERS = ("SOV", "SVO", "VSO", "VOS", "OVS", "OSV")
CaseMarking = Literal["none", "prepositions", "postpositions", "suffixes", "prefixes"]
MorphType = Literal["isolating", "agglutinative", "fusional"]
NOUN_CATEGORIES = ("number", "case", "possession")
VERB_CATEGORIES = ("tense", "polarity", "agreement", "person")

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
    case_marking: CaseMarking = Field(
        description="how agent/patient roles (and possessors) are marked besides word order (WALS 49A/51A): "
        "'none'; 'prepositions'/'postpositions': separate case words (Japanese ga/o/no); 'suffixes': a case "
        "suffix on the noun (Finnish, Turkish); 'prefixes': a case prefix on the noun (WALS 51A 'case prefixes', "
        "e.g. some Bantu and Austronesian languages). Affixes need 'case' in noun_categories and agglutinative or "
        "fusional morphology")
    adjective_position: Literal["before", "after"] = Field(description="adjective before or after its noun (WALS 87A)")
    genitive_position: Literal["before", "after"] = Field(
        "before", description="order of genitive (possessor) and noun (WALS 86A): 'before' as Finnish, Turkish, "
        "Japanese and English 's (the man's dog); 'after' as Swahili, French and English of (the dog of the man)")
    morphology: MorphType = Field(
        description="isolating: grammatical markers are separate words; agglutinative: one suffix per category, "
        "chained; fusional: one portmanteau affix per combination of categories (WALS 20A/21A)"
    )
    verb_affixes: Literal["suffix", "prefix"] = Field("suffix", description="where verbal affixes attach (WALS 26A)")
    noun_categories: tuple[str, ...] = Field(
        ("number",), description=f"inflectional categories on nouns, from {NOUN_CATEGORIES}: 'number' (plural), "
        "'case' (needed by case affixes), 'possession' (a possessive affix on the possessed noun agreeing with the "
        "possessor's number, as Finnish talo-nsa, Hungarian ház-uk, Turkish ev-leri; a separate particle word in "
        "isolating languages)")
    verb_categories: tuple[str, ...] = Field(
        ("tense", "polarity"), description=f"inflectional categories on verbs, from {VERB_CATEGORIES}: 'tense', "
        "'polarity' (negation as an affix, else a particle), 'agreement' (with the subject's number), 'person' "
        "(with the subject's person; with 'agreement' a full person-number paradigm as Finnish -n/-t/-mme/-tte/-vat)")
    vowel_harmony: bool = Field(
        False, description="vowel harmony as in Finnish, Hungarian and Turkish: native stems use only back (a o u) or "
        "only front (ä ö y) vowels and every suffix has a back and a front allomorph chosen by the stem (the stem's "
        "last back or front vowel decides; loanwords with neither take front ones, as in Finnish). Prefixes do not "
        "harmonize. Needs agglutinative or fusional morphology with at least one suffix")
    resource: Literal["high", "low"] = Field("high", description="amount of pretraining text")
    sources: dict[str, str] = Field(default_factory=dict, description="field -> where its value comes from")

    @model_validator(mode="after")
    def _check(self) -> "LanguageSpec":
        for name, cats, allowed in (("noun_categories", self.noun_categories, NOUN_CATEGORIES),
                                    ("verb_categories", self.verb_categories, VERB_CATEGORIES)):
            bad = [c for c in cats if c not in allowed]
            if bad:
                raise ValueError(f"{self.code}: unknown {name[:4]} category {bad[0]!r} in {name}; "
                                 f"allowed: {', '.join(allowed)}")
            if len(set(cats)) < len(cats):
                raise ValueError(f"{self.code}: {name} lists a category twice ({cats}); allowed: {', '.join(allowed)}")
        if self.morphology != "isolating" and not (self.noun_categories or self.verb_categories):
            raise ValueError(
                f"{self.code}: morphology={self.morphology!r} needs at least one inflectional category "
                f"(noun_categories from {NOUN_CATEGORIES}, verb_categories from {VERB_CATEGORIES}); "
                "use morphology='isolating' for a language without inflection"
            )
        if self.case_marking in ("suffixes", "prefixes"):
            if self.morphology == "isolating":
                raise ValueError(f"{self.code}: case_marking={self.case_marking!r} (case affixes) needs morphology "
                                 "'agglutinative' or 'fusional', not 'isolating'; an isolating language marks case "
                                 "with case_marking 'prepositions', 'postpositions' or 'none'")
            if "case" not in self.noun_categories:
                raise ValueError(f"{self.code}: case_marking={self.case_marking!r} needs 'case' in noun_categories "
                                 f"(allowed: {', '.join(NOUN_CATEGORIES)})")
        if self.vowel_harmony:
            if self.morphology == "isolating":
                raise ValueError(f"{self.code}: vowel_harmony=True needs suffixes to harmonize: morphology must be "
                                 "'agglutinative' or 'fusional', not 'isolating'")
            if not self.has_suffixes:
                raise ValueError(f"{self.code}: vowel_harmony=True needs at least one suffix, but every affix is a "
                                 "prefix (case_marking='prefixes', verb_affixes='prefix'); allowed: verb_affixes "
                                 "'suffix', or a noun category other than 'case'")
        return self

    @property
    def has_suffixes(self) -> bool:
        """Whether any inflection is suffixed (fusional nouns put their one ending where case goes)."""
        if self.morphology == "isolating":
            return False
        case_prefix = "case" in self.noun_categories and self.case_marking == "prefixes"
        if self.morphology == "fusional":
            nouns = bool(self.noun_categories) and not case_prefix
        else:
            nouns = any(c != "case" or self.case_marking == "suffixes" for c in self.noun_categories)
        return nouns or (self.verb_affixes == "suffix" and bool(self.verb_categories))


@dataclass(frozen=True)
class Meaning:
    """One proposition: agent VERB patient, with number, modifiers, tense and polarity.

    ``possessor`` (a noun, with ``possessor_pl``) possesses the patient: "the men's dog".
    ``agent_person`` 1, 2 or 3 makes the agent a personal pronoun of that person (its
    number is ``agent_pl``; ``agent`` is then its referent, an animate noun); None means
    a full noun phrase (3rd person).  ``agent_num``/``patient_num`` (2..9, only on a plural
    full noun phrase) is a cardinal numeral of that noun phrase: "the 3 dogs"; None: none.
    """

    agent: int
    verb: int
    patient: int
    agent_pl: bool = False
    patient_pl: bool = False
    agent_adjs: tuple[int, ...] = ()
    patient_adjs: tuple[int, ...] = ()
    tense: int = 0
    neg: bool = False
    possessor: int | None = None
    possessor_pl: bool = False
    agent_person: int | None = None
    agent_num: int | None = None
    patient_num: int | None = None


@dataclass(frozen=True)
class Token:
    """One rendered word with its annotations."""

    form: str
    upos: str  # UD part of speech
    role: str  # "AGENT", "PATIENT", "VERB" or "O"
    feats: str = "_"  # UD FEATS of what the form marks, sorted by feature name, e.g. "Case=Acc|Number=Plur"


@dataclass
class World:
    """The shared concept inventory and meaning generator (identical for all languages).

    ``pref`` is the probability that an argument comes from the verb's preferred noun
    class; ``fingerprint`` the probability that it comes from a small verb-specific set.
    Both make lexical meaning visible in word distributions, which is what lets a tiny
    encoder learn (and align) it from monolingual text.  ``pronoun_share`` of meanings
    whose verb wants an animate agent get a personal-pronoun agent (never when the
    caller fixes the agent); ``possessor_share`` of meanings get a possessor of the patient.
    ``numeral_share`` of plural full noun phrases (agent or patient; never a pronoun) get a
    cardinal numeral 2..9; at 0 nothing is drawn for it, so the draws are those from before
    the knob existed.
    """

    seed: int = 0
    pref: float = 0.9
    fingerprint: float = 0.7
    pronoun_share: float = 0.15
    possessor_share: float = 0.25
    numeral_share: float = 0.0

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
        # cumulative weights once, not per draw (random.choices gives the same draws either way)
        self._verb_cum = list(accumulate(self._zipf[:N_VERBS]))
        self._n_adjs_cum = list(accumulate((0.4, 0.4, 0.2)))

    def _noun(self, r: random.Random, cls: int, special: list[int]) -> int:
        if r.random() < self.fingerprint:
            return r.choice(special)
        if r.random() < self.pref:
            return r.choice(self.nouns_of[cls])
        return r.randrange(N_NOUNS)

    def _adjs(self, r: random.Random, noun: int) -> tuple[int, ...]:
        k = r.choices((0, 1, 2), cum_weights=self._n_adjs_cum)[0]
        out: list[int] = []
        for _ in range(k):
            a = r.choice(self.noun_adjs[noun]) if r.random() < self.fingerprint else r.randrange(N_ADJS)
            if a not in out:
                out.append(a)
        return tuple(out)

    def meaning(self, r: random.Random, verb: int | None = None, agent: int | None = None,
                patient: int | None = None) -> Meaning:
        """Draw a meaning; ``verb``/``agent``/``patient`` fix those slots."""
        v = verb if verb is not None else r.choices(range(N_VERBS), cum_weights=self._verb_cum)[0]
        person = None
        if agent is None and self.verb_agent_class[v] in ANIMATE_CLASSES and r.random() < self.pronoun_share:
            person = r.randrange(1, 4)
            a = r.choice(self.verb_agents[v])  # the pronoun's referent: animate, the verb's kind of agent
        else:
            a = agent if agent is not None else self._noun(r, self.verb_agent_class[v], self.verb_agents[v])
        p = patient if patient is not None else self._noun(r, self.verb_patient_class[v], self.verb_patients[v])
        while p == a:
            p = r.randrange(N_NOUNS)
        agent_pl, patient_pl = r.random() < 0.5, r.random() < 0.5
        agent_adjs = self._adjs(r, a) if person is None else ()
        patient_adjs, tense, neg = self._adjs(r, p), r.randrange(3), r.random() < 0.3
        possessor, possessor_pl = None, False
        if r.random() < self.possessor_share:  # mostly people own things: "the woman's dog"
            possessor = r.choice(self.nouns_of[0]) if r.random() < 0.6 else r.randrange(N_NOUNS)
            while possessor in (a, p):
                possessor = r.randrange(N_NOUNS)
            possessor_pl = r.random() < 0.5
        agent_num = patient_num = None
        if self.numeral_share > 0:  # drawn last, and only with the knob on: without it the draws are unchanged
            if agent_pl and person is None and r.random() < self.numeral_share:
                agent_num = r.randint(2, 9)
            if patient_pl and r.random() < self.numeral_share:
                patient_num = r.randint(2, 9)
        return Meaning(agent=a, verb=v, patient=p, agent_pl=agent_pl, patient_pl=patient_pl, agent_adjs=agent_adjs,
                       patient_adjs=patient_adjs, tense=tense, neg=neg, possessor=possessor,
                       possessor_pl=possessor_pl, agent_person=person, agent_num=agent_num, patient_num=patient_num)


# ---- sounds and forms --------------------------------------------------------------------
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


@dataclass
class Language:
    """A :class:`LanguageSpec` with its lexicon and grammatical markers, ready to render.

    ``shared_forms`` are concept key -> form common to all lab languages (names,
    loanwords); ``proto_forms`` concept key -> proto-form of the cognates, which this
    language changes by its :attr:`sounds`.  Each concept has ``n_synonyms`` synonyms,
    used instead of the main form in ``synonym_rate`` of the content words rendered with
    a random generator.
    """

    spec: LanguageSpec
    lab_seed: int
    shared_forms: dict[str, str] = field(default_factory=dict)
    proto_forms: dict[str, str] = field(default_factory=dict)
    n_synonyms: int = 1
    synonym_rate: float = 0.0

    def __post_init__(self):
        s = self.spec
        self._iso = s.morphology == "isolating"
        self._case_affix = "case" in s.noun_categories and s.case_marking in ("suffixes", "prefixes")
        self._case_prefix = self._case_affix and s.case_marking == "prefixes"
        self._cache: dict[tuple, tuple[Token, ...]] = {}
        self._front: dict[str, bool] = {}

    # ---- lexicon ---------------------------------------------------------------------
    @cached_property
    def sounds(self) -> dict[str, str]:
        """Regular sound correspondences: proto-sound -> this language's sound."""
        return sound_correspondences(self.lab_seed, self.spec)

    def _own_form(self, r: random.Random, used: set[str]) -> str:
        if self.spec.vowel_harmony:  # a native stem is all back or all front
            return _new_form(r, used, 2, 3, r.choice((BACK_VOWELS, FRONT_VOWELS)))
        return _new_form(r, used, 2, 3)

    @cached_property
    def lexicon(self) -> dict[str, str]:
        """Concept key ('n12', 'v3', 'a7') -> word form."""
        r = random.Random(f"{self.lab_seed}-lex-{self.spec.code}")
        used = set(self.shared_forms.values())
        table = str.maketrans(self.sounds)
        lex = dict(self.shared_forms)
        for key, proto in self.proto_forms.items():
            form = proto.translate(table)
            if form not in used:  # a chance merger with a loanword: that concept gets its own form
                lex[key] = form
                used.add(form)
        for key in concept_keys():
            if key not in lex:
                lex[key] = self._own_form(r, used)
        return {k: lex[k] for k in concept_keys()}

    @cached_property
    def cognate_keys(self) -> list[str]:
        """Concepts whose form is this language's reflex of the proto-form."""
        table = str.maketrans(self.sounds)
        return [k for k, p in self.proto_forms.items() if self.lexicon[k] == p.translate(table)]

    @cached_property
    def synonym_table(self) -> dict[str, list[str]]:
        """Concept key -> its ``n_synonyms`` synonyms (forms unused by any main form)."""
        r = random.Random(f"{self.lab_seed}-syn-{self.spec.code}")
        used = set(self.lexicon.values())
        return {k: [self._own_form(r, used) for _ in range(self.n_synonyms)] for k in concept_keys()}

    @cached_property
    def markers(self) -> dict[str, str]:
        """Grammatical marker key -> form (affix or particle, by morphology); suffixes in
        their back form in a harmonic language.  Also the personal pronouns ('PRON.1SG')."""
        r = random.Random(f"{self.lab_seed}-mark-{self.spec.code}")
        used: set[str] = set()
        fusional = self.spec.morphology == "fusional"
        keys = ["PL", "ACC", "NOM", "PAST", "FUT", "NEG", "3PL"]
        agr = ("1SG", "2SG", "1PL", "2PL", "1", "2")  # person-number; "1", "2": person only ("3PL": number only)
        if fusional:  # one portmanteau per combination of values
            keys += [f"N.{pl}.{c}" for pl in "SP" for c in ("NOM", "ACC")]
            keys += [f"V.{t}.{n}.{a}" for t in TENSES for n in "PN" for a in "SP"]
        keys += ["GEN", "PSOR.SG", "PSOR.PL", *agr] + [f"PRON.{p}{n}" for p in "123" for n in ("SG", "PL")]
        if fusional:  # N.<number>.<case>[.<possessor number>]
            keys += [f"N.{pl}.GEN" for pl in "SP"]
            keys += [f"N.{pl}.{c}.{ps}" for pl in "SP" for c in ("NOM", "ACC", "GEN") for ps in ("SG", "PL")]
            keys += [f"V.{t}.{n}.{a}" for t in TENSES for n in "PN" for a in agr]
        vowels = BACK_VOWELS if self.spec.vowel_harmony else VOWELS
        return {k: _new_form(r, used, 1, 1, vowels) for k in keys}

    # ---- rendering -------------------------------------------------------------------
    def _suffix(self, stem: str, suffix: str) -> str:
        """``suffix`` in the allomorph ``stem`` selects (vowel harmony)."""
        if not suffix or not self.spec.vowel_harmony:
            return suffix
        front = self._front.get(stem)
        if front is None:
            front = self._front[stem] = is_front(stem)
        return suffix.translate(_TO_FRONT) if front else suffix

    def _word(self, key: str, r: random.Random | None) -> str:
        """Main form of concept ``key``, or (drawn with ``r``) one of its synonyms."""
        if r is not None and r.random() < self.synonym_rate and self.n_synonyms:
            return r.choice(self.synonym_table[key])
        return self.lexicon[key]

    def _nominal(self, stem: str, pl: bool, case: str, psor: str | None, role: str) -> tuple[Token, ...]:
        """The inflected noun and its separate grammatical words (isolating plural and
        possessive words); ``psor`` is the possessor's number ('SG'/'PL') or None."""
        key = (stem, pl, case, psor, role)
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        s, m = self.spec, self.markers
        has_number, possessed = "number" in s.noun_categories, psor if "possession" in s.noun_categories else None
        number = has_number and pl
        psor_feats = {"Number_psor": "Plur" if psor == "PL" else "Sing", "Person_psor": "3"} if possessed else {}
        if self._iso:
            toks = [Token(stem, "NOUN", role)]
            if number:
                toks.append(Token(m["PL"], "DET", role, "Number=Plur"))  # plural word, as in Tagalog 'mga'
            if possessed:
                toks.append(Token(m[f"PSOR.{psor}"], "PART", role, _feats(**psor_feats)))
            out = tuple(toks)
        else:
            affixed_case = case if self._case_affix and case != "NOM" else ""  # the nominative is unmarked
            if s.morphology == "agglutinative":  # stem-PL-PSOR-CASE, as Turkish ev-ler-im-i
                suffix = (m["PL"] if number else "") + (m[f"PSOR.{psor}"] if possessed else "")
                prefix = m[affixed_case] if affixed_case and self._case_prefix else ""
                suffix += m[affixed_case] if affixed_case and not self._case_prefix else ""
            else:  # fusional: one ending for number+case(+possessor), zero for a bare singular nominative
                k = f"N.{'P' if number else 'S'}.{case if self._case_affix else 'NOM'}"
                k += f".{psor}" if possessed else ""
                ending = m[k] if k != "N.S.NOM" else ""
                prefix, suffix = (ending, "") if self._case_prefix else ("", ending)
            feats = _feats(Case=_CASE_FEAT[case] if self._case_affix else None,
                           Number=("Plur" if pl else "Sing") if has_number else None, **psor_feats)
            out = (Token(prefix + stem + self._suffix(stem, suffix), "NOUN", role, feats),)
        self._cache[key] = out
        return out

    def _genitive(self, noun: int, pl: bool, role: str, r: random.Random | None) -> list[Token]:
        """The possessor's phrase: a genitive affix where case is affixal, else a genitive
        adposition, else (case_marking 'none') a linker word between possessor and possessed."""
        s, m = self.spec, self.markers
        toks = list(self._nominal(self._word(f"n{noun}", r), pl, "GEN" if self._case_affix else "NOM", None, role))
        if self._case_affix:
            return toks
        if s.case_marking == "postpositions":
            return toks + [Token(m["GEN"], "ADP", role)]  # Japanese 'no'
        if s.case_marking == "prepositions":
            return [Token(m["GEN"], "ADP", role)] + toks  # French 'de'
        link = Token(m["GEN"], "PART", role)  # English 's (before) / Swahili 'ya' (after)
        return toks + [link] if s.genitive_position == "before" else [link] + toks

    def _noun_phrase(self, noun: int, pl: bool, adjs: tuple[int, ...], case: str, role: str,
                     r: random.Random | None = None, possessor: int | None = None, possessor_pl: bool = False,
                     person: int | None = None, num: int | None = None) -> list[Token]:
        """Genitive, numeral, adjectives and noun (or a pronoun) with their case words.

        A numeral (``num``, digits, the same in every language) opens the noun and its
        adjectives in every language, whatever the adjective position: "3 big dogs",
        "3 dogs big"; a possessor's genitive and a case preposition stay outside it."""
        s, m = self.spec, self.markers
        if person is not None:  # a personal pronoun: one word, number and person in its form
            pn = f"{person}{'PL' if pl else 'SG'}"
            head = [Token(m[f"PRON.{pn}"], "PRON", role, _feats(
                Case=_CASE_FEAT[case] if self._case_affix else None, Number="Plur" if pl else "Sing",
                Person=str(person), PronType="Prs"))]
        else:
            psor = ("PL" if possessor_pl else "SG") if possessor is not None else None
            head = list(self._nominal(self._word(f"n{noun}", r), pl, case, psor, role))
        adj_toks = [Token(self._word(f"a{a}", r), "ADJ", role) for a in adjs]
        np = adj_toks + head if s.adjective_position == "before" else head + adj_toks
        if num is not None and person is None:
            np.insert(0, Token(str(num), "NUM", role, "NumType=Card"))
        if possessor is not None:
            gen = self._genitive(possessor, possessor_pl, role, r)
            np = gen + np if s.genitive_position == "before" else np + gen
        if s.case_marking == "postpositions":
            np.append(Token(m[case], "ADP", role))
        elif s.case_marking == "prepositions" and case == "ACC":
            np.insert(0, Token(m["ACC"], "ADP", role))
        return np

    def _agreement(self, person: int, pl: bool) -> str | None:
        """Marker key of the verb's subject agreement, None where it is zero."""
        cats = self.spec.verb_categories
        number, pers = "agreement" in cats, "person" in cats
        if number and pers:
            return None if (person, pl) == (3, False) else f"{person}{'PL' if pl else 'SG'}"
        if number:
            return "3PL" if pl else None
        return str(person) if pers and person != 3 else None

    def _verb_phrase(self, mng: Meaning, r: random.Random | None = None) -> list[Token]:
        stem = self._word(f"v{mng.verb}", r)
        person = mng.agent_person or 3
        key = ("V", stem, mng.tense, mng.neg, person, mng.agent_pl)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = tuple(self._verb_words(stem, mng.tense, mng.neg, person, mng.agent_pl))
        return list(hit)

    def _verb_words(self, stem: str, tense_i: int, neg: bool, person: int, pl: bool) -> list[Token]:
        s, m = self.spec, self.markers
        cats = s.verb_categories
        tense = TENSES[tense_i] if "tense" in cats else "PRES"
        agr = self._agreement(person, pl)  # polarity is always expressed; 'polarity' in cats makes it an affix
        agr_feats = {"Number": ("Plur" if pl else "Sing") if "agreement" in cats else None,
                     "Person": str(person) if "person" in cats else None}
        neg_word = [Token(m["NEG"], "PART", "O", "Polarity=Neg")]
        if self._iso:
            parts = (neg_word if neg else []) + \
                    ([Token(m[tense], "AUX", "O", f"Tense={_TENSE_FEAT[tense]}")] if tense != "PRES" else [])
            agr_word = [Token(m[agr], "PART", "O", _feats(**agr_feats))] if agr else []
            return parts + [Token(stem, "VERB", "VERB")] + agr_word
        neg_affixed = neg and "polarity" in cats
        if s.morphology == "agglutinative":
            affixes = (m["NEG"] if neg_affixed else "") + (m[tense] if tense != "PRES" else "") + \
                (m[agr] if agr else "")
        else:
            a = "S" if agr is None else "P" if agr == "3PL" else agr
            k = f"V.{tense}.{'N' if neg_affixed else 'P'}.{a}"
            affixes = m[k] if k != "V.PRES.P.S" else ""
        word = affixes + stem if s.verb_affixes == "prefix" else stem + self._suffix(stem, affixes)
        feats = _feats(Tense=_TENSE_FEAT[tense] if "tense" in cats else None,
                       Polarity=("Neg" if neg else "Pos") if "polarity" in cats else None, **agr_feats)
        return (neg_word if neg and not neg_affixed else []) + [Token(word, "VERB", "VERB", feats)]

    def render(self, mng: Meaning, r: random.Random | None = None) -> list[Token]:
        """The sentence for ``mng`` as annotated tokens; ``r`` draws the free word order
        and the synonyms (without ``r``: the basic order and main forms only)."""
        s = self.spec
        syn = r if self.synonym_rate > 0 else None  # draws nothing from r when there are no synonyms to draw
        parts = {"S": self._noun_phrase(mng.agent, mng.agent_pl, mng.agent_adjs, "NOM", "AGENT", syn,
                                        person=mng.agent_person, num=mng.agent_num),
                 "O": self._noun_phrase(mng.patient, mng.patient_pl, mng.patient_adjs, "ACC", "PATIENT", syn,
                                        mng.possessor, mng.possessor_pl, num=mng.patient_num),
                 "V": self._verb_phrase(mng, syn)}
        order = s.word_order
        if s.order_freedom and r is not None and r.random() < s.order_freedom:
            order = r.choice(WORD_ORDERS)
        return [t for k in order for t in parts[k]]

    def sentence(self, mng: Meaning, r: random.Random | None = None) -> str:
        return " ".join(t.form for t in self.render(mng, r))


def concept_keys() -> list[str]:
    return [f"n{i}" for i in range(N_NOUNS)] + [f"v{i}" for i in range(N_VERBS)] + [f"a{i}" for i in range(N_ADJS)]


@dataclass
class Lab:
    """A world plus a set of languages: the whole synthetic lab for one seed.

    Lexicon knobs: ``shared_share`` of concepts have one identical form in every language
    (names, loanwords); ``cognate_share`` (disjoint from them) descend from one proto-form
    through each language's regular sound correspondences; every concept has
    ``n_synonyms`` synonyms, rendered instead of the main form in ``synonym_rate`` of
    content words.  ``numeral_share`` of plural full noun phrases carry a cardinal numeral
    2..9 written in digits, identical in every language (shared anchors, as digits are in
    real text); 0 (the default) draws nothing for it, so every corpus and task set is as
    before the knob existed.  ``specs`` adds languages of your own (code -> spec) besides
    the presets.

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
    cognate_share: float = 0.0
    n_synonyms: int = 1
    synonym_rate: float = 0.0
    pronoun_share: float = 0.15
    possessor_share: float = 0.25
    specs: dict[str, LanguageSpec] = field(default_factory=dict)
    numeral_share: float = 0.0

    def __post_init__(self):
        for name in ("shared_share", "cognate_share", "synonym_rate", "pronoun_share", "possessor_share",
                     "numeral_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"Lab.{name}={getattr(self, name)!r}: allowed values are 0 to 1")
        if self.shared_share + self.cognate_share > 1:
            raise ValueError(f"Lab.shared_share + Lab.cognate_share = {self.shared_share + self.cognate_share:g}: "
                             "shared and cognate concepts are disjoint, so the two shares may add up to at most 1")
        if self.n_synonyms < 0 or (self.synonym_rate > 0 and self.n_synonyms < 1):
            raise ValueError(f"Lab.n_synonyms={self.n_synonyms!r}: allowed values are integers >= 0, and >= 1 "
                             f"when synonym_rate > 0 (it is {self.synonym_rate!r})")
        for code, spec in self.specs.items():
            if spec.code != code:
                raise ValueError(f"Lab.specs: key {code!r} differs from its spec's code {spec.code!r}")
        self.world = World(seed=self.lab_seed, pref=self.pref, fingerprint=self.fingerprint,
                           pronoun_share=self.pronoun_share, possessor_share=self.possessor_share,
                           numeral_share=self.numeral_share)
        r = random.Random(f"{self.lab_seed}-shared")
        keys = concept_keys()
        shared_keys = sorted(r.sample(keys, round(self.shared_share * len(keys))), key=keys.index)
        used: set[str] = set()
        self.shared_forms = {k: _new_form(r, used, 2, 3) for k in shared_keys}
        r = random.Random(f"{self.lab_seed}-cognates")  # its own stream: shared forms do not depend on it
        rest = [k for k in keys if k not in self.shared_forms]
        cognate_keys = sorted(r.sample(rest, round(self.cognate_share * len(keys))), key=keys.index)
        self.proto_forms = {k: _new_form(r, used, 2, 3) for k in cognate_keys}
        self._langs = {c: Language(self.specs[c] if c in self.specs else get_spec(c), self.lab_seed, self.shared_forms,
                                   self.proto_forms, self.n_synonyms, self.synonym_rate) for c in self.langs}

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

    def synonyms(self, lang: str) -> dict[str, list[str]]:
        """Synonym table of ``lang``: main form -> its synonyms (empty lists if n_synonyms=0)."""
        language = self.language(lang)
        return {language.lexicon[k]: list(v) for k, v in language.synonym_table.items()}

    def cognates(self, src: str, tgt: str) -> dict[str, str]:
        """Cognate pairs, ``src`` form -> ``tgt`` form: concepts that descend from one
        proto-form in both languages (shared loanwords are not cognates)."""
        a, b = self.language(src), self.language(tgt)
        both = set(b.cognate_keys)
        return {a.lexicon[k]: b.lexicon[k] for k in a.cognate_keys if k in both}

    def sound_correspondences(self, lang: str) -> dict[str, str]:
        """Proto-sound -> sound in ``lang``, the regular changes its cognates went through."""
        return dict(self.language(lang).sounds)


# Presets live in xltkit.lab.presets (they import LanguageSpec from here); re-exported for callers.
from xltkit.lab.presets import DEFAULT_LANGS, PRESETS, SERIES, get_spec, morphology_series  # noqa: E402,F401
