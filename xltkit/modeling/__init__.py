"""Modeling: encoders and controls (:mod:`.models`), task heads (:mod:`.heads`), metrics
(:mod:`.metrics`), training (:mod:`.training`, :mod:`.trainer`, :mod:`.pretraining`), noise
injection (:mod:`.noise`) and the surface-cue rules (:mod:`.rules`).

Each part is a registry entry looked up by the name the params give.  Importing this
package imports nothing heavy; torch and transformers load with the modules that need them.
"""
