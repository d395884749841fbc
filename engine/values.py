"""Reading single values out of cells: names, literals, yes/no, lists.

Shared by the sheet readers so that a value is read the same way wherever it is written.
Each reader returns the value or raises :class:`ValueProblem` with a fix for the clinician.
"""

from __future__ import annotations

import datetime as dt
import math
import re

from engine.conditions import Value, format_value
from engine.model import Kind

SNAKE_CASE = re.compile(r"[a-z][a-z0-9_]*\Z")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z")


class ValueProblem(ValueError):
    """A value that cannot be read. ``kind`` is ``allowed`` for a value outside the listed
    ones and ``type`` otherwise; the reader that called decides the check code from it and
    from where the cell is."""

    def __init__(self, message: str, fix: str, kind: str = "type") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.kind = kind


def text_of(raw: object) -> str:
    """A cell as display text ('' for empty)."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "true" if raw else "false"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime) and raw.time() == dt.time():
        return raw.date().isoformat()
    if isinstance(raw, dt.date | dt.datetime | dt.time):
        return raw.isoformat()
    return str(raw).strip()


def read_name(raw: object, what: str) -> str:
    name = text_of(raw)
    if not SNAKE_CASE.match(name):
        suggestion = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        if suggestion and not suggestion[0].isalpha():
            suggestion = "x_" + suggestion
        hint = f", for example '{suggestion}'" if suggestion else ""
        raise ValueProblem(
            f"'{name}' is not a valid {what} name",
            f"use lower-case letters, digits and _, starting with a letter{hint}",
        )
    return name


def read_yes_no(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    text = text_of(raw).lower()
    if text in ("yes", "y", "true"):
        return True
    if text in ("no", "n", "false"):
        return False
    raise ValueProblem(f"'{text_of(raw)}' is not yes or no", "write yes or no")


def tidy_number(value: int | float) -> int | float:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def read_literal(raw: object) -> Value:
    """A literal whose type is not known yet: Excel's own type, else the text's shape."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise ValueProblem("the cell holds an error value", "write a value")
        return tidy_number(raw)
    text = text_of(raw)
    if len(text) >= 2 and text[0] in '"\u201c' and text[-1] in '"\u201d':
        return text[1:-1]
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _NUMBER.match(text):
        if re.fullmatch(r"[-+]?\d+", text):
            return int(text)
        number = float(text)
        if not math.isfinite(number):
            raise ValueProblem(f"{text} is not a finite number", "write an ordinary number")
        return tidy_number(number)
    return text


def unquote(text: str) -> str:
    """'"focal"' -> 'focal' (straight or typographic quotes); other text unchanged."""
    if len(text) >= 2 and text[0] in '"\u201c' and text[-1] in '"\u201d':
        return text[1:-1]
    return text


def read_typed(raw: object, kind: Kind, allowed: tuple[Value, ...] = ()) -> Value:
    """A single value of a known type, as written in an output, default or vignette cell."""
    if kind in (Kind.ENUM, Kind.TEXT):
        value: Value = unquote(text_of(raw))
        if kind is Kind.ENUM and allowed and value not in allowed:
            raise ValueProblem(
                f"'{value}' is not one of the allowed values", choices(allowed), "allowed"
            )
        return value
    value = read_literal(raw)
    if kind is Kind.BOOLEAN:
        if isinstance(value, str) and value.lower() in ("yes", "no"):
            return value.lower() == "yes"
        if not isinstance(value, bool):
            raise ValueProblem(f"'{text_of(raw)}' is not true or false", "write true or false")
    elif isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueProblem(f"'{text_of(raw)}' is not a number", "write a number such as 38.5")
    elif kind is Kind.INTEGER and isinstance(value, float) and not value.is_integer():
        raise ValueProblem(f"'{text_of(raw)}' is not a whole number", "write a whole number")
    if allowed and value not in allowed:
        raise ValueProblem(
            f"'{text_of(raw)}' is not one of the allowed values", choices(allowed), "allowed"
        )
    return value


def split_list(raw: object) -> list[str]:
    """Split 'a, "b, c", d' on commas outside double quotes; strip quotes and spaces."""
    text = text_of(raw)
    if text in ("", "[]"):
        return []
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    parts, current, quoted = [], "", False
    for ch in text.replace("\u201c", '"').replace("\u201d", '"'):
        if ch == '"':
            quoted = not quoted
            current += ch
        elif ch == "," and not quoted:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return [p for p in parts if p != ""]


def choices(allowed: tuple[Value, ...]) -> str:
    shown = ", ".join(format_value(v) for v in allowed[:12])
    return f"write one of {shown}{', …' if len(allowed) > 12 else ''}"
