"""The lab's tasks: labels computed from meanings, exact in every lab language.

Each task turns a meaning into an input (a sentence as words, or a pair) and a label.
Test and dev sets are *parallel*: example ``i`` has the same meaning in every language, so
per-language scores differ only through the languages.  Training sets draw independent
meanings per language, as real corpora do.  Labels are balanced and independent of
sentence length, so the surface-cue rules stay near chance unless the task is solvable
from surface words.  Each example carries its *phenomena* (negation, patient before
agent, modifiers, ...) for per-phenomenon scores.

Task sets are generated on first use and cached under
``<cache_dir>/tasks/<lab world key>/<task>-<fingerprint>/``: deterministic per lab seed, so
a cached file is what generating it again would give.
"""

from __future__ import annotations

import random
from abc import abstractmethod
from pathlib import Path

import pandas as pd

import xltkit.lab as lab_package
from xltkit.core.io import write_parquet
from xltkit.lab import Lab, Meaning, Token
from xltkit.tasks.base import SPLITS, DataContext, Task, TaskError

#: the lab's rendering code: every lab task's data depends on it (part of each fingerprint)
LAB_CODE = lab_package.RENDERING_FILES


def phenomena(lab: Lab, m: Meaning, toks: list[Token]) -> list[str]:
    """What a rendered meaning exhibits, for per-phenomenon scores."""
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
    if m.agent_person is not None:
        out.append("pronoun_agent")
    if m.possessor is not None:
        out.append("possessor")
    shared = lab.shared_forms
    if f"n{m.agent}" in shared or f"n{m.patient}" in shared:
        out.append("shared_form_argument")
    return out


class LabTask(Task):
    """A task of the synthetic lab: its languages are the lab's, its data is generated from
    the lab's meanings (:meth:`make`) and cached."""

    reads = ("lab",)
    controls = ("rule-length", "rule-bow")

    def languages(self, data: DataContext) -> tuple[str, ...]:
        return tuple(data.group("lab", self.name).langs)

    def data_identity(self, data: DataContext) -> dict:
        return {"lab_world": data.group("lab", self.name).world()}  # not the corpus sizes or the vocabulary

    def code_files(self) -> list[Path]:
        return [*LAB_CODE, Path(__file__)]

    def lab(self, data: DataContext) -> Lab:
        return data.group("lab", self.name).build()

    def stream(self, lab: Lab, split: str, lang: str) -> str:
        """The name of the random stream of a split: dev and test are shared by all languages."""
        return f"{lab.lab_seed}-{self.name}-{split}" + (f"-{lang}" if split == "train" else "")

    def frame(self, split: str, lang: str, data: DataContext, lang2: str | None = None) -> pd.DataFrame:
        """The split as a pandas frame (see :meth:`load`), generated on first use and cached."""
        if split not in SPLITS:
            raise TaskError(f"task {self.name!r}: unknown split {split!r}; allowed: {', '.join(SPLITS)}")
        self.check_language(lang, data)
        if lang2 not in (None, lang):
            if not self.two_languages:
                from xltkit.tasks.registry import TASKS

                pairs = ", ".join(t for t in TASKS if TASKS[t].two_languages)
                raise TaskError(f"task {self.name!r} has one sentence per example; a second language ({lang2!r}) "
                                f"needs a pair task ({pairs})")
            self.check_language(lang2, data, "second language")
        n = data.size(split)
        if n is None:
            raise TaskError(f"task {self.name!r} is a lab task: it generates n_{split} examples, so n_{split} must be a "
                            "number (None means the whole split of a hub dataset)")
        name = lang if lang2 in (None, lang) else f"{lang}+{lang2}"
        path = Path(data.cache_dir) / "tasks" / data.group("lab", self.name).world_key() / \
            f"{self.name}-{self.fingerprint}" / \
            f"{name}-{split}-{n}.parquet"
        if path.is_file():
            return pd.read_parquet(path)
        df = self.make(self.lab(data), lang, split, n, lang2)
        write_parquet(df, path)
        return df

    def load(self, split: str, lang: str, data: DataContext, lang2: str | None = None):
        from datasets import Dataset

        return self.check_columns(Dataset.from_pandas(self.frame(split, lang, data, lang2), preserve_index=False))

    @abstractmethod
    def make(self, lab: Lab, lang: str, split: str, n: int, lang2: str | None = None) -> pd.DataFrame:
        """``n`` examples of ``split`` in ``lang`` (columns of the head's contract plus ``phenomena``)."""

    def language_facts(self, lang: str, data: DataContext) -> dict:
        spec = self.lab(data).language(lang).spec
        return {"iso": spec.imitates, "low_resource": spec.resource == "low", "revision": f"lab:{self.fingerprint}"}

    def check_noise(self, method: str, knobs, data: DataContext) -> None:
        if method == "rs-da" and knobs.resolved_synonym_source == "lab" and data.group("lab", self.name).synonym_rate == 0:
            raise ValueError("synonym_source='lab' with synonym_rate=0: the lab's synonyms never occur in the "
                             "pretraining text, so RS-DA would insert unseen words; set synonym_rate > 0 (e.g. 0.2) "
                             "or use synonym_source='neighbours'")

    def dictionary(self, src: str, tgt: str, data: DataContext) -> dict[str, str]:
        return self.lab(data).dictionary(src, tgt)

    def synonyms(self, lang: str, data: DataContext) -> dict[str, list[str]]:
        """The lab's synonym table of ``lang`` (main form -> its other synonyms).  Words are
        matched whole: an inflected form (stem plus affixes) is not its main form."""
        return {w: [s for s in syns if s != w] for w, syns in self.lab(data).synonyms(lang).items()}


class SentenceTask(LabTask):
    """One sentence, one label drawn with its meaning (:meth:`draw`)."""

    head = "sequence"
    typical_tokens = 20

    @abstractmethod
    def draw(self, lab: Lab, r: random.Random) -> tuple[Meaning, int]:
        """A meaning and its label index, from the random stream ``r``."""

    def make(self, lab: Lab, lang: str, split: str, n: int, lang2: str | None = None) -> pd.DataFrame:
        stream = self.stream(lab, split, lang)
        r = random.Random(stream)
        language = lab.language(lang)
        rows = []
        for i in range(n):
            m, y = self.draw(lab, r)
            toks = language.render(m, random.Random(f"{stream}-{lang}-{i}"))
            rows.append({"id": i, "words": [t.form for t in toks], "phenomena": phenomena(lab, m, toks), "label": y})
        return pd.DataFrame(rows)


class TaggingTask(LabTask):
    """One label per word of a rendered meaning (:meth:`tags`)."""

    head = "token"
    metrics = ("token_accuracy",)
    typical_tokens = 20

    @abstractmethod
    def tags(self, toks: list[Token]) -> list[str]:
        """The label name of every token."""

    def make(self, lab: Lab, lang: str, split: str, n: int, lang2: str | None = None) -> pd.DataFrame:
        stream = self.stream(lab, split, lang)
        r = random.Random(stream)
        language = lab.language(lang)
        index = {t: i for i, t in enumerate(self.labels)}
        rows = []
        for i in range(n):
            m = lab.world.meaning(r)
            toks = language.render(m, random.Random(f"{stream}-{lang}-{i}"))
            tags = self.tags(toks)
            unknown = [t for t in tags if t not in index]
            if unknown:
                raise TaskError(f"task {self.name!r}: {lang} gives the label {unknown[0]!r}, outside the task's label "
                                "set (for feats: the features the preset languages mark); use a preset's grammar "
                                "or another task")
            rows.append({"id": i, "words": [t.form for t in toks], "phenomena": phenomena(lab, m, toks),
                         "tags": [index[t] for t in tags]})
        return pd.DataFrame(rows)


class PairTask(LabTask):
    """Two sentences from a premise and an edited hypothesis (:meth:`candidate`), balanced
    within surface cells (:func:`xltkit.tasks.lab.pairs.pair_examples`)."""

    head = "pair"
    two_languages = True
    typical_tokens = 40
    # may change what a sentence pair means: a dropped or moved 'not' turns a contradiction into an entailment
    label_changing_noise = frozenset({"word-dropout", "word-swap"})
    controls = ("rule-length", "rule-bow", "rule-overlap")

    def code_files(self) -> list[Path]:
        return [*super().code_files(), Path(__file__).with_name("pairs.py")]

    @abstractmethod
    def candidate(self, lab: Lab, r: random.Random) -> tuple[Meaning, Meaning, int, list[str]]:
        """A premise, a hypothesis, the pair's label index and the edits that made it."""

    def make(self, lab: Lab, lang: str, split: str, n: int, lang2: str | None = None) -> pd.DataFrame:
        from xltkit.tasks.lab.pairs import pair_examples

        return pair_examples(lab, self.candidate, len(self.labels), lang, lang2 or lang, n,
                             self.stream(lab, split, lang))
