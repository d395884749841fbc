"""A decision table as boxes: every rule becomes one or more boxes over the table's
dimensions (see :mod:`.domains`), the form every hit-policy check works on.

A box holds one bitmask per dimension; a rule matches exactly the inputs inside one of its
boxes. A cell is one mask, so a rule is one box — except for a column fed by a multi-hit
table, where a list such as ``"a", "b"`` ("holds a or holds b") is split into disjoint boxes
("holds a", "lacks a and holds b"), as :mod:`engine.compiler` splits it into alternatives.

What an upstream table can produce is passed in (:class:`Produced`), so a chained column
holds only values that can really arrive.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
    items_of,
)
from engine.hitpolicy import Aggregation
from engine.model import InputDef, Kind, Model, OutputDef, Table
from engine.validation.domains import Dim, flag_dim, numeric_dim, values_dim
from engine.validation.partition import Explorer

MAX_BOXES_PER_RULE = 4096
ABSENT, PRESENT, EITHER = 0b01, 0b10, 0b11
NUMERIC = (Kind.NUMBER, Kind.INTEGER)


@dataclass(frozen=True)
class Produced:
    """What an output can hold when another table reads it."""

    values: tuple[Value, ...]  # possible values (numbers for a numeric output)
    nullable: bool
    numeric: bool = False
    unbounded: bool = False  # an aggregate (SUM, MIN, MAX, COUNT): any number
    is_list: bool = False


@dataclass
class Column:
    index: int
    name: str
    dims: list[Dim]
    is_list: bool
    chained: bool  # reads another table's output

    def alternatives(self, condition: Condition) -> list[tuple[int, ...]]:
        """The disjoint boxes (over this column's dimensions) a cell accepts."""
        if self.is_list:
            return _list_alternatives(len(self.dims), condition, self._flag_index)
        dim = self.dims[0]
        mask = dim.mask(condition) & dim.possible
        return [(mask,)] if mask else []

    def _flag_index(self, value: Value) -> int | None:
        for i, dim in enumerate(self.dims):
            flag = dim.flag_value
            if isinstance(flag, bool) == isinstance(value, bool) and flag == value:
                return i
        return None


@dataclass
class TableSpace:
    table: Table
    columns: list[Column]
    dims: list[Dim]
    boxes: list[tuple[int, ...]] = field(default_factory=list)
    rule_of: list[int] = field(default_factory=list)
    rule_boxes: list[list[int]] = field(default_factory=list)
    too_many: list[int] = field(default_factory=list)  # rules with too many boxes to analyse

    def explorer(self, max_nodes: int) -> Explorer:
        ordered = [d.kind == "number" for d in self.dims]
        return Explorer(self.boxes, len(self.dims), max_nodes, ordered)

    def rule_ids(self, rules: list[int]) -> list[str]:
        return [self.table.rules[r].rule_id for r in rules]


def output_production(table: Table, may_miss: bool) -> dict[str, Produced]:
    """What each output of ``table`` can hold downstream. ``may_miss``: some inputs match no
    rule (the table's gap analysis found gaps, or did not run)."""
    produced = {}
    for k, out in enumerate(table.outputs):
        numeric = out.kind in NUMERIC
        if table.aggregation is not None:
            count = table.aggregation is Aggregation.COUNT
            nullable = not count and not (out.has_default and out.default is not None)
            produced[out.name] = Produced((), nullable, True, True)
            continue
        given = [r.outputs[k] for r in table.rules]
        values: list[Value] = list(out.allowed_values)
        if not values:
            seen = [v for v in given if v is not None]
            if out.has_default and out.default is not None:
                seen.append(out.default)
            values = list(dict.fromkeys(seen))
        nullable = any(v is None for v in given) or (
            may_miss and not (out.has_default and out.default is not None)
        )
        if table.returns_list:
            produced[out.name] = Produced(tuple(values), False, numeric, is_list=True)
        else:
            produced[out.name] = Produced(tuple(values), nullable, numeric)
    return produced


def build_space(table: Table, model: Model, produced: dict[str, Produced]) -> TableSpace:
    columns = [_column(table, c, model, produced) for c in range(len(table.inputs))]
    dims = [d for column in columns for d in column.dims]
    space = TableSpace(table, columns, dims)
    for rule in table.rules:
        per_column = [
            column.alternatives(cell.condition)
            for column, cell in zip(columns, rule.cells, strict=True)
        ]
        count = 1
        for alternatives in per_column:
            count *= len(alternatives)
        if count > MAX_BOXES_PER_RULE:
            space.too_many.append(rule.index)
            per_column = [[]]
        mine = []
        for combination in itertools.product(*per_column):
            space.boxes.append(tuple(m for part in combination for m in part))
            space.rule_of.append(rule.index)
            mine.append(len(space.boxes) - 1)
        space.rule_boxes.append(mine)
    return space


def _column(table: Table, col: int, model: Model, produced: dict[str, Produced]) -> Column:
    name = table.inputs[col].name
    source: InputDef | OutputDef | None = model.input(name) or model.output(name)
    items = [i for rule in table.rules for i in items_of(rule.cells[col].condition)]
    if isinstance(source, InputDef):
        return Column(col, name, [_input_dim(name, col, source, items)], False, False)
    made = produced.get(name) or Produced((), True, source is not None and source.kind in NUMERIC)
    if made.is_list:
        return Column(col, name, [flag_dim(name, col, v) for v in made.values], True, True)
    if made.numeric:
        numbers = _numbers(items) | {
            v for v in made.values if isinstance(v, int | float) and not isinstance(v, bool)
        }
        dim = numeric_dim(name, col, numbers, False, None, made.nullable, not made.unbounded)
    else:
        dim = values_dim(name, col, made.values, made.nullable)
    return Column(col, name, [dim], False, True)


def _input_dim(name: str, col: int, source: InputDef, items: list[Item]) -> Dim:
    nullable = not source.required
    if source.kind in NUMERIC:
        numbers = _numbers(items)
        if source.value_range is not None:
            numbers |= _numbers(list(items_of(source.value_range)))
        integer = source.kind is Kind.INTEGER
        return numeric_dim(name, col, numbers, integer, source.value_range, nullable)
    if source.kind is Kind.BOOLEAN:
        return values_dim(name, col, (False, True), nullable)
    if source.kind is Kind.ENUM:
        return values_dim(name, col, tuple(source.allowed_values), nullable)
    named = [i.value for i in items if isinstance(i, Equals | Compare)]
    return values_dim(name, col, tuple(dict.fromkeys(named)), nullable, free_text=True)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(items: Sequence[Item]) -> set[int | float]:
    numbers: set[int | float] = set()
    for item in items:
        if isinstance(item, Between):
            numbers.update((item.low, item.high))
        elif isinstance(item, Equals | Compare) and _is_number(item.value):
            numbers.add(item.value)  # type: ignore[arg-type]
    return numbers


def _list_alternatives(
    count: int, condition: Condition, find: Callable[[Value], int | None]
) -> list[tuple[int, ...]]:
    """Disjoint boxes over a list column's flags (one per value the list can hold)."""
    if isinstance(condition, AnyValue):
        return [(EITHER,) * count]
    found = (find(i.value) for i in condition.items if isinstance(i, Equals))
    wanted = [w for w in dict.fromkeys(found) if w is not None]
    has_null = any(isinstance(i, IsNull) for i in condition.items)
    if isinstance(condition, AnyOf):
        parts = [(ABSENT,) * count] if has_null else []
        return parts + _first_present(count, wanted, [EITHER] * count)
    base = [EITHER] * count
    for w in wanted:
        base[w] = ABSENT
    if not has_null:
        return [tuple(base)]
    return _first_present(count, [i for i in range(count) if i not in wanted], base)


def _first_present(count: int, order: list[int], base: list[int]) -> list[tuple[int, ...]]:
    """ "Holds one of ``order``" as disjoint boxes: holds the first, or lacks it and holds
    the second, …"""
    parts = []
    before: list[int] = []
    for w in order:
        box = list(base)
        for b in before:
            box[b] = ABSENT
        box[w] = PRESENT
        parts.append(tuple(box))
        before.append(w)
    return parts
