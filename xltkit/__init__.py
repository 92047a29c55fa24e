"""xltkit: zero-shot cross-lingual transfer research toolkit."""

__version__ = "0.2.1"

# The lab's grammar (xltkit.lab) and its presets (xltkit.presets) import each other;
# importing the grammar first makes either import order work.
from xltkit import lab as _lab  # noqa: E402,F401
