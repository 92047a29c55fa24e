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

Modules, each one concept (each imports only those above it):

- :mod:`xltkit.lab.spec`: :class:`LanguageSpec`, the typological parameters;
- :mod:`xltkit.lab.world`: the concept inventory and the meanings (:class:`World`, :class:`Meaning`, :class:`Token`);
- :mod:`xltkit.lab.forms`: sounds, word forms, vowel harmony, sound correspondences, UD FEATS;
- :mod:`xltkit.lab.presets`: the preset languages, read from the committed table ``data/presets.json``;
- :mod:`xltkit.lab.language`: :class:`Language`, a spec with its lexicon, rendering meanings;
- :mod:`xltkit.lab.lab`: :class:`Lab`, a world plus a set of languages;
- :mod:`xltkit.lab.typology`: lab languages in the URIEL+ typology, as proxies of :mod:`xltkit.typology`;
- :mod:`xltkit.lab.derive`: the derivation of the preset table from URIEL+ (``python -m xltkit.lab.derive``).

The last two need pandas and (for new values) urielplus, so importing ``xltkit.lab`` loads neither.

The names below are re-exported here: ``from xltkit.lab import Lab, LanguageSpec, get_spec``.
"""

from xltkit.lab.forms import (BACK_VOWELS, CODAS, CONSONANTS, FRONT_VOWELS, VOWELS, is_front,
                              sound_correspondences)
from xltkit.lab.lab import Lab
from xltkit.lab.language import Language
from xltkit.lab.presets import DEFAULT_LANGS, IMITATIONS, PRESETS, SERIES, get_spec, morphology_series
from xltkit.lab.spec import (NOUN_CATEGORIES, VERB_CATEGORIES, WORD_ORDERS, CaseMarking, LanguageSpec, MorphType,
                             WordOrder)
from xltkit.lab.world import (ANIMATE_CLASSES, N_ADJS, N_NOUNS, N_VERBS, NOUN_CLASSES, TENSES, Meaning, Token, World,
                              concept_keys)

from pathlib import Path as _Path

#: the code every rendered sentence depends on (its hash is part of the keys of the lab's data and tasks)
RENDERING_FILES = [_Path(__file__).parent / name for name in ("spec.py", "world.py", "forms.py", "language.py",
                                                              "lab.py", "presets.py", "data/presets.json")]

__all__ = [
    "ANIMATE_CLASSES", "BACK_VOWELS", "CODAS", "CONSONANTS", "DEFAULT_LANGS", "FRONT_VOWELS", "IMITATIONS",
    "N_ADJS", "N_NOUNS", "N_VERBS", "NOUN_CATEGORIES", "NOUN_CLASSES", "PRESETS", "SERIES", "TENSES",
    "VERB_CATEGORIES", "VOWELS", "WORD_ORDERS", "CaseMarking", "Lab", "Language", "LanguageSpec", "Meaning",
    "MorphType", "Token", "WordOrder", "World", "concept_keys", "get_spec", "is_front", "morphology_series",
    "sound_correspondences", "RENDERING_FILES",
]
