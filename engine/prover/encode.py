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
from engine.prover.values import (
    Choice,
    Formula,
    ListValue,
    Symbolic,
    Term,
    all_of,
    any_of,
    negate,
    to_z3,
)

EXACT_SUM_BITS = 52  # a float sum is exact while every partial sum fits in the mantissa


@dataclass
class TableTerms:
    """One table in the solver: each rule's *matched*, the table's violation (UNIQUE and
    ANY only) and the terms of its outputs."""

    table: Table
    matched: tuple[Formula, ...]
    violation: Formula | None
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
    cells: dict[tuple[str, Condition], Formula] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> z3.Context:
        return self.space.ctx

    def any_violation(self) -> Formula:
        """Some table gives no answer (UNIQUE or ANY broken): the case has no outputs."""
        return any_of([t.violation for t in self.tables.values() if t.violation is not None],
                      self.ctx)

    def holds(self, name: str, condition: Condition) -> Formula:
        """Does ``condition`` hold on ``name``? (Shared: tables repeat their cells.)"""
        key = (name, condition)
        found = self.cells.get(key)
        if found is None:
            found = self.cells[key] = self.terms[name].holds(condition)
        return found


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

    def fresh(self, name: str) -> z3.BoolRef:
        return z3.FreshBool(f"{self.prefix}.{name}", self.ctx)

    def define(self, name: str, formula: Formula) -> Formula:
        """A named helper for ``formula`` (constants stay constants)."""
        if isinstance(formula, bool):
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

    def _rule(self, rule: Rule) -> Formula:
        holds = self.encoding.holds
        return all_of(
            [
                holds(column.name, cell.condition)
                for column, cell in zip(self.table.inputs, rule.cells, strict=True)
                if not isinstance(cell.condition, AnyValue)
            ],
            self.ctx,
        )

    def _violation(self, matched: Sequence[Formula]) -> Formula | None:
        policy = self.table.hit_policy
        if policy is HitPolicy.UNIQUE:
            groups = list(matched)
        elif policy is HitPolicy.ANY:
            by_outputs: dict[object, list[Formula]] = {}
            for rule, m in zip(self.table.rules, matched, strict=True):
                by_outputs.setdefault(row_key(rule.outputs), []).append(m)
            groups = [any_of(g, self.ctx) for g in by_outputs.values()]
        else:
            return None
        certain = sum(1 for g in groups if g is True)
        open_ = [g for g in groups if not isinstance(g, bool)]
        if certain >= 2:
            return True
        if certain + len(open_) < 2:
            return None
        if certain == 1:
            return self.define("violation", any_of(open_, self.ctx))
        return self.define("violation", z3.AtLeast(*open_, 2))

    def _none_matched(self, matched: Sequence[Formula]) -> Formula:
        return self.define("no_match", all_of([negate(m) for m in matched], self.ctx))

    # --- single hit ------------------------------------------------------------------------

    def _single(self, matched: tuple[Formula, ...]) -> dict[str, Term]:
        """The first match in rule order (priority order for PRIORITY) decides."""
        table = self.table
        order = list(range(len(table.rules)))
        if table.hit_policy is HitPolicy.PRIORITY:
            order.sort(key=lambda i: priority_key(table, table.rules[i]))
        chosen: list[tuple[Formula, Rule]] = []
        none_before: Formula = True
        for step, index in enumerate(order):
            m = matched[index]
            chosen.append((all_of([none_before, m], self.ctx), table.rules[index]))
            none_before = self.define(f"none{step}", all_of([none_before, negate(m)], self.ctx))
        default = default_row(table) or tuple(None for _ in table.outputs)
        outputs: dict[str, Term] = {}
        for column, out in enumerate(table.outputs):
            options = [(g, r.outputs[column]) for g, r in chosen]
            options.append((none_before, default[column]))
            outputs[out.name] = Choice(_merge(options, self.ctx), self.ctx)
        return outputs

    # --- lists -----------------------------------------------------------------------------

    def _lists(self, matched: tuple[Formula, ...]) -> dict[str, Term]:
        table = self.table
        none = self._none_matched(matched)
        default = default_row(table)
        outputs: dict[str, Term] = {}
        for column, out in enumerate(table.outputs):
            elements = [(m, r.outputs[column]) for m, r in zip(matched, table.rules, strict=True)]
            if default is not None:
                elements.append((none, default[column]))
            empty = False if default is not None else none
            outputs[out.name] = ListValue(tuple(_merge(elements, self.ctx)), empty, self.ctx)
        return outputs

    # --- aggregations ----------------------------------------------------------------------

    def _aggregate(self, matched: tuple[Formula, ...]) -> dict[str, Term]:
        table, ctx = self.table, self.ctx
        out = table.outputs[0]
        if table.aggregation is Aggregation.COUNT:
            one, zero = z3.IntVal(1, ctx), z3.IntVal(0, ctx)
            count = z3.Sum([zero, *(z3.If(to_z3(m, ctx), one, zero) for m in matched)])
            return {out.name: Symbolic(True, count, Kind.INTEGER)}
        none = self._none_matched(matched)
        values: list[tuple[Formula, Value | None]] = [
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
        self, values: list[tuple[Formula, Value | None]], none: Formula, default: Value | None
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
        total = z3.Sum([zero, *(z3.If(to_z3(m, ctx), num(v, ctx), zero) for m, v in values)])  # type: ignore[arg-type]
        some = any_of([m for m, _ in values], ctx)
        if default is None:
            return Symbolic(some, total, Kind.NUMBER)
        present = any_of([none, some], ctx)
        value = z3.If(to_z3(none, ctx), num(default, ctx), total)  # type: ignore[arg-type]
        return Symbolic(present, value, Kind.NUMBER)

    def _extreme(
        self, values: list[tuple[Formula, Value | None]], none: Formula, default: Value | None
    ) -> Choice:
        """MIN or MAX: the best value some match gives, where no better one is matched."""
        ctx = self.ctx
        by_value: dict[Fraction, tuple[Value, list[Formula]]] = {}
        for m, v in values:
            assert isinstance(v, int | float)
            by_value.setdefault(Fraction(v), (v, []))[1].append(m)
        ordered = sorted(by_value, reverse=self.table.aggregation is Aggregation.MAX)
        options: list[tuple[Formula, Value | None]] = []
        better: list[Formula] = []
        for q in ordered:
            value, ms = by_value[q]
            hit = any_of(ms, ctx)
            options.append((all_of([hit, *[negate(b) for b in better]], ctx), value))
            better.append(hit)
        nothing = all_of([negate(b) for b in better], ctx)
        options.append((all_of([negate(none), nothing], ctx), None))  # matches, all null
        options.append((none, default))
        return Choice(_merge(options, ctx), ctx)


def _merge(
    options: Sequence[tuple[Formula, Value | None]], ctx: z3.Context
) -> tuple[tuple[Formula, Value | None], ...]:
    """One guard per distinct value (equal as the engine compares values), false ones out."""
    merged: dict[object, tuple[Value | None, list[Formula]]] = {}
    for guard, value in options:
        if guard is False:
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
