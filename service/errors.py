"""The one place where errors become HTTP responses.

::

    ApiError                      an answer the service gives on purpose (status, code, message)
    engine.FactError          ->  422 invalid_facts, "errors": every bad, unknown or missing fact
    engine.HitPolicyViolation ->  409 hit_policy_violation, with the table and the rules
    engine.EngineFailure      ->  500 engine_failure (logged; a bug, never the caller's fault)
    werkzeug HTTPException    ->  its own status, as JSON (404 route, 405, 413 body too large)
    anything else             ->  500 internal_error (logged with its traceback)

Every body is JSON, ``{"error": code, "message": text, "request_id": id, ...}``, except for
a browser asking for a page (``Accept`` prefers ``text/html``, outside ``/v1``): it gets the
same status and message as a short HTML page (``pages/error.html``). No body ever holds a
traceback. :func:`describe` is used both by the handlers and by the batch
endpoint, so one bad case in a batch reads exactly like the same case sent alone.
Messages echo what the caller sent, so they are cut to a bounded length.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from engine.errors import EngineFailure, FactError, HitPolicyViolation

MAX_TEXT = 300  # characters of a message or field name echoed back


class ApiError(Exception):
    """An error answer: HTTP ``status``, a stable machine ``code`` and a sentence for people.
    ``extra`` is merged into the body (``errors`` for 422, ``table`` and ``rules`` for 409)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


def field_errors(problems: Iterable[tuple[str, str]]) -> ApiError:
    """422 for request-shape problems, in the same form as bad facts."""
    errors = [{"field": clip(f), "message": clip(m)} for f, m in problems]
    return ApiError(
        422, "invalid_request", _summary(errors, "the request is not valid"), {"errors": errors}
    )


def clip(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` cut to ``limit`` characters: callers may send megabytes of name or value.
    The middle goes, so that both the echoed value's start and the reason stay readable."""
    if len(text) <= limit:
        return text
    half = (limit - 1) // 2
    return text[:half] + "…" + text[len(text) - (limit - 1 - half):]


def _summary(errors: list[dict[str, str]], fallback: str) -> str:
    if not errors:
        return fallback
    head = f"{errors[0]['field']}: {errors[0]['message']}"
    more = len(errors) - 1
    return head + (f" (and {more} more)" if more else "")


def describe(error: Exception) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, JSON body and headers for ``error``. Logs what is not the caller's fault."""
    if isinstance(error, ApiError):
        body = {"error": error.code, "message": clip(error.message, 2000), **error.extra}
        return error.status, body, error.headers
    if isinstance(error, FactError):
        errors = [{"field": clip(p.field), "message": clip(p.message)} for p in error.problems]
        message = _summary(errors, "the facts are not valid")
        return 422, {"error": "invalid_facts", "message": message, "errors": errors}, {}
    if isinstance(error, HitPolicyViolation):
        body = {
            "error": "hit_policy_violation",
            "message": clip(str(error), 2000),
            "table": error.table,
            "hit_policy": error.hit_policy,
            "rules": list(error.rule_ids),
        }
        return 409, body, {}
    if isinstance(error, EngineFailure):
        current_app.logger.error("engine failure: %s", error, exc_info=error)
        message = "the rules engine failed on this request; it has been logged"
        return 500, {"error": "engine_failure", "message": message}, {}
    if isinstance(error, HTTPException):
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        headers = {k: v for k, v in error.get_headers() if k.lower() == "allow"}
        return status, {"error": code, "message": error.description or error.name}, headers
    current_app.logger.error("unhandled error: %r", error, exc_info=error)
    message = "the service failed on this request; it has been logged"
    return 500, {"error": "internal_error", "message": message}, {}


def wants_html() -> bool:
    """The client prefers an HTML page to JSON (a browser; curl's ``*/*`` gets JSON), and
    asks outside the JSON API."""
    if request.path.startswith("/v1/"):
        return False
    accept = request.accept_mimetypes
    return accept.best_match(["application/json", "text/html"]) == "text/html"


def response_for(error: Exception) -> Response:
    status, body, headers = describe(error)
    body["request_id"] = g.get("request_id")
    if wants_html() and "pages" in current_app.blueprints:
        page = render_template("pages/error.html", status=status, body=body)
        response = Response(page, status=status, content_type="text/html; charset=utf-8")
        response.headers.update(headers)
        return response
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers)
    return response


def register(app: Flask) -> None:
    """Route every exception through :func:`response_for` (never Flask's HTML pages)."""
    app.register_error_handler(ApiError, response_for)
    app.register_error_handler(FactError, response_for)
    app.register_error_handler(HitPolicyViolation, response_for)
    app.register_error_handler(HTTPException, response_for)
    app.register_error_handler(Exception, response_for)
