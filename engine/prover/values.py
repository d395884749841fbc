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


def _false(ctx: z3.Context) -> z3.BoolRef:
    return z3.BoolVal(False, ctx)


def any_of(terms: Sequence[z3.BoolRef], ctx: z3.Context) -> z3.BoolRef:
    terms = [t for t in terms if not z3.is_false(t)]
    if not terms:
        return _false(ctx)
    if any(z3.is_true(t) for t in terms):
        return z3.BoolVal(True, ctx)
    return terms[0] if len(terms) == 1 else z3.Or(*terms)


def all_of(terms: Sequence[z3.BoolRef], ctx: z3.Context) -> z3.BoolRef:
    terms = [t for t in terms if not z3.is_true(t)]
    if not terms:
        return z3.BoolVal(True, ctx)
    if any(z3.is_false(t) for t in terms):
        return _false(ctx)
    return terms[0] if len(terms) == 1 else z3.And(*terms)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Symbolic:
    """``value`` is a Bool, Real (number), Int (integer; also a code into ``codes`` for enum
    and text); it means something only where ``present`` holds."""

    present: z3.BoolRef
    value: z3.ExprRef
    kind: Kind
    codes: tuple[str, ...] = ()

    @property
    def ctx(self) -> z3.Context:
        return self.value.ctx

    def holds(self, condition: Condition) -> z3.BoolRef:
        ctx = self.ctx
        if isinstance(condition, AnyValue):
            return z3.BoolVal(True, ctx)
        tests = [self._item(i) for i in condition.items if not isinstance(i, IsNull)]
        if isinstance(condition, AnyOf):
            terms = [z3.Not(self.present)] if any(isinstance(i, IsNull) for i in condition.items)\
                else []
            terms.append(all_of([self.present, any_of(tests, ctx)], ctx))
            return any_of(terms, ctx)
        return all_of([self.present, z3.Not(any_of(tests, ctx))], ctx)

    def _item(self, item: Item) -> z3.BoolRef:
        if isinstance(item, Equals):
            return self._equals(item.value)
        if isinstance(item, Compare):
            if item.op == "!=":
                return z3.Not(self._equals(item.value))
            if not _is_number(item.value) or self.kind not in (Kind.NUMBER, Kind.INTEGER):
                return _false(self.ctx)
            return self._compare(item.op, Fraction(item.value))
        assert isinstance(item, Between)
        if self.kind not in (Kind.NUMBER, Kind.INTEGER):
            return _false(self.ctx)
        low = self._compare(">=" if item.low_closed else ">", Fraction(item.low))
        high = self._compare("<=" if item.high_closed else "<", Fraction(item.high))
        return z3.And(low, high)

    def _equals(self, constant: Value) -> z3.BoolRef:
        ctx, kind, value = self.ctx, self.kind, self.value
        if kind is Kind.BOOLEAN:
            return value == z3.BoolVal(constant, ctx) if isinstance(constant, bool) else _false(ctx)  # type: ignore[return-value]
        if kind in (Kind.ENUM, Kind.TEXT):
            if isinstance(constant, str) and constant in self.codes:
                return value == self.codes.index(constant)  # type: ignore[return-value]
            return _false(ctx)
        if not _is_number(constant):
            return _false(ctx)
        q = Fraction(constant)
        if kind is Kind.INTEGER:
            return value == q.numerator if q.denominator == 1 else _false(ctx)  # type: ignore[return-value]
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

    options: tuple[tuple[z3.BoolRef, Value | None], ...]
    ctx: z3.Context

    def holds(self, condition: Condition) -> z3.BoolRef:
        if isinstance(condition, AnyValue):
            return z3.BoolVal(True, self.ctx)
        return any_of([g for g, v in self.options if matches(condition, v)], self.ctx)


@dataclass(frozen=True)
class ListValue:
    """A list: ``elements`` are (guard, value) — the value is in the list when its guard
    holds — and ``empty`` holds when the list is empty."""

    elements: tuple[tuple[z3.BoolRef, Value | None], ...]
    empty: z3.BoolRef
    ctx: z3.Context

    def holds(self, condition: Condition) -> z3.BoolRef:
        if isinstance(condition, AnyValue):
            return z3.BoolVal(True, self.ctx)
        hit = any_of([self._item(i) for i in condition.items], self.ctx)
        return hit if isinstance(condition, AnyOf) else z3.Not(hit)

    def _item(self, item: Item) -> z3.BoolRef:
        if isinstance(item, IsNull):
            return self.empty
        one = AnyOf((item,))
        return any_of([g for g, v in self.elements if matches(one, [v])], self.ctx)


Term = Symbolic | Choice | ListValue
