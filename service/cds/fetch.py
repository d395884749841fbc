"""Reading what the EHR did not prefetch from its FHIR server, as CDS Hooks allows: with the
``fhirAuthorization`` bearer token the request carries, and a time limit, so a slow FHIR
server costs the call at most ``CDS_FHIR_TIMEOUT`` seconds. A server that fails or answers
something that is not FHIR JSON is a 502 naming the query; never a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit

import requests

from service.errors import ApiError


def fill(template: str, context: dict[str, Any]) -> str:
    """A prefetch template with its ``{{context.x}}`` tokens replaced (URL-quoted)."""
    for name, value in context.items():
        if isinstance(value, str | int):
            token = "{{context." + name + "}}"
            template = template.replace(token, quote(str(value), safe=""))
    return template


def read(server: str, query: str, token: str | None, timeout: float) -> dict[str, Any]:
    """GET ``<server>/<query>`` as FHIR JSON."""
    parts = urlsplit(server)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ApiError(422, "invalid_request", "fhirServer must be an http(s) URL",
                       {"errors": [{"field": "fhirServer", "message": "must be an http(s) URL"}]})
    if "{{" in query:
        raise ApiError(412, "prefetch_missing",
                       f"cannot fill the prefetch query '{query}' from the context")
    headers = {"Accept": "application/fhir+json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = server.rstrip("/") + "/" + query
    try:
        answer = requests.get(url, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as error:
        raise _failed(query, type(error).__name__) from error
    if answer.status_code != 200:
        raise _failed(query, f"HTTP {answer.status_code}")
    try:
        data = answer.json()
    except ValueError as error:
        raise _failed(query, "the answer is not JSON") from error
    if not isinstance(data, dict):
        raise _failed(query, "the answer is not a FHIR resource")
    return data


def _failed(query: str, why: str) -> ApiError:
    return ApiError(502, "fhir_server_failed",
                    f"the FHIR server could not give '{query[:200]}' ({why}); "
                    "prefetch it or try again")
