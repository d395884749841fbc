"""From a CDS Hooks request to facts: where the answers are, and what is still missing.

The QuestionnaireResponse is looked for, in order, in ``context.questionnaireResponse`` (a
hook that carries the response itself), in ``prefetch.questionnaireResponse``, and, when the
EHR did not prefetch it, on the EHR's FHIR server. With none of these the answer is 412, as
the specification says. The patient's age comes from ``Patient.birthDate`` when the
questionnaire leaves it out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flask import current_app

from engine.fhir.hooks import AGE_INPUTS, age_on
from engine.fhir.questionnaire import canonical_url
from engine.fhir.responses import ResponseError, read_facts, responses_in
from engine.model import Kind, Model
from service.cds import fetch
from service.errors import ApiError, field_errors

RESPONSE_KEY = "questionnaireResponse"
PATIENT_KEY = "patient"


def prefetch_templates(model: Model, base_url: str) -> dict[str, str]:
    """The discovery document's prefetch: the patient's latest response to this table's
    questionnaire (this version), and the patient."""
    canonical = quote(f"{canonical_url(model, base_url)}|{model.about.version}", safe=":/")
    return {
        RESPONSE_KEY: "QuestionnaireResponse?subject=Patient/{{context.patientId}}"
                      f"&questionnaire={canonical}&status=completed,amended"
                      "&_sort=-authored&_count=1",
        PATIENT_KEY: "Patient/{{context.patientId}}",
    }


@dataclass(frozen=True)
class Gathered:
    facts: dict[str, Any]
    missing: tuple[str, ...]  # required inputs not answered
    notes: tuple[str, ...]


def gather(model: Model, call: Any, base_url: str) -> Gathered:
    """The facts of a validated :class:`service.contract.CdsRequest`."""
    context: dict[str, Any] = call.context
    prefetch: dict[str, Any] = call.prefetch or {}
    templates = prefetch_templates(model, base_url)
    if context.get(RESPONSE_KEY) is not None:
        data, where = context[RESPONSE_KEY], f"context.{RESPONSE_KEY}"
    elif prefetch.get(RESPONSE_KEY) is not None:
        data, where = prefetch[RESPONSE_KEY], f"prefetch.{RESPONSE_KEY}"
    else:
        data, where = _fetch(call, templates[RESPONSE_KEY], RESPONSE_KEY), RESPONSE_KEY
    notes: list[str] = []
    try:
        if responses_in(data, where):
            read = read_facts(model, data, base_url, where)
            facts, notes = dict(read.facts), list(read.notes)
        else:
            facts = {}
            notes.append("No completed response to the questionnaire was found for this "
                         "patient.")
    except ResponseError as error:
        raise field_errors((p.field, p.message) for p in error.problems) from error
    age = _age_input(model)
    if age is not None and facts.get(age) is None:
        patient = prefetch.get(PATIENT_KEY)
        if patient is None and call.fhirServer:
            patient = _fetch(call, templates[PATIENT_KEY], PATIENT_KEY)
        years = _age(patient)
        if years is not None:
            facts[age] = years
            notes.append(f"Age {years} was taken from the patient's date of birth.")
    missing = tuple(i.name for i in model.inputs if i.required and facts.get(i.name) is None)
    return Gathered(facts, missing, tuple(notes))


def _fetch(call: Any, template: str, key: str) -> Any:
    if not call.fhirServer:
        raise ApiError(412, "prefetch_missing",
                       f"prefetch.{key} is missing and the request gives no fhirServer to "
                       f"read it from; prefetch '{template}'")
    token = call.fhirAuthorization.access_token if call.fhirAuthorization else None
    return fetch.read(call.fhirServer, fetch.fill(template, call.context), token,
                      float(current_app.config["CDS_FHIR_TIMEOUT"]))


def _age_input(model: Model) -> str | None:
    return next((n for n in AGE_INPUTS
                 if (i := model.input(n)) is not None and i.kind is Kind.INTEGER), None)


def _age(patient: object) -> int | None:
    if patient is None:
        return None
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise field_errors([(f"prefetch.{PATIENT_KEY}", "must be a Patient resource")])
    return age_on(patient.get("birthDate"), dt.datetime.now(dt.UTC).date())
