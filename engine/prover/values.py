"""What a name holds in the solver, and when a cell's unary test holds on it.

Three shapes, because each keeps the encoding exact and small:

* :class:`Symbolic` — a value the solver chooses or computes: an input, a COLLECT SUM or a
  COLLECT COUNT. Its tests are written here as arithmetic, following
  :func:`engine.conditions.matches` item by item (a missing value matches only ``null``,
  ``not(...)`` needs a present value, a boolean is never a number).
* :class:`Choice` — a table's output: one of finitely many constants (each rule's cell, the
  default, or null), each under a guard, exactly one guard true. A test holds when the guard
  of a constant it matches holds — and whether it matches is decided by
  :func:`engine.conditions.matches` itself, so no test's meaning is written twice.
* :class:`ListValue` — a multi-hit output (COLLECT, RULE ORDER, OUTPUT ORDER): elements,
  each present under a guard, and a guard for the empty list. A test item holds when some
  present element matches it, again decided by ``matches`` on a one-element list.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeAlias

import z3

from engine.conditions import (
    AnyOf,
    AnyValue,
    Between,
    Compare,
    Condition,
    Equals,
    IsNull,
    Item,
    Value,
    matches,
)
from engine.model import Kind
from engine.prover.space import num

# True and False stay Python booleans until the solver needs them: cheaper than z3's own
Formula: TypeAlias = "z3.BoolRef | bool"


def to_z3(formula: Formula, ctx: z3.Context) -> z3.BoolRef:
    return z3.BoolVal(formula, ctx) if isinstance(formula, bool) else formula


def negate(formula: Formula) -> Formula:
    return (not formula) if isinstance(formula, bool) else z3.Not(formula)


def _connect(make: object, terms: list[z3.BoolRef], ctx: z3.Context) -> z3.BoolRef:
    """``And``/``Or`` through z3's C API: z3py's own coerces every argument, which costs more
    than the rest of the encoding of a large table."""
    args = (z3.Ast * len(terms))()
    for i, term in enumerate(terms):
        args[i] = term.as_ast()
    return z3.BoolRef(make(ctx.ref(), len(terms), args), ctx)  # type: ignore[operator]


def any_of(terms: Sequence[Formula], ctx: z3.Context) -> Formula:
    rest: list[z3.BoolRef] = []
    for term in terms:
        if term is True:
            return True
        if term is not False:
            rest.append(term)  # type: ignore[arg-type]
    if not rest:
        return False
    return rest[0] if len(rest) == 1 else _connect(z3.Z3_mk_or, rest, ctx)


def all_of(terms: Sequence[Formula], ctx: z3.Context) -> Formula:
    rest: list[z3.BoolRef] = []
    for term in terms:
        if term is False:
            return False
        if term is not True:
            rest.append(term)  # type: ignore[arg-type]
    if not rest:
        return True
    return rest[0] if len(rest) == 1 else _connect(z3.Z3_mk_and, rest, ctx)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Symbolic:
    """``value`` is a Bool, Real (number), Int (integer; also a code into ``codes`` for enum
    and text); it means something only where ``present`` holds."""

    present: Formula
    value: z3.ExprRef
    kind: Kind
    codes: tuple[str, ...] = ()

    @property
    def ctx(self) -> z3.Context:
        return self.value.ctx

    def holds(self, condition: Condition) -> Formula:
        ctx = self.ctx
        if isinstance(condition, AnyValue):
            return True
        tests = [self._item(i) for i in condition.items if not isinstance(i, IsNull)]
        if isinstance(condition, AnyOf):
            null = any(isinstance(i, IsNull) for i in condition.items)
            terms = [negate(self.present)] if null else []
            terms.append(all_of([self.present, any_of(tests, ctx)], ctx))
            return any_of(terms, ctx)
        return all_of([self.present, negate(any_of(tests, ctx))], ctx)

    def _item(self, item: Item) -> Formula:
        if isinstance(item, Equals):
            return self._equals(item.value)
        if isinstance(item, Compare):
            if item.op == "!=":
                return negate(self._equals(item.value))
            if not _is_number(item.value) or self.kind not in (Kind.NUMBER, Kind.INTEGER):
                return False
            return self._compare(item.op, Fraction(item.value))
        assert isinstance(item, Between)
        if self.kind not in (Kind.NUMBER, Kind.INTEGER):
            return False
        low = self._compare(">=" if item.low_closed else ">", Fraction(item.low))
        high = self._compare("<=" if item.high_closed else "<", Fraction(item.high))
        return all_of([low, high], self.ctx)

    def _equals(self, constant: Value) -> Formula:
        ctx, kind, value = self.ctx, self.kind, self.value
        if kind is Kind.BOOLEAN:
            if not isinstance(constant, bool):
                return False
            return value if constant else z3.Not(value)  # type: ignore[return-value]
        if kind in (Kind.ENUM, Kind.TEXT):
            if isinstance(constant, str) and constant in self.codes:
                return value == self.codes.index(constant)  # type: ignore[return-value]
            return False
        if not _is_number(constant):
            return False
        q = Fraction(constant)
        if kind is Kind.INTEGER:
            return value == q.numerator if q.denominator == 1 else False  # type: ignore[return-value]
        return value == num(q, ctx)  # type: ignore[return-value]

    def _compare(self, op: str, q: Fraction) -> z3.BoolRef:
        value = self.value
        if self.kind is Kind.INTEGER:  # stay in integer arithmetic: x < 2.5 is x < 3
            bound: object = {"<": math.ceil(q), "<=": math.floor(q), ">": math.floor(q)}.get(
                op, math.ceil(q)
            )
        else:
            bound = num(q, self.ctx)
        return {  # type: ignore[no-any-return]
            "<": lambda: value < bound,  # type: ignore[operator]
            "<=": lambda: value <= bound,  # type: ignore[operator]
            ">": lambda: value > bound,  # type: ignore[operator]
            ">=": lambda: value >= bound,  # type: ignore[operator]
        }[op]()


@dataclass(frozen=True)
class Choice:
    """One of finitely many constants (``None`` for null), each under a guard; the guards
    exclude each other and one holds (for a case the tables answer)."""

    options: tuple[tuple[Formula, Value | None], ...]
    ctx: z3.Context

    def holds(self, condition: Condition) -> Formula:
        if isinstance(condition, AnyValue):
            return True
        return any_of([g for g, v in self.options if matches(condition, v)], self.ctx)


@dataclass(frozen=True)
class ListValue:
    """A list: ``elements`` are (guard, value) — the value is in the list when its guard
    holds — and ``empty`` holds when the list is empty."""

    elements: tuple[tuple[Formula, Value | None], ...]
    empty: Formula
    ctx: z3.Context

    def holds(self, condition: Condition) -> Formula:
        if isinstance(condition, AnyValue):
            return True
        hit = any_of([self._item(i) for i in condition.items], self.ctx)
        return hit if isinstance(condition, AnyOf) else negate(hit)

    def _item(self, item: Item) -> Formula:
        if isinstance(item, IsNull):
            return self.empty
        one = AnyOf((item,))
        return any_of([g for g, v in self.elements if matches(one, [v])], self.ctx)


Term = Symbolic | Choice | ListValue
