"""The pipeline: a run's parameters composed from the groups of every layer
(:mod:`.params`), experiment files and their grids (:mod:`.experiment`), the stage graph
as data (:mod:`.graph`), the stage functions (:mod:`.stages`), the runner that executes
them as papermill notebooks (:mod:`.runner`), the notebooks themselves (:mod:`.notebooks`)
and the command line (:mod:`.cli`)."""
