"""Cells that can never match, found on a loaded model.

The builder has already checked every cell's syntax and type. What it cannot see is a cell
that is well formed but accepts no value the column can hold: a test outside the Inputs
sheet's range (``< 10`` when ages run from 16), ``null`` on a required input, ``not(true,
false)``, a value the upstream table never gives. Such a cell makes its rule dead
(``TV204``, ``TV207``, ``TV404``); one dead item in a list (``null, > 5`` on a required input)
is a warning (``TV208``).
"""

from __future__ import annotations

from engine.conditions import AnyOf, AnyValue, Condition, Equals, format_value
from engine.dmn.xml import DmnLocation
from engine.model import InputDef, Kind, Model, Rule
from engine.validation.codes import finding
from engine.validation.domains import Dim, numeric_dim
from engine.validation.findings import Finding
from engine.validation.space import Column, TableSpace
from engine.validation.tablefindings import in_dmn


def cell_findings(space: TableSpace, model: Model) -> list[Finding]:
    findings = []
    for rule in space.table.rules:
        for column, cell in zip(space.columns, rule.cells, strict=True):
            condition = cell.condition
            if isinstance(condition, AnyValue):
                continue
            where = cell.location.cell if cell.location and cell.location.cell else None
            if not column.alternatives(condition):
                code, reason = _why_never(column, condition, model)
                findings.append(
                    _at(
                        space,
                        rule,
                        where,
                        code,
                        f"'{cell.text}' can never match ({reason}): "
                        f"rule {rule.rule_id} never applies",
                        _fix(code, in_dmn(space.table)),
                    )
                )
            elif not column.is_list and isinstance(condition, AnyOf) and len(condition.items) > 1:
                findings.extend(_dead_items(space, rule, where, column, condition, model))
            elif bare := _bare_number(condition, model.input(column.name)):
                findings.append(_at(space, rule, where, "TV210", *bare))
    return findings


def _bare_number(condition: Condition, source: InputDef | None) -> tuple[str, str] | None:
    """A measurement such as a temperature is almost never exactly a number: ``38`` in such
    a column matches 38.0 and nothing else, not "38 or more"."""
    if source is None or source.kind is not Kind.NUMBER or not isinstance(condition, AnyOf):
        return None
    if len(condition.items) != 1 or not isinstance(condition.items[0], Equals):
        return None
    number = format_value(condition.items[0].value)
    unit = f" {source.unit}" if source.unit else ""
    above, below = _near(number, 0.1), _near(number, -0.1)
    return (
        f"'{number}' means {source.name} equals exactly {number}{unit}: {above} or {below} "
        "would not match",
        f"write '>= {number}' for {number} or more, '< {number}' for less, or a range such "
        f"as '[{number}..{_near(number, 1)})'",
    )


def _near(number: str, step: float) -> str:
    return format_value(round(float(number) + step, 6))


def _dead_items(
    space: TableSpace,
    rule: Rule,
    where: str | None,
    column: Column,
    condition: AnyOf,
    model: Model,
) -> list[Finding]:
    dim = column.dims[0]
    found = []
    for item in condition.items:
        if dim.item_mask(item) & dim.possible:
            continue
        _, reason = _why_never(column, AnyOf((item,)), model)
        found.append(
            _at(
                space,
                rule,
                where,
                "TV208",
                f"'{item}' in '{condition}' can never match: {reason}",
                f"remove '{item}' from the cell",
            )
        )
    return found


def _why_never(column: Column, condition: Condition, model: Model) -> tuple[str, str]:
    """The code and a clinician's reason for a cell that accepts no possible value."""
    source = model.input(column.name)
    if column.chained:
        producer = model.output(column.name)
        table = producer.table if producer else "the other table"
        return "TV404", f"table '{table}' never gives such a value for '{column.name}'"
    dim = column.dims[0]
    raw = dim.mask(condition)
    present = raw & dim.present
    if not raw:
        return "TV207", "it accepts no value at all"
    if not present and not dim.null_bit & dim.possible:
        return "TV207", f"'{column.name}' is required, so it is never missing"
    if isinstance(source, InputDef) and source.value_range is not None and dim.kind == "number":
        if _unranged(dim, source).mask(condition) & _unranged(dim, source).possible:
            unit = f" {source.unit}" if source.unit else ""
            dmn = isinstance(source.location, DmnLocation)
            stated = "its allowedValues" if dmn else "Inputs sheet"
            return "TV204", (
                f"'{column.name}' only takes values in {source.value_range}{unit} ({stated})"
            )
    if dim.kind == "number":
        return "TV207", f"no whole number fits it, and '{column.name}' is an integer"
    return "TV207", f"it accepts none of the values '{column.name}' can hold"


def _unranged(dim: Dim, source: InputDef) -> Dim:
    """The same column without the Inputs sheet's range."""
    numbers = {c for c in dim.constants if isinstance(c, int | float)}
    return numeric_dim(
        dim.name, dim.column, numbers, source.kind == "integer", None, not source.required
    )


def _fix(code: str, dmn: bool) -> str:
    if dmn:
        return {
            "TV204": "write a test inside the allowed range, or widen the input's allowedValues",
            "TV404": "test a value the other decision gives, or add a rule there that gives it",
        }.get(code, "rewrite the entry so that some value matches it, or delete the rule")
    return {
        "TV204": "write a test inside the allowed range, or widen the range on the Inputs sheet",
        "TV404": "test a value the other table gives, or add a rule there that gives it",
    }.get(code, "rewrite the cell so that some value matches it, or delete the rule")


def _at(
    space: TableSpace, rule: Rule, where: str | None, code: str, message: str, fix: str
) -> Finding:
    table = space.table
    return finding(
        code,
        message,
        fix,
        sheet=table.sheet,
        cells=[where] if where else [],
        table=table.name,
        rules=[rule.rule_id],
    )


def unused_inputs(model: Model) -> list[Finding]:
    """Inputs declared on the Inputs sheet that no table reads (``TV403``)."""
    read = {c.name for t in model.tables for c in t.inputs}
    findings = []
    for definition in model.inputs:
        if definition.name in read:
            continue
        where = definition.location
        findings.append(
            finding(
                "TV403",
                f"input '{definition.name}' is declared but no table reads it",
                "read it in a decision, or delete the inputData if it is not needed"
                if isinstance(where, DmnLocation)
                else "use it in a table, or delete its row if it is not needed",
                sheet=where.sheet if where else None,
                cells=[where.cell] if where and where.cell else [],
            )
        )
    return findings
