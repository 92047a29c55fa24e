"""The synthetic typology lab (see :mod:`xltkit.lab.lab`); its presets are :mod:`xltkit.lab.presets`."""

from xltkit.lab.lab import (ANIMATE_CLASSES, BACK_VOWELS, CODAS, CONSONANTS, FRONT_VOWELS, N_ADJS, N_NOUNS,
                            N_VERBS, NOUN_CATEGORIES, NOUN_CLASSES, TENSES, VERB_CATEGORIES, VOWELS, WORD_ORDERS,
                            CaseMarking, Lab, Language, LanguageSpec, Meaning, MorphType, Token, WordOrder, World,
                            concept_keys, is_front, sound_correspondences)
from xltkit.lab.presets import DEFAULT_LANGS, PRESETS, SERIES, get_spec, morphology_series
