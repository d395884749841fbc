"""Reading a request body: JSON only, bounded, and checked for shape before any fact is.

Hostile bodies end here with a clear 4xx, before the engine sees them:

* a body over ``MAX_CONTENT_LENGTH`` -> 413 (Werkzeug stops reading at the limit);
* a content type other than JSON -> 415;
* bytes that are not UTF-8 JSON, ``NaN``/``Infinity`` (not JSON), or nesting deeper than
  Python's recursion limit -> 400;
* an integer of more than 400 digits is read as infinity, which the fact check then
  refuses as "must be a finite number" (422) — Python would otherwise spend quadratic time
  converting it, or refuse it with an error that names no field;
* facts that are not an object, too many fields, absurdly long names -> 422 naming them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import current_app, request

from service.errors import ApiError, field_errors

MAX_DIGITS = 400  # more than any finite float has
MAX_NAME = 100  # characters in a fact name; no input name is longer


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _integer(text: str) -> int | float:
    return int(text) if len(text) <= MAX_DIGITS else float("inf")


def read_json() -> Any:
    """The request's JSON body, or an :class:`ApiError` (400, 413 via Werkzeug, 415)."""
    if not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the body as JSON with the header 'Content-Type: application/json'",
        )
    data = request.get_data(cache=False)  # raises 413 beyond MAX_CONTENT_LENGTH
    try:
        return json.loads(data, parse_constant=_constant, parse_int=_integer)
    except RecursionError as error:
        raise ApiError(400, "malformed_json", "the JSON is nested too deeply") from error
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {error}") from error


def _object(body: Any, allowed: tuple[str, ...], example: str) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise field_errors([("(body)", f"must be a JSON object such as {example}")])
    unknown = [k for k in body if k not in allowed]
    if unknown:
        raise field_errors(
            (k, f"is not a field of this request (fields: {', '.join(allowed)})")
            for k in unknown
        )
    return body


def _version(body: Mapping[str, Any]) -> str | None:
    """The pinned version, or None when the body leaves it out (the current version serves).
    ``null`` is refused like any other non-text value: the OpenAPI document promises text."""
    if "version" not in body:
        return None
    version = body["version"]
    if not isinstance(version, str) or not 1 <= len(version) <= 64:
        raise field_errors([("version", "must be the version hash of a loaded table; leave "
                                        "it out to use the version now serving")])
    return version


def facts_problems(facts: Any, where: str) -> list[tuple[str, str]]:
    """Shape problems of one case's facts (the engine checks the values)."""
    if facts is None:
        return [(where, "is required: an object of fact names and values")]
    if not isinstance(facts, dict):
        return [(where, "must be an object of fact names and values")]
    limit = int(current_app.config["MAX_FACTS"])
    if len(facts) > limit:
        return [(where, f"has {len(facts)} fields; at most {limit} are accepted")]
    return [
        (name, f"is not an input of this table (a name of {len(name)} characters)")
        for name in facts
        if len(name) > MAX_NAME
    ]


def single(body: Any) -> tuple[dict[str, Any], str | None]:
    """``{"facts": {...}, "version": "..."}`` -> facts and the pinned version."""
    checked = _object(body, ("facts", "version"), '{"facts": {...}}')
    problems = facts_problems(checked.get("facts"), "facts")
    if problems:
        raise field_errors(problems)
    return checked["facts"], _version(checked)


def batch(body: Any) -> tuple[list[Any], str | None]:
    """``{"cases": [{"facts": {...}}, ...], "version": "..."}`` -> the cases (each still to
    be checked on its own, so that one bad case fails alone) and the pinned version."""
    checked = _object(body, ("cases", "version"), '{"cases": [{"facts": {...}}]}')
    cases = checked.get("cases")
    if not isinstance(cases, list):
        raise field_errors([("cases", "is required: a list of {\"facts\": {...}} objects")])
    limit = int(current_app.config["MAX_BATCH"])
    if not 1 <= len(cases) <= limit:
        raise field_errors([("cases", f"must hold 1 to {limit} cases, not {len(cases)}")])
    return cases, _version(checked)


def case_facts(case: Any, index: int) -> dict[str, Any]:
    """One batch case's facts, or an :class:`ApiError` for that case alone."""
    where = f"cases[{index}]"
    if not isinstance(case, dict):
        raise field_errors([(where, 'must be an object such as {"facts": {...}}')])
    unknown = [k for k in case if k != "facts"]
    if unknown:
        raise field_errors((f"{where}.{k}", "is not a field of a case") for k in unknown)
    problems = facts_problems(case.get("facts"), f"{where}.facts")
    if problems:
        raise field_errors(problems)
    facts: dict[str, Any] = case["facts"]
    return facts
