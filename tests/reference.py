"""An independent reference evaluator for decision tables, written from docs/workbook-format.md.

It evaluates a *spec* (the plain data structures below, produced by ``tests/strategies.py``)
directly on raw fact values, with no parsing and no durable-rules: a rule matches when every
one of its cells matches, a cell is tested item by item, and the hit policy is applied to the
list of matching rules. It is deliberately naive so that it can be checked by reading.

The spec is also what ``tests/strategies.py`` renders into workbook sheets; the reference
ignores the rendering (``Cell.raw``) and only reads the meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --- the spec --------------------------------------------------------------------------------

SINGLE_HIT = ("UNIQUE", "ANY", "PRIORITY", "FIRST")
LIST_POLICIES = ("COLLECT", "RULE ORDER", "OUTPUT ORDER")  # without an aggregation


@dataclass(frozen=True)
class Item:
    """One unary test of a cell.

    kind: ``"eq"`` (value), ``"cmp"`` (op in < <= > >= !=, value), ``"range"`` (low, high,
    low_closed, high_closed) or ``"null"``."""

    kind: str
    value: Any = None
    op: str = ""
    low: Any = None
    high: Any = None
    low_closed: bool = True
    high_closed: bool = True


@dataclass(frozen=True)
class Cell:
    """An input entry: ``form`` is ``"any"`` (``-``), ``"anyof"`` (a comma list) or
    ``"noneof"`` (``not(...)``). ``raw`` is what the sheet holds (set by the renderer)."""

    form: str
    items: tuple[Item, ...] = ()
    raw: Any = None


@dataclass(frozen=True)
class InputSpec:
    """A row of the Inputs sheet. kind: number, integer, enum, boolean or text. ``allowed``:
    enum values. ``value_range``: a numeric :class:`Item` (range or comparison) or None.
    ``raw_range``: its text on the sheet."""

    name: str
    kind: str
    required: bool
    allowed: tuple[str, ...] = ()
    value_range: Item | None = None
    raw_range: str | None = None
    raw_allowed: str | None = None


@dataclass(frozen=True)
class OutputSpec:
    """An output column. kind: ``"string"``, ``"number"`` or ``"boolean"``. ``values``: the
    Output values in priority order (highest first), or None when the cell is empty."""

    name: str
    kind: str
    values: tuple[Any, ...] | None = None
    has_default: bool = False
    default: Any = None
    raw_values: Any = None
    raw_default: Any = None


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    cells: tuple[Cell, ...]
    outputs: tuple[Any, ...]  # one value (or None) per output column
    raw_outputs: tuple[Any, ...] = ()
    citation: str = "source"
    note: str | None = None


@dataclass(frozen=True)
class TableSpec:
    """``policy``: UNIQUE, ANY, PRIORITY, FIRST, COLLECT, RULE ORDER or OUTPUT ORDER;
    ``aggregation``: None, SUM, MIN, MAX or COUNT (COLLECT only); ``inputs``: the names read
    by the input columns (Inputs-sheet names or outputs of earlier tables)."""

    name: str
    policy: str
    aggregation: str | None
    inputs: tuple[str, ...]
    outputs: tuple[OutputSpec, ...]
    rules: tuple[RuleSpec, ...]
    policy_text: str = ""
    sheet_name: str = ""
    description: str | None = None

    @property
    def returns_list(self) -> bool:
        return self.policy in LIST_POLICIES and self.aggregation is None


@dataclass(frozen=True)
class ModelSpec:
    inputs: tuple[InputSpec, ...]
    tables: tuple[TableSpec, ...]
    sheet_order: tuple[int, ...] = ()  # a permutation of the rendered sheets
    sheet_names: tuple[str, str] = ("About", "Inputs")


# --- values ----------------------------------------------------------------------------------


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def same(a: Any, b: Any) -> bool:
    """Equality of two single values of the same type (a boolean is never a number)."""
    if is_number(a) and is_number(b):
        return a == b
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


def same_result(a: Any, b: Any) -> bool:
    """Deep equality of table results (values, None, lists and dicts)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, list | tuple) or isinstance(b, list | tuple):
        return (isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b)
                and all(same_result(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, dict) or isinstance(b, dict):
        return (isinstance(a, dict) and isinstance(b, dict) and set(a) == set(b)
                and all(same_result(a[k], b[k]) for k in a))
    return same(a, b)


# --- unary tests -----------------------------------------------------------------------------


def item_matches_value(item: Item, value: Any) -> bool:
    """Does a present (not None) single value satisfy one test?"""
    if item.kind == "null":
        return False
    if item.kind == "eq":
        return same(value, item.value)
    if item.kind == "cmp":
        if item.op == "!=":
            return not same(value, item.value)
        if not (is_number(value) and is_number(item.value)):
            return False
        if item.op == "<":
            return value < item.value
        if item.op == "<=":
            return value <= item.value
        if item.op == ">":
            return value > item.value
        if item.op == ">=":
            return value >= item.value
        raise AssertionError(item.op)
    if item.kind == "range":
        if not is_number(value):
            return False
        above_low = value > item.low or (item.low_closed and value == item.low)
        below_high = value < item.high or (item.high_closed and value == item.high)
        return above_low and below_high
    raise AssertionError(item.kind)


def item_matches_list(item: Item, values: list[Any]) -> bool:
    """For a column fed by a multi-hit table: ``null`` is the empty list, a value is
    'the list contains it'."""
    if item.kind == "null":
        return len(values) == 0
    if item.kind == "eq":
        return any(same(v, item.value) for v in values)
    raise AssertionError(f"{item.kind} cannot test a list")


def cell_matches(cell: Cell, value: Any, is_list: bool = False) -> bool:
    if cell.form == "any":
        return True
    if is_list:
        hit = any(item_matches_list(item, value) for item in cell.items)
        return hit if cell.form == "anyof" else not hit
    if value is None:  # a missing value satisfies only '-' and 'null', never not(...)
        if cell.form == "anyof":
            return any(item.kind == "null" for item in cell.items)
        return False
    hit = any(item_matches_value(item, value) for item in cell.items)
    if cell.form == "anyof":
        return hit
    if cell.form == "noneof":
        return not hit
    raise AssertionError(cell.form)


def in_value_range(item: Item | None, value: Any) -> bool:
    return item is None or item_matches_value(item, value)


# --- hit policies ----------------------------------------------------------------------------


class ReferenceViolation(Exception):
    def __init__(self, table: str, rule_ids: list[str]) -> None:
        super().__init__(f"{table}: rules {', '.join(rule_ids)}")
        self.table = table
        self.rule_ids = tuple(rule_ids)


def shape(table: TableSpec, row: tuple[Any, ...]) -> Any:
    """One output column gives a value; several give a dict keyed by output name."""
    if len(table.outputs) == 1:
        return row[0]
    return {out.name: value for out, value in zip(table.outputs, row, strict=True)}


def default_row(table: TableSpec) -> tuple[Any, ...] | None:
    """The default outputs, or None when the table has no default. (The strategies give
    either every output column a default or none.)"""
    if not all(out.has_default for out in table.outputs):
        assert not any(out.has_default for out in table.outputs)
        return None
    return tuple(out.default for out in table.outputs)


def priority_key(table: TableSpec, row: tuple[Any, ...]) -> tuple[int, ...]:
    """Position of each output value in its Output values list, column by column."""
    key = []
    for out, value in zip(table.outputs, row, strict=True):
        assert out.values is not None
        position = next(i for i, v in enumerate(out.values) if same(v, value))
        key.append(position)
    return tuple(key)


def apply_hit_policy(table: TableSpec, matched: list[RuleSpec]) -> Any:
    default = default_row(table)
    if table.aggregation == "COUNT":
        return len(matched)
    if table.aggregation is not None:
        if not matched:
            return default[0] if default else None
        # rules matched: their outputs are aggregated with the nulls left out; when nothing
        # is left there is no sum / minimum / maximum (null, as FEEL's sum([]) is null) --
        # the default is for "no match" only
        values = [rule.outputs[0] for rule in matched if rule.outputs[0] is not None]
        if not values:
            return None
        if table.aggregation == "SUM":
            return sum(values)
        if table.aggregation == "MIN":
            return min(values)
        if table.aggregation == "MAX":
            return max(values)
        raise AssertionError(table.aggregation)
    if table.policy in SINGLE_HIT:
        if not matched:
            return shape(table, default) if default else None
        if table.policy == "UNIQUE":
            if len(matched) > 1:
                raise ReferenceViolation(table.name, [r.rule_id for r in matched])
            chosen = matched[0]
        elif table.policy == "ANY":
            first = matched[0].outputs
            agree = all(
                all(same_result(a, b) for a, b in zip(first, r.outputs, strict=True))
                for r in matched
            )
            if not agree:
                raise ReferenceViolation(table.name, [r.rule_id for r in matched])
            chosen = matched[0]
        elif table.policy == "PRIORITY":
            # min() returns the first of equal keys: ties go to the earlier rule
            chosen = min(matched, key=lambda r: priority_key(table, r.outputs))
        elif table.policy == "FIRST":
            chosen = matched[0]
        else:
            raise AssertionError(table.policy)
        return shape(table, chosen.outputs)
    # multi-hit lists
    if not matched:
        return [shape(table, default)] if default else []
    if table.policy == "OUTPUT ORDER":
        ordered = sorted(matched, key=lambda r: priority_key(table, r.outputs))  # stable
    else:  # COLLECT, RULE ORDER: rule order
        ordered = list(matched)
    return [shape(table, r.outputs) for r in ordered]


# --- a whole model ---------------------------------------------------------------------------


@dataclass
class Outcome:
    """``outputs``: table name -> result for every table that could be evaluated;
    ``violations``: table name -> rule ids of each table that violated its hit policy with all
    its upstream tables evaluated; ``blocked``: tables downstream of a violation."""

    outputs: dict[str, Any] = field(default_factory=dict)
    violations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    blocked: set[str] = field(default_factory=set)


def producers(spec: ModelSpec) -> dict[str, TableSpec]:
    return {out.name: table for table in spec.tables for out in table.outputs}


def dependency_order(spec: ModelSpec) -> list[TableSpec]:
    made_by = producers(spec)
    order: list[TableSpec] = []
    done: set[str] = set()
    while len(order) < len(spec.tables):
        for table in spec.tables:
            if table.name in done:
                continue
            needs = {made_by[n].name for n in table.inputs if n in made_by}
            if needs <= done:
                order.append(table)
                done.add(table.name)
                break
        else:
            raise AssertionError("cycle")
    return order


def table_values(table: TableSpec, result: Any) -> dict[str, tuple[Any, bool]]:
    """What downstream tables see of each output: (value, is_list)."""
    seen: dict[str, tuple[Any, bool]] = {}
    for index, out in enumerate(table.outputs):
        if table.returns_list:
            values = [row if len(table.outputs) == 1 else row[out.name] for row in result]
            seen[out.name] = (values, True)
        elif table.aggregation is not None or len(table.outputs) == 1:
            seen[out.name] = (result, False)
        else:
            seen[out.name] = (None if result is None else result[out.name], False)
        del index
    return seen


def evaluate_all(spec: ModelSpec, facts: dict[str, Any]) -> Outcome:
    env: dict[str, tuple[Any, bool]] = {i.name: (facts.get(i.name), False) for i in spec.inputs}
    made_by = producers(spec)
    outcome = Outcome()
    for table in dependency_order(spec):
        upstream = {made_by[n].name for n in table.inputs if n in made_by}
        if upstream & (set(outcome.violations) | outcome.blocked):
            outcome.blocked.add(table.name)
            continue
        matched = []
        for rule in table.rules:
            if all(
                cell_matches(cell, env[name][0], env[name][1])
                for cell, name in zip(rule.cells, table.inputs, strict=True)
            ):
                matched.append(rule)
        try:
            result = apply_hit_policy(table, matched)
        except ReferenceViolation as violation:
            outcome.violations[table.name] = violation.rule_ids
            continue
        outcome.outputs[table.name] = result
        env.update(table_values(table, result))
    return outcome


def evaluate(spec: ModelSpec, facts: dict[str, Any]) -> dict[str, Any]:
    """Table name -> result; raises :class:`ReferenceViolation` for the first violation in
    dependency order."""
    outcome = evaluate_all(spec, facts)
    for table in dependency_order(spec):
        if table.name in outcome.violations:
            raise ReferenceViolation(table.name, list(outcome.violations[table.name]))
    return outcome.outputs


# --- facts -----------------------------------------------------------------------------------


def fact_is_valid(spec: InputSpec, value: Any) -> bool:
    """Is a supplied (not None) fact value of the declared type (and in range)?"""
    if spec.kind == "boolean":
        return isinstance(value, bool)
    if spec.kind == "number":
        return is_number(value) and value == value and abs(value) != float("inf") \
            and in_value_range(spec.value_range, value)
    if spec.kind == "integer":
        return (is_number(value) and value == value and abs(value) != float("inf")
                and float(value).is_integer() and in_value_range(spec.value_range, value))
    if spec.kind == "enum":
        return isinstance(value, str) and value in spec.allowed
    if spec.kind == "text":
        return isinstance(value, str)
    raise AssertionError(spec.kind)


def bad_fact_fields(spec: ModelSpec, facts: dict[str, Any]) -> set[str]:
    """The fields a FactError must name: unknown names, missing required facts, wrong values."""
    declared = {i.name: i for i in spec.inputs}
    bad = {name for name in facts if name not in declared}
    for name, definition in declared.items():
        value = facts.get(name)
        if value is None:
            if definition.required:
                bad.add(name)
        elif not fact_is_valid(definition, value):
            bad.add(name)
    return bad
