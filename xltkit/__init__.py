"""xltkit: zero-shot cross-lingual transfer research toolkit."""

__version__ = "0.3.0"
