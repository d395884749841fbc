"""Checking the facts of one evaluation against the Inputs sheet.

Every problem is collected so that an integrator sees all bad fields at once. A required fact
that is missing is an error — never read as "no" — and an optional one becomes ``None``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

from engine.conditions import format_value, matches
from engine.errors import FactError, FieldProblem
from engine.model import InputDef, Kind

_LARGEST = sys.float_info.max  # an integer beyond this has no float value


class FactChecker:
    """Checks the facts of one evaluation against an Inputs sheet, prepared once per model:
    it runs on every request, and most values are plainly right, so each input gets a quick
    test that accepts exactly the values :func:`check_value` would pass unchanged; anything
    else takes the full check, which normalises it or says what is wrong."""

    def __init__(self, inputs: tuple[InputDef, ...]) -> None:
        self._declared = {i.name: i for i in inputs}
        self._inputs = tuple((i.name, i, _quick_test(i)) for i in inputs)

    def check(self, facts: object) -> dict[str, Any]:
        """Every declared input's value (``None`` where an optional one is absent), or
        :class:`FactError` listing every unknown, mistyped, out-of-range or missing field."""
        if not isinstance(facts, Mapping):
            raise FactError([FieldProblem("facts", "must be an object of fact names and values")])
        problems = [
            FieldProblem(str(name), _unknown_message(str(name), self._declared))
            for name in facts
            if name not in self._declared
        ]
        values: dict[str, Any] = {}
        for name, definition, quick in self._inputs:
            value = facts.get(name)
            if value is None:
                if definition.required:
                    problems.append(FieldProblem(name, "is required but missing"))
            elif not quick(value):
                value, message = check_value(definition, value)
                if message:
                    problems.append(FieldProblem(name, message))
            values[name] = value
        if problems:
            raise FactError(problems)
        return values


def _quick_test(definition: InputDef) -> Callable[[Any], bool]:
    """A cheap test that is true only for values :func:`check_value` accepts as they are."""
    kind = definition.kind
    if kind is Kind.BOOLEAN:
        return lambda value: value.__class__ is bool
    if kind is Kind.ENUM:
        allowed = frozenset(definition.allowed_values)
        return lambda value: value.__class__ is str and value in allowed
    if kind is Kind.TEXT:
        return lambda value: value.__class__ is str
    exact = (int,) if kind is Kind.INTEGER else (int, float)
    limits = definition.value_range
    return lambda value: (
        value.__class__ in exact
        and abs(value) <= _LARGEST  # false for nan and infinities too
        and (limits is None or matches(limits, value))
    )


def _unknown_message(name: str, declared: Mapping[str, InputDef]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(declared), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"is not an input of this table{hint}"


def check_value(definition: InputDef, value: object) -> tuple[Any, str]:
    """One fact's value, normalised (an integer given as 5.0 becomes 5), and '' or the reason
    it is not acceptable. Used for request facts and for the Tests sheet alike."""
    kind = definition.kind
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            return value, f"must be true or false, not {_show(value)}"
        return value, ""
    if kind in (Kind.ENUM, Kind.TEXT):
        if not isinstance(value, str):
            return value, f"must be text, not {_show(value)}"
        if kind is Kind.ENUM and value not in definition.allowed_values:
            choices = ", ".join(definition.allowed_values)
            return value, f"{_show(value)} is not one of {choices}"
        return value, ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value, f"must be a number, not {_show(value)}"
    if isinstance(value, float) and not math.isfinite(value):
        return value, "must be a finite number"
    if abs(value) > _LARGEST:
        return value, "is too large to be a number"
    if kind is Kind.INTEGER and isinstance(value, float):
        if not value.is_integer():
            return value, f"must be a whole number, not {_show(value)}"
        value = int(value)
    if definition.value_range is not None and not matches(definition.value_range, value):
        unit = f" {definition.unit}" if definition.unit else ""
        return value, f"{_show(value)} is outside the allowed range {definition.value_range}{unit}"
    return value, ""


def _show(value: object) -> str:
    if isinstance(value, bool | int | float | str):
        return format_value(value)
    return type(value).__name__
