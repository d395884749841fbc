"""The workbook validator: every problem of a triage workbook, found without changing it.

``validate(path)`` returns a :class:`Report` of :class:`Finding` objects — collected, never
raised — each with a stable code (:data:`CHECKS`), a severity, the sheet and cells, a
message a clinician understands and a fix. :func:`render` is the one place that turns a
report into text, JSON or JUnit XML; :func:`annotate` writes a copy of the workbook with
every finding on its cell.

The modules follow the stages: ``problems`` (the loader's problems as findings),
``structure`` and ``layout`` (sheets, merged and hidden cells, formulas), ``domains`` and
``space`` (tables as boxes of bitmasks), ``partition`` and ``index`` (the algorithms),
``cells``, ``policies`` and ``overlaps`` (the checks), ``vignettes``, ``runner``.
"""

from engine.validation.annotate import annotate
from engine.validation.codes import CHECKS, Check
from engine.validation.findings import Finding, Report, Severity, VignetteResult
from engine.validation.formats import FORMATS, render
from engine.validation.runner import validate, validate_model

__all__ = [
    "CHECKS",
    "FORMATS",
    "Check",
    "Finding",
    "Report",
    "Severity",
    "VignetteResult",
    "annotate",
    "render",
    "validate",
    "validate_model",
]
