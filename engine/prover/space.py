"""The input space: one solver variable per fact, built once and shared by every encoding
over it (a model's tables and properties today; an old and a new model side by side for a
semantic diff).

Each input is a pair *(present, value)*:

* ``present`` — a Boolean, fixed to true for a required input: an optional fact may be
  missing, and a missing fact matches only ``-`` and ``null``;
* ``value`` — a Boolean, a real (``number``), an integer (``integer``), or for ``enum`` and
  ``text`` the index of the value in a list of codes. A text input can hold any text, but
  cells only compare it for equality with the texts they name, so one more code stands for
  "any other text": that is exact, not an approximation.

The allowed range of a number (the Inputs sheet's *Allowed values*) holds whenever the fact
is present, exactly as :mod:`engine.facts` accepts facts. Numbers are compared as exact
rationals of the floats the cells hold, which is what Python's comparisons of floats do.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import z3

from engine.conditions import Between, Condition, items_of
from engine.model import InputDef, Kind, Model

OTHER_TEXT = "other text"  # the witness for "a text no cell names" (made unique if needed)


def rational(value: int | float) -> Fraction:
    """The exact value of a number as Python holds it (0.1 is the float nearest 0.1)."""
    return Fraction(value)


def num(value: int | float | Fraction, ctx: z3.Context) -> z3.ArithRef:
    q = Fraction(value)
    return z3.Q(q.numerator, q.denominator, ctx) if q.denominator != 1 else z3.RealVal(
        q.numerator, ctx
    )


@dataclass
class InputVar:
    """One fact in the solver. ``codes``: enum values, or the texts cells name (plus the
    "other text" code at index ``len(codes)``); ``constants``: every number a test of this
    input names, so that a counterexample can pick a readable value in the same interval."""

    definition: InputDef
    present: z3.BoolRef | bool  # True for a required input
    value: z3.ExprRef
    codes: tuple[str, ...] = ()
    constants: tuple[Fraction, ...] = ()

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def kind(self) -> Kind:
        return self.definition.kind


@dataclass
class InputSpace:
    """The solver variables of every input, and the constraints the Inputs sheet puts on
    them (``domain``). Build it with :meth:`of` from every condition that will be encoded
    over it, so that every text a cell names has its code."""

    ctx: z3.Context
    vars: dict[str, InputVar]
    domain: list[z3.BoolRef] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        inputs: Sequence[InputDef],
        conditions: Mapping[str, Iterable[Condition]],
        ctx: z3.Context | None = None,
    ) -> InputSpace:
        ctx = ctx or z3.Context()
        space = cls(ctx, {})
        for definition in inputs:
            tests = list(conditions.get(definition.name, ()))
            if definition.value_range is not None:
                tests.append(definition.value_range)
            space.vars[definition.name] = space._declare(definition, tests)
        return space

    def _declare(self, definition: InputDef, tests: list[Condition]) -> InputVar:
        ctx, name = self.ctx, definition.name
        present: z3.BoolRef | bool = True if definition.required else z3.Bool(f"{name}?", ctx)
        kind = definition.kind
        if kind is Kind.BOOLEAN:
            return InputVar(definition, present, z3.Bool(name, ctx))
        if kind in (Kind.ENUM, Kind.TEXT):
            value = z3.Int(name, ctx)
            if kind is Kind.ENUM:
                codes = tuple(definition.allowed_values)
                top = len(codes) - 1
            else:
                codes = tuple(dict.fromkeys(_texts(tests)))
                top = len(codes)  # the last code is any other text
            self.domain.append(z3.And(value >= 0, value <= top))
            return InputVar(definition, present, value, codes)
        value = z3.Int(name, ctx) if kind is Kind.INTEGER else z3.Real(name, ctx)
        constants = tuple(sorted(set(numbers_named(tests))))
        var = InputVar(definition, present, value, (), constants)
        if definition.value_range is not None:
            from engine.prover.values import Symbolic, negate, to_z3  # values imports this module

            inside = Symbolic(True, value, kind).holds(definition.value_range)
            if not isinstance(inside, bool):
                self.domain.append(inside if present is True else z3.Implies(present, inside))
            elif not inside:  # an empty range: only a missing fact is allowed
                self.domain.append(to_z3(negate(present), ctx))
        return var

    def other_text(self, var: InputVar) -> str:
        """A text that no cell names, as the witness for the "other text" code."""
        text, n = OTHER_TEXT, 1
        while text in var.codes:
            n += 1
            text = f"{OTHER_TEXT} {n}"
        return text

    def facts(self, model: z3.ModelRef) -> dict[str, Any]:
        """A readable patient in the solver's ``model``: every present fact, each number
        moved to a short value in the same interval between the constants tests name."""
        facts: dict[str, Any] = {}
        for var in self.vars.values():
            if var.present is not True and not z3.is_true(
                model.eval(var.present, model_completion=True)
            ):
                continue
            value = model.eval(var.value, model_completion=True)
            if var.kind is Kind.BOOLEAN:
                facts[var.name] = z3.is_true(value)
            elif var.kind in (Kind.ENUM, Kind.TEXT):
                index = value.as_long()  # type: ignore[attr-defined]
                facts[var.name] = (
                    var.codes[index] if index < len(var.codes) else self.other_text(var)
                )
            else:
                exact = exact_number(value)
                facts[var.name] = readable(exact, var.constants, var.kind is Kind.INTEGER)
        return facts


def exact_number(value: z3.ExprRef) -> Fraction:
    """A numeric constant of a solver model, exactly."""
    if z3.is_int_value(value):
        return Fraction(value.as_long())  # type: ignore[attr-defined]
    return Fraction(value.as_fraction())  # type: ignore[attr-defined]


def _texts(tests: Iterable[Condition]) -> list[str]:
    found: list[str] = []
    for test in tests:
        for item in items_of(test):
            value = getattr(item, "value", None)
            if isinstance(value, str):
                found.append(value)
    return found


def numbers_named(tests: Iterable[Condition]) -> list[Fraction]:
    """Every number the tests name (range bounds included)."""
    found: list[Fraction] = []
    for test in tests:
        for item in items_of(test):
            values: tuple[object, ...] = (item.low, item.high) if isinstance(item, Between) else (
                getattr(item, "value", None),
            )
            found.extend(
                rational(v)
                for v in values
                if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            )
    return found


def readable(exact: Fraction, constants: Sequence[Fraction], integer: bool) -> int | float:
    """A short number that every test treats like ``exact``: ``exact`` itself when a test
    names it, else a whole number or a short decimal strictly between the constants on
    either side (every test of the input is true or false on that whole interval)."""
    if exact in constants or not constants:
        return _plain(exact, integer)
    below = max((c for c in constants if c < exact), default=None)
    above = min((c for c in constants if c > exact), default=None)
    if below is None:
        assert above is not None
        choice = math.ceil(above) - 1
        return choice if integer else _plain(Fraction(choice), integer)
    if above is None:
        choice = math.floor(below) + 1
        return choice if integer else _plain(Fraction(choice), integer)
    middle = (below + above) / 2
    low_int, high_int = math.floor(below) + 1, math.ceil(above) - 1
    if low_int <= high_int:  # a whole number fits: the one nearest the middle
        return int(min(max(round(middle), low_int), high_int))
    if integer:
        return _plain(exact, integer)  # cannot happen: the solver gave an integer in between
    for digits in range(1, 18):
        candidate = round(float(middle), digits)
        if below < Fraction(candidate) < above:
            return candidate
    return float(middle) if below < Fraction(float(middle)) < above else _plain(exact, integer)


def _plain(exact: Fraction, integer: bool) -> int | float:
    if exact.denominator == 1:
        return int(exact)
    return float(exact)


def conditions_of(model: Model, extra: Iterable[tuple[str, Condition]] = ()) -> dict[
    str, list[Condition]
]:
    """Every condition on each name: the tables' cells and ``extra`` (properties' cells)."""
    found: dict[str, list[Condition]] = {}
    for table in model.tables:
        for rule in table.rules:
            for column, cell in zip(table.inputs, rule.cells, strict=True):
                found.setdefault(column.name, []).append(cell.condition)
    for name, condition in extra:
        found.setdefault(name, []).append(condition)
    return found
