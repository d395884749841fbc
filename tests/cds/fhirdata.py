"""FHIR data for the CDS tests, shaped like the CDS Hooks 2.0 specification's published
examples (the ``patient-view`` request of its "Calling a CDS Service" section, with the
``fhirAuthorization`` and ``prefetch`` members it shows)."""

from __future__ import annotations

import uuid
from typing import Any

from engine.fhir.questionnaire import DEFAULT_BASE, ITEM_TYPES, canonical_url, value_system
from engine.model import Kind, Model

VALUE_KEY = {Kind.BOOLEAN: "valueBoolean", Kind.INTEGER: "valueInteger",
             Kind.NUMBER: "valueDecimal", Kind.TEXT: "valueString"}
PATIENT_ID = "1288992"


def response(model: Model, facts: dict[str, Any], authored: str = "2026-11-30T09:15:00Z",
             base_url: str = DEFAULT_BASE, rid: str = "qr-1") -> dict[str, Any]:
    """A completed QuestionnaireResponse answering ``facts`` (None: left unanswered)."""
    items = []
    for definition in model.inputs:
        value = facts.get(definition.name)
        if value is None:
            continue
        if definition.kind is Kind.ENUM:
            answer = {"valueCoding": {"system": value_system(model, base_url, definition.name),
                                      "code": value}}
        else:
            answer = {VALUE_KEY[definition.kind]: value}
        assert ITEM_TYPES[definition.kind]
        items.append({"linkId": definition.name, "answer": [answer]})
    return {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "questionnaire": f"{canonical_url(model, base_url)}|{model.about.version}",
        "status": "completed",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "authored": authored,
        "item": items,
    }


def routine(model: Model) -> str:
    """How a card's summary starts for the example case (ROUTINE_GP), in the workbook's words
    (its label, once the workbook gives one)."""
    from engine.labels import value_label

    return value_label(model, "disposition", "ROUTINE_GP") + ": "


def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
    """A searchset Bundle, as a FHIR server answers a prefetch query."""
    return {"resourceType": "Bundle", "type": "searchset", "total": len(resources),
            "entry": [{"fullUrl": f"http://fhir.example.org/{r['resourceType']}/{r.get('id')}",
                       "resource": r, "search": {"mode": "match"}} for r in resources]}


def patient(birth_date: str = "1980-05-17") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": PATIENT_ID, "gender": "male",
            "birthDate": birth_date, "active": True}


def hook_request(prefetch: dict[str, Any] | None = None, hook: str = "patient-view",
                 fhir_server: str | None = "http://hooks.smarthealthit.org:9080",
                 context: dict[str, Any] | None = None) -> dict[str, Any]:
    """A request shaped like the specification's example."""
    body: dict[str, Any] = {
        "hookInstance": str(uuid.uuid4()),
        "hook": hook,
        "context": context or {"userId": "Practitioner/example", "patientId": PATIENT_ID,
                               "encounterId": "89284"},
    }
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
        body["fhirAuthorization"] = {
            "access_token": "some-opaque-fhir-access-token", "token_type": "Bearer",
            "expires_in": 300, "scope": "user/Patient.read user/QuestionnaireResponse.read",
            "subject": "cds-service4"}
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body
