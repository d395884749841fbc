"""A unit typed into a cell: ``> 2 weeks`` in a column the Inputs sheet measures in days.

Cells hold numbers in the unit the Inputs sheet declares for the input; the parser alone
would only say "unexpected 'weeks'". This names the unit written, the unit declared, and —
for units of time, where the conversion is exact — the test to write instead.
"""

from __future__ import annotations

import re

from engine.conditions import CellSyntaxError, format_value, parse_condition

_SECONDS = {
    "second": 1,
    "sec": 1,
    "s": 1,
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "hr": 3600,
    "h": 3600,
    "day": 86400,
    "d": 86400,
    "week": 604800,
    "wk": 604800,
    "w": 604800,
}
_TRAILING_UNIT = re.compile(r"(?P<test>.*?[\d\])])\s*(?P<unit>[^\W\d_][^,\"\d]*|°\s*\w+)\Z")
_NOT_UNITS = {"and", "or", "to", "till", "until", "not", "but", "then", "than", "plus", "null"}
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")


def unit_in_cell(text: str, name: str, declared: str) -> tuple[str, str] | None:
    """(message, fix) when ``text`` is a test followed by a unit, else None."""
    found = _TRAILING_UNIT.fullmatch(text.strip())
    if found is None:
        return None
    test, unit = found["test"].strip(), found["unit"].strip()
    if unit.split()[0].lower() in _NOT_UNITS:
        return None
    try:
        parse_condition(test)
    except CellSyntaxError:
        return None
    column_unit = f"in {declared}" if declared else "without a unit"
    message = (
        f"'{text.strip()}' has a unit, '{unit}', in the cell: {name} is measured "
        f"{column_unit} (Inputs sheet), and cells hold numbers only"
    )
    factor = _factor(unit, declared)
    if factor is not None and factor != 1:
        numbers = [float(n) * factor for n in _NUMBER.findall(test)]
        if all(round(n, 2) == round(n, 9) for n in numbers):  # a conversion a person can read
            converted = _NUMBER.sub(lambda m: format_value(round(float(m[0]) * factor, 2)), test)
            return message, f"write '{converted}' ({test} {unit} in {declared})"
    example = f"'{test}'" + (f", meaning {declared}" if declared else "")
    return message, f"write the number without the unit: {example}"


def _factor(written: str, declared: str) -> float | None:
    """How many ``declared`` units one ``written`` unit is, for units of time."""
    a, b = _seconds(written), _seconds(declared.split("/")[0]) if declared else None
    return a / b if a and b else None


def _seconds(unit: str) -> int | None:
    word = unit.strip().lower().rstrip(".")
    if word not in _SECONDS and word.endswith("s"):
        word = word[:-1]
    return _SECONDS.get(word)
