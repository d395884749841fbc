"""Reading a request body: JSON only, bounded, and checked for shape before any fact is.

Hostile bodies end here with a clear 4xx, before the engine sees them:

* a body over ``MAX_CONTENT_LENGTH`` -> 413, whether its length was declared or it came in
  chunks (a chunked body is read up to one byte past the limit, never cut and parsed);
* a content type other than JSON -> 415, and a ``charset`` other than UTF-8 -> 415
  ``unsupported_charset`` (JSON is UTF-8, RFC 8259; the standard library would otherwise
  guess UTF-16 from the bytes);
* bytes that are not UTF-8, ``NaN``/``Infinity`` (not JSON), or nesting deeper than
  Python's recursion limit -> 400 ``malformed_json``;
* the same key twice in one object -> 400 ``duplicate_key`` (a proxy or an EHR that reads the
  first value would record another case than the one triaged, where Python keeps the last);
* a lone surrogate escape such as ``"\\ud800"`` anywhere (a value, a fact name, a key) -> 400
  ``invalid_unicode``: it is not text, and no answer, audit row or log line could hold it;
* an integer of more than 400 digits is read as infinity, which the fact check then
  refuses as "must be a finite number" (422) — Python would otherwise spend quadratic time
  converting it, or refuse it with an error that names no field;
* a body that is not the request the contract declares (:mod:`service.contract`: facts that
  are not an object, too many fields, absurdly long names, unknown fields) -> 422 naming them.
"""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request
from pydantic import ValidationError as PydanticError

from service import contract
from service.errors import ApiError, clip, field_errors

MAX_DIGITS = 400  # more than any finite float has


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _integer(text: str) -> int | float:
    return int(text) if len(text) <= MAX_DIGITS else float("inf")


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return found


def _body() -> bytes:
    """The body's bytes, at most ``MAX_CONTENT_LENGTH`` of them, else 413."""
    limit = int(current_app.config["MAX_CONTENT_LENGTH"])
    if request.content_length is not None:
        return request.get_data(cache=False)  # Werkzeug: 413 beyond the limit
    stream = request.environ["wsgi.input"]  # chunked: read it ourselves, one byte past
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(min(65536, limit + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    if size > limit:
        raise ApiError(413, "request_entity_too_large",
                       f"the body is larger than the limit of {limit} bytes")
    return b"".join(parts)


def _charset() -> None:
    declared = request.environ.get("CONTENT_TYPE", "")
    if "charset" not in declared.lower():  # the usual case, decided without parsing
        return
    charset = request.mimetype_params.get("charset")
    if charset is not None and charset.strip().lower().replace("_", "-") not in (
            "utf-8", "utf8"):
        raise ApiError(415, "unsupported_charset",
                       f"JSON is read as UTF-8 only; the body was declared as "
                       f"'{clip(charset, 40)}': send it as UTF-8 (or leave charset out)")


def read_json() -> Any:
    """The request's JSON body, or an :class:`ApiError` (400, 413, 415)."""
    if not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the body as JSON with the header 'Content-Type: application/json'",
        )
    _charset()
    data = _body()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ApiError(400, "malformed_json", f"the body is not UTF-8: byte {error.start} "
                       f"cannot start or continue a character") from error
    if text.startswith("\ufeff"):
        raise ApiError(400, "malformed_json", "the body starts with a byte order mark; send "
                       "UTF-8 JSON without one")
    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_integer,
                           object_pairs_hook=_pairs)
    except _DuplicateKey as error:
        raise ApiError(400, "duplicate_key", f"the key '{clip(error.key, 100)}' appears twice "
                       "in one object; send each key once") from error
    except RecursionError as error:
        raise ApiError(400, "malformed_json", "the JSON is nested too deeply") from error
    except ValueError as error:  # JSONDecodeError
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {error}") from error
    if "\\u" in text:  # only an escape can make a lone surrogate in valid UTF-8
        where = _lone_surrogate(value, "(body)")
        if where is not None:
            raise ApiError(400, "invalid_unicode", f"{where} holds a lone surrogate escape "
                           "such as \\ud800, which is not text: send valid Unicode")
    return value


def _lone_surrogate(value: Any, where: str) -> str | None:
    """Where in ``value`` a string (or a key) holds a lone surrogate, or None."""
    if isinstance(value, str):
        return None if _encodable(value) else where
    if isinstance(value, dict):
        for key, item in value.items():
            if not _encodable(key):
                return f"a key of {where}"
            found = _lone_surrogate(item, key if where == "(body)" else f"{where}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _lone_surrogate(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _limits() -> contract.Requests:
    config = current_app.config
    return contract.models(int(config["MAX_BATCH"]), int(config["MAX_FACTS"]),
                           int(config["MAX_AUDIT_LIMIT"]))


def single(body: Any) -> tuple[dict[str, Any], str | None]:
    """``{"facts": {...}, "version": "..."}`` -> facts and the pinned version (None: the
    version now serving). Validated by :class:`contract.models` ``evaluate``."""
    model = _limits().evaluate
    try:
        checked = model.model_validate(body)
    except PydanticError as error:
        raise field_errors(contract.problems(error, fields=tuple(model.model_fields))) from None
    return checked.facts, checked.version  # type: ignore[attr-defined]


def batch(body: Any) -> tuple[list[Any], str | None]:
    """``{"cases": [{"facts": {...}}, ...], "version": "..."}`` -> the cases (each still to
    be checked on its own, so that one bad case fails alone) and the pinned version."""
    model = _limits().batch
    try:
        checked = model.model_validate(body)
    except PydanticError as error:
        raise field_errors(contract.problems(error, fields=tuple(model.model_fields))) from None
    return checked.cases, checked.version  # type: ignore[attr-defined]


def case_facts(case: Any, index: int) -> dict[str, Any]:
    """One batch case's facts, or an :class:`ApiError` for that case alone."""
    try:
        checked = _limits().case.model_validate(case)
    except PydanticError as error:
        raise field_errors(contract.problems(error, prefix=f"cases[{index}]")) from None
    facts: dict[str, Any] = checked.facts  # type: ignore[attr-defined]
    return facts
