"""Hook calls and feedback posted through a real app, for the feedback tests here and the
override-rate tests of ``triage coverage`` (tests/impact/test_overrides.py)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from service.state import KEY
from tests.cds.conftest import SERVICE
from tests.cds.fhirdata import bundle, hook_request, patient, response

BASE = "http://localhost"


def decision_card(app: Flask, facts: dict[str, Any]) -> dict[str, Any]:
    """The first card of a ``patient-view`` call answering ``facts`` (JWT verification off)."""
    model = app.extensions[KEY].registry.snapshot.slots["muscle_twitching"].current.model.model
    qr = response(model, facts, base_url=BASE)
    answer = app.test_client().post(SERVICE, json=hook_request(
        {"questionnaireResponse": bundle(qr), "patient": patient()}))
    assert answer.status_code == 200, answer.get_json()
    card: dict[str, Any] = answer.json["cards"][0]
    return card


def feedback(card: str, outcome: str, code: str | None = None) -> dict[str, Any]:
    """A feedback body for one card; an override gives ``code`` as its reason."""
    item: dict[str, Any] = {"card": card, "outcome": outcome,
                            "outcomeTimestamp": "2026-12-02T10:05:00Z"}
    if outcome == "overridden":
        item["overrideReason"] = {"reason": {"system": "urn:triage-rules:override-reason",
                                             "code": code, "display": "Clinical judgement"},
                                  "userComment": "Seen in clinic yesterday"}
    else:
        item["acceptedSuggestions"] = []
    return {"feedback": [item]}
