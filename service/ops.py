"""Operational endpoints: liveness, readiness, metrics, the OpenAPI document and the docs page.
(``/`` is :mod:`service.pages`: a page for browsers, this JSON index for API clients.)

``/healthz`` only says the process answers; ``/readyz`` says it has a table to serve (a load
balancer should send traffic only then). The OpenAPI document is rebuilt only when the
snapshot of tables changes.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from service import docs_page, openapi
from service.errors import ApiError
from service.state import state

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="alive")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when a table is loaded, the audit database answers and the worker is not
    shutting down: a load balancer sends evaluations only then."""
    app_state = state()
    count = len(app_state.registry.snapshot.slots)
    audit = app_state.database.status.as_dict()
    audit["backend"] = app_state.database.backend
    if app_state.draining:
        raise ApiError(503, "not_ready", "shutting down: finishing the requests already "
                       "accepted", {"tables": count, "audit": audit})
    if not count:
        raise ApiError(503, "not_ready", "no table is loaded; see /v1/tables for why",
                       {"tables": 0, "audit": audit})
    if not app_state.database.status.ok:
        raise ApiError(503, "not_ready", "the audit database is unavailable, so no decision "
                       f"can be recorded: {audit['reason']}", {"tables": count, "audit": audit})
    return jsonify(status="ready", tables=count, audit=audit)


@bp.get("/metrics")
def metrics() -> Response:
    app_state = state()
    return Response(app_state.metrics.exposition(), content_type=app_state.metrics.content_type)


def _document() -> dict[str, Any]:
    app_state = state()
    snapshot = app_state.registry.snapshot
    cached = app_state.openapi_cache
    if cached is None or cached[0] is not snapshot:
        config = current_app.config
        document = openapi.document(snapshot, int(config["MAX_BATCH"]),
                                    bool(config["API_TOKEN"]), int(config["MAX_AUDIT_LIMIT"]),
                                    int(config["MAX_FACTS"]))
        app_state.openapi_cache = cached = (snapshot, document)
    return cached[1]


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(_document())


@bp.get("/docs")
def docs() -> Response:
    page = docs_page.render(_document(), state().registry.snapshot)
    return Response(page, content_type="text/html; charset=utf-8")
