"""Typological parameters of a lab language: :class:`LanguageSpec` and the values its fields allow.

Each field is one typological choice (word order, case marking, adjective and genitive
position, morphological type, inflectional categories, vowel harmony, resource level);
the presets (:mod:`xltkit.lab.presets`) set them to imitate real languages.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

WordOrder = Literal["SOV", "SVO", "VSO", "VOS", "OVS", "OSV"]
WORD_ORDERS = ("SOV", "SVO", "VSO", "VOS", "OVS", "OSV")
CaseMarking = Literal["none", "prepositions", "postpositions", "suffixes", "prefixes"]
MorphType = Literal["isolating", "agglutinative", "fusional"]
NOUN_CATEGORIES = ("number", "case", "possession")
VERB_CATEGORIES = ("tense", "polarity", "agreement", "person")


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
