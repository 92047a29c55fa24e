"""The whole synthetic lab for one seed: a world plus a set of languages (:class:`Lab`).

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

from xltkit.lab.forms import _new_form
from xltkit.lab.language import Language
from xltkit.lab.presets import get_spec
from xltkit.lab.spec import LanguageSpec
from xltkit.lab.world import World, concept_keys


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
