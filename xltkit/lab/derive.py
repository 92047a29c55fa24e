"""The derivation of the preset table (:mod:`xltkit.lab.presets`) from URIEL+; never run on import.

:func:`derive_spec_values` reads the :class:`~xltkit.lab.spec.LanguageSpec` parameters of
a lab language imitating a real one off URIEL+ (Khan et al. 2025): its WALS / SSWL /
Ethnologue syntactic features (Littell et al. 2017; WALS: Dryer & Haspelmath 2013), the
Grambank table it ships (Skirgård et al. 2023) and its resource lists (the classes of
Joshi et al. 2020), each value with its source; where URIEL+ has no such feature or its
sources leave it open, the lab decides (``LAB_CHOICES``).  :func:`write_table` writes the
derivation of every imitation preset (``IMITATIONS``) to the committed table
``xltkit/lab/data/presets.json``::

    python -m xltkit.lab.derive

tests/test_presets.py checks that the committed table equals a fresh derivation.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xltkit.lab.presets import IMITATIONS, TABLE, _from_table

# Where URIEL+ has no feature for a field, or its sources leave the value open, the lab
# decides: ISO code -> field -> (value, reason).  Used only in those cases.
LAB_CHOICES: dict[str, dict[str, tuple[Any, str]]] = {
    "eng": {"morphology": ("fusional", "English -s fuses person, number and tense")},
    "ekk": {"morphology": ("fusional", "Estonian fuses case and number in stem grades and endings, more than "
                                       "Finnish"),
            "case_marking": ("suffixes", "Estonian case endings are suffixes")},
    "arb": {"morphology": ("fusional", "Arabic affixes fuse person, number and gender (and case with definiteness)")},
    "hin": {"morphology": ("fusional", "Hindi endings fuse number, gender and case")},
    "amh": {"morphology": ("fusional", "Amharic affixes fuse person, number and gender (Semitic)")},
    "gle": {"morphology": ("fusional", "Irish endings fuse person and number with tense (and mutate stems)")},
    "deu": {"morphology": ("fusional", "German endings fuse case, number and gender"),
            "word_order": ("SVO", "SVO, the verb-second order of German main clauses (the lab renders main "
                                  "clauses only)"),
            "agreement": (True, "German verbs agree with the subject in person and number (-e, -st, -t, -en); "
                                "WALS 101A codes pronominal subjects, not agreement")},
    "fin": {"vowel_harmony": (True, "Finnish front/back vowel harmony in suffixes")},
    "hun": {"vowel_harmony": (True, "Hungarian front/back vowel harmony in suffixes")},
    "tur": {"vowel_harmony": (True, "Turkish front/back (and rounding) vowel harmony in suffixes")},
}
NO_FUSION = "URIEL+ has no fusion or exponence feature, WALS 20A/21A"
NO_HARMONY = "URIEL+ has no vowel-harmony feature"
SOURCE_ORDER = ("WALS", "GRAMBANK", "SSWL", "ETHNO")  # who decides first where sources disagree
FREE_ORDER = 0.3  # order_freedom of a language without a dominant order


class _Evidence:
    """One language's URIEL+ syntactic values by source, and its Grambank values."""

    def __init__(self, iso: str, cache_dir):
        from xltkit import typology
        from xltkit.lab.typology import WALS_CHAPTERS

        df = typology.syntax_sources([iso], cache_dir)
        self.iso = iso
        self.votes: dict[str, dict[str, int]] = {}  # feature -> source -> 1 / 0
        for f, s, v in zip(df.feature, df.source, df.value):
            self.votes.setdefault(f, {})[s] = int(v)
        self.gb = typology.grambank_values(iso)
        self.gb_ids = typology.grambank_ids()
        self.chapters = WALS_CHAPTERS

    def uriel(self, feature: str, source: str) -> int | None:
        return self.votes.get(feature, {}).get(source)

    def cite(self, feature: str, source: str, value: int = 1) -> str:
        if source == "GRAMBANK":
            return f"Grambank {self.gb_ids[feature]} {feature}={value}"
        chapter = f" {self.chapters[feature]}" if source == "WALS" and feature in self.chapters else ""
        return f"URIEL+ {feature}={value} ({source}{chapter})"

    def summary(self, features) -> str:
        """'S_SVO=1 in WALS, SSWL; S_SOV=1 in WALS' over URIEL+'s sources ('' if none says 1)."""
        said = [f"{f}=1 in {', '.join(s for s, v in self.votes.get(f, {}).items() if v == 1)}"
                for f in features if 1 in self.votes.get(f, {}).values()]
        return "; ".join(said)

    def choose(self, options: dict[Any, str], grambank: dict[Any, str] | None = None) -> tuple[Any, str] | None:
        """The option whose feature is 1, from the first source (``SOURCE_ORDER``) that names exactly one.

        ``options`` maps a value to its URIEL+ feature, ``grambank`` to its Grambank column.
        """
        for src in SOURCE_ORDER:
            if src == "GRAMBANK":
                said = {o: self.gb.get(c) for o, c in (grambank or {}).items()}
            else:
                said = {o: self.uriel(f, src) for o, f in options.items()}
            ones = [o for o, v in said.items() if v == 1]
            if len(ones) == 1:
                col = (grambank or {}).get(ones[0]) if src == "GRAMBANK" else options[ones[0]]
                others = self.summary(options.values())
                agree = all(v in (None, 0) for f in options.values() if f != options[ones[0]]
                            for v in self.votes.get(f, {}).values())
                return ones[0], self.cite(col, src) + ("" if agree or not others else f"; all sources: {others}")
        return None

    def grambank_any(self, columns) -> tuple[int | None, str]:
        """Three-valued OR of Grambank features: (1 and which, 0 if all coded absent, None if unknown)."""
        ones = [c for c in columns if self.gb.get(c) == 1]
        if ones:
            return 1, " or ".join(self.cite(c, "GRAMBANK") for c in ones)
        if all(self.gb.get(c) == 0 for c in columns):
            return 0, ", ".join(self.cite(c, "GRAMBANK", 0) for c in columns)
        return None, ""

    def wals_any(self, features) -> tuple[int | None, str]:
        """Three-valued OR of URIEL+ features as WALS codes them."""
        ones = [f for f in features if self.uriel(f, "WALS") == 1]
        if ones:
            return 1, " or ".join(self.cite(f, "WALS") for f in ones)
        if all(self.uriel(f, "WALS") == 0 for f in features):
            return 0, ", ".join(self.cite(f, "WALS", 0) for f in features)
        return None, ""


def _lab_choice(iso: str, field: str, why: str) -> tuple[Any, str]:
    if field not in LAB_CHOICES.get(iso, {}):
        raise ValueError(f"{iso}: URIEL+ leaves {field} open ({why or 'no value'}); add a lab choice for it "
                         f"to LAB_CHOICES in xltkit/lab/derive.py")
    value, reason = LAB_CHOICES[iso][field]
    return value, f"lab choice: {reason} ({why})" if why else f"lab choice: {reason}"


def _marked(ev: _Evidence, category: str, grambank: list[str], wals: list[str],
            wals_absence: bool = True) -> tuple[bool, str]:
    """Whether a language marks ``category``: Grambank first, then WALS, then ``LAB_CHOICES``, else not.

    ``wals_absence=False`` takes WALS only as evidence of presence (its 0 answers another question).
    """
    value, source = ev.grambank_any(grambank)
    if value is None:
        value, source = ev.wals_any(wals)
        if value == 0 and not wals_absence:
            value = None
    if value is not None:
        return bool(value), source
    why = f"neither Grambank nor WALS in URIEL+ codes {category}"
    if category in LAB_CHOICES.get(ev.iso, {}):
        return _lab_choice(ev.iso, category, why)
    return False, f"lab choice: not marked ({why})"


def derive_spec_values(iso: str, cache_dir: str | Path | None = None) -> dict[str, tuple[Any, str]]:
    """The LanguageSpec parameters of a lab language imitating ``iso``, each with its source.

    Rules (URIEL+ sources are consulted in ``SOURCE_ORDER``, WALS first; the first one that
    names exactly one option decides, and disagreeing sources are listed):

    - ``word_order``: the order whose ``S_SVO`` ... ``S_OSV`` feature is 1 (WALS 81A).
      ``order_freedom`` is ``FREE_ORDER`` where WALS gives several orders (no dominant
      order), else 0.
    - ``adjective_position`` / ``genitive_position``: ``S_ADJECTIVE_*`` (WALS 87A; Grambank
      GB193) / ``S_POSSESSOR_*`` (WALS 86A; Grambank GB065).
    - ``case_marking``: "none" where Grambank GB070 says core arguments carry no case; else
      the position of case markers (WALS 51A: suffixes, prefixes, postpositional clitics =
      "postpositions", prepositional clitics = "prepositions", or none).
    - ``morphology``: "isolating" where WALS 26A says little affixation (``S_TEND_PREFIX``
      and ``S_TEND_SUFFIX`` both 0) or no category is marked; agglutinative or fusional is a
      lab choice (URIEL+ has no WALS 20A/21A).  ``verb_affixes``: ``S_TAM_PREFIX`` /
      ``S_TAM_SUFFIX`` (WALS 69A; Grambank GB079/GB080), else WALS 26A.
    - ``noun_categories``: number (Grambank GB044 productive plural or GB318 plural word,
      else WALS 33A), case (with case affixes), possession (Grambank GB431/GB433 possessive
      affix on the possessed noun, else WALS 57A).
    - ``verb_categories``: tense (Grambank GB082-084, else WALS 66A/67A), polarity (WALS
      112A negative affix, else Grambank GB107), agreement and person (subject indexed on
      the verb: Grambank GB089-092, else WALS 101A pronominal affixes).
    - ``vowel_harmony``: a lab choice (no URIEL+ feature).  ``resource``: "low" for URIEL+'s
      low-resource languages (Joshi et al. 2020 classes 0-2), else "high".

    Args:
        iso: ISO 639-3 code.
        cache_dir: the typology cache (default ``typology.DEFAULT_CACHE``); the first call for
            a language builds the plain URIEL+ (a few seconds).

    Returns:
        field -> (value, source), ready for ``LanguageSpec(**values, sources=sources)``.

    Raises:
        ValueError: where URIEL+ leaves a field open and ``LAB_CHOICES`` has no choice for it.
    """
    from xltkit import typology

    ev = _Evidence(iso, cache_dir or typology.DEFAULT_CACHE)
    out: dict[str, tuple[Any, str]] = {}
    orders = {o: f"S_{o}" for o in typology.ORDERS}
    out["word_order"] = ev.choose(orders) or _lab_choice(iso, "word_order", ev.summary(orders.values()))
    wals_orders = [o for o, f in orders.items() if ev.uriel(f, "WALS") == 1]
    if len(wals_orders) > 1:
        out["order_freedom"] = (FREE_ORDER, f"lab choice: {FREE_ORDER:.0%} of sentences in another order: URIEL+ "
                                            f"WALS gives {', '.join(orders[o] for o in wals_orders)} = 1 "
                                            "(no dominant order, WALS 81A)")
    elif wals_orders:
        out["order_freedom"] = (0.0, f"{ev.cite(orders[wals_orders[0]], 'WALS')}: one dominant order")
    else:
        out["order_freedom"] = (0.0, "lab choice: fixed order (no WALS 81A value in URIEL+)")
    for field, f in (("adjective_position", "ADJECTIVE"), ("genitive_position", "POSSESSOR")):
        gb = "ADJECTIVE" if f == "ADJECTIVE" else "NOMINAL_POSSESSOR"
        out[field] = (ev.choose({p: f"S_{f}_{p.upper()}_NOUN" for p in ("before", "after")},
                                {p: f"S_{gb}_{p.upper()}_NOUN" for p in ("before", "after")})
                      or _lab_choice(iso, field, ev.summary([f"S_{f}_BEFORE_NOUN", f"S_{f}_AFTER_NOUN"])))

    # case: are core arguments case-marked at all (Grambank GB070, else WALS 98A alignment), and where
    # do case markers go (WALS 51A)
    core, core_src = ev.grambank_any(["M_MORPH_CASE_CORE_ARGS"])
    if core is None:
        core, core_src = ev.wals_any(["S_NOMINATIVE_VS_ACCUSATIVE_MARK", "S_ERGATIVE_VS_ABSOLUTIVE_MARK"])
    position = ev.choose({"suffixes": "S_CASE_SUFFIX", "prefixes": "S_CASE_PREFIX",
                          "postpositions": "S_CASE_ENCLITIC", "prepositions": "S_CASE_PROCLITIC"})
    if core == 0:
        out["case_marking"] = ("none", f"{core_src} (no case on core arguments)")
    elif position:
        out["case_marking"] = (position[0], position[1] + (f"; {core_src} (case on core arguments)" if core else ""))
    elif ev.uriel("S_CASE_MARK", "WALS") == 0:
        out["case_marking"] = ("none", ev.cite("S_CASE_MARK", "WALS", 0) + " (no case affixes or clitics)")
    else:
        out["case_marking"] = _lab_choice(iso, "case_marking", "no WALS 51A value in URIEL+" + (
            f"; {core_src}" if core else ""))
    case_affix = out["case_marking"][0] in ("suffixes", "prefixes")

    nouns: list[tuple[str, str]] = []
    number, src = _marked(ev, "number", ["M_PROD_PLURAL_MARK", "S_PLURAL_FREE_MARKER"],
                          ["S_PLURAL_PREFIX", "S_PLURAL_SUFFIX", "S_PLURAL_WORD"])
    if number:
        nouns.append(("number", src))
    if case_affix:
        nouns.append(("case", f"case affixes ({out['case_marking'][1]})"))
    possession, src = _marked(ev, "possession", ["M_PREFIX_POSSESSED_NOUN", "M_SUFFIX_POSSESSED_NOUN"],
                              ["S_POSSESSIVE_PREFIX", "S_POSSESSIVE_SUFFIX"])
    if possession:
        nouns.append(("possession", src))

    verbs: list[tuple[str, str]] = []
    tense, src = _marked(ev, "tense", ["M_PRESENT_MARK", "M_PAST_MARK", "M_FUTURE_MARK"],
                         ["S_PAST_VS_PRESENT_MARK", "S_FUTURE_AFFIX"])
    if tense:
        verbs.append(("tense", src))
    neg, src = ev.wals_any(["S_NEGATIVE_AFFIX"])
    if neg is None:
        neg, src = ev.grambank_any(["M_NEGATION_VERB_MARK"])
    if neg:
        verbs.append(("polarity", src))
    # WALS 101A (pronominal subjects as verb affixes) counts only as presence: its 0 means free pronouns
    subject, src = _marked(ev, "agreement", ["M_INTRANS_SUFFIX_INDEX", "M_INTRANS_PREFIX_INDEX",
                                             "M_TRANS_AGENT_SUFFIX_INDEX", "M_TRANS_AGENT_PREFIX_INDEX"],
                           ["S_PROSUBJECT_AFFIX"], wals_absence=False)
    if subject:
        verbs += [("agreement", src), ("person", src)]

    # isolating: WALS 26A "little affixation" and WALS 69A "no tense-aspect inflection"
    bare = [f for f in ("S_TEND_PREFIX", "S_TEND_SUFFIX", "S_TAM_PREFIX", "S_TAM_SUFFIX") if ev.uriel(f, "WALS") == 0]
    if len(bare) == 4 and case_affix:
        raise ValueError(f"{iso}: WALS 26A/69A say no affixes but case is affixal ({out['case_marking'][1]})")
    if len(bare) == 4:
        out["morphology"] = ("isolating", "URIEL+ S_TEND_PREFIX=0, S_TEND_SUFFIX=0 (WALS 26A: little affixation), "
                                          "S_TAM_PREFIX=0, S_TAM_SUFFIX=0 (WALS 69A: no tense-aspect inflection)")
    elif not (nouns or verbs):
        out["morphology"] = ("isolating", "no inflectional category marked (see noun_categories, verb_categories)")
    else:
        value, reason = LAB_CHOICES.get(iso, {}).get("morphology", ("agglutinative", "one affix per category"))
        out["morphology"] = (value, f"lab choice: {reason} ({NO_FUSION})")
    if out["morphology"][0] == "isolating":  # only what separate words can mark: plural word, tense particle
        nouns = [(c, s) for c, s in nouns if c == "number"]
        particle, src = ev.grambank_any(["M_TENSE_AUX_PARTICLE"])
        verbs = [("tense", dict(verbs).get("tense") or f"{src} (tense particle)")] if tense or particle else []
    out["noun_categories"] = (tuple(c for c, _ in nouns), "; ".join(f"{c}: {s}" for c, s in nouns) or "none marked")
    out["verb_categories"] = (tuple(c for c, _ in verbs),
                              "; ".join(f"{'agreement, person' if c == 'agreement' else c}: {s}" for c, s in verbs
                                        if c != "person") or "none marked")

    affix = (ev.choose({"suffix": "S_TAM_SUFFIX", "prefix": "S_TAM_PREFIX"},
                       {"suffix": "S_TAM_SUFFIX", "prefix": "S_TAM_PREFIX"})
             or ev.choose({"suffix": "S_TEND_SUFFIX", "prefix": "S_TEND_PREFIX"}))
    if out["morphology"][0] == "isolating":
        affix = ("suffix", "lab choice: suffix, unused (isolating: no verbal affixes)")
    out["verb_affixes"] = affix or _lab_choice(iso, "verb_affixes", "no WALS 69A or 26A value in URIEL+")
    harmony = LAB_CHOICES.get(iso, {}).get("vowel_harmony", (False, "no vowel harmony in suffixes"))
    out["vowel_harmony"] = (harmony[0], f"lab choice: {harmony[1]} ({NO_HARMONY})")
    level = typology.resource_level(iso)
    if level is None:
        out["resource"] = ("low", f"lab choice: low (URIEL+ has no resource level for {iso})")
    else:
        classes = {"high-resource": "class 5", "medium-resource": "classes 3-4", "low-resource": "classes 0-2"}[level]
        out["resource"] = ("low" if level == "low-resource" else "high",
                           f"URIEL+ resource_languages.json: {level} (Joshi et al. 2020 {classes})")
    return {f: out[f] for f in sorted(out)}


def derive_table(cache_dir: str | Path | None = None) -> dict[str, Any]:
    """The committed preset table, derived afresh: code -> name, imitates and (value, source) per field."""
    from importlib import metadata

    from xltkit import typology

    cache_dir = cache_dir or typology.DEFAULT_CACHE
    typology.syntax_sources([iso for _, iso in IMITATIONS.values()], cache_dir)  # one URIEL+ build for all
    presets = {}
    for code, (name, iso) in IMITATIONS.items():
        values = derive_spec_values(iso, cache_dir)
        presets[code] = {"name": name, "imitates": iso,
                         "values": {f: [list(v) if isinstance(v, tuple) else v, s] for f, (v, s) in values.items()}}
    return {"about": "Generated by `python -m xltkit.lab.derive` from URIEL+ (xltkit.lab.derive.derive_spec_values); "
                     "do not edit by hand.",
            "urielplus": metadata.version("urielplus"), "presets": presets}


def write_table(path: str | Path | None = None, cache_dir: str | Path | None = None) -> Path:
    """Derive every imitation preset from URIEL+ and write the table (default: the package's)."""
    path = Path(path) if path else Path(__file__).parent / TABLE
    table = derive_table(cache_dir)
    for code, entry in table["presets"].items():
        _from_table(code, entry)  # every preset must validate before it is written
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=1, ensure_ascii=False) + "\n")
    return path


if __name__ == "__main__":
    print(write_table())

