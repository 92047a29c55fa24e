"""URIEL+ typology; the code is in :mod:`xltkit.typology.distances` until it is split into modules."""

from xltkit.typology.distances import *  # noqa: F401,F403
from xltkit.typology.distances import _new_uriel, _resource_lists, _uriel_rows, _urielplus_file  # noqa: F401
