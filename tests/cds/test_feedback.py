"""Feedback: what the clinician did with each card is stored against the card's audit row,
on SQLite and PostgreSQL, and the override rate per rule is read back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from service import contract
from service.state import KEY
from tests.cds.calls import decision_card as _card
from tests.cds.calls import feedback as _feedback
from tests.cds.conftest import SERVICE
from tests.service.conftest import ADMIN_TOKEN, example_facts

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def app(make_app: Callable[..., Flask], database_url: str) -> Iterator[Flask]:
    made = make_app(CDS_VERIFY_JWT=False, DATABASE_URL=database_url)
    yield made
    cds = made.extensions["triage.cds"]
    if cds.store.db.backend == "postgresql":
        for table in (cds.store.feedback, cds.store.tokens):
            table.drop(cds.store.db.engine, checkfirst=True)


def test_feedback_is_stored_against_the_audit_row(app: Flask) -> None:
    client: FlaskClient = app.test_client()
    first = _card(app, example_facts())
    second = _card(app, example_facts())
    stored = client.post(SERVICE + "/feedback", json=_feedback(
        first["uuid"], "overridden", "clinical-judgement")).json
    assert contract.FeedbackStored.model_validate(stored).stored == 1
    assert client.post(SERVICE + "/feedback",
                       json=_feedback(second["uuid"], "accepted")).status_code == 200
    store = app.extensions["triage.cds"].store
    with store.db.engine.connect() as connection:
        rows = connection.execute(sa.select(store.feedback).order_by(store.feedback.c.id)).all()
    assert [(r.card, r.outcome, r.reason_code, r.user_comment) for r in rows] == [
        (first["uuid"], "overridden", "clinical-judgement", "Seen in clinic yesterday"),
        (second["uuid"], "accepted", None, None)]
    audit_ids = {r["request_id"] for r in app.extensions[KEY].audit.read(None, 10)}
    assert {r.request_id for r in rows} <= audit_ids


def test_override_rate_per_rule(app: Flask) -> None:
    client = app.test_client()
    cards = [_card(app, example_facts())["uuid"] for _ in range(4)]
    for card, outcome in zip(cards, ["overridden", "accepted", "accepted", "overridden"],
                             strict=True):
        client.post(SERVICE + "/feedback", json=_feedback(card, outcome, "answers-incorrect"))
    # a card's later feedback replaces its earlier one
    client.post(SERVICE + "/feedback", json=_feedback(cards[3], "accepted"))
    answer = client.get("/v1/admin/audit/overrides", headers=ADMIN)
    assert answer.status_code == 200
    contract.OverridePage.model_validate(answer.json)
    rules = {(r["table"], r["rule_id"]): r for r in answer.json["rules"]}
    d15 = rules[("disposition", "D15")]  # the example case's disposition rule
    assert (d15["cards"], d15["accepted"], d15["overridden"], d15["override_rate"]) == (
        4, 3, 1, 0.25)
    assert client.get("/v1/admin/audit/overrides", headers=ADMIN,
                      query_string={"table_id": "other"}).json["rules"] == []
    assert client.get("/v1/admin/audit/overrides").status_code == 401


@pytest.mark.parametrize(("card", "status", "words"), [
    ("not-a-uuid", 422, "is not a card uuid"),
    ("00000000-0000-0000-0000-000000000000", 404, "no card"),
])
def test_feedback_for_cards_never_given_is_refused(app: Flask, card: str, status: int,
                                                   words: str) -> None:
    answer = app.test_client().post(SERVICE + "/feedback", json=_feedback(card, "accepted"))
    assert answer.status_code == status
    assert words in answer.json["errors"][0]["message"]
    assert answer.json["errors"][0]["field"] == "feedback.0.card"


def test_feedback_on_another_service_is_refused(app: Flask) -> None:
    card = _card(app, example_facts())["uuid"]
    answer = app.test_client().post("/cds-services/other/feedback",
                                    json=_feedback(card, "accepted"))
    assert answer.status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"feedback": [{"card": "x", "outcome": "ignored", "outcomeTimestamp": "t"}]},
     "feedback.0.outcome"),
    ({"feedback": []}, "feedback"),
    ({}, "feedback"),
])
def test_malformed_feedback_is_422(app: Flask, body: dict[str, Any], field: str) -> None:
    answer = app.test_client().post(SERVICE + "/feedback", json=body)
    assert answer.status_code == 422
    assert field in [e["field"] for e in answer.json["errors"]]


def test_a_jti_is_accepted_once_per_issuer(app: Flask) -> None:
    import datetime as dt

    store = app.extensions["triage.cds"].store
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    assert store.first_use("https://ehr.example.org", "jti-1", later) is True
    assert store.first_use("https://ehr.example.org", "jti-1", later) is False
    assert store.first_use("https://other.example.org", "jti-1", later) is True
