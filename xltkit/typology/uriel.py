"""URIEL+ itself: the files urielplus ships, its two instances, the logging guard, the cache folder.

Two URIEL+ instances are needed.  The plain one addresses languages by ISO 639-3 code and
gives the syntactic, genetic, geographic, phonological, inventory and featural distances.
Morphological features (``M_...``) come only from Grambank (Skirgård et al. 2023,
"Grambank reveals the importance of genealogical constraints on linguistic diversity and
highlights the impact of language loss", Science Advances 9(16)); integrating it takes
20-50 s and switches that instance to glottocodes, so morphological distances are
computed there with the glottocodes from urielplus's own ISO -> glottocode table.
URIEL+ writes its databases to disk only when its ``cache`` option is on (off by
default), so the Grambank instance leaves a later plain ``URIELPlus()`` untouched.

What the typology computes from URIEL+ is cached under ``<cache_dir>/urielplus-<version>/``
(:func:`_cache_folder`), one folder per urielplus version.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from importlib import metadata, resources
from pathlib import Path

from xltkit.core.paths import resolve

log = logging.getLogger("xltkit.typology")  # the package's logger, as before it was split into modules

DEFAULT_CACHE = "outputs/cache/typology"  # relative: to the project root (xltkit.core.paths)


def _urielplus_file(name: str) -> Path:
    """A data file shipped in the urielplus wheel (``database/urielplus_csvs/<name>``)."""
    return Path(str(resources.files("urielplus") / "database" / "urielplus_csvs" / name))


def _cache_folder(cache_dir: str | Path) -> Path:
    """The cache of this urielplus version: ``<cache_dir>/urielplus-<version>``."""
    return resolve(cache_dir) / f"urielplus-{metadata.version('urielplus')}"


@contextmanager
def _quiet():
    """Run urielplus without changing the process's logging.

    urielplus logs through the root logger: importing ``urielplus.urielplus`` calls
    ``logging.basicConfig(level=INFO)``, every distance call logs at INFO, and each
    module-level ``logging.info`` installs a root handler if there is none (after which a
    user's own ``basicConfig`` silently does nothing).  Drop INFO while it runs, then put
    the root logger's handlers and level back.
    """
    root = logging.getLogger()
    handlers, level, disabled = list(root.handlers), root.level, logging.root.manager.disable
    logging.disable(max(disabled, logging.INFO))
    try:
        yield
    finally:
        logging.disable(disabled)
        root.handlers[:] = handlers
        root.setLevel(level)


def _new_uriel():
    """A fresh plain ``URIELPlus`` (ISO codes, about 1-2 s).

    On first use urielplus copies its ``.npz`` databases inside its own package folder, so
    that folder must be writable once.
    """
    with _quiet():
        from urielplus.urielplus import URIELPlus

        return URIELPlus()


def _grambank_uriel():
    """A ``URIELPlus`` with Grambank integrated (20-50 s); it addresses languages by glottocode."""
    log.info("integrating Grambank into URIEL+ (20-50 s, once per cache)")
    u = _new_uriel()
    with _quiet():
        u.integrate_custom_databases("GRAMBANK")
    if u.get_codes() != "Glotto":
        raise RuntimeError(f"expected URIEL+ to use glottocodes after Grambank integration, it uses {u.get_codes()!r}")
    return u
