"""Typological distances between languages and a morphological richness index, from URIEL+.

URIEL (Littell et al. 2017, "URIEL and lang2vec: Representing languages as typological,
geographical, and phylogenetic vectors", EACL) describes each language by vectors of
binary features; URIEL+ (Khan et al. 2025, "URIEL+: Enhancing linguistic inclusion and
usability in a typological and multilingual knowledge base", COLING) adds Grambank,
SAPhon, BDProto, APiCS and eWAVE and computes distances only over the features both
languages have values for.  The distances here are URIEL+'s own (``new_distance``,
angular); this package only addresses languages consistently, caches the numbers and says
why a number is missing.

Modules, each one concept (each imports only those above it):

- :mod:`xltkit.typology.uriel`: the files urielplus ships, its two URIEL+ instances (plain,
  and Grambank-integrated), the logging guard, the cache folder per urielplus version;
- :mod:`xltkit.typology.codes`: ISO 639-3 codes, glottocodes, and :class:`Proxy`;
- :mod:`xltkit.typology.features`: syntactic feature rows and URIEL+'s syntactic distance;
- :mod:`xltkit.typology.distances`: the cached table of URIEL+ distances (:func:`distance_table`);
- :mod:`xltkit.typology.grambank`: Grambank values, resource levels, the morphology index.

Languages are ISO 639-3 codes.  A language URIEL+ does not know comes in as a
:class:`Proxy` (``proxies={code: Proxy(...)}``): the real language it stands for, whose
values it takes, and its own row of syntactic features (:func:`feature_table`).  A proxy
that imitates no real language takes its syntactic distance from that row, with URIEL+'s
own definition (:func:`syntactic_distance`).  The typology knows nothing of the lab: the
lab's languages are proxies made by ``xltkit.lab.typology``, and its presets read their
parameters off URIEL+ with :func:`syntax_sources`, :func:`grambank_values` and
:func:`resource_level` (``xltkit.lab.derive``).

Example::

    >>> distance_table(["fin", "my_hun"], ["eng"], kinds=["syntactic", "genetic"], proxies={"my_hun": Proxy("hun")})
       source target  syntactic  genetic source_proxy_for target_proxy_for missing
    0     fin    eng     0.5052      1.0
    1  my_hun    eng     0.5765      1.0              hun
"""

from xltkit.typology.codes import Proxy, glottocode, resolve
from xltkit.typology.distances import CACHE_COLUMNS, DISTANCES, GRAMBANK_DISTANCES, cached_distances, distance_table
from xltkit.typology.features import (ORDERS, PROXY_FEATURES, SYNTAX_CACHE_COLUMNS, SYNTAX_FEATURES, feature_table,
                                      syntactic_distance, syntax_sources)
from xltkit.typology.grambank import (MORPHOLOGY_FEATURES, grambank_ids, grambank_values, morphology_index,
                                      resource_level)
from xltkit.typology.uriel import DEFAULT_CACHE

__all__ = [
    "CACHE_COLUMNS", "DEFAULT_CACHE", "DISTANCES", "GRAMBANK_DISTANCES", "MORPHOLOGY_FEATURES", "ORDERS",
    "PROXY_FEATURES", "SYNTAX_CACHE_COLUMNS", "SYNTAX_FEATURES", "Proxy", "cached_distances", "distance_table",
    "feature_table", "glottocode", "grambank_ids", "grambank_values", "morphology_index", "resolve",
    "resource_level", "syntactic_distance", "syntax_sources",
]
