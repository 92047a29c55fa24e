"""A lab language: a :class:`~xltkit.lab.spec.LanguageSpec` with its lexicon and markers, rendering meanings.

A *language* is a set of typological parameters plus a lexicon drawn from a seed.
Rendering a meaning in a language gives a sentence with word-level annotations (UD part
of speech, UD morphological features, semantic role), so task labels are exact in every
language and the typology of every language is known exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import cached_property

from xltkit.lab.forms import (_CASE_FEAT, _TENSE_FEAT, _TO_FRONT, BACK_VOWELS, FRONT_VOWELS, VOWELS, _feats,
                              _new_form, is_front, sound_correspondences)
from xltkit.lab.spec import WORD_ORDERS, LanguageSpec
from xltkit.lab.world import TENSES, Meaning, Token, concept_keys


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
