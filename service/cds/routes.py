"""The CDS Hooks endpoints (see :mod:`service.cds` for the list).

A call is evaluated by :func:`service.api.decide`, the path ``/evaluate`` takes: the same
fact checks (a bad answer is the same 422, naming the question), the same audit row —
committed before the card is sent, with the call's ``hookInstance`` — and the same metrics.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from engine.fhir.cards import decision_card, missing_card
from engine.fhir.hooks import hook_of
from engine.fhir.questionnaire import check_r4
from engine.fhir.questionnaire import questionnaire as build_questionnaire
from service import body, contract
from service.api import decide, slot_of
from service.auth import require_admin, require_api
from service.cds import cds_state
from service.cds.facts import gather, prefetch_templates
from service.cds.security import audiences
from service.cds.store import Outcome, card_uuid, request_id_of
from service.database import DatabaseUnavailable
from service.errors import ApiError, field_errors
from service.jsontext import dumps
from service.registry import LoadedTable, TableSlot
from service.state import state

bp = Blueprint("cds", __name__)
TABLE_TOPIC = "urn:triage-rules:table"


def base_url() -> str:
    """The service's URL as EHRs see it: canonical URLs, the JWT audience and card links."""
    return str(current_app.config["PUBLIC_URL"] or request.url_root).rstrip("/")


def _verify() -> None:
    verifier = cds_state().verifier
    if verifier is not None:
        verifier.verify(audiences(base_url(), request.path))


def _validated(model: type[BaseModel]) -> Any:
    try:
        return model.model_validate(body.read_json())
    except PydanticError as error:
        raise field_errors(
            (".".join(str(p) for p in e["loc"]) or "(body)",
             e["msg"][:1].lower() + e["msg"][1:])
            for e in error.errors(include_url=False)) from error


@bp.get("/cds-services")
def discovery() -> Response:
    """One service per table being served."""
    slots = state().registry.snapshot.slots
    return jsonify(services=[_service(slots[k]) for k in sorted(slots)])


def _service(slot: TableSlot) -> dict[str, Any]:
    model = slot.current.model.model
    about = model.about
    return {
        "hook": hook_of(about),
        "id": about.table_id,
        "title": about.title or about.table_id,
        "description": (f"Triage by the decision table '{about.title or about.table_id}' "
                        f"(version {about.version}, {slot.current.review_status}) from the "
                        "patient's answers to its questionnaire "
                        f"(GET /v1/tables/{about.table_id}/questionnaire)."),
        "prefetch": prefetch_templates(model, base_url()),
    }


@bp.post("/cds-services/<table_id>")
def call(table_id: str) -> Response:
    """Answer a hook with one card: the decision, or the questions still to answer."""
    _verify()
    slot = slot_of(table_id)
    hook = _validated(contract.CdsRequest)
    loaded = slot.current
    model = loaded.model.model
    declared = hook_of(model.about)
    if hook.hook != declared:
        raise field_errors([("hook", f"this service answers '{declared}', not "
                                     f"'{hook.hook[:100]}'")])
    gathered = gather(model, hook, base_url())
    if gathered.missing:
        card = missing_card(model, gathered.missing, gathered.notes)
        return _cards(loaded, card, str(uuid.uuid4()))
    decision, answer = decide(loaded, gathered.facts, hook.hookInstance)
    explanation = json.loads(dict(answer)["explanation"])
    card = decision_card(model, decision, explanation, gathered.notes)
    return _cards(loaded, card, card_uuid(g.request_id))


def _cards(loaded: LoadedTable, card: dict[str, Any], card_id: str) -> Response:
    about = loaded.model.model.about
    title = about.title or about.table_id
    page = f"{base_url()}/tables/{about.table_id}"
    card = {
        "uuid": card_id,
        **card,
        "source": {
            "label": f"{title}, version {about.version} ({loaded.review_status})"[:300],
            "url": page,
            "topic": {"system": TABLE_TOPIC, "code": about.table_id, "display": title},
        },
        "links": [{"label": f"Decision table: {title}"[:200], "url": page, "type": "absolute"}],
    }
    return jsonify(cards=[card])


@bp.post("/cds-services/<table_id>/feedback")
def feedback(table_id: str) -> Response:
    """Store what the clinician did with each card, against the card's audit row."""
    _verify()
    slot_of(table_id)
    given = _validated(contract.FeedbackRequest)
    store = cds_state().store
    ids = [request_id_of(item.card) for item in given.feedback]
    bad = [(f"feedback.{i}.card", "is not a card uuid") for i, r in enumerate(ids) if r is None]
    if bad:
        raise field_errors(bad)
    try:
        known = store.cards_given(table_id, [r for r in ids if r is not None])
    except DatabaseUnavailable as error:
        raise _unavailable() from error
    unknown = [(f"feedback.{i}.card", f"no card '{item.card[:64]}' was given by this service")
               for i, (item, r) in enumerate(zip(given.feedback, ids, strict=True))
               if r not in known]
    if unknown:
        raise ApiError(404, "unknown_card", unknown[0][1],
                       {"errors": [{"field": f, "message": m} for f, m in unknown]})
    received = dt.datetime.now(dt.UTC)
    outcomes = [_outcome(table_id, item, r, received)
                for item, r in zip(given.feedback, ids, strict=True) if r is not None]
    try:
        store.record(outcomes)
    except DatabaseUnavailable as error:
        raise _unavailable() from error
    g.table_id = table_id
    return jsonify(stored=len(outcomes), request_id=g.request_id)


def _outcome(table_id: str, item: Any, request_id: str, received: dt.datetime) -> Outcome:
    reason = item.overrideReason.reason if item.overrideReason else None
    return Outcome(
        request_id, table_id, item.card, item.outcome,
        reason.system if reason else None, reason.code if reason else None,
        reason.display if reason else None,
        item.overrideReason.userComment if item.overrideReason else None,
        [s.id for s in item.acceptedSuggestions or []], item.outcomeTimestamp, received)


def _unavailable() -> ApiError:
    return ApiError(503, "database_unavailable",
                    "the feedback cannot be stored now; send it again shortly")


@bp.get("/v1/tables/<table_id>/questionnaire")
def questionnaire(table_id: str) -> Response:
    """The FHIR R4 Questionnaire of the table now serving."""
    require_api()
    loaded = slot_of(table_id).current
    key = (loaded.table_id, loaded.version, base_url())
    cache = cds_state().questionnaires
    text = cache.get(key)
    if text is None:  # built and checked against the R4 model once per version
        document = build_questionnaire(loaded.model.model, key[2])
        check_r4(document)
        text = dumps(document)
        if len(cache) > 64:
            cache.clear()
        cache[key] = text
    return Response(text, content_type="application/fhir+json")


@bp.get("/v1/admin/audit/overrides")
def overrides() -> Response:
    """Per rule: cards with feedback, accepted, overridden, and the override rate."""
    require_admin()
    table_id = request.args.get("table_id") or None
    try:
        rules = cds_state().store.override_rates(table_id)
    except DatabaseUnavailable as error:
        raise ApiError(503, "audit_unavailable",
                       "the audit trail cannot be read now; try again shortly") from error
    return jsonify(rules=rules, request_id=g.request_id)
