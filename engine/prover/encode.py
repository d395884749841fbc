"""A model's tables as solver terms over an :class:`~engine.prover.space.InputSpace`.

Each rule gets a Boolean *matched* (all its cells hold); each table's outputs become terms
(:mod:`engine.prover.values`) built from those, by the table's hit policy, in evaluation
order, so a chained table's cells test the terms of the outputs it reads. The hit-policy
facts — single or multiple hit, PRIORITY order, value equality, what a table with no match
returns — come from :mod:`engine.hitpolicy`, the one home of those semantics:

* single hit (UNIQUE, ANY, FIRST, PRIORITY): rules in rule order (PRIORITY: in priority
  order); the first that matches decides, else the default (or null);
* UNIQUE with two matches, ANY with two matches that disagree: the table gives no answer —
  recorded as the table's ``violation``;
* COLLECT, RULE ORDER, OUTPUT ORDER: a list of every match's output, or ``[default]``, or
  ``[]`` (the order does not matter to any test);
* COLLECT SUM: a sum the solver computes; COUNT: the number of matches; MIN and MAX: the
  smallest or largest value matched, a choice among the rules' constants.

Everything the encoding cannot state exactly is recorded in ``limits`` (table -> reason),
so that a proof leaning on it is reported as not proven rather than proven.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import z3

from engine.conditions import AnyValue, Condition, Value
from engine.hitpolicy import (
    Aggregation,
    HitPolicy,
    default_row,
    priority_key,
    row_key,
    value_key,
)
from engine.model import Kind, Model, Rule, Table
from engine.prover.space import InputSpace, num
from engine.prover.values import Choice, ListValue, Symbolic, Term, all_of, any_of

EXACT_SUM_BITS = 52  # a float sum is exact while every partial sum fits in the mantissa


@dataclass
class TableTerms:
    """One table in the solver: each rule's *matched*, the table's violation (UNIQUE and
    ANY only) and the terms of its outputs."""

    table: Table
    matched: tuple[z3.BoolRef, ...]
    violation: z3.BoolRef | None
    outputs: dict[str, Term]


@dataclass
class ModelEncoding:
    """A model over an input space. ``definitions`` must be asserted wherever the terms are
    used: they define the helper variables (each rule's *matched*, the first-match chains)."""

    model: Model
    space: InputSpace
    terms: dict[str, Term] = field(default_factory=dict)  # every input and output by name
    tables: dict[str, TableTerms] = field(default_factory=dict)
    definitions: list[z3.BoolRef] = field(default_factory=list)
    limits: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> z3.Context:
        return self.space.ctx

    def any_violation(self) -> z3.BoolRef:
        """Some table gives no answer (UNIQUE or ANY broken): the case has no outputs."""
        return any_of([t.violation for t in self.tables.values() if t.violation is not None],
                      self.ctx)

    def holds(self, name: str, condition: Condition) -> z3.BoolRef:
        return self.terms[name].holds(condition)


def encode_model(model: Model, space: InputSpace, tag: str = "") -> ModelEncoding:
    """Encode ``model``'s tables over ``space``. ``tag`` prefixes the helper variables, so
    that two models can be encoded over one space (a semantic diff)."""
    encoding = ModelEncoding(model, space)
    for name, var in space.vars.items():
        encoding.terms[name] = Symbolic(var.present, var.value, var.kind, var.codes)
    for table in model.tables:
        _TableEncoder(encoding, table, f"{tag}{table.name}").encode()
    return encoding


class _TableEncoder:
    def __init__(self, encoding: ModelEncoding, table: Table, prefix: str) -> None:
        self.encoding = encoding
        self.table = table
        self.prefix = prefix
        self.ctx = encoding.ctx
        self._cells: dict[tuple[str, Condition], z3.BoolRef] = {}

    def fresh(self, name: str) -> z3.BoolRef:
        return z3.FreshBool(f"{self.prefix}.{name}", self.ctx)

    def define(self, name: str, formula: z3.BoolRef) -> z3.BoolRef:
        """A named helper for ``formula`` (constants stay constants)."""
        if z3.is_true(formula) or z3.is_false(formula):
            return formula
        var = self.fresh(name)
        self.encoding.definitions.append(var == formula)
        return var

    def encode(self) -> None:
        table = self.table
        matched = tuple(self.define(r.rule_id, self._rule(r)) for r in table.rules)
        violation = self._violation(matched)
        if table.hit_policy.single_hit:
            outputs = self._single(matched)
        elif table.aggregation is None:
            outputs = self._lists(matched)
        else:
            outputs = self._aggregate(matched)
        self.encoding.tables[table.name] = TableTerms(table, matched, violation, outputs)
        self.encoding.terms.update(outputs)

    # --- rules -----------------------------------------------------------------------------

    def _rule(self, rule: Rule) -> z3.BoolRef:
        tests = []
        for column, cell in zip(self.table.inputs, rule.cells, strict=True):
            if isinstance(cell.condition, AnyValue):
                continue
            key = (column.name, cell.condition)
            if key not in self._cells:
                self._cells[key] = self.encoding.holds(column.name, cell.condition)
            tests.append(self._cells[key])
        return all_of(tests, self.ctx)

    def _violation(self, matched: Sequence[z3.BoolRef]) -> z3.BoolRef | None:
        policy = self.table.hit_policy
        if policy is HitPolicy.UNIQUE:
            groups = list(matched)
        elif policy is HitPolicy.ANY:
            by_outputs: dict[object, list[z3.BoolRef]] = {}
            for rule, m in zip(self.table.rules, matched, strict=True):
                by_outputs.setdefault(row_key(rule.outputs), []).append(m)
            groups = [any_of(g, self.ctx) for g in by_outputs.values()]
        else:
            return None
        groups = [g for g in groups if not z3.is_false(g)]
        if len(groups) < 2:
            return None
        return self.define("violation", z3.AtLeast(*groups, 2))

    def _none_matched(self, matched: Sequence[z3.BoolRef]) -> z3.BoolRef:
        return self.define("no_match", all_of([z3.Not(m) for m in matched], self.ctx))

    # --- single hit ------------------------------------------------------------------------

    def _single(self, matched: tuple[z3.BoolRef, ...]) -> dict[str, Term]:
        """The first match in rule order (priority order for PRIORITY) decides."""
        table = self.table
        order = list(range(len(table.rules)))
        if table.hit_policy is HitPolicy.PRIORITY:
            order.sort(key=lambda i: priority_key(table, table.rules[i]))
        chosen: list[tuple[z3.BoolRef, Rule]] = []
        none_before: z3.BoolRef = z3.BoolVal(True, self.ctx)
        for step, index in enumerate(order):
            m = matched[index]
            chosen.append((all_of([none_before, m], self.ctx), table.rules[index]))
            none_before = self.define(f"none{step}", all_of([none_before, z3.Not(m)], self.ctx))
        default = default_row(table) or tuple(None for _ in table.outputs)
        outputs: dict[str, Term] = {}
        for column, out in enumerate(table.outputs):
            options = [(g, r.outputs[column]) for g, r in chosen]
            options.append((none_before, default[column]))
            outputs[out.name] = Choice(_merge(options, self.ctx), self.ctx)
        return outputs

    # --- lists -----------------------------------------------------------------------------

    def _lists(self, matched: tuple[z3.BoolRef, ...]) -> dict[str, Term]:
        table = self.table
        none = self._none_matched(matched)
        default = default_row(table)
        outputs: dict[str, Term] = {}
        for column, out in enumerate(table.outputs):
            elements = [(m, r.outputs[column]) for m, r in zip(matched, table.rules, strict=True)]
            if default is not None:
                elements.append((none, default[column]))
            empty = z3.BoolVal(False, self.ctx) if default is not None else none
            outputs[out.name] = ListValue(tuple(_merge(elements, self.ctx)), empty, self.ctx)
        return outputs

    # --- aggregations ----------------------------------------------------------------------

    def _aggregate(self, matched: tuple[z3.BoolRef, ...]) -> dict[str, Term]:
        table, ctx = self.table, self.ctx
        out = table.outputs[0]
        if table.aggregation is Aggregation.COUNT:
            count = z3.Sum([z3.If(m, z3.IntVal(1, ctx), z3.IntVal(0, ctx)) for m in matched]) \
                if matched else z3.IntVal(0, ctx)
            return {out.name: Symbolic(z3.BoolVal(True, ctx), count, Kind.INTEGER)}
        none = self._none_matched(matched)
        values: list[tuple[z3.BoolRef, Value | None]] = [
            (m, r.outputs[0])
            for m, r in zip(matched, table.rules, strict=True)
            if r.outputs[0] is not None
        ]
        row = default_row(table)
        default = row[0] if row is not None else None
        if table.aggregation is Aggregation.SUM:
            return {out.name: self._sum(values, none, default)}
        return {out.name: self._extreme(values, none, default)}

    def _sum(
        self, values: list[tuple[z3.BoolRef, Value | None]], none: z3.BoolRef,
        default: Value | None,
    ) -> Symbolic:
        ctx = self.ctx
        numbers = [Fraction(v) for _, v in values if isinstance(v, int | float)]
        if default is not None and isinstance(default, int | float):
            numbers.append(Fraction(default))
        if not _sums_exact(numbers, [v for _, v in values] + [default]):
            self.encoding.limits[self.table.name] = (
                f"table '{self.table.name}' adds numbers that floating point rounds"
            )
        zero = num(0, ctx)
        total = z3.Sum([z3.If(m, num(v, ctx), zero) for m, v in values]) if values else zero  # type: ignore[arg-type]
        some = any_of([m for m, _ in values], ctx)
        if default is None:
            return Symbolic(some, total, Kind.NUMBER)
        present = z3.If(none, z3.BoolVal(True, ctx), some)
        return Symbolic(present, z3.If(none, num(default, ctx), total), Kind.NUMBER)  # type: ignore[arg-type]

    def _extreme(
        self, values: list[tuple[z3.BoolRef, Value | None]], none: z3.BoolRef,
        default: Value | None,
    ) -> Choice:
        """MIN or MAX: the best value some match gives, where no better one is matched."""
        ctx = self.ctx
        by_value: dict[Fraction, tuple[Value, list[z3.BoolRef]]] = {}
        for m, v in values:
            assert isinstance(v, int | float)
            by_value.setdefault(Fraction(v), (v, []))[1].append(m)
        ordered = sorted(by_value, reverse=self.table.aggregation is Aggregation.MAX)
        options: list[tuple[z3.BoolRef, Value | None]] = []
        better: list[z3.BoolRef] = []
        for q in ordered:
            value, ms = by_value[q]
            hit = any_of(ms, ctx)
            options.append((all_of([hit, *[z3.Not(b) for b in better]], ctx), value))
            better.append(hit)
        nothing = all_of([z3.Not(b) for b in better], ctx)
        options.append((all_of([z3.Not(none), nothing], ctx), None))  # matches, all null
        options.append((none, default))
        return Choice(_merge(options, ctx), ctx)


def _merge(
    options: Sequence[tuple[z3.BoolRef, Value | None]], ctx: z3.Context
) -> tuple[tuple[z3.BoolRef, Value | None], ...]:
    """One guard per distinct value (equal as the engine compares values), false ones out."""
    merged: dict[object, tuple[Value | None, list[z3.BoolRef]]] = {}
    for guard, value in options:
        if z3.is_false(guard):
            continue
        merged.setdefault(value_key(value), (value, []))[1].append(guard)
    return tuple((any_of(gs, ctx), v) for v, gs in merged.values())


def _sums_exact(numbers: list[Fraction], raw: Sequence[Value | None]) -> bool:
    """Python adds ints exactly; floats only while every partial sum is a float."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in raw if v is not None):
        return True
    scale = max((q.denominator for q in numbers), default=1)
    total = sum(abs(q) for q in numbers) * scale
    return scale <= 2**30 and total < 2**EXACT_SUM_BITS
