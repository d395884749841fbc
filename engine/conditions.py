"""Input cells: DMN unary tests, parsed into a small typed tree.

A cell always becomes one of three shapes, so later stages handle few cases:

* :class:`AnyValue` — ``-`` (or an empty cell): matches everything, a missing value included;
* :class:`AnyOf` — a comma list ``a, b, c`` (a single test is a list of one): some item matches;
* :class:`NoneOf` — ``not(a, b)``: the value is present and no item matches.

Items are :class:`IsNull` (``null``), :class:`Equals` (a literal), :class:`Compare`
(``< <= > >= !=`` and a literal) and :class:`Between` (``[1..5]``, ``(1..5]``, ``]1..5[`` …).

A missing value (``None``) satisfies only ``-`` and ``null``: a comparison with a missing
laboratory value is never true, and neither is ``not(...)``. This is stricter than FEEL's
three-valued logic on purpose: an empty field must never select a rule by default.

Parsing knows nothing of types; :func:`type_problems` checks a parsed cell against the
column's declared type so that every mistake is reported where it was written.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from engine.hitpolicy import same_value

Value = bool | int | float | str


@dataclass(frozen=True)
class IsNull:
    def __str__(self) -> str:
        return "null"


@dataclass(frozen=True)
class Equals:
    value: Value
    quoted: bool = True  # False for a bare word such as focal, accepted only in enum columns

    def __str__(self) -> str:
        return format_value(self.value)


@dataclass(frozen=True)
class Compare:
    op: str  # one of < <= > >= !=
    value: Value

    def __str__(self) -> str:
        return f"{self.op} {format_value(self.value)}"


@dataclass(frozen=True)
class Between:
    low: int | float
    high: int | float
    low_closed: bool = True
    high_closed: bool = True

    def __str__(self) -> str:
        left = "[" if self.low_closed else "("
        right = "]" if self.high_closed else ")"
        return f"{left}{format_value(self.low)}..{format_value(self.high)}{right}"


Item = IsNull | Equals | Compare | Between


@dataclass(frozen=True)
class AnyValue:
    def __str__(self) -> str:
        return "-"


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Item, ...]

    def __str__(self) -> str:
        return ", ".join(str(i) for i in self.items)


@dataclass(frozen=True)
class NoneOf:
    items: tuple[Item, ...]

    def __str__(self) -> str:
        return "not(" + ", ".join(str(i) for i in self.items) + ")"


Condition = AnyValue | AnyOf | NoneOf


class CellSyntaxError(ValueError):
    """A cell could not be read; ``fix`` says what to write instead; ``code`` is the check
    (TV201, or TV202 for a value Excel turned into a date)."""

    def __init__(self, message: str, fix: str, code: str = "TV201") -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.code = code


def format_value(value: object) -> str:
    """Write a value the way a cell would hold it (strings quoted, booleans lower case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


# --- tokenizer ---------------------------------------------------------------------------

# Text in straight quotes or in the typographic quotes Excel's autocorrect produces, with
# backslash escapes; inside either, every other character is taken literally.
_STRING = (
    r'"(?:[^"\\]|\\.)*"'
    r"|[\u201c\u201e\u2033](?:[^\u201c\u201d\u2033\\]|\\.)*[\u201c\u201d\u2033]"
)
_SYMBOLS = str.maketrans({"\u2264": "<=", "\u2265": ">=", "\u2260": "!=", "\u2212": "-"})
_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<string>STRING)
    | (?P<number>[-+]?(?:\d+(?:\.\d+)?|(?<!\.)\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<range>\.\.)
    | (?P<op><=|>=|!=|<|>)
    | (?P<punct>[(),\[\]])
    | (?P<word>[A-Za-z_][A-Za-z0-9_ '/-]*[A-Za-z0-9_]|[A-Za-z_])
    | (?P<bad>\S)
    )""".replace("STRING", _STRING),
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    value: Value | None = None


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    text = _outside_strings(text, _SYMBOLS)
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - the pattern always matches a non-blank character
            raise CellSyntaxError(f"cannot read {text[pos:]!r}", "write a DMN unary test")
        pos = match.end()
        kind = match.lastgroup or "bad"
        raw = match.group(kind)
        if kind == "string":
            tokens.append(_Token("literal", raw, _unescape(raw[1:-1])))
        elif kind == "number":
            tokens.append(_Token("literal", raw, _number(raw)))
        elif kind == "word":
            tokens.append(_word_token(raw))
        elif kind == "op":
            tokens.append(_Token("op", raw))
        elif kind == "bad":
            raise _bad_character(raw, text)
        else:
            tokens.append(_Token(raw, raw))
    return tokens


def _outside_strings(text: str, table: dict[int, str]) -> str:
    """Translate characters (Excel's autocorrected symbols) except inside quoted text, which
    is taken literally."""
    parts = re.split(f"({_STRING})", text)
    return "".join(p if i % 2 else p.translate(table) for i, p in enumerate(parts))


def _bad_character(char: str, text: str) -> CellSyntaxError:
    """A character no test can contain; say what the clinician probably meant."""
    if char == '"':
        message, fix = (
            f"a text value in '{text}' has no closing quote",
            ('end the text with a double quote, for example "focal"'),
        )
    elif char == "=" and text.lstrip().startswith("="):
        message = f"'{text}' starts with '=', which Excel reads as a formula"
        fix = "write the value alone (5), or a comparison such as '>= 5'"
    elif char == "." and "..." in text:
        message, fix = f"'{text}' has three dots", "write a range with two dots, such as '[1..5]'"
    elif char == ".":
        message, fix = f"unexpected '.' in '{text}'", "write a number such as 5 or 5.5"
    elif char in "{}":
        message = f"unexpected {char!r} in '{text}'"
        fix = "close a range with ] or ), for example '[1..5]'"
    elif char == "'":
        message, fix = f"'{text}' uses single quotes", 'put text in double quotes, such as "focal"'
    else:
        message = f"unexpected character {char!r} in '{text}'"
        fix = 'put text in double quotes, for example "focal"'
    return CellSyntaxError(message, fix)


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", r"\1", body)


def _number(text: str) -> int | float:
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    value = float(text)
    if not math.isfinite(value):
        raise CellSyntaxError(f"{text} is not a finite number", "write an ordinary number")
    return value


def _word_token(word: str) -> _Token:
    lower = word.lower()
    if lower == "true":
        return _Token("literal", word, True)
    if lower == "false":
        return _Token("literal", word, False)
    if lower == "null":
        return _Token("null", word)
    if lower == "not":
        return _Token("not", word)
    return _Token("word", word, word)


# --- parser ------------------------------------------------------------------------------


def parse_condition(raw: object) -> Condition:
    """Parse an input cell. ``raw`` is what the spreadsheet holds: text, a number, a boolean
    or ``None`` for an empty cell (which means ``-``)."""
    if raw is None:
        return AnyValue()
    if isinstance(raw, bool):
        return AnyOf((Equals(raw),))
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            raise CellSyntaxError("the cell holds an error value", "write a number")
        return AnyOf((Equals(_tidy_number(raw)),))
    if isinstance(raw, dt.date | dt.time):
        raise CellSyntaxError(
            "Excel turned this cell into a date or time",
            "format the cell as Text, then write the test again, for example '[1..5]'",
            "TV202",
        )
    return _parse_text(str(raw).strip())


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> Condition:
    """Tables repeat the same cells often; parsed conditions are immutable, so share them."""
    if text in ("", "-"):
        return AnyValue()
    tokens = _tokenize(text)
    parser = _Parser(tokens, text)
    condition = parser.condition()
    parser.expect_end()
    return condition


def _tidy_number(value: int | float) -> int | float:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


class _Parser:
    def __init__(self, tokens: list[_Token], text: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.text = text

    def peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise CellSyntaxError(
                f"'{self.text}' ends too early", "finish the test, for example '>= 5' or '[1..5]'"
            )
        self.pos += 1
        return token

    def expect(self, kind: str, fix: str) -> _Token:
        token = self.take()
        if token.kind != kind:
            raise CellSyntaxError(f"unexpected '{token.text}' in '{self.text}'", fix)
        return token

    def expect_end(self) -> None:
        token = self.peek()
        if token is not None:
            raise CellSyntaxError(
                f"unexpected '{token.text}' in '{self.text}'",
                'separate alternatives with commas, for example \'"a", "b"\'',
            )

    def condition(self) -> Condition:
        token = self.peek()
        if token is not None and token.kind == "-":  # pragma: no cover - '-' alone handled above
            self.take()
            return AnyValue()
        if token is not None and token.kind == "not":
            self.take()
            self.expect("(", "write not( … ) with parentheses, for example 'not(\"focal\")'")
            items = self.items()
            self.expect(")", "close not( … ) with ')'")
            return NoneOf(items)
        return AnyOf(self.items())

    def items(self) -> tuple[Item, ...]:
        items = [self.item()]
        while (token := self.peek()) is not None and token.kind == ",":
            self.take()
            items.append(self.item())
        return tuple(items)

    def item(self) -> Item:
        token = self.take()
        if token.kind == "null":
            return IsNull()
        if token.kind == "literal":
            assert token.value is not None
            return Equals(token.value)
        if token.kind == "word":
            assert isinstance(token.value, str)
            return Equals(token.value, quoted=False)
        if token.kind == "op":
            literal = self.take()
            if literal.kind not in ("literal", "word") or literal.value is None:
                raise CellSyntaxError(
                    f"'{token.text}' must be followed by a value in '{self.text}'",
                    f"write for example '{token.text} 5'",
                )
            return Compare(token.text, literal.value)
        if token.kind in ("[", "(", "]"):
            return self.between(token)
        raise CellSyntaxError(
            f"unexpected '{token.text}' in '{self.text}'",
            "write a value, a comparison such as '>= 5', or a range such as '[1..5]'",
        )

    def between(self, opening: _Token) -> Between:
        fix = "write a range such as '[1..5]' (closed) or '(1..5)' (open)"
        low = self.take()
        if low.kind != "literal" or isinstance(low.value, bool | str):
            raise CellSyntaxError(f"range bounds in '{self.text}' must be numbers", fix)
        self.expect("..", fix)
        high = self.take()
        closing = self.take()
        if closing.kind not in ("]", ")", "["):
            raise CellSyntaxError(f"range in '{self.text}' is not closed", fix)
        for bound in (low, high):
            if bound.kind != "literal" or isinstance(bound.value, bool | str):
                raise CellSyntaxError(f"range bounds in '{self.text}' must be numbers", fix)
        assert isinstance(low.value, int | float) and isinstance(high.value, int | float)
        return Between(
            low.value,
            high.value,
            low_closed=opening.kind == "[",
            high_closed=closing.kind == "]",
        )


# --- type checking -----------------------------------------------------------------------

NUMERIC = ("number", "integer")


class TypeProblem(NamedTuple):
    """A cell item that does not fit its column. ``kind`` tells which check it belongs to:
    ``type`` (the wrong kind of value), ``allowed`` (a value the column does not allow) or
    ``empty`` (a range holding no value)."""

    message: str
    fix: str
    kind: str = "type"


def items_of(condition: Condition) -> tuple[Item, ...]:
    return () if isinstance(condition, AnyValue) else condition.items


def type_problems(
    condition: Condition, kind: str, allowed: tuple[Value, ...] = (), is_list: bool = False
) -> list[TypeProblem]:
    """Return a problem for every item of ``condition`` that does not fit a column
    of type ``kind`` (boolean, number, integer, enum, text) with ``allowed`` values.
    ``is_list`` marks a column fed by a multi-hit table, which holds a list of values."""
    problems: list[TypeProblem] = []
    negated = isinstance(condition, NoneOf)  # not(0.5) holds for every integer, as != 0.5 does
    for item in items_of(condition):
        problem = _item_problem(item, kind, allowed, is_list, negated)
        if problem:
            problems.append(problem)
    return problems


def _item_problem(
    item: Item, kind: str, allowed: tuple[Value, ...], is_list: bool, negated: bool = False
) -> TypeProblem | None:
    if isinstance(item, IsNull):
        return None
    if is_list and not isinstance(item, Equals):
        return TypeProblem(
            f"'{item}' cannot test a list of values",
            'list the values to look for, for example \'"a", "b"\', or use not("a")',
        )
    if kind in NUMERIC:
        return _numeric_problem(item, kind, negated)
    if isinstance(item, Between) or (isinstance(item, Compare) and item.op != "!="):
        return TypeProblem(
            f"'{item}' compares order, but this column is {kind}", _choices_fix(kind, allowed)
        )
    value = item.value
    if kind == "boolean":
        if not isinstance(value, bool):
            message = f"'{format_value(value)}' is not true or false"
            return TypeProblem(message, "write true or false")
        return None
    if not isinstance(value, str):
        return TypeProblem(f"'{format_value(value)}' is not text", _choices_fix(kind, allowed))
    if kind == "enum" and value not in allowed:
        return TypeProblem(
            f"'{value}' is not one of the allowed values", _choices_fix(kind, allowed), "allowed"
        )
    if kind == "text" and isinstance(item, Equals) and not item.quoted:
        return TypeProblem(f"'{value}' must be written in double quotes", f'write "{value}"')
    return None


def _numeric_problem(item: Item, kind: str, negated: bool = False) -> TypeProblem | None:
    values = (item.low, item.high) if isinstance(item, Between) else (item.value,)  # type: ignore[union-attr]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return TypeProblem(
                f"'{format_value(value)}' is not a number",
                "write a number, a comparison such as '>= 38.5' or a range such as '[1..5]'",
            )
    if (
        kind == "integer"
        and isinstance(item, Equals)
        and not negated  # not(0.5) holds for every integer
        and not float(item.value).is_integer()  # type: ignore[arg-type]
    ):
        return TypeProblem(
            f"'{item}' is not a whole number, so no integer can equal it",
            "write a whole number, or a range such as '[5..6]'",
        )
    if isinstance(item, Between) and (
        item.low > item.high
        or (item.low == item.high and not (item.low_closed and item.high_closed))
    ):
        return TypeProblem(
            f"the range '{item}' contains no value", "write the smaller bound first", "empty"
        )
    return None


def _choices_fix(kind: str, allowed: tuple[Value, ...]) -> str:
    if kind == "boolean":
        return "write true or false"
    if allowed:
        shown = ", ".join(format_value(v) for v in allowed[:12])
        more = ", …" if len(allowed) > 12 else ""
        return f"write one of {shown}{more}"
    return 'write text in double quotes, for example "focal"'


def matches(condition: Condition, value: object) -> bool:
    """Does ``value`` satisfy ``condition``? Used for describing fired rules and validation;
    evaluation itself runs in durable-rules. Lists (chained multi-hit outputs) match when
    some element matches; ``null`` on a list means the list is empty."""
    if isinstance(condition, AnyValue):
        return True
    if value is None:
        return isinstance(condition, AnyOf) and any(isinstance(i, IsNull) for i in condition.items)
    hit = any(_item_matches(item, value) for item in condition.items)
    return hit if isinstance(condition, AnyOf) else not hit


def _item_matches(item: Item, value: object) -> bool:
    if isinstance(value, list | tuple):
        if isinstance(item, IsNull):
            return len(value) == 0
        return any(_item_matches(item, element) for element in value)
    if isinstance(item, IsNull):
        return False
    if isinstance(item, Equals):
        return same_value(value, item.value)
    if isinstance(item, Compare):
        if item.op == "!=":
            return not same_value(value, item.value)
        if not _orderable(value, item.value):
            return False
        return {
            "<": value < item.value,  # type: ignore[operator]
            "<=": value <= item.value,  # type: ignore[operator]
            ">": value > item.value,  # type: ignore[operator]
            ">=": value >= item.value,  # type: ignore[operator]
        }[item.op]
    if not _orderable(value, item.low):
        return False
    above = value >= item.low if item.low_closed else value > item.low  # type: ignore[operator]
    below = value <= item.high if item.high_closed else value < item.high  # type: ignore[operator]
    return bool(above and below)


def _orderable(a: object, b: object) -> bool:
    return (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    )
