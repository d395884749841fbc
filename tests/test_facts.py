"""Checking the facts given to ``Model.evaluate`` against the Inputs sheet.

Every case names exactly the fields it expects in ``FactError.problems``, in order: unknown
names first (as given), then the declared inputs in Inputs-sheet order.

The minimal workbook's inputs (see conftest): age_years integer [0..120] required,
temperature_c number [30..45] optional, red_flag boolean required, pattern enum
(focal, multifocal, widespread) required, duration_weeks number >= 0 required, comment text
optional.
"""

from __future__ import annotations

import math
import types
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import FactError
from engine.conditions import parse_condition
from engine.errors import FieldProblem
from engine.facts import FactChecker, check_value
from engine.model import InputDef, Kind, Model
from engine.workbook import Sheet

GOOD: dict[str, Any] = {"age_years": 40, "red_flag": False, "pattern": "focal",
                        "duration_weeks": 2}


@pytest.fixture
def model(minimal_sheets: tuple[Sheet, ...]) -> Model:
    return engine.load_sheets(minimal_sheets)


def fact_problems(model: Model, facts: object) -> list[tuple[str, str]]:
    with pytest.raises(FactError) as caught:
        model.evaluate(facts)  # type: ignore[arg-type]
    problems = caught.value.problems
    assert all(isinstance(p, FieldProblem) for p in problems)
    assert str(caught.value) == "; ".join(f"{p.field}: {p.message}" for p in problems)
    return [(p.field, p.message) for p in problems]


def with_(**changes: Any) -> dict[str, Any]:
    return {**GOOD, **changes}


# --- accepted -------------------------------------------------------------------------------

ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("all required", GOOD),
    ("optional given", with_(temperature_c=38.7, comment="tired")),
    ("optional None", with_(temperature_c=None, comment=None)),
    ("integer given as 5.0", with_(age_years=5.0)),
    ("integer at the range bounds", with_(age_years=0)),
    ("integer at the upper bound", with_(age_years=120)),
    ("number given as int", with_(temperature_c=38)),
    ("number at its bound", with_(duration_weeks=0)),
    ("large number in an open range", with_(duration_weeks=1e308)),
    ("a mapping that is not a dict", types.MappingProxyType(GOOD)),  # type: ignore[list-item]
]


@pytest.mark.parametrize("facts", [f for _, f in ACCEPTED], ids=[i for i, _ in ACCEPTED])
def test_accepted(model: Model, facts: dict[str, Any]) -> None:
    decision = model.evaluate(facts)
    assert set(decision.outputs) == {"severity", "disposition"}


def test_integer_given_as_float_is_used_as_an_int(model: Model) -> None:
    decision = model.evaluate(with_(age_years=70.0, pattern="widespread"))
    assert decision.outputs["severity"] == "medium"  # S2: >= 65
    (fired,) = [f for f in decision.fired if f.table == "severity"]
    age = next(c for c in fired.conditions if c.input == "age_years")
    assert age.value == 70 and type(age.value) is int


def test_optional_missing_is_null_and_matches_only_dash_and_null(model: Model) -> None:
    decision = model.evaluate(GOOD)  # temperature missing: S3 '> 38.5' must not fire
    assert decision.outputs["severity"] == "low"
    assert [f.rule_id for f in decision.fired] == ["S4", "D3"]


# --- rejected: (facts, [(field, message), ...]) ----------------------------------------------

REJECTED: list[tuple[str, object, list[tuple[str, str]]]] = [
    # unknown names
    ("unknown, did you mean", with_(agee=3),
     [("agee", "is not an input of this table; did you mean 'age_years'?")]),
    ("unknown, did you mean 2", with_(temprature_c=37),
     [("temprature_c", "is not an input of this table; did you mean 'temperature_c'?")]),
    ("unknown, nothing close", with_(zzz=1), [("zzz", "is not an input of this table")]),
    ("unknown, case differs", with_(Pattern="focal"),
     [("Pattern", "is not an input of this table; did you mean 'pattern'?")]),
    ("unknown key not text", {**GOOD, 1: 2}, [("1", "is not an input of this table")]),
    # Python's bool is an int: it must still not pass for a number
    ("bool for an integer", with_(age_years=True), [("age_years", "must be a number, not true")]),
    ("bool for a number", with_(duration_weeks=False),
     [("duration_weeks", "must be a number, not false")]),
    ("bool for an optional number", with_(temperature_c=True),
     [("temperature_c", "must be a number, not true")]),
    # text for numbers, numbers for text
    ("string for a number", with_(age_years="40"),
     [("age_years", 'must be a number, not "40"')]),
    ("number for an enum", with_(pattern=1), [("pattern", "must be text, not 1")]),
    ("number for text", with_(comment=5), [("comment", "must be text, not 5")]),
    ("bool for an enum", with_(pattern=True), [("pattern", "must be text, not true")]),
    ("number for a boolean", with_(red_flag=1), [("red_flag", "must be true or false, not 1")]),
    ("0 for a boolean", with_(red_flag=0), [("red_flag", "must be true or false, not 0")]),
    ("string for a boolean", with_(red_flag="true"),
     [("red_flag", 'must be true or false, not "true"')]),
    ("list for an enum", with_(pattern=["focal"]), [("pattern", "must be text, not list")]),
    ("dict for a number", with_(age_years={"value": 4}),
     [("age_years", "must be a number, not dict")]),
    # integers
    ("integer given 5.5", with_(age_years=5.5),
     [("age_years", "must be a whole number, not 5.5")]),
    ("integer given 0.1", with_(age_years=0.1),
     [("age_years", "must be a whole number, not 0.1")]),
    # not finite
    ("NaN", with_(temperature_c=math.nan), [("temperature_c", "must be a finite number")]),
    ("inf", with_(temperature_c=math.inf), [("temperature_c", "must be a finite number")]),
    ("-inf", with_(duration_weeks=-math.inf), [("duration_weeks", "must be a finite number")]),
    ("NaN for an integer", with_(age_years=math.nan), [("age_years", "must be a finite number")]),
    # out of range (the unit is named)
    ("above the range", with_(age_years=121),
     [("age_years", "121 is outside the allowed range [0..120] years")]),
    ("below the range", with_(temperature_c=29.9),
     [("temperature_c", "29.9 is outside the allowed range [30..45] °C")]),
    ("below an open bound", with_(duration_weeks=-1),
     [("duration_weeks", "-1 is outside the allowed range >= 0 weeks")]),
    ("far above the range", with_(age_years=1e20),
     [("age_years", "100000000000000000000 is outside the allowed range [0..120] years")]),
    # enums
    ("enum value not allowed", with_(pattern="everywhere"),
     [("pattern", '"everywhere" is not one of focal, multifocal, widespread')]),
    ("enum value in another case", with_(pattern="Focal"),
     [("pattern", '"Focal" is not one of focal, multifocal, widespread')]),
    ("enum value with spaces", with_(pattern=" focal"),
     [("pattern", '" focal" is not one of focal, multifocal, widespread')]),
    # missing
    ("one required missing", {k: v for k, v in GOOD.items() if k != "red_flag"},
     [("red_flag", "is required but missing")]),
    ("required missing, listed in Inputs order", {"pattern": "focal"},
     [("age_years", "is required but missing"), ("red_flag", "is required but missing"),
      ("duration_weeks", "is required but missing")]),
    ("nothing given", {},
     [("age_years", "is required but missing"), ("red_flag", "is required but missing"),
      ("pattern", "is required but missing"), ("duration_weeks", "is required but missing")]),
    ("None for a required fact is missing", with_(age_years=None),
     [("age_years", "is required but missing")]),
    # not an object at all
    ("a list", [("age_years", 40)], [("facts", "must be an object of fact names and values")]),
    ("a string", "age_years=40", [("facts", "must be an object of fact names and values")]),
    ("None", None, [("facts", "must be an object of fact names and values")]),
    ("a number", 40, [("facts", "must be an object of fact names and values")]),
    # everything wrong at once: every field, unknown names first, then Inputs order
    ("every problem at once",
     {"agee": 1, "age_years": "x", "temperature_c": True, "red_flag": 1, "pattern": "nope",
      "duration_weeks": -2, "comment": 3},
     [("agee", "is not an input of this table; did you mean 'age_years'?"),
      ("age_years", 'must be a number, not "x"'),
      ("temperature_c", "must be a number, not true"),
      ("red_flag", "must be true or false, not 1"),
      ("pattern", '"nope" is not one of focal, multifocal, widespread'),
      ("duration_weeks", "-2 is outside the allowed range >= 0 weeks"),
      ("comment", "must be text, not 3")]),
    ("unknown and missing together", {"zzz": 1, "age_years": 3, "red_flag": True},
     [("zzz", "is not an input of this table"),
      ("pattern", "is required but missing"),
      ("duration_weeks", "is required but missing")]),
]


@pytest.mark.parametrize(("facts", "expected"), [(f, e) for _, f, e in REJECTED],
                         ids=[i for i, _, _ in REJECTED])
def test_rejected(model: Model, facts: object, expected: list[tuple[str, str]]) -> None:
    assert fact_problems(model, facts) == expected


def test_problems_name_fields_for_an_integrator(model: Model) -> None:
    with pytest.raises(FactError) as caught:
        model.evaluate({"age_years": 130, "red_flag": "no"})
    error = caught.value
    assert [p.field for p in error.problems] == ["age_years", "red_flag", "pattern",
                                                 "duration_weeks"]
    assert error.problems[0].as_dict() == {
        "field": "age_years", "message": "130 is outside the allowed range [0..120] years"}
    assert str(error).startswith(
        "age_years: 130 is outside the allowed range [0..120] years; "
        'red_flag: must be true or false, not "no"; ')


def test_facts_are_not_changed(model: Model) -> None:
    facts = with_(age_years=70.0)
    before = dict(facts)
    model.evaluate(facts)
    assert facts == before


@pytest.mark.parametrize("field", ["duration_weeks", "age_years"])
def test_huge_integer_is_a_fact_error(model: Model, field: str) -> None:
    problems = fact_problems(model, with_(**{field: 10**400}))
    assert [f for f, _ in problems] == [field]


# --- the quick path of FactChecker ---------------------------------------------------------
# FactChecker accepts most values through a cheap per-input test and sends the rest to
# check_value. The quick test must never accept a value check_value would refuse or change.

_VALUES = st.one_of(
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["focal", "multifocal", "Focal", "", "1"]),
    st.none(),
    st.lists(st.integers(), max_size=2),
)
_DEFINITIONS = st.builds(
    InputDef,
    name=st.just("x"),
    kind=st.sampled_from(list(Kind)),
    allowed_values=st.just(("focal", "multifocal")),
    value_range=st.sampled_from([None, "[0..120]", ">= 0", "(30..45]", "< 1e300"]).map(
        lambda text: parse_condition(text) if text else None
    ),
    required=st.booleans(),
)


@settings(max_examples=400)
@given(definition=_DEFINITIONS, value=_VALUES)
def test_fact_checker_agrees_with_check_value(definition: InputDef, value: object) -> None:
    checker = FactChecker((definition,))
    expected_value, message = check_value(definition, value) if value is not None else (None, "")
    missing = value is None and definition.required
    if message or missing:
        with pytest.raises(FactError) as caught:
            checker.check({"x": value})
        assert [p.field for p in caught.value.problems] == ["x"]
        if message:
            assert caught.value.problems[0].message == message
    else:
        checked = checker.check({"x": value})["x"]
        assert checked == expected_value  # NaN never gets here: it is not a finite number
        assert type(checked) is type(expected_value)
