"""The lab's seven tasks, one small class each; registered on import.

A new lab task is one class here (or in a module of its own) and one ``register_task``
line: its fingerprint hashes its own class and the shared machinery
(:mod:`xltkit.tasks.lab.base`, :mod:`xltkit.tasks.lab.pairs` for pairs, the lab's grammar),
so adding it changes no other task's cache key.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from functools import cached_property

from xltkit.lab import N_NOUNS, PRESETS, Lab, Language, Meaning, Token
from xltkit.tasks.registry import register_task
from xltkit.tasks.lab.base import PairTask, SentenceTask, TaggingTask
from xltkit.tasks.lab.pairs import nli_candidate, paws_candidate

UPOS = ("NOUN", "VERB", "ADJ", "ADP", "AUX", "PART", "DET", "PRON", "NUM")
ROLE_TAGS = ("O", "B-AGENT", "I-AGENT", "B-PATIENT", "I-PATIENT", "B-VERB")
NLI_LABELS = ("entailment", "neutral", "contradiction")
PAWS_LABELS = ("not_paraphrase", "paraphrase")


class Anim(SentenceTask):
    name = "anim"
    labels = ("inanimate_agent", "animate_agent")
    description = ("Is the agent animate? Exactly one of agent and patient is animate, so the model must find the "
                   "agent (word order, case) and know the noun's animacy (learnt from word distributions).")

    def draw(self, lab: Lab, r: random.Random) -> tuple[Meaning, int]:
        w = lab.world
        y = int(r.random() < 0.5)
        m = w.meaning(r)
        animate, inanimate = sorted(w.animate), [n for n in range(N_NOUNS) if n not in w.animate]
        a, p = (r.choice(animate), r.choice(inanimate)) if y else (r.choice(inanimate), r.choice(animate))
        return w.meaning(r, verb=m.verb, agent=a, patient=p), y


class VAgent(SentenceTask):
    name = "vagent"
    labels = ("inanimate_agent_verb", "animate_agent_verb")
    description = "Does the verb select an animate agent? Lexical semantics of the verb, visible in its arguments."

    def draw(self, lab: Lab, r: random.Random) -> tuple[Meaning, int]:
        w = lab.world
        y = int(r.random() < 0.5)
        verbs = [v for v, c in enumerate(w.verb_agent_class) if (c in (0, 1)) == bool(y)]
        return w.meaning(r, verb=r.choice(verbs)), y


class Roles(TaggingTask):
    name = "roles"
    labels = ROLE_TAGS
    metrics = ("span_f1", "token_accuracy")  # seqeval span F1, as XTREME scores NER
    description = "Semantic-role spans (BIO): agent and patient noun phrases and the verb."

    def tags(self, toks: list[Token]) -> list[str]:
        tags, prev = [], "O"
        for t in toks:
            if t.role == "VERB":
                tags.append("B-VERB")
            elif t.role == "O":
                tags.append("O")
            else:
                tags.append(("I-" if prev == t.role else "B-") + t.role)
            prev = t.role
        return tags


class Pos(TaggingTask):
    name = "pos"
    labels = UPOS
    description = "Universal Dependencies part of speech of every word."

    def tags(self, toks: list[Token]) -> list[str]:
        return [t.upos for t in toks]


class Feats(TaggingTask):
    name = "feats"
    description = ("Morphological features of every word as one UD FEATS value (e.g. Case=Acc|Number=Plur): what "
                   "the word's form marks in its language, so the label set differs between languages.")

    @cached_property
    def labels(self) -> tuple[str, ...]:
        """Every UD FEATS value a preset language can give a word ("_" first), found by
        rendering each preset over all grammatical contrasts (number, tense, polarity,
        possessor, pronoun person, numeral); forms do not matter, so one seed serves.
        Computed on first use, not on import.

        Tags are stored as indices into it, so values added with later features (numerals)
        come after the sorted older ones: existing task sets keep their indices."""
        out, nums = set(), set()
        for spec in PRESETS.values():
            lang = Language(spec, 0)
            for apl, ppl, tense, neg, psor, person in itertools.product((0, 1), (0, 1), range(3), (0, 1),
                                                                        (None, 0, 1), (None, 1, 2, 3)):
                m = Meaning(agent=0, verb=0, patient=2, agent_pl=bool(apl), patient_pl=bool(ppl), agent_adjs=(4,),
                            tense=tense, neg=bool(neg), possessor=None if psor is None else 5,
                            possessor_pl=bool(psor), agent_person=person)
                out.update(t.feats for t in lang.render(m))
                nums.update(t.feats for t in lang.render(replace(m, agent_num=3 if apl and person is None else None,
                                                                 patient_num=3 if ppl else None)))
        return ("_", *sorted(out - {"_"}), *sorted(nums - out - {"_"}))

    def tags(self, toks: list[Token]) -> list[str]:
        return [t.feats for t in toks]


class Nli(PairTask):
    name = "nli"
    labels = NLI_LABELS
    description = ("Natural language inference (XNLI-style): does the premise entail, contradict or say nothing "
                   "about the hypothesis? Labels are computed from the two meanings (see pairs.nli_label); length "
                   "difference and word overlap are balanced across labels.")

    def candidate(self, lab: Lab, r: random.Random):
        return nli_candidate(lab, r)


class Paws(PairTask):
    name = "paws"
    labels = PAWS_LABELS
    description = ("Paraphrase identification (PAWS-style): the two sentences have the same words; paraphrases "
                   "reorder the modifiers of a noun, non-paraphrases trade a modifier with the other noun, so word "
                   "overlap cannot solve it.")

    def candidate(self, lab: Lab, r: random.Random):
        return paws_candidate(lab, r)


for _task in (Anim(), VAgent(), Roles(), Pos(), Feats(), Nli(), Paws()):
    register_task(_task)
