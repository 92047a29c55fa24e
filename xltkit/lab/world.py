"""The lab's world: the concept inventory and the meaning generator, shared by all languages.

A *world* is a fixed inventory of concepts (nouns in semantic classes, verbs with
selectional preferences, adjectives) and a generator of meanings (who does what to whom,
when, negated or not, whose patient; the agent sometimes a personal pronoun).  A meaning
(:class:`Meaning`) is language-independent; rendering it in a language gives
:class:`Token` s with word-level annotations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

N_NOUNS, N_VERBS, N_ADJS = 80, 48, 40
NOUN_CLASSES = ("person", "animal", "object", "place")  # the first two are animate
ANIMATE_CLASSES = (0, 1)
TENSES = ("PRES", "PAST", "FUT")


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


def concept_keys() -> list[str]:
    """Every concept's key, in the lexicon's order: nouns 'n0'.., verbs 'v0'.., adjectives 'a0'.."""
    return [f"n{i}" for i in range(N_NOUNS)] + [f"v{i}" for i in range(N_VERBS)] + [f"a{i}" for i in range(N_ADJS)]
