"""Input cells (DMN unary tests): every form docs/workbook-format.md documents, the exact
message and fix for cells that cannot be read, and the type checks against a column's kind.

Tables of ``cell text -> expected`` so that a new case is one line.
"""

from __future__ import annotations

import datetime as dt

import pytest

from engine.conditions import (
    AnyOf,
    AnyValue,
    Between,
    CellSyntaxError,
    Compare,
    Condition,
    Equals,
    IsNull,
    NoneOf,
    matches,
    parse_condition,
    type_problems,
)


def eq(value: object, quoted: bool = True) -> AnyOf:
    return AnyOf((Equals(value, quoted),))  # type: ignore[arg-type]


def cmp(op: str, value: object) -> AnyOf:
    return AnyOf((Compare(op, value),))  # type: ignore[arg-type]


def rng(low: float, high: float, low_closed: bool = True, high_closed: bool = True) -> AnyOf:
    return AnyOf((Between(low, high, low_closed, high_closed),))


# --- what parses, and to what --------------------------------------------------------------

PARSES: list[tuple[object, Condition]] = [
    # anything
    ("-", AnyValue()),
    ("", AnyValue()),
    ("   ", AnyValue()),
    (" - ", AnyValue()),
    (None, AnyValue()),  # an empty cell
    # literals
    ('"focal"', eq("focal")),
    ('  "focal"  ', eq("focal")),
    ("focal", eq("focal", quoted=False)),
    ("multi word value", eq("multi word value", quoted=False)),
    ("semi-urgent", eq("semi-urgent", quoted=False)),
    ("O'Brien", eq("O'Brien", quoted=False)),
    ('"a, b"', eq("a, b")),  # a comma inside quotes is part of the text
    ('"say \\"hi\\""', eq('say "hi"')),
    ('""', eq("")),
    ("38.5", eq(38.5)),
    ("5", eq(5)),
    ("0", eq(0)),
    ("true", eq(True)),
    ("TRUE", eq(True)),
    ("False", eq(False)),
    # typographic quotes, as Excel's autocorrect types them
    ("\u201cfocal\u201d", eq("focal")),
    ("\u201efocal\u201d", eq("focal")),
    ("\u2033focal\u2033", eq("focal")),
    # what the spreadsheet itself holds: numbers and booleans, not text
    (True, eq(True)),
    (False, eq(False)),
    (5, eq(5)),
    (5.0, eq(5)),
    (5.5, eq(5.5)),
    (-2, eq(-2)),
    # negative and decimal numbers, exponents
    ("-5", eq(-5)),
    ("+5", eq(5)),
    ("-1.5", eq(-1.5)),
    (".5", eq(0.5)),
    ("-.5", eq(-0.5)),
    ("1e3", eq(1000.0)),
    ("1E3", eq(1000.0)),
    ("1.5E-2", eq(0.015)),
    ("2e+2", eq(200.0)),
    ("\u22125", eq(-5)),  # the minus sign U+2212
    # comparisons
    ("< 5", cmp("<", 5)),
    ("<= 5", cmp("<=", 5)),
    ("> 5", cmp(">", 5)),
    (">= 5", cmp(">=", 5)),
    ("<5", cmp("<", 5)),
    (">=38.5", cmp(">=", 38.5)),
    ("< -3", cmp("<", -3)),
    ("> 1e-3", cmp(">", 0.001)),
    ('!= "focal"', cmp("!=", "focal")),
    ("!= focal", cmp("!=", "focal")),
    ("!= 5", cmp("!=", 5)),
    ("!= true", cmp("!=", True)),
    # the symbols Excel's autocorrect types
    ("\u2264 5", cmp("<=", 5)),
    ("\u2265 5", cmp(">=", 5)),
    ('\u2260 "focal"', cmp("!=", "focal")),
    ("\u2260 5", cmp("!=", 5)),
    ("\u2265 \u22123", cmp(">=", -3)),
    # ranges: [ ] include the bound, ( ) and outward ] [ exclude it
    ("[1..5]", rng(1, 5)),
    ("(1..5]", rng(1, 5, low_closed=False)),
    ("[1..5)", rng(1, 5, high_closed=False)),
    ("(1..5)", rng(1, 5, low_closed=False, high_closed=False)),
    ("]1..5[", rng(1, 5, low_closed=False, high_closed=False)),
    ("]1..5]", rng(1, 5, low_closed=False)),
    ("[1..5[", rng(1, 5, high_closed=False)),
    ("[ 1 .. 5 ]", rng(1, 5)),
    ("[-5..-1]", rng(-5, -1)),
    ("[1.5..2.5]", rng(1.5, 2.5)),
    ("[0..0.5]", rng(0, 0.5)),
    ("[1e2..1e3]", rng(100.0, 1000.0)),
    ("[16..120]", rng(16, 120)),
    # comma lists mean "or"
    ("a, b, c", AnyOf(tuple(Equals(v, quoted=False) for v in "abc"))),
    ('"a", "b"', AnyOf((Equals("a"), Equals("b")))),
    ('"focal","multifocal"', AnyOf((Equals("focal"), Equals("multifocal")))),
    ("1, 5", AnyOf((Equals(1), Equals(5)))),
    ("< 1, > 5", AnyOf((Compare("<", 1), Compare(">", 5)))),
    ("[1..5], [7..9]", AnyOf((Between(1, 5), Between(7, 9)))),
    ("< 0, [1..5), 10", AnyOf((Compare("<", 0), Between(1, 5, True, False), Equals(10)))),
    # not(...)
    ('not("a", "b")', NoneOf((Equals("a"), Equals("b")))),
    ("not(a)", NoneOf((Equals("a", quoted=False),))),
    ("NOT(5)", NoneOf((Equals(5),))),
    ("not( 1, 2 )", NoneOf((Equals(1), Equals(2)))),
    ("not([1..5])", NoneOf((Between(1, 5),))),
    ("not(< 0)", NoneOf((Compare("<", 0),))),
    ("not(null)", NoneOf((IsNull(),))),
    # null
    ("null", AnyOf((IsNull(),))),
    ("NULL", AnyOf((IsNull(),))),
    ("null, 5", AnyOf((IsNull(), Equals(5)))),
    ('"focal", null', AnyOf((Equals("focal"), IsNull()))),
    # words that merely contain a keyword stay text
    ("not 5", eq("not 5", quoted=False)),
    ("nullable", eq("nullable", quoted=False)),
    ("true story", eq("true story", quoted=False)),
]


@pytest.mark.parametrize(("cell", "expected"), PARSES, ids=[repr(c) for c, _ in PARSES])
def test_cell_parses(cell: object, expected: Condition) -> None:
    assert parse_condition(cell) == expected


@pytest.mark.parametrize(("cell", "expected"), PARSES, ids=[repr(c) for c, _ in PARSES])
def test_parsed_cell_written_back_reads_the_same(cell: object, expected: Condition) -> None:
    """str(condition) writes a cell that parses to the same condition (used in messages)."""
    condition = parse_condition(cell)
    again = parse_condition(str(condition))
    if isinstance(condition, AnyOf | NoneOf):  # a bare word is written back quoted
        def unquote(c: Condition) -> Condition:
            if isinstance(c, AnyValue):
                return c
            items = tuple(Equals(i.value) if isinstance(i, Equals) else i for i in c.items)
            return type(c)(items)

        assert unquote(again) == unquote(condition)
    else:
        assert again == condition


def test_integral_floats_become_ints() -> None:
    """Excel stores every number as a float; 5.0 must read as the whole number 5."""
    (item,) = parse_condition(5.0).items  # type: ignore[union-attr]
    assert isinstance(item, Equals) and type(item.value) is int
    (item,) = parse_condition(True).items  # type: ignore[union-attr]
    assert isinstance(item, Equals) and item.value is True


# --- what does not parse: the exact message and fix ------------------------------------------

FINISH = "finish the test, for example '>= 5' or '[1..5]'"
QUOTE = 'put text in double quotes, for example "focal"'
COMMAS = "separate alternatives with commas, for example '\"a\", \"b\"'"
ITEM = "write a value, a comparison such as '>= 5', or a range such as '[1..5]'"
RANGE = "write a range such as '[1..5]' (closed) or '(1..5)' (open)"
FORMULA = "write the value alone (5), or a comparison such as '>= 5'"

SYNTAX_ERRORS: list[tuple[object, str, str]] = [
    # unfinished
    (">=", "'>=' ends too early", FINISH),
    ("<", "'<' ends too early", FINISH),
    ("[1..5", "'[1..5' ends too early", FINISH),
    ("(1..5", "'(1..5' ends too early", FINISH),
    ("[1..]", "'[1..]' ends too early", FINISH),
    ("5,", "'5,' ends too early", FINISH),
    ("not(", "'not(' ends too early", FINISH),
    ("not(5", "'not(5' ends too early", FINISH),
    ("()", "range bounds in '()' must be numbers", RANGE),
    # left-overs after a complete test
    (">= 5 and", "unexpected 'and' in '>= 5 and'", COMMAS),
    (">= 5 and <= 10", "unexpected 'and' in '>= 5 and <= 10'", COMMAS),
    ("5 6", "unexpected '6' in '5 6'", COMMAS),
    ("10 mmol/L", "unexpected 'mmol/L' in '10 mmol/L'", COMMAS),
    ("1..5", "unexpected '..' in '1..5'", COMMAS),
    ("[1..5]]", "unexpected ']' in '[1..5]]'", COMMAS),
    ('"a" "b"', "unexpected '\"b\"' in '\"a\" \"b\"'", COMMAS),
    # a list item missing
    (",", "unexpected ',' in ','", ITEM),
    (",5", "unexpected ',' in ',5'", ITEM),
    ("5,,6", "unexpected ',' in '5,,6'", ITEM),
    ("not()", "unexpected ')' in 'not()'", ITEM),
    # operators
    ("<>5", "'<' must be followed by a value in '<>5'", "write for example '< 5'"),
    (">= <= 5", "'>=' must be followed by a value in '>= <= 5'", "write for example '>= 5'"),
    ("> null", "'>' must be followed by a value in '> null'", "write for example '> 5'"),
    ("> [1..5]", "'>' must be followed by a value in '> [1..5]'", "write for example '> 5'"),
    # ranges
    ('["a".."b"]', "range bounds in '[\"a\"..\"b\"]' must be numbers", RANGE),
    ("[1..true]", "range bounds in '[1..true]' must be numbers", RANGE),
    ("[1..5}", "unexpected '}' in '[1..5}'", "close a range with ] or ), for example '[1..5]'"),
    ("[1 5]", "unexpected '5' in '[1 5]'", RANGE),
    ("[1..5..7]", "range in '[1..5..7]' is not closed", RANGE),
    ("not(1", "'not(1' ends too early", FINISH),
    ("not(1, 2", "'not(1, 2' ends too early", FINISH),
    ("not(1]", "unexpected ']' in 'not(1]'", "close not( … ) with ')'"),
    # characters that have no meaning in a unary test
    ("=5", "'=5' starts with '=', which Excel reads as a formula", FORMULA),
    ("==5", "'==5' starts with '=', which Excel reads as a formula", FORMULA),
    ("!5", "unexpected character '!' in '!5'", QUOTE),
    ("@", "unexpected character '@' in '@'", QUOTE),
    ("#N/A", "unexpected character '#' in '#N/A'", QUOTE),
    ("'focal'", "''focal'' uses single quotes", 'put text in double quotes, such as "focal"'),
    ('"unterminated', "a text value in '\"unterminated' has no closing quote",
     'end the text with a double quote, for example "focal"'),
    ("5.", "unexpected '.' in '5.'", "write a number such as 5 or 5.5"),
    # numbers that are not finite
    ("1e999", "1e999 is not a finite number", "write an ordinary number"),
    ("-1e999", "-1e999 is not a finite number", "write an ordinary number"),
    (float("nan"), "the cell holds an error value", "write a number"),
    (float("inf"), "the cell holds an error value", "write a number"),
]


@pytest.mark.parametrize(
    ("cell", "message", "fix"), SYNTAX_ERRORS, ids=[repr(c) for c, _, _ in SYNTAX_ERRORS]
)
def test_unreadable_cell_says_why_and_what_to_write(cell: object, message: str, fix: str) -> None:
    with pytest.raises(CellSyntaxError) as caught:
        parse_condition(cell)
    assert (caught.value.message, caught.value.fix) == (message, fix)
    assert str(caught.value) == message


# Cells the parser reads wrongly or explains badly (engine bugs reported; see the reasons).
@pytest.mark.parametrize("cell", ["[0...5]", "[1...5]", "(0...5)"])
def test_three_dots_in_a_range_is_an_error(cell: str) -> None:
    with pytest.raises(CellSyntaxError):
        parse_condition(cell)


@pytest.mark.parametrize("cell", [dt.datetime(2024, 1, 5), dt.date(2024, 1, 5)])
def test_date_cell_is_reported_as_a_date(cell: object) -> None:
    with pytest.raises(CellSyntaxError) as caught:
        parse_condition(cell)
    assert "date" in caught.value.message


@pytest.mark.parametrize("cell", ["[a..b]", "[low..high]", "[true..false]"])
def test_words_as_range_bounds_are_reported_as_such(cell: str) -> None:
    with pytest.raises(CellSyntaxError) as caught:
        parse_condition(cell)
    assert "must be numbers" in caught.value.message


def test_unclosed_quote_is_reported_as_such() -> None:
    with pytest.raises(CellSyntaxError) as caught:
        parse_condition('"focal')
    assert "quote" in caught.value.message


# --- type checks against the column -------------------------------------------------------

ENUM = ("focal", "multifocal", "widespread")
ENUM_FIX = 'write one of "focal", "multifocal", "widespread"'
NUMBER_FIX = "write a number, a comparison such as '>= 38.5' or a range such as '[1..5]'"
TEXT_FIX = 'write text in double quotes, for example "focal"'
LIST_FIX = "list the values to look for, for example '\"a\", \"b\"', or use not(\"a\")"
EMPTY_RANGE_FIX = "write the smaller bound first"

# (cell, column kind, allowed values, problems as (message, fix))
TYPE_CASES: list[tuple[str, str, tuple[str, ...], list[tuple[str, str]]]] = [
    # fitting cells: no problem
    ("-", "number", (), []),
    ("null", "number", (), []),
    ("null", "enum", ENUM, []),
    ("true", "boolean", (), []),
    ("false, null", "boolean", (), []),
    ("!= true", "boolean", (), []),
    ("5", "number", (), []),
    ("[1..5], > 10", "integer", (), []),
    ("[5..5]", "number", (), []),
    ("not(< 0)", "number", (), []),
    ("!= 5", "number", (), []),
    ("focal", "enum", ENUM, []),
    ('"focal", "widespread"', "enum", ENUM, []),
    ("not(focal)", "enum", ENUM, []),
    ('!= "focal"', "enum", ENUM, []),
    ('"anything"', "text", (), []),
    ('!= "x"', "text", (), []),
    # a number column
    ("true", "number", (), [("'true' is not a number", NUMBER_FIX)]),
    ('"5"', "number", (), [("'\"5\"' is not a number", NUMBER_FIX)]),
    ("focal", "integer", (), [("'\"focal\"' is not a number", NUMBER_FIX)]),
    ('!= "a"', "number", (), [("'\"a\"' is not a number", NUMBER_FIX)]),
    ("<= x", "number", (), [("'\"x\"' is not a number", NUMBER_FIX)]),
    ("< true", "number", (), [("'true' is not a number", NUMBER_FIX)]),
    ("1, x, 3", "number", (), [("'\"x\"' is not a number", NUMBER_FIX)]),
    # reversed or empty ranges
    ("[5..1]", "number", (), [("the range '[5..1]' contains no value", EMPTY_RANGE_FIX)]),
    ("(5..5]", "number", (), [("the range '(5..5]' contains no value", EMPTY_RANGE_FIX)]),
    ("[5..5)", "integer", (), [("the range '[5..5)' contains no value", EMPTY_RANGE_FIX)]),
    ("]5..5[", "number", (), [("the range '(5..5)' contains no value", EMPTY_RANGE_FIX)]),
    ("not([9..1])", "number", (), [("the range '[9..1]' contains no value", EMPTY_RANGE_FIX)]),
    # a boolean column
    ("5", "boolean", (), [("'5' is not true or false", "write true or false")]),
    ('"x"', "boolean", (), [("'\"x\"' is not true or false", "write true or false")]),
    ("yes", "boolean", (), [("'\"yes\"' is not true or false", "write true or false")]),
    ("> 5", "boolean", (), [("'> 5' compares order, but this column is boolean",
                             "write true or false")]),
    ("[0..1]", "boolean", (), [("'[0..1]' compares order, but this column is boolean",
                                "write true or false")]),
    # an enum column
    ("spread", "enum", ENUM, [("'spread' is not one of the allowed values", ENUM_FIX)]),
    ('"Focal"', "enum", ENUM, [("'Focal' is not one of the allowed values", ENUM_FIX)]),
    ("!= spread", "enum", ENUM, [("'spread' is not one of the allowed values", ENUM_FIX)]),
    ("not(spread, focal)", "enum", ENUM, [("'spread' is not one of the allowed values", ENUM_FIX)]),
    ("5", "enum", ENUM, [("'5' is not text", ENUM_FIX)]),
    ("true", "enum", ENUM, [("'true' is not text", ENUM_FIX)]),
    ("> 5", "enum", ENUM, [("'> 5' compares order, but this column is enum", ENUM_FIX)]),
    ('< "focal"', "enum", ENUM, [("'< \"focal\"' compares order, but this column is enum",
                                  ENUM_FIX)]),
    ("[1..5]", "enum", ENUM, [("'[1..5]' compares order, but this column is enum", ENUM_FIX)]),
    # a text column
    ("focal", "text", (), [("'focal' must be written in double quotes", 'write "focal"')]),
    ("5", "text", (), [("'5' is not text", TEXT_FIX)]),
    ("true", "text", (), [("'true' is not text", TEXT_FIX)]),
    ('> "a"', "text", (), [("'> \"a\"' compares order, but this column is text", TEXT_FIX)]),
    # every wrong item is reported, not only the first
    ("spread, focal, 5, > 1", "enum", ENUM, [
        ("'spread' is not one of the allowed values", ENUM_FIX),
        ("'5' is not text", ENUM_FIX),
        ("'> 1' compares order, but this column is enum", ENUM_FIX),
    ]),
    ("[5..1], x, true", "number", (), [
        ("the range '[5..1]' contains no value", EMPTY_RANGE_FIX),
        ("'\"x\"' is not a number", NUMBER_FIX),
        ("'true' is not a number", NUMBER_FIX),
    ]),
]


@pytest.mark.parametrize(
    ("cell", "kind", "allowed", "expected"),
    TYPE_CASES,
    ids=[f"{k}:{c}" for c, k, _, _ in TYPE_CASES],
)
def test_type_problems(
    cell: str, kind: str, allowed: tuple[str, ...], expected: list[tuple[str, str]]
) -> None:
    found = type_problems(parse_condition(cell), kind, allowed)
    assert [(p.message, p.fix) for p in found] == expected


def test_long_choice_lists_are_shortened() -> None:
    allowed = tuple(f"v{i}" for i in range(20))
    (problem,) = type_problems(parse_condition("zz"), "enum", allowed)
    message, fix = problem.message, problem.fix
    assert message == "'zz' is not one of the allowed values"
    assert problem.kind == "allowed"
    assert fix == "write one of " + ", ".join(f'"v{i}"' for i in range(12)) + ", …"


# A column fed by a multi-hit table holds a list: only values, not(...) and null test it.
LIST_CASES: list[tuple[str, str, tuple[str, ...], list[tuple[str, str]]]] = [
    ('"a", "b"', "enum", ("a", "b"), []),
    ('not("a")', "enum", ("a", "b"), []),
    ("null", "enum", ("a", "b"), []),
    ("3, 4", "number", (), []),
    ("> 5", "number", (), [("'> 5' cannot test a list of values", LIST_FIX)]),
    ("[1..5]", "number", (), [("'[1..5]' cannot test a list of values", LIST_FIX)]),
    ('!= "a"', "enum", ("a", "b"), [("'!= \"a\"' cannot test a list of values", LIST_FIX)]),
    ('"c"', "enum", ("a", "b"), [("'c' is not one of the allowed values",
                                  'write one of "a", "b"')]),
]


@pytest.mark.parametrize(
    ("cell", "kind", "allowed", "expected"),
    LIST_CASES,
    ids=[f"{k}:{c}" for c, k, _, _ in LIST_CASES],
)
def test_type_problems_on_list_columns(
    cell: str, kind: str, allowed: tuple[str, ...], expected: list[tuple[str, str]]
) -> None:
    found = type_problems(parse_condition(cell), kind, allowed, is_list=True)
    assert [(p.message, p.fix) for p in found] == expected


def test_non_whole_number_in_an_integer_column_is_reported() -> None:
    assert type_problems(parse_condition("5.5"), "integer") != []


# --- what a cell matches (the documented semantics of a missing value and of lists) -------

MATCHES: list[tuple[str, object, bool]] = [
    ("-", None, True),
    ("-", 5, True),
    ("null", None, True),
    ("null", 5, False),
    ("5", None, False),
    ("< 5", None, False),  # a comparison with a missing value is never true
    ("not(5)", None, False),  # and neither is not(...)
    ("not(null)", None, False),
    ("not(null)", 3, True),
    ("null, 5", None, True),
    ("null, 5", 5, True),
    ("[1..5]", 1, True),
    ("(1..5]", 1, False),
    ("]1..5[", 5, False),
    ("]1..5[", 4.999, True),
    ("!= \"focal\"", "widespread", True),
    ("!= \"focal\"", "focal", False),
    ("!= \"focal\"", None, False),
    ("not(\"a\", \"b\")", "c", True),
    ("not(\"a\", \"b\")", "a", False),
    ("true", True, True),
    ("1", True, False),  # a boolean is never the number 1
    ("true", 1, False),
    ("> 0", True, False),
    ("< 5", "3", False),  # text is never ordered against numbers
]


@pytest.mark.parametrize(("cell", "value", "expected"), MATCHES,
                         ids=[f"{c} ? {v!r}" for c, v, _ in MATCHES])
def test_matches(cell: str, value: object, expected: bool) -> None:
    assert matches(parse_condition(cell), value) is expected


LIST_MATCHES: list[tuple[str, list[object], bool]] = [
    ('"a", "b"', ["c", "b"], True),
    ('"a", "b"', ["c"], False),
    ('"a"', [], False),
    ('not("a")', ["b", "c"], True),
    ('not("a")', ["b", "a"], False),
    ("null", [], True),
    ("null", ["a"], False),
    ("-", [], True),
]


@pytest.mark.parametrize(("cell", "value", "expected"), LIST_MATCHES,
                         ids=[f"{c} ? {v!r}" for c, v, _ in LIST_MATCHES])
def test_matches_on_lists(cell: str, value: list[object], expected: bool) -> None:
    assert matches(parse_condition(cell), value) is expected
