"""The ``/v1/tables`` blueprint: list and describe tables, evaluate one case or a batch.

An evaluation is answered only once its audit row is committed: the decision is computed,
the row written, and only then the 200 built. If the row cannot be written the caller gets
503 and no decision — a decision that was given must always be in the audit trail.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify

from engine.model import Decision
from service import body, schema
from service.audit import AuditRow, AuditUnavailable
from service.auth import require_api
from service.database import DatabaseUnavailable
from service.errors import ApiError, describe
from service.jsontext import dumps
from service.registry import LoadedTable, NotReleased, Snapshot, TableSlot, iso, now
from service.state import state

bp = Blueprint("tables", __name__, url_prefix="/v1/tables")
bp.before_request(require_api)


def slot_of(table_id: str) -> TableSlot:
    slot = state().registry.snapshot.slots.get(table_id)
    if slot is None:
        raise ApiError(404, "unknown_table", f"no table '{table_id[:100]}' is loaded")
    return slot


def answering_version(table_id: str, version: str | None) -> LoadedTable:
    """The version that answers: the one serving, or the pinned one, from the version store
    when this worker does not hold it."""
    slot = slot_of(table_id)
    loaded = slot.find(version)
    if loaded is None and version is not None:
        try:
            loaded = state().registry.pinned(table_id, version)
        except DatabaseUnavailable as error:
            current_app.logger.error("version store unavailable: %s", error)
            raise ApiError(503, "version_store_unavailable",
                           "the version store cannot be read now, so the pinned version "
                           "cannot be loaded; try again shortly") from error
        except NotReleased as error:
            raise ApiError(
                404, "unreleased_version",
                f"version '{version}' of '{table_id}' is a draft ({error}), and this service "
                f"serves released tables only (serving: {slot.current.version})",
            ) from error
    if loaded is None:
        raise ApiError(
            404, "unknown_version",
            f"no version '{version}' of '{table_id}' was ever accepted (serving: "
            f"{slot.current.version}; GET /v1/tables/{table_id} lists the versions)",
        )
    return loaded


def _audit(rows: list[AuditRow]) -> None:
    try:
        state().audit.record(rows)
    except AuditUnavailable as error:
        state().metrics.audit_failures.inc()
        current_app.logger.error("audit write failed; evaluation not answered: %s", error)
        raise ApiError(
            503, "audit_unavailable",
            "the decision could not be recorded in the audit trail, so it is not given; "
            "try again shortly",
        ) from error


def _object(pairs: list[tuple[str, str]]) -> str:
    """A JSON object from constant keys and values that are already JSON text."""
    return "{" + ",".join(f'"{key}":{value}' for key, value in pairs) + "}"


def _answer(loaded: LoadedTable, decision: Decision) -> list[tuple[str, str]]:
    """The decision as JSON text, serialised once: the same text is stored in the audit row
    and sent in the answer (the fired rules are most of both)."""
    return [
        ("outputs", dumps(dict(decision.outputs))),
        ("fired", dumps([f.as_dict() for f in decision.fired])),
        ("explanation", dumps(loaded.explainer.explain(decision))),
    ]


def _row(loaded: LoadedTable, facts: Any, answer: list[tuple[str, str]],
         index: int | None, hook_instance: str | None = None) -> AuditRow:
    parts = dict(answer)
    return AuditRow(g.request_id, now(), loaded.table_id, loaded.version, dumps(facts),
                    parts["outputs"], parts["fired"], index, g.correlation_id, hook_instance)


def _head(loaded: LoadedTable) -> list[tuple[str, str]]:
    return [
        ("table_id", dumps(loaded.table_id)),
        ("version", dumps(loaded.version)),
        ("table_version", dumps(loaded.model.about.version)),
        ("released", dumps(loaded.released)),
        ("review_status", dumps(loaded.review_status)),
    ]


def _send(pairs: list[tuple[str, str]]) -> Response:
    pairs.append(("request_id", dumps(g.request_id)))
    if g.correlation_id is not None:
        pairs.append(("correlation_id", dumps(g.correlation_id)))
    return Response(_object(pairs), content_type="application/json")


def decide(loaded: LoadedTable, facts: Any,
           hook_instance: str | None = None) -> tuple[Decision, list[tuple[str, str]]]:
    """Evaluate one case and store its audit row: the one path every single evaluation takes,
    through ``/evaluate`` and through CDS Hooks (:mod:`service.cds`) alike. Returns the decision
    and its JSON parts (outputs, fired, explanation) once the row is committed."""
    decision = loaded.model.evaluate(facts)  # FactError 422, HitPolicyViolation 409
    answer = _answer(loaded, decision)
    _audit([_row(loaded, facts, answer, None, hook_instance)])
    state().metrics.observe_decision(loaded.model.model, decision.outputs)
    g.table_id = loaded.table_id
    return decision, answer


@bp.post("/<table_id>/evaluate")
def evaluate(table_id: str) -> Response:
    """Evaluate one case: ``{"facts": {...}, "version": optional}``."""
    slot_of(table_id)  # an unknown table is 404 whatever the body holds
    facts, version = body.single(body.read_json())
    loaded = answering_version(table_id, version)
    _, answer = decide(loaded, facts)
    return _send(_head(loaded) + answer)


@bp.post("/<table_id>/evaluate-batch")
def evaluate_batch(table_id: str) -> Response:
    """Evaluate many cases; results in the same order, each with its own status."""
    slot_of(table_id)
    cases, version = body.batch(body.read_json())
    loaded = answering_version(table_id, version)
    results: list[str] = []
    rows: list[AuditRow] = []
    decisions: list[Decision] = []
    for index, case in enumerate(cases):
        try:
            facts = body.case_facts(case, index)
            decision = loaded.model.evaluate(facts)
        except Exception as error:  # each case fails alone, reported as if sent alone
            status, detail, _ = describe(error)
            results.append(dumps({"index": index, "status": status, **detail}))
            continue
        answer = _answer(loaded, decision)
        results.append(_object([("index", str(index)), ("status", "200"), *answer]))
        rows.append(_row(loaded, facts, answer, index))
        decisions.append(decision)
    _audit(rows)
    for decision in decisions:
        state().metrics.observe_decision(loaded.model.model, decision.outputs)
    g.table_id = loaded.table_id
    return _send(_head(loaded) + [("results", "[" + ",".join(results) + "]")])


def _summary(slot: TableSlot) -> dict[str, Any]:
    current = slot.current
    snap = state().registry.snapshot
    status = snap.files.get(current.source)
    return {
        "id": current.table_id,
        "title": current.model.about.title,
        "version": current.version,
        "table_version": current.model.about.version,
        "released": current.released,
        "review_status": current.review_status,
        "accepted_at": iso(current.accepted_at),
        "loaded_at": iso(current.loaded_at),
        "source": current.source,
        "source_missing": slot.source_missing,
        "validation": dict(current.validation),
        "previous_versions": [
            {"version": p.version, "table_version": p.model.about.version,
             "accepted_at": iso(p.accepted_at), "loaded_at": iso(p.loaded_at)}
            for p in slot.previous
        ],
        "last_reload": status.as_dict() if status else None,
    }


def summaries(snap: Snapshot) -> list[dict[str, Any]]:
    """Every table being served, by id (also listed by the HTML page at ``/``)."""
    return [_summary(snap.slots[k]) for k in sorted(snap.slots)]


@bp.get("")
def list_tables() -> Response:
    """Every table being served, and the load status of every file in the folder."""
    snap = state().registry.snapshot
    return jsonify(
        tables=summaries(snap),
        files=[snap.files[k].as_dict() for k in sorted(snap.files)],
        request_id=g.request_id,
    )


@bp.get("/<table_id>")
def describe_table(table_id: str) -> Response:
    """One table: its inputs as JSON Schema, its outputs and its About sheet."""
    slot = slot_of(table_id)
    loaded = slot.current
    model = loaded.model.model
    try:
        versions: list[dict[str, Any]] | None = state().store.history(table_id)
    except DatabaseUnavailable:
        versions = None
    return jsonify(
        **_summary(slot),
        versions=versions,
        about=schema.about(model),
        inputs=dict(loaded.input_schema),
        outputs=schema.outputs_description(model),
        outputs_schema=schema.outputs_schema(model),
        evaluation_order=[t.name for t in model.tables],
        request_id=g.request_id,
    )
