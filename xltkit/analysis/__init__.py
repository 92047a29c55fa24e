"""Analysis: gains with confidence intervals (:mod:`.gains`), scores beside their controls
(:mod:`.controls`), mixed-effects models of the gain (:mod:`.stats`, :mod:`.mixed`), the
languages' typology and morphology (:mod:`.languages`, :mod:`.morphology`), figures
(:mod:`.plots`) and the report that ties them together (:mod:`.report`).

Everything here reads only the tidy tables (``results.parquet`` and the runs'
predictions), and scores each task on its own primary metric.
"""
