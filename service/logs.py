"""Structured logs: one JSON object per line, each carrying the request id.

Every request gets a request id made here (:func:`new_request_id`): unique, and ordered by
time. It is returned in the ``X-Request-ID`` header and the body, stored with the audit row,
and added to every log record made while the request is handled, so one id ties the answer,
the audit trail and the logs together. A caller's own ``X-Request-ID`` is never used as the
request id — two callers, or one caller retrying, may send the same one — but it is kept as
``correlation_id``, in the answer, the audit row and the log line, when it is a plain token.

Logging is configured for the whole process by ``triage serve`` (through gunicorn's
``logconfig_dict``, so gunicorn's own messages are JSON too), never by ``create_app``:
an app factory called by tests must not take over the test runner's logging.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import time
from typing import Any

from flask import g, has_request_context, request

from service.jsontext import dumps

_TOKEN = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record made while a request is being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id") if has_request_context() else None
        return True


_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, pid, message, and
    every field passed in ``extra`` (request_id among them).

    Written here rather than taken from python-json-logger, whose formatter added about
    15 us to every request's log line (measured in a worker: 49 us a line with it, 35 us
    with this one, most of the rest being the write itself); one line is logged per
    request, so it is on the hot path.
    """

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "name": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return dumps(entry)


def new_request_id() -> str:
    """32 hex digits: the time in milliseconds (12 digits), then 80 random bits — the layout
    of a version 7 UUID, so ids sort by time and the audit table's unique index grows at its
    end. Two ids made in the same millisecond collide with probability 2**-80."""
    return f"{time.time_ns() // 1_000_000:012x}{os.urandom(10).hex()}"


def correlation_id() -> str | None:
    """The caller's ``X-Request-ID`` when it is a plain token (letters, digits and ``._:/+=-``,
    up to 128 characters), else None."""
    given = request.environ.get("HTTP_X_REQUEST_ID")  # as headers.get, without its wrapper
    return given if given is not None and _TOKEN.fullmatch(given) else None


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """``logging.config.dictConfig`` settings: JSON lines on standard error."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "service.logs.RequestIdFilter"}},
        "formatters": {
            "json": {"()": "service.logs.JsonFormatter"}
        },
        "handlers": {"console": handler},
        "root": {"level": level, "handlers": ["console"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["console"], "propagate": False},
            # one line per request comes from the app, with its request id and route
            "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        },
    }
