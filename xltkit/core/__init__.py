"""The base layer: atomic files, the results schema and store, registries, stable hashes.

Everything else in xltkit may import from here; nothing here imports the rest of xltkit.
"""
