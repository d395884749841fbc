"""The impact of a change before it goes live: what changed in behaviour between two versions
of a workbook (:mod:`.semantic`, :mod:`.rowdiff`), what would change for the cases already
answered (:mod:`.replay`), which rules fire in practice (:mod:`.coverage`), and batch
evaluation on pandas (:mod:`.frame`) and Spark (:mod:`engine.spark`)."""
