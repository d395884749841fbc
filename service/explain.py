"""The service's ``explanation``: a decision told in the workbook's labels. The wording lives
in :mod:`engine.explanation`, shared with ``triage evaluate --explain``."""

from engine.explanation import Explainer

__all__ = ["Explainer"]
