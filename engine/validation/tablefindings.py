"""Small helpers shared by the table checks: where a finding about rules goes, how rules and
values are named in messages, and how a box is written as readable conditions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from engine.conditions import format_value
from engine.dmn.xml import DmnLocation
from engine.hitpolicy import output_ranks, row_key
from engine.model import Rule, Table
from engine.validation.codes import finding
from engine.validation.cuts import Box
from engine.validation.domains import Dim
from engine.validation.findings import Finding
from engine.validation.sheetref import cell_at, split_cell
from engine.validation.space import ABSENT, PRESENT, Column, TableSpace

MAX_LISTED = 50  # findings of one kind per table; more are summed up in one TV602


def describe(space: TableSpace, box: Box) -> str:
    """``age_years < 18 and pattern is "focal"``: the columns the box restricts."""
    parts = [phrase for phrase, _ in _columns(space, box)]
    if len(parts) > 1:
        parts = [f"({p})" if " or " in p else p for p in parts]
    return " and ".join(parts) if parts else "in every case"


def chained_note(space: TableSpace, box: Box) -> str:
    """Other tables' outputs are analysed as if any of their values could come with any
    inputs, which may not be so: say it when the box restricts such a column together with
    others."""
    restricted = [column for column, _ in _with_columns(space, box)]
    names = [column.name for column in restricted if column.chained]
    if not names or len(restricted) < 2:
        return ""  # alone, an output's values are the ones its table gives
    return (
        f" (if this case can happen: {', '.join(names)} comes from another table, whose "
        "results are taken to be possible with any inputs)"
    )


def rule_cells(space: TableSpace, box: Box) -> str | None:
    """The cells of one rule matching exactly ``box`` (``age_years: < 18, pattern:
    "focal"``), or None when a list column's part of the box fits no single cell."""
    cells = [cell for _, cell in _columns(space, box)]
    if any(cell is None for cell in cells):
        return None
    return ", ".join(c for c in cells if c)


def _columns(space: TableSpace, box: Box) -> list[tuple[str, str | None]]:
    """(phrase, cell) for each column the box restricts."""
    return [words for _, words in _with_columns(space, box)]


def _with_columns(space: TableSpace, box: Box) -> list[tuple[Column, tuple[str, str | None]]]:
    found = []
    start = 0
    for column in space.columns:
        dims = column.dims
        masks = box[start : start + len(dims)]
        start += len(dims)
        if column.is_list:
            listed = _list_words(column.name, dims, masks)
            if listed is not None:
                found.append((column, listed))
            continue
        dim, mask = dims[0], masks[0]
        whole = dim.possible & ~dim.unanalysed
        if mask & whole != whole:
            found.append((column, (dim.phrase(mask), f"{dim.name}: {dim.cell(mask)}")))
    return found


def _list_words(
    name: str, dims: Sequence[Dim], masks: Sequence[int]
) -> tuple[str, str | None] | None:
    """A list column's flags as words: ``red_flags is empty``, ``red_flags holds "a" and
    none of "b", "c"``; the cell when one cell can say it."""
    held = [format_value(d.flag_value) for d, m in zip(dims, masks, strict=True) if m == PRESENT]  # type: ignore[arg-type]
    lacked = [format_value(d.flag_value) for d, m in zip(dims, masks, strict=True) if m == ABSENT]  # type: ignore[arg-type]
    if not held and not lacked:
        return None
    if not held and len(lacked) == len(dims):
        return f"{name} is empty", f"{name}: null"
    words = []
    if held:
        words.append(f"{name} holds " + " and ".join(held))
    if lacked:
        none = lacked[0] if len(lacked) == 1 else "any of " + ", ".join(lacked)
        words.append(("but not " if held else f"{name} does not hold ") + none)
    if held and len(held) == 1 and not lacked:
        cell: str | None = f"{name}: {held[0]}"
    elif lacked and not held:
        cell = f"{name}: not({', '.join(lacked)})"
    else:
        cell = None
    return " ".join(words), cell


def intersection(space: TableSpace, boxes: Sequence[int]) -> Box:
    common = [d.possible for d in space.dims]
    for b in boxes:
        common = [c & m for c, m in zip(common, space.boxes[b], strict=True)]
    return tuple(common)


def outputs_key(rule: Rule) -> tuple[tuple[bool, Any], ...]:
    return row_key(rule.outputs)


def priority_key(table: Table, rule: Rule) -> tuple[int, ...]:
    """The PRIORITY order of :mod:`engine.hitpolicy` without the rule order."""
    return output_ranks(table, rule.outputs)


def show_outputs(outputs: tuple[Any, ...]) -> str:
    shown = ["null" if v is None else format_value(v) for v in outputs]
    return shown[0] if len(shown) == 1 else "(" + ", ".join(shown) + ")"


def names(ids: Sequence[str]) -> str:
    if len(ids) > 8:
        return ", ".join(ids[:8]) + f" and {len(ids) - 8} more"
    return ", ".join(ids)


def at_rules(
    space: TableSpace,
    rules: Sequence[int],
    code: str,
    message: str,
    fix: str,
    also: Sequence[int] = (),
) -> Finding:
    """A finding on the id cells of ``rules``, naming ``also`` among its rules."""
    table = space.table
    cells = [r.location.cell for i in rules if (r := table.rules[i]).location and r.location.cell]
    ids = space.rule_ids([*rules, *(r for r in also if r not in rules)])
    return finding(code, message, fix, sheet=table.sheet, cells=cells, table=table.name, rules=ids)


def row_cell(name_cell: str | None, row: int) -> str | None:
    """The cell of the same column on sheet row ``row`` (from an output's Name cell); a
    location that is not a cell (a DMN element) is kept as it is."""
    if not name_cell:
        return None
    found_row, col = split_cell(name_cell)
    return cell_at(row, col) if found_row else name_cell


def in_dmn(table: Table) -> bool:
    """Was the table read from a DMN model? Its findings then speak of decisions, rules and
    clauses, never of sheets and rows."""
    return isinstance(table.location, DmnLocation)


def row_cells(table: Table, row: int) -> list[str]:
    return [
        cell
        for out in table.outputs
        if (cell := row_cell(out.location.cell if out.location else None, row))
    ]


def table_finding(table: Table, code: str, message: str, fix: str) -> Finding:
    """A finding about a whole table, at its ``A1`` cell."""
    cell = table.location.cell if table.location else None
    return finding(
        code, message, fix, sheet=table.sheet, cells=[cell] if cell else [], table=table.name
    )


def not_analysed(table: Table, what: str, steps: int) -> Finding:
    return table_finding(
        table,
        "TV602",
        f"{what} not analysed: the table needs more than {steps:,} steps",
        "split the table into smaller chained tables to have it checked",
    )


def more(table: Table, count: int, what: str) -> Finding:
    return table_finding(
        table, "TV602", f"{count} more {what} not listed", "fix the ones listed and validate again"
    )
