"""Bearer tokens: admin endpoints always need one; evaluation needs one when configured.

Tokens are compared with :func:`hmac.compare_digest`, in time independent of how many
leading characters match, so a caller cannot guess a token one character at a time.
"""

from __future__ import annotations

import hmac

from flask import current_app, request

from service.errors import ApiError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="triage"'}


def _presented() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _check(expected: str) -> None:
    token = _presented()
    if token is None:
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>'", None,
                       _CHALLENGE)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "unauthorized", "the bearer token is not valid", None, _CHALLENGE)


def require_admin() -> None:
    expected = current_app.config["ADMIN_TOKEN"]
    if not expected:
        raise ApiError(403, "admin_disabled",
                       "admin endpoints are disabled: start the service with TRIAGE_ADMIN_TOKEN")
    _check(expected)


def require_api() -> None:
    expected = current_app.config["API_TOKEN"]
    if expected:
        _check(expected)
