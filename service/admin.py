"""The ``/v1/admin`` blueprint (bearer token required): force a reload, retire a table, read
the audit trail, and a table's production coverage."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, request

from engine.errors import TriageError
from engine.impact.auditdb import AuditSource, AuditSourceError
from engine.impact.coverage import production_coverage
from engine.model import Model
from service.audit import AuditUnavailable
from service.auth import require_admin
from service.cds import cds_state
from service.database import DatabaseUnavailable
from service.errors import ApiError, field_errors
from service.registry import iso
from service.state import state

_DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII only: str.isdigit() also accepts '²'

bp = Blueprint("admin", __name__, url_prefix="/v1/admin")
bp.before_request(require_admin)


@bp.post("/reload")
def reload() -> Response:
    """Reload every workbook in the folder now, changed or not, through the gate; then ask
    the other worker processes to do the same."""
    app_state = state()
    statuses = app_state.registry.scan(force=True)
    if app_state.watcher is not None:
        app_state.watcher.request_reload()
    snap = app_state.registry.snapshot
    return jsonify(
        reloaded=[s.as_dict() for s in statuses],
        tables={k: v.current.version for k, v in sorted(snap.slots.items())},
        request_id=g.request_id,
    )


def _since(text: str | None, name: str = "since") -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
        return (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None
                else moment.astimezone(dt.UTC))
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
        raise field_errors(
            [(name, "must be an ISO 8601 time from year 1 to 9999 in UTC, such as "
                    "2024-05-01T09:30:00Z")]
        ) from None


def _limit(text: str | None) -> int:
    most = int(current_app.config["MAX_AUDIT_LIMIT"])
    if text is None:
        return min(100, most)
    if not _DIGITS.fullmatch(text) or not 1 <= int(text) <= most:
        raise field_errors([("limit", f"must be a whole number from 1 to {most}")])
    return int(text)


@bp.post("/tables/<table_id>/retire")
def retire(table_id: str) -> Response:
    """Stop serving a table, on every worker and every instance sharing the database. The
    only way a table stops serving: a deleted workbook leaves its last good version serving.
    A new version of the table accepted later serves again."""
    try:
        head = state().registry.retire(table_id)
    except DatabaseUnavailable as error:
        raise ApiError(503, "version_store_unavailable",
                       "the version store cannot be written now, so the table cannot be "
                       "retired everywhere; try again shortly") from error
    if head is None:
        raise ApiError(404, "unknown_table", f"no table '{table_id[:100]}' is known")
    return jsonify(retired=table_id, version=head.version,
                   retired_at=iso(head.retired_at) if head.retired_at else None,
                   request_id=g.request_id)


@bp.get("/audit")
def audit() -> Response:
    """Audit rows at or after ``since`` (UTC when no offset is given), oldest first."""
    args = request.args
    unknown = [k for k in args if k not in ("since", "limit", "table_id")]
    if unknown:
        raise field_errors((k, "is not a parameter (since, limit, table_id)") for k in unknown)
    since, limit = _since(args.get("since")), _limit(args.get("limit"))
    try:
        records = state().audit.read(since, limit, args.get("table_id"))
    except AuditUnavailable as error:
        current_app.logger.error("audit read failed: %s", error)
        raise ApiError(503, "audit_unavailable", "the audit trail cannot be read now") from error
    return jsonify(records=records, count=len(records), request_id=g.request_id)


@bp.get("/tables/<table_id>/coverage")
def coverage(table_id: str) -> Response:
    """How often each rule of the table fired in the audited cases (``since`` to ``until``),
    per version, with its override rate from the card feedback, and the rules that never
    fired (:mod:`engine.impact.coverage`). The rules
    of a version come from the versions this worker holds, else from the version store."""
    args = request.args
    unknown = [k for k in args if k not in ("since", "until")]
    if unknown:
        raise field_errors((k, "is not a parameter (since, until)") for k in unknown)
    since, until = _since(args.get("since")), _since(args.get("until"), "until")
    app_state = state()
    slot = app_state.registry.snapshot.slots.get(table_id)
    held = [] if slot is None else [t.model.model for t in (slot.current, *slot.previous)]
    source = AuditSource.over(app_state.database.engine, app_state.audit.table,
                              app_state.store.versions.name, cds_state().store.feedback)
    try:
        if slot is None and not source.has_table(table_id):
            raise ApiError(404, "unknown_table",
                           f"no table '{table_id[:100]}' is served or in the audit trail")
        report = production_coverage(source, table_id, since, until, held,
                                     stored=_stored_model)
    except AuditSourceError as error:
        current_app.logger.error("coverage read failed: %s", error)
        raise ApiError(503, "audit_unavailable", "the audit trail cannot be read now") from error
    return jsonify(**report, request_id=g.request_id)


def _stored_model(table_id: str, version: str) -> Model | None:
    """A version's rules from the version store, read but not compiled; None when it is not
    there or cannot be read now (its never-fired list is then unknown, not empty)."""
    from engine.impact.replay import model_from_bytes  # the replay's imports, on first use

    try:
        stored = state().store.get(table_id, version)
        if stored is None:
            return None
        return model_from_bytes(stored.content, Path(stored.source).suffix or ".xlsx")
    except (DatabaseUnavailable, TriageError):
        return None
