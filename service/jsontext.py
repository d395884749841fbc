"""JSON text for answers, audit rows and log lines, written with orjson.

An evaluation's answer is mostly its fired rules (a few kilobytes) and it is serialised on
every request, once, for both the answer and the audit row; the standard library's encoder
took about 40 us for it, orjson a few. Request bodies are still *read* with the standard
library (see :mod:`service.body`), which keeps integers of any size exact.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    """Compact JSON text; values JSON has no type for are written as their ``str()``."""
    try:
        return orjson.dumps(value, default=str).decode()
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, which orjson does not write
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
