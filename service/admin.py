"""The ``/v1/admin`` blueprint (bearer token required): force a reload, retire a table, read
the audit trail."""

from __future__ import annotations

import datetime as dt
import re

from flask import Blueprint, Response, current_app, g, jsonify, request

from service.audit import AuditUnavailable
from service.auth import require_admin
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


def _since(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
        return (moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None
                else moment.astimezone(dt.UTC))
    except (ValueError, OverflowError):  # 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
        raise field_errors(
            [("since", "must be an ISO 8601 time from year 1 to 9999 in UTC, such as "
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
