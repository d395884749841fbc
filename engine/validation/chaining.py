"""Values one table gives that a table reading them never acts on (``TV405``).

When a table reads another table's output value by value (the Disposition table reading
red-flag codes), a value that no rule picks up falls through to whatever the reading table
does when nothing matches — often its default, quietly. That is how a new red-flag code
added to the Red flags table, but to no Disposition row, would send a patient to a routine
appointment. Every value the upstream table can give must be picked up by some rule of each
table that dispatches on it: a rule whose cell matches that value, and would not match
without it.

A column that only asks whether there is a value at all (``null``, ``not(null)``, ``-``)
does not dispatch on values and is not checked. Nor is the upstream table's Default: it is
what that table gives when none of its rules apply ("no finding"), and a reading table that
does nothing special with it is right to.
"""

from __future__ import annotations

from typing import Any

from engine.conditions import AnyValue, Condition, Equals, Value, format_value, items_of, matches
from engine.hitpolicy import value_key
from engine.model import Kind, Model, OutputDef, Table
from engine.validation.codes import finding
from engine.validation.findings import Finding
from engine.validation.tablefindings import in_dmn


def unread_values(model: Model) -> list[Finding]:
    producers = {o.name: (t, o) for t in model.tables for o in t.outputs}
    findings = []
    for table in model.tables:
        for col, column in enumerate(table.inputs):
            if column.name not in producers or model.input(column.name) is not None:
                continue
            producer, output = producers[column.name]
            cells = [rule.cells[col].condition for rule in table.rules]
            if not any(isinstance(i, Equals) for c in cells for i in items_of(c)):
                continue  # the column asks only whether there is a value
            as_list = producer.returns_list
            for value in _given(producer, output):
                if any(_picks_up(c, value, as_list) for c in cells):
                    continue
                where = column.location
                dmn = in_dmn(table)
                kind, entry = ("decision", "entry") if dmn else ("table", "cell")
                findings.append(
                    finding(
                        "TV405",
                        f"{kind} '{producer.name}' can give {column.name} "
                        f"{format_value(value)}, but no rule of {kind} '{table.name}' picks it "
                        f"up, so such a case falls through to what the {kind} does when no rule "
                        "matches",
                        f"add a rule to {kind} '{table.name}' whose {column.name} {entry} tests "
                        f"{format_value(value)}, or remove the value from {kind} "
                        f"'{producer.name}'",
                        sheet=where.sheet if where and not dmn else table.sheet,
                        cells=[where.cell] if where and where.cell else [],
                        table=table.name,
                    )
                )
    return findings


def _given(table: Table, output: OutputDef) -> list[Value]:
    """The values of ``output`` some rule of ``table`` gives, other than its Default, in
    the order of its Output values."""
    k = table.outputs.index(output)
    given = {value_key(r.outputs[k]) for r in table.rules if r.outputs[k] is not None}
    if output.has_default:
        given.discard(value_key(output.default))
    listed: list[Any] = list(output.allowed_values)
    if not listed and output.kind is Kind.BOOLEAN:
        listed = [True, False]
    return [v for v in listed if value_key(v) in given]


def _picks_up(condition: Condition, value: Value, as_list: bool) -> bool:
    if isinstance(condition, AnyValue):
        return False
    if as_list:
        return matches(condition, [value]) and not matches(condition, [])
    return matches(condition, value) and not matches(condition, None)

