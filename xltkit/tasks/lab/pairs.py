"""Pair tasks of the lab (NLI, PAWS): hypotheses made from a premise by named edits, labels
computed from the two meanings, and label balancing within surface cells so that length
and word overlap tell little about the label (Huang et al. 2021 evaluate robustness on
XNLI- and PAWS-X-style pairs; McCoy et al. 2019 and Zhang et al. 2019 on the overlap cue).
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace

import pandas as pd

from xltkit.lab import N_ADJS, N_VERBS, Lab, Meaning

# ---- pair tasks (NLI, PAWS) ------------------------------------------------------------
# Adjectives come in antonym pairs (2k, 2k+1): two opposite values of one dimension
# (big/small), so a referent cannot carry both.  The first pair is inherent: adjective 0
# ("alive") holds of every animate noun, adjective 1 ("lifeless") of every inanimate
# one, so "the dog ..." entails "the alive dog ..." and contradicts "the lifeless dog ...":
# NLI then needs the lexical knowledge (animacy) that the other tasks need.
def antonym(adj: int) -> int:
    return adj ^ 1


def inherent(lab: Lab, noun: int) -> int:
    """The adjective every referent of ``noun`` has (0 alive / 1 lifeless)."""
    return 0 if noun in lab.world.animate else 1


def _clean(lab: Lab, noun: int, adjs: tuple[int, ...]) -> tuple[int, ...]:
    """``adjs`` without clashes: no adjective whose antonym came earlier ('big small dog'),
    none contradicting the noun's inherent property ('lifeless dog')."""
    out: list[int] = []
    for a in adjs:
        if a not in out and antonym(a) not in out and a != antonym(inherent(lab, noun)):
            out.append(a)
    return tuple(out)


def _attributes(lab: Lab, m: Meaning) -> tuple[set[int], set[int]]:
    """What a meaning says of its agent and patient: their modifiers and inherent properties."""
    return set(m.agent_adjs) | {inherent(lab, m.agent)}, set(m.patient_adjs) | {inherent(lab, m.patient)}


def _np_adjs(m: Meaning, np: str) -> tuple[int, ...]:
    return m.agent_adjs if np == "agent" else m.patient_adjs


def _with_adjs(m: Meaning, np: str, adjs: tuple[int, ...]) -> Meaning:
    return replace(m, **{f"{np}_adjs": tuple(adjs)})


def nli_label(lab: Lab, premise: Meaning, hypothesis: Meaning) -> int:
    """Index into :data:`NLI_LABELS` of the relation between two meanings, read as
    descriptions of one event with definite referents:

    - another event (different verb, participants, roles, number or tense): *neutral*;
    - opposite polarity, or a referent given an attribute whose antonym the premise
      gives it (or that contradicts its inherent property): *contradiction*;
    - every attribute the hypothesis gives a referent is given by the premise or
      inherent: *entailment*; else *neutral*.
    """
    same_event = replace(hypothesis, agent_adjs=premise.agent_adjs, patient_adjs=premise.patient_adjs,
                         neg=premise.neg) == premise
    if not same_event:
        return 1
    known = _attributes(lab, premise)
    said = (set(hypothesis.agent_adjs), set(hypothesis.patient_adjs))
    clash = any(antonym(a) in k for k, s in zip(known, said) for a in s)
    if clash or premise.neg != hypothesis.neg:
        return 2
    return 0 if all(s <= k for k, s in zip(known, said)) else 1


def is_paraphrase(a: Meaning, b: Meaning) -> bool:
    """Same meaning up to the order of the modifiers of a noun."""
    return replace(b, agent_adjs=tuple(sorted(b.agent_adjs)), patient_adjs=tuple(sorted(b.patient_adjs))) == \
        replace(a, agent_adjs=tuple(sorted(a.agent_adjs)), patient_adjs=tuple(sorted(a.patient_adjs)))


def _nli_edit(lab: Lab, m: Meaning, edit: str, r: random.Random) -> Meaning | None:
    """``m`` changed by one named edit, or None where the edit does not apply.

    A modifier added or swapped in is the noun's inherent property, its opposite or
    another adjective with equal chance, so the same surface edit leads to every label.
    """
    w = lab.world
    np = r.choice(("agent", "patient"))
    noun = m.agent if np == "agent" else m.patient
    adjs = list(_np_adjs(m, np))

    def new_adj() -> int:
        free = [a for a in range(2, N_ADJS) if a not in adjs and antonym(a) not in adjs]
        return r.choice([inherent(lab, noun), antonym(inherent(lab, noun)), r.choice(free)])

    if edit == "modifier_dropped":
        if not adjs:
            return None
        adjs.pop(r.randrange(len(adjs)))
        return _with_adjs(m, np, tuple(adjs))
    if edit == "modifier_added":
        a = new_adj()
        return _with_adjs(m, np, tuple(adjs) + (a,)) if len(adjs) < 3 and a not in adjs else None
    if edit in ("modifier_changed", "antonym"):
        if not adjs:
            return None
        i = r.randrange(len(adjs))
        a = antonym(adjs[i]) if edit == "antonym" else new_adj()
        if a in adjs:
            return None
        adjs[i] = a
        return _with_adjs(m, np, tuple(adjs))
    if edit == "reorder_modifiers":
        return _with_adjs(m, np, tuple(reversed(adjs))) if len(adjs) >= 2 else None
    if edit == "modifier_swap":  # one modifier of the agent trades places with one of the patient
        if not (m.agent_adjs and m.patient_adjs):
            return None
        ag, pa = list(m.agent_adjs), list(m.patient_adjs)
        i, j = r.randrange(len(ag)), r.randrange(len(pa))
        ag[i], pa[j] = pa[j], ag[i]
        return replace(m, agent_adjs=tuple(ag), patient_adjs=tuple(pa)) if len(set(ag)) == len(ag) and \
            len(set(pa)) == len(pa) else None
    if edit == "negation":
        return replace(m, neg=not m.neg)
    if edit == "tense":
        return replace(m, tense=r.choice([t for t in range(3) if t != m.tense]))
    if edit == "role_swap":
        return replace(m, agent=m.patient, patient=m.agent, agent_pl=m.patient_pl, patient_pl=m.agent_pl,
                       agent_adjs=m.patient_adjs, patient_adjs=m.agent_adjs, agent_num=m.patient_num,
                       patient_num=m.agent_num)
    if edit == "other_noun":
        other = m.patient if np == "agent" else m.agent
        cands = [n for n in w.nouns_of[w.noun_class[noun]] if n not in (noun, other)]
        return replace(m, **{np: r.choice(cands)})
    if edit == "other_verb":
        return replace(m, verb=r.choice([v for v in range(N_VERBS) if v != m.verb]))
    raise ValueError(f"unknown edit {edit!r}")


NLI_EDITS = ("modifier_dropped", "modifier_added", "modifier_changed", "antonym", "reorder_modifiers", "modifier_swap",
             "negation", "tense", "role_swap", "other_noun", "other_verb")


def _premise(lab: Lab, r: random.Random) -> Meaning:
    """A meaning with full noun phrases (no pronoun agent: swaps and modifiers need nouns)
    and no clashing modifiers."""
    m = lab.world.meaning(r)
    return replace(m, agent_person=None, agent_adjs=_clean(lab, m.agent, m.agent_adjs),
                   patient_adjs=_clean(lab, m.patient, m.patient_adjs))


def nli_candidate(lab: Lab, r: random.Random) -> tuple[Meaning, Meaning, int, list[str]]:
    """A premise, a hypothesis made by one or two edits, its label and the edits."""
    p = _premise(lab, r)
    while True:
        edits = r.sample(NLI_EDITS, r.choice((1, 2)))
        h: Meaning | None = p
        for e in edits:
            h = _nli_edit(lab, h, e, r) if h is not None else None
        if h is not None and h != p:
            return p, h, nli_label(lab, p, h), sorted(edits)


def paws_candidate(lab: Lab, r: random.Random) -> tuple[Meaning, Meaning, int, list[str]]:
    """A pair with the same words: one noun phrase has two modifiers, the other one.

    Paraphrase: the two modifiers of a noun swap places.  Not a paraphrase: a modifier of
    one noun swaps places with the other noun's.  Both move exactly two words and keep
    every form (modifiers do not inflect), in every lab language, so neither the bag of
    words nor the number of moved words tells the label.  (Swapping the nouns themselves
    would change their case forms in case-marking languages and give the label away
    there; role swaps are in ``nli``.)
    """
    m = _premise(lab, r)
    two = r.choice(("agent", "patient"))
    one = "patient" if two == "agent" else "agent"
    pool = list(range(2, N_ADJS))  # not the inherent pair
    r.shuffle(pool)
    chosen: list[int] = []
    for a in pool:
        if antonym(a) not in chosen:
            chosen.append(a)
        if len(chosen) == 3:
            break
    m = _with_adjs(_with_adjs(m, two, tuple(chosen[:2])), one, (chosen[2],))
    y = int(r.random() < 0.5)
    if y:
        edit, h = "reorder_modifiers", _with_adjs(m, two, tuple(reversed(chosen[:2])))
    else:
        i = r.randrange(2)
        moved = list(chosen[:2])
        moved[i], other = chosen[2], chosen[i]
        edit, h = "modifier_swap", _with_adjs(_with_adjs(m, two, tuple(moved)), one, (other,))
    assert is_paraphrase(m, h) == bool(y)
    return m, h, y, [edit]


def _surface_cell(a: list[str], b: list[str]) -> tuple[int, int, int, int]:
    """What the balancing equalizes across labels: the number of word types only in the
    first and only in the second sentence (each clipped at 2), which fix the word overlap
    and the length difference, how many positions hold different words (0-2, 3-4, 5+) and
    the first sentence's length (up to 5, 6-8, 9+ words)."""
    sa, sb = set(a), set(b)
    moved = sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
    return min(len(sa - sb), 2), min(len(sb - sa), 2), (moved > 2) + (moved > 4), (len(a) > 5) + (len(a) > 8)


def _reference(lab: Lab):
    """The English-like language, whose surface the test sets are balanced on."""
    try:
        return lab.language("lab_eng")
    except ValueError:  # the same lab (seed, lexicon knobs) with the English-like language only
        return replace(lab, langs=["lab_eng"]).language("lab_eng")


def pair_examples(lab: Lab, candidate, n_labels: int, lang: str, lang2: str, n: int, stream: str) -> pd.DataFrame:
    """Pairs whose labels are balanced within every surface cell (see
    :func:`_surface_cell`), so overlap and length do not predict the label better than
    chance in the English-like reference language (the source language of the demo).
    Every split of every language is balanced on that one reference, so training sets of
    all languages have the same mix of phenomena; in a language whose forms show more
    (case on swapped nouns), some cue is left, which the in-language rules measure.

    ``candidate(lab, r)`` draws one (premise, hypothesis, label, edits); ``stream`` names the
    split's random stream.  Columns: id, words, words2 (in ``lang2``), label, phenomena (the edits).
    """
    r = random.Random(stream)
    ref = _reference(lab)
    cells: dict[tuple, list[list]] = defaultdict(lambda: [[] for _ in range(n_labels)])
    k = 0
    while True:
        for _ in range(max(n, 50)):
            p, h, y, edits = candidate(lab, r)
            code = ref.spec.code
            cell = _surface_cell([t.form for t in ref.render(p, random.Random(f"{stream}-{code}-c{k}"))],
                                 [t.form for t in ref.render(h, random.Random(f"{stream}-{code}-c{k}-h"))])
            cells[cell][y].append((k, p, h, y, edits))
            k += 1
        quota = {c: min(len(x) for x in ys) for c, ys in cells.items()}
        if sum(quota.values()) * n_labels >= n:
            break
    chosen = [ex for c in sorted(cells) for ys in cells[c] for ex in ys[: quota[c]]]
    r.shuffle(chosen)
    language, language2 = lab.language(lang), lab.language(lang2)
    rows = []
    for i, (k, p, h, y, edits) in enumerate(chosen[:n]):
        toks = language.render(p, random.Random(f"{stream}-{lang}-c{k}"))
        toks2 = language2.render(h, random.Random(f"{stream}-{lang2}-c{k}-h"))
        rows.append({"id": i, "words": [t.form for t in toks], "words2": [t.form for t in toks2], "label": y,
                     "phenomena": edits})
    return pd.DataFrame(rows)
