"""Tasks derived from lab meanings, with exact labels in every language.

Each task turns a meaning into an input (a sentence as words) and a label.  Test sets
are *parallel*: example ``i`` has the same meaning in every language, so per-language
scores differ only through the languages.  Training sets draw independent meanings per
language, as real corpora do.

Labels are balanced and independent of sentence length, so the surface-cue rules in
:mod:`xltkit.controls` stay near chance unless the task is solvable from surface words.
Each example carries its *phenomena* (negation, patient before agent, modifiers, ...),
for per-phenomenon scores.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import pandas as pd

from xltkit.lab import N_NOUNS, Lab, Meaning, Token

UPOS = ("NOUN", "VERB", "ADJ", "ADP", "AUX", "PART", "DET")
ROLE_TAGS = ("O", "B-AGENT", "I-AGENT", "B-PATIENT", "I-PATIENT", "B-VERB")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    kind: Literal["sequence", "token"]
    labels: tuple[str, ...]
    description: str


TASKS: dict[str, TaskSpec] = {
    t.name: t
    for t in [
        TaskSpec("anim", "sequence", ("inanimate_agent", "animate_agent"),
                 "Is the agent animate? Exactly one of agent and patient is animate, so the model must find the "
                 "agent (word order, case) and know the noun's animacy (learnt from word distributions)."),
        TaskSpec("vagent", "sequence", ("inanimate_agent_verb", "animate_agent_verb"),
                 "Does the verb select an animate agent? Lexical semantics of the verb, visible in its arguments."),
        TaskSpec("roles", "token", ROLE_TAGS,
                 "Semantic-role spans (BIO): agent and patient noun phrases and the verb."),
        TaskSpec("pos", "token", UPOS, "Universal Dependencies part of speech of every word."),
    ]
}


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; allowed: {', '.join(TASKS)}") from None


def _draw(lab: Lab, task: str, r: random.Random) -> tuple[Meaning, int | None]:
    w = lab.world
    if task == "anim":
        y = int(r.random() < 0.5)
        m = w.meaning(r)
        animate, inanimate = sorted(w.animate), [n for n in range(N_NOUNS) if n not in w.animate]
        a, p = (r.choice(animate), r.choice(inanimate)) if y else (r.choice(inanimate), r.choice(animate))
        return w.meaning(r, verb=m.verb, agent=a, patient=p), y
    if task == "vagent":
        y = int(r.random() < 0.5)
        verbs = [v for v, c in enumerate(w.verb_agent_class) if (c in (0, 1)) == bool(y)]
        return w.meaning(r, verb=r.choice(verbs)), y
    return w.meaning(r), None


def _phenomena(lab: Lab, m: Meaning, toks: list[Token]) -> list[str]:
    out = []
    if m.neg:
        out.append("negation")
    roles = [t.role for t in toks if t.role in ("AGENT", "PATIENT")]
    if roles and roles[0] == "PATIENT":
        out.append("patient_first")
    if m.agent_adjs or m.patient_adjs:
        out.append("modifier")
    if m.agent_pl:
        out.append("plural_agent")
    shared = lab.shared_forms
    if f"n{m.agent}" in shared or f"n{m.patient}" in shared:
        out.append("shared_form_argument")
    return out


def _role_tags(toks: list[Token]) -> list[str]:
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


def make_examples(lab: Lab, task: str, lang: str, split: str, n: int) -> pd.DataFrame:
    """``n`` examples of ``task`` in ``lang``: columns id, words, label | tags, phenomena.

    Test and dev meanings are shared by all languages (parallel sets); train meanings
    are drawn per language.
    """
    spec = get_task(task)
    stream = f"{lab.lab_seed}-{task}-{split}" + (f"-{lang}" if split == "train" else "")
    r = random.Random(stream)
    language = lab.language(lang)
    rows = []
    for i in range(n):
        m, y = _draw(lab, task, r)
        toks = language.render(m, random.Random(f"{stream}-{lang}-{i}"))
        row = {"id": i, "words": [t.form for t in toks], "phenomena": _phenomena(lab, m, toks)}
        if spec.kind == "sequence":
            row["label"] = y
        else:
            tags = _role_tags(toks) if task == "roles" else [t.upos for t in toks]
            row["tags"] = [spec.labels.index(t) for t in tags]
        rows.append(row)
    return pd.DataFrame(rows)
