"""The row-level diff of two versions of a workbook: what a reviewer would see comparing the
sheets side by side, cell by cell, but matched by meaning — inputs and tables by name, rules
by rule id — so that a moved row is a move, not a deletion and an addition.

Rules are compared on what the engine reads (the parsed condition of each cell, the output
values, the citation); a cell re-typed with other spacing or quotes but the same meaning is
not a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.conditions import format_value
from engine.hitpolicy import row_key, value_key
from engine.model import InputDef, Model, OutputDef, Rule, Table


@dataclass(frozen=True)
class CellChange:
    column: str
    old: str
    new: str
    cell: str = ""  # where, in the new version (``Disposition!C12``)

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "old": self.old, "new": self.new,
                "cell": self.cell or None}


@dataclass(frozen=True)
class RuleChange:
    """``kind``: added, removed, changed or moved."""

    table: str
    rule_id: str
    kind: str
    old_row: int | None
    new_row: int | None
    cells: tuple[CellChange, ...] = ()
    text: str = ""  # the rule as written, for an added or removed rule

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "rule_id": self.rule_id, "kind": self.kind,
                "old_row": self.old_row, "new_row": self.new_row,
                "cells": [c.as_dict() for c in self.cells], "text": self.text or None}


@dataclass(frozen=True)
class ItemChange:
    """A change to something other than a rule: an input, a table's shape, the About sheet."""

    where: str  # "Inputs", "table disposition", "About"
    what: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "what": self.what}


@dataclass
class RowDiff:
    items: list[ItemChange] = field(default_factory=list)
    rules: list[RuleChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.items and not self.rules

    def as_dict(self) -> dict[str, Any]:
        return {"items": [i.as_dict() for i in self.items],
                "rules": [r.as_dict() for r in self.rules]}


def row_diff(old: Model, new: Model) -> RowDiff:
    diff = RowDiff()
    for field_name in ("table_id", "title", "version", "owner", "clinical_reviewer",
                       "review_date"):
        before, after = getattr(old.about, field_name), getattr(new.about, field_name)
        if before != after:
            diff.items.append(ItemChange("About", f"{field_name}: {before!r} → {after!r}"))
    _inputs(old, new, diff)
    for table in new.tables:
        previous = old.table(table.name)
        if previous is None:
            diff.items.append(ItemChange(f"table {table.name}", "added"))
            diff.rules.extend(
                RuleChange(table.name, r.rule_id, "added", None, r.row, text=rule_text(table, r))
                for r in table.rules
            )
            continue
        _table(previous, table, diff)
    for table in old.tables:
        if new.table(table.name) is None:
            diff.items.append(ItemChange(f"table {table.name}", "removed"))
    old_order = [t.name for t in old.tables if new.table(t.name) is not None]
    new_order = [t.name for t in new.tables if old.table(t.name) is not None]
    if old_order != new_order:
        diff.items.append(ItemChange("tables", f"evaluation order {old_order} → {new_order}"))
    return diff


def _inputs(old: Model, new: Model, diff: RowDiff) -> None:
    for definition in new.inputs:
        before = old.input(definition.name)
        if before is None:
            diff.items.append(ItemChange("Inputs", f"{definition.name} added "
                                                   f"({_describe_input(definition)})"))
            continue
        for what, a, b in (
            ("type", before.kind, definition.kind),
            ("allowed values", _allowed(before), _allowed(definition)),
            ("required", before.required, definition.required),
            ("unit", before.unit, definition.unit),
        ):
            if a != b:
                diff.items.append(ItemChange("Inputs", f"{definition.name}: {what} "
                                                       f"{_show(a)} → {_show(b)}"))
    for definition in old.inputs:
        if new.input(definition.name) is None:
            diff.items.append(ItemChange("Inputs", f"{definition.name} removed"))


def _describe_input(definition: InputDef) -> str:
    allowed = _allowed(definition)
    required = "required" if definition.required else "optional"
    return f"{definition.kind}{' ' + allowed if allowed else ''}, {required}"


def _allowed(definition: InputDef) -> str:
    if definition.allowed_values:
        return ", ".join(definition.allowed_values)
    return str(definition.value_range) if definition.value_range is not None else ""


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value) if value not in ("", None) else "(empty)"


def _table(old: Table, new: Table, diff: RowDiff) -> None:
    where = f"table {new.name}"
    if old.hit_policy != new.hit_policy or old.aggregation != new.aggregation:
        diff.items.append(ItemChange(where, f"hit policy {_policy(old)} → {_policy(new)}"))
    before_cols, after_cols = [c.name for c in old.inputs], [c.name for c in new.inputs]
    if before_cols != after_cols:
        diff.items.append(ItemChange(where, f"input columns {before_cols} → {after_cols}"))
    for output in new.outputs:
        previous = next((o for o in old.outputs if o.name == output.name), None)
        if previous is None:
            diff.items.append(ItemChange(where, f"output {output.name} added"))
            continue
        for change in _output_changes(previous, output):
            diff.items.append(ItemChange(where, f"output {output.name}: {change}"))
    for output in old.outputs:
        if not any(o.name == output.name for o in new.outputs):
            diff.items.append(ItemChange(where, f"output {output.name} removed"))
    _rules(old, new, diff)


def _policy(table: Table) -> str:
    return f"{table.hit_policy} {table.aggregation}" if table.aggregation else str(
        table.hit_policy)


def _output_changes(old: OutputDef, new: OutputDef) -> list[str]:
    changes = []
    if [value_key(v) for v in old.allowed_values] != [value_key(v) for v in new.allowed_values]:
        changes.append(
            f"Output values {_values(old.allowed_values)} → {_values(new.allowed_values)}"
            + (" (the priority order changed)" if set(map(value_key, old.allowed_values))
               == set(map(value_key, new.allowed_values)) else "")
        )
    if (old.has_default, value_key(old.default)) != (new.has_default, value_key(new.default)):
        changes.append(f"Default {_value(old.default, old.has_default)} → "
                       f"{_value(new.default, new.has_default)}")
    return changes


def _values(values: tuple[Any, ...]) -> str:
    return ", ".join(format_value(v) for v in values) if values else "(none)"


def _value(value: Any, present: bool = True) -> str:
    if not present:
        return "(none)"
    return "null" if value is None else format_value(value)


def _rules(old: Table, new: Table, diff: RowDiff) -> None:
    before = {r.rule_id: r for r in old.rules}
    after_ids = {r.rule_id for r in new.rules}
    common_old = [r.rule_id for r in old.rules if r.rule_id in after_ids]
    common_new = [r.rule_id for r in new.rules if r.rule_id in before]
    moved = _moved(common_old, common_new)
    for rule in new.rules:
        previous = before.get(rule.rule_id)
        if previous is None:
            diff.rules.append(RuleChange(new.name, rule.rule_id, "added", None, rule.row,
                                         text=rule_text(new, rule)))
            continue
        cells = _cell_changes(old, previous, new, rule)
        if cells:
            diff.rules.append(RuleChange(new.name, rule.rule_id, "changed", previous.row,
                                         rule.row, tuple(cells)))
        elif rule.rule_id in moved:
            diff.rules.append(RuleChange(new.name, rule.rule_id, "moved", previous.row,
                                         rule.row))
    for rule in old.rules:
        if rule.rule_id not in after_ids:
            diff.rules.append(RuleChange(new.name, rule.rule_id, "removed", rule.row, None,
                                         text=rule_text(old, rule)))


def _moved(old: list[str], new: list[str]) -> set[str]:
    """Rules whose place among the rules both versions have changed: those outside a longest
    common subsequence of the two orders."""
    import difflib

    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    kept = {old[b.a + k] for b in matcher.get_matching_blocks() for k in range(b.size)}
    return set(old) - kept


def _cell_changes(old_table: Table, old: Rule, new_table: Table, new: Rule) -> list[CellChange]:
    changes = []
    before = {c.name: cell for c, cell in zip(old_table.inputs, old.cells, strict=True)}
    for column, cell in zip(new_table.inputs, new.cells, strict=True):
        previous = before.get(column.name)
        if previous is None or previous.condition != cell.condition:
            changes.append(CellChange(column.name, previous.text if previous else "(no column)",
                                      cell.text or "-", _where(cell.location)))
    outputs_before = {o.name: v for o, v in zip(old_table.outputs, old.outputs, strict=True)}
    for output, value in zip(new_table.outputs, new.outputs, strict=True):
        if output.name not in outputs_before:
            continue
        previous_value = outputs_before[output.name]
        if row_key([previous_value]) != row_key([value]):
            changes.append(CellChange(output.name, _value(previous_value), _value(value)))
    if old.citation != new.citation:
        changes.append(CellChange("Citation", old.citation, new.citation))
    return changes


def _where(location: Any) -> str:
    return str(location) if location is not None and location.cell else ""


def rule_text(table: Table, rule: Rule) -> str:
    """``age_years: >= 65, pattern: "widespread" → severity "medium"``."""
    tests = [f"{c.name}: {cell.text}" for c, cell in zip(table.inputs, rule.cells, strict=True)
             if cell.text not in ("", "-")]
    outputs = [f"{o.name} {_value(v)}" for o, v in zip(table.outputs, rule.outputs, strict=True)]
    return f"{', '.join(tests) or 'any case'} → {', '.join(outputs)}"
