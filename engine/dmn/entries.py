"""FEEL entries, both ways: the text of input entries, output entries and value lists as
the workbook's conditions and values (reading), and conditions and values as FEEL text
(writing). Keeping both directions here keeps them each other's inverse.

The cell parser (:func:`engine.conditions.parse_condition`) reads the unary tests; this
module adds what FEEL has and a workbook cell has not: tests on a list (``list contains``)
and the refusal of FEEL names, which cannot be compiled to rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal

from engine.conditions import (
    AnyOf,
    AnyValue,
    Between,
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
from engine.dmn.xml import UNSUPPORTED
from engine.values import ValueProblem

# --- reading -------------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|[\u201c\u201e][^\u201c\u201d\u201e]*\u201d')
_NAME_WORD = re.compile(r"(?<![\w.])[^\W\d]\w*")
_KEYWORDS = {"true", "false", "null", "not"}
# DMN 1.5 equality tests (= 5, = null) and FEEL tests on the input value (? > 5), at the
# start of the entry or of an item of a comma list or of not( … ).
_EQUALS_TEST = re.compile(r"(^|[,(])\s*=(?!=)")
_INPUT_TEST = re.compile(r"(^|[,(])\s*\?\s*(<=|>=|!=|<|>|=)?")


class FeelProblem(ValueProblem):
    """An entry the engine cannot compile, with the check code it is reported under."""

    def __init__(self, message: str, fix: str, code: str) -> None:
        super().__init__(message, fix)
        self.code = code


def bare_names(text: str) -> list[str]:
    """Words of a FEEL entry that are names (variables, functions), not literals. FEEL is
    case-sensitive: ``True`` is a name, not the boolean ``true``."""
    return [w for w in _NAME_WORD.findall(_STRING.sub('""', text)) if w not in _KEYWORDS]


def _names_problem(text: str, what: str) -> FeelProblem:
    names = bare_names(text)
    hint = ""
    if names[0].lower() in _KEYWORDS:
        hint = f" (FEEL is case-sensitive: write {names[0].lower()})"
    return FeelProblem(
        f"'{text.strip()}' uses the name '{names[0]}'{hint}; {what}",
        f'write literal values: text in double quotes ("High"), numbers, {names[0].lower()}'
        if hint
        else 'write literal values: text in double quotes ("High"), numbers, true, false',
        UNSUPPORTED if not hint else "TV201",
    )


def _outside_strings(text: str, change: Callable[[str], str]) -> str:
    """``change`` applied to the parts of ``text`` that are not string literals."""
    out, pos = [], 0
    for literal in _STRING.finditer(text):
        out.append(change(text[pos : literal.start()]))
        out.append(literal.group())
        pos = literal.end()
    out.append(change(text[pos:]))
    return "".join(out)


def _is_list_literal(text: str) -> bool:
    """``["a", "b"]`` (a FEEL list), not a range such as ``[1..5]``."""
    masked = _STRING.sub('""', text)
    return masked.startswith("[") and masked.endswith("]") and ".." not in masked


def unary_tests(text: str) -> str:
    """An input entry on a column of single values, in the cell syntax of a workbook. Reads
    what DMN allows beyond it and means the same: ``= 5`` and ``= null`` (DMN 1.5),
    ``? > 5`` (a test on the input value ``?``), and a list ``["a", "b"]`` (the input is one
    of its items). Raises :class:`FeelProblem` for FEEL the rules cannot express, saying
    what it is."""
    body = text.strip()
    if "${" in body:
        raise FeelProblem(
            f"'{body}' is a JUEL expression (${{…}}), which is not supported: only FEEL unary "
            "tests can be compiled to rules",
            'write a FEEL unary test, for example "Approved", >= 18 or [1..5]',
            UNSUPPORTED,
        )
    if _is_list_literal(body):
        body = body[1:-1].strip() or "null"
    body = _outside_strings(body, lambda part: _EQUALS_TEST.sub(r"\1", part))
    body = _outside_strings(body, lambda part: _INPUT_TEST.sub(_input_test, part))
    masked = _STRING.sub('""', body)
    if "?" in masked:
        raise FeelProblem(
            f"'{text.strip()}' is a FEEL expression on the input value (?), which cannot be "
            "compiled to rules",
            "write a unary test such as > 5, or compare ? with one literal (? > 5)",
            UNSUPPORTED,
        )
    names = bare_names(body)
    if names and names[0].lower() in _KEYWORDS:
        raise _names_problem(body, "a unary test holds literals only")
    if names:
        call = re.search(rf"\b{re.escape(names[0])}\s*\(", masked)
        what = f"calls the FEEL function '{names[0]}'" if call else f"uses the name '{names[0]}'"
        raise FeelProblem(
            f"'{text.strip()}' {what}; names and functions cannot be compiled to rules (only "
            "unary tests of literals can)",
            'write literal values (text in double quotes, for example "High"), comparisons '
            "such as >= 18, or ranges such as [1..5]",
            UNSUPPORTED,
        )
    return body


_OPERATOR = re.compile(r"[-+*/]\s*[\w(\"]|\*\*|\bif\b|\band\b|\bor\b")
UNARY_TEST_FIX = 'write a FEEL unary test of literals: "High", >= 18, [1..5], not("a"), null or -'


def syntax_problem(text: str, exc: CellSyntaxError) -> FeelProblem:
    """A parse error of an input entry, told in DMN terms: an expression where a unary test
    belongs is named as one; anything else keeps the parser's message."""
    body = text.strip()
    if _OPERATOR.search(_STRING.sub('""', body).lstrip("-+")):
        return FeelProblem(
            f"'{body}' is a FEEL expression, not a unary test; expressions cannot be compiled "
            "to rules",
            UNARY_TEST_FIX,
            UNSUPPORTED,
        )
    return FeelProblem(exc.message.replace("this column", "this input"), UNARY_TEST_FIX, "TV201")


def _input_test(match: re.Match[str]) -> str:
    """``? > 5`` -> ``> 5``; ``? = 5`` -> ``5``; a ``?`` not followed by a comparison is kept
    (and refused)."""
    op = match.group(2)
    if op is None:
        return match.group(0)
    return match.group(1) + ("" if op == "=" else op + " ")


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
    if "${" in body:
        raise FeelProblem(
            f"'{body}' is a JUEL expression (${{…}}), which is not supported: only FEEL "
            "literals can be rule outputs",
            'write the value: text in double quotes ("Approved"), a number, true or false',
            UNSUPPORTED,
        )
    if bare_names(body) and not re.search(r"[-+*/(]", _STRING.sub('""', body)):
        if bare_names(body)[0].lower() in _KEYWORDS:
            raise _names_problem(body, "an output entry is one literal value")
    if _is_list_literal(body):
        raise FeelProblem(
            f"'{body}' is a FEEL list; a list as one output value is not supported",
            "give each rule one value per output clause (a multi-hit policy such as COLLECT "
            "gathers the values of several rules into a list)",
            UNSUPPORTED,
        )
    try:
        condition = parse_condition(body)
    except CellSyntaxError as exc:
        if bare_names(body) or _OPERATOR.search(_STRING.sub('""', body)):
            raise FeelProblem(
                f"'{body}' is a FEEL expression, not a literal value; expressions cannot be "
                "compiled to rules",
                "write the value: text in double quotes, a number, true, false or null",
                UNSUPPORTED,
            ) from None
        raise FeelProblem(
            exc.message,
            "write the value: text in double quotes, a number, true, false or null",
            "TV201",
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
    """``"a", "b"`` or ``1, 2``: the listed literals, in order. ``null`` may be listed and is
    left out (a DMN input may always be null). Raises ValueProblem."""
    if bare_names(text):
        raise _names_problem(text, "a list of values holds literals only")
    try:
        condition = parse_condition(without_null(text)[0] or "null")
    except CellSyntaxError as exc:
        raise ValueProblem(exc.message, 'list the values, for example "a", "b"') from None
    items = condition.items if isinstance(condition, AnyOf) else ()
    items = tuple(i for i in items if not isinstance(i, IsNull))
    if not all(isinstance(i, Equals) and i.quoted for i in items):
        raise ValueProblem(
            f"'{text}' is not a list of values",
            'list the values separated by commas, text in double quotes: "a", "b"',
        )
    return [i.value for i in items if isinstance(i, Equals)]


def literals_tested(entries: Iterable[str]) -> list[Value]:
    """The literals the input entries compare with (entries that cannot be read are left
    out: they are reported where the rules are read)."""
    found: list[Value] = []
    for text in entries:
        try:
            condition = parse_condition(unary_tests(text))
        except (ValueProblem, CellSyntaxError):
            continue
        for item in condition.items if not isinstance(condition, AnyValue) else ():
            if isinstance(item, Equals | Compare):
                found.append(item.value)
            elif isinstance(item, Between):
                found.append(item.low)
    return found


def numeric_range(text: str) -> Condition | None:
    """Allowed values that are a numeric range (``[0..100]``, ``>= 0``, ``>0, null``), not a
    list of values; ``None`` for anything else."""
    try:
        condition = parse_condition(without_null(text)[0] or "null")
    except CellSyntaxError:
        return None
    if not isinstance(condition, AnyOf):
        return None
    items = condition.items
    numeric = all(
        isinstance(i, Between)
        or (isinstance(i, Compare | Equals) and not isinstance(i.value, str | bool))
        for i in items
    )
    return condition if numeric and any(isinstance(i, Between | Compare) for i in items) else None


def without_null(text: str) -> tuple[str, bool]:
    """A list of unary tests without its ``null`` items (``>0, null`` -> ``>0``), and whether
    there was one: allowed values state what a value may be when there is one."""
    masked = _STRING.sub(lambda m: "\0" * len(m.group()), text)
    parts, pos, found = [], 0, False
    for comma in [*re.finditer(",", masked), None]:
        end = comma.start() if comma else len(text)
        part = text[pos:end]
        if part.strip() == "null":
            found = True
        else:
            parts.append(part.strip())
        pos = end + 1
    return ", ".join(p for p in parts if p), found


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
