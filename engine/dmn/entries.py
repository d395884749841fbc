"""FEEL entries, both ways: the text of input entries, output entries and value lists as
the workbook's conditions and values (reading), and conditions and values as FEEL text
(writing). Keeping both directions here keeps them each other's inverse.

The cell parser (:func:`engine.conditions.parse_condition`) reads the unary tests; this
module adds what FEEL has and a workbook cell has not: tests on a list (``list contains``)
and the refusal of FEEL names, which cannot be compiled to rules.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from engine.conditions import (
    AnyOf,
    AnyValue,
    CellSyntaxError,
    Compare,
    Condition,
    Equals,
    IsNull,
    Item,
    NoneOf,
    Value,
    parse_condition,
)
from engine.values import ValueProblem

# --- reading -------------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|[\u201c\u201e][^\u201c\u201d\u201e]*\u201d')
_NAME_WORD = re.compile(r"(?<![\w.])[^\W\d]\w*")
_KEYWORDS = {"true", "false", "null", "not"}


def bare_names(text: str) -> list[str]:
    """Words of a FEEL entry that are names (variables, functions), not literals."""
    return [w for w in _NAME_WORD.findall(_STRING.sub('""', text)) if w.lower() not in _KEYWORDS]


_LIST_ITEM = re.compile(
    r"""\s*(?:
      list\s+contains\s*\(\s*\?\s*,\s*
        (?P<value>"(?:[^"\\]|\\.)*"|[-+]?(?:\d+(?:\.\d*)?|\.\d+)|true|false)\s*\)
    | (?P<empty>count\s*\(\s*\?\s*\)\s*=\s*0|\?\s*=\s*\[\s*\])
    )\s*""",
    re.VERBOSE,
)
_LIST_SEPARATOR = re.compile(r"(?:,|or\b)\s*")


def list_test_text(text: str) -> str | None:
    """A FEEL test on a list (``list contains(?, "a") or list contains(?, "b")``,
    ``not(list contains(?, "a"))``, ``count(?) = 0``) as the workbook cell that means the
    same (``"a", "b"``, ``not("a")``, ``null``); ``None`` when ``text`` has another form."""
    body, negated = text.strip(), False
    if body in ("", "-"):
        return "-"
    whole = re.fullmatch(r"not\s*\((.*)\)", body, re.S)
    if whole:
        body, negated = whole.group(1), True
    items: list[str] = []
    pos = 0
    while True:
        item = _LIST_ITEM.match(body, pos)
        if item is None:
            return None
        items.append(item.group("value") or "null")
        pos = item.end()
        if pos >= len(body):
            break
        separator = _LIST_SEPARATOR.match(body, pos)
        if separator is None:
            return None
        pos = separator.end()
    inner = ", ".join(items)
    return f"not({inner})" if negated else inner


def read_literal_entry(text: str) -> Value | None:
    """An output entry, default output entry or list value: one FEEL literal (text in
    double quotes, a number, true, false) or ``null``. Raises :class:`ValueProblem`."""
    body = text.strip()
    if not body:
        raise ValueProblem("the entry is empty", "write a value, or null")
    try:
        condition = parse_condition(body)
    except CellSyntaxError as exc:
        raise ValueProblem(
            exc.message, "write text in double quotes, a number, true or false"
        ) from None
    if isinstance(condition, AnyOf) and len(condition.items) == 1:
        item = condition.items[0]
        if isinstance(item, IsNull):
            return None
        if isinstance(item, Equals) and item.quoted:
            return item.value
        if isinstance(item, Equals):
            raise ValueProblem(
                f"'{body}' is a FEEL name, not a value; names and expressions are not supported",
                f'write text in double quotes, for example "{body}"',
            )
    raise ValueProblem(
        f"'{body}' is not a single literal value",
        "write one value: text in double quotes, a number, true, false or null",
    )


def value_list(text: str) -> list[Value]:
    """``"a", "b"`` or ``1, 2``: the listed literals, in order. Raises ValueProblem."""
    try:
        condition = parse_condition(text)
    except CellSyntaxError as exc:
        raise ValueProblem(exc.message, 'list the values, for example "a", "b"') from None
    items = condition.items if isinstance(condition, AnyOf) else ()
    if not items or not all(isinstance(i, Equals) and i.quoted for i in items):
        raise ValueProblem(
            f"'{text}' is not a list of values",
            'list the values separated by commas, text in double quotes: "a", "b"',
        )
    return [i.value for i in items if isinstance(i, Equals)]


# --- writing -------------------------------------------------------------------------------


def feel_number(value: int | float) -> str:
    """A FEEL numeric literal: digits and a decimal point, never an exponent."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def feel_literal(value: Value | None) -> str:
    """A value as a FEEL literal: ``null``, ``true``, ``12.5``, ``"text"``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return feel_number(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def feel_list(values: Iterable[Value]) -> str:
    """Values as FEEL unary tests, one per value: ``"a", "b"`` (outputValues, inputValues)."""
    return ", ".join(feel_literal(v) for v in values)


def _feel_item(item: Item) -> str:
    if isinstance(item, IsNull):
        return "null"
    if isinstance(item, Equals):
        return feel_literal(item.value)
    if isinstance(item, Compare):
        return f"{item.op} {feel_literal(item.value)}"
    left = "[" if item.low_closed else "("
    right = "]" if item.high_closed else ")"
    return f"{left}{feel_number(item.low)}..{feel_number(item.high)}{right}"


def feel_condition(condition: Condition, is_list: bool = False) -> str:
    """An input entry as FEEL unary tests that mean what the engine evaluates."""
    if isinstance(condition, AnyValue):
        return "-"
    if is_list:
        parts = [
            "count(?) = 0" if isinstance(i, IsNull) else f"list contains(?, {_feel_item(i)})"
            for i in condition.items
        ]
        text = " or ".join(parts)
        return f"not({text})" if isinstance(condition, NoneOf) else text
    items = condition.items
    if isinstance(condition, AnyOf) and len(items) == 1:
        only = items[0]
        if isinstance(only, Compare) and only.op == "!=":
            return f"not({feel_literal(only.value)})"  # FEEL has no != unary test
    text = ", ".join(_feel_item(i) for i in items)
    return f"not({text})" if isinstance(condition, NoneOf) else text
