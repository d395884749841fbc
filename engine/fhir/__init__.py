"""FHIR R4 and CDS Hooks, as plain data: the Questionnaire an Inputs sheet makes, the facts
a QuestionnaireResponse gives, and the card a decision reads as.

No IO and no web framework here (the service's CDS Hooks endpoints are in
:mod:`service.cds`); every function takes the model and JSON-shaped data and returns
JSON-shaped data, so the command line and the service produce the same documents.
"""

from __future__ import annotations

from engine.fhir.questionnaire import canonical_url, questionnaire
from engine.fhir.responses import ResponseError, read_facts

__all__ = ["ResponseError", "canonical_url", "questionnaire", "read_facts"]
