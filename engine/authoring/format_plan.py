"""What `triage format` puts on a workbook, worked out from its content alone.

Pure data, no IO and no openpyxl: :func:`plan` reads the sheets (as the engine reads them)
and the model built from them, and returns every helper a person editing the workbook gets:
the value lists behind the drop-downs, which cells each drop-down covers, the notes on the
header cells, the urgency colours, the frozen panes and the column widths.
:mod:`engine.authoring.format_apply` then lays the plan onto the file.

Why each helper is derived, never kept by hand: the reviewer who added a red flag had to
widen ``Lists!$A$2:$A$17`` before Excel would accept the new code. Here every list is
rebuilt from the Inputs sheet and each table's Output values, sized to its values, so adding
a value needs nothing but `triage format` (or `triage validate --annotate`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine.conditions import format_value
from engine.hitpolicy import HitPolicy
from engine.model import InputDef, Kind, Model, OutputDef, Table
from engine.tables import HEADER_ROWS, KIND_ROW, NAME_ROW
from engine.values import text_of
from engine.workbook import Sheet, cell_name, column_letter

MARGIN = 200  # rows below the last one written that still get drop-downs, at least
REACH_STEP = 500
WIDTH_STEP = 4  # characters
POLICY_NAMES = ("UNIQUE", "ANY", "PRIORITY", "FIRST", "COLLECT", "COLLECT SUM", "COLLECT MIN",
                "COLLECT MAX", "COLLECT COUNT", "RULE ORDER", "OUTPUT ORDER")
KINDS = ("Input", "Output", "Citation", "Note")
INPUT_TYPES = tuple(k.value for k in Kind)
# most urgent first; a list longer than the palette shares colours evenly
URGENCY = (("C00000", "FFFFFF"), ("F4B183", "000000"), ("FFE699", "000000"),
           ("BDD7EE", "000000"), ("C6EFCE", "000000"))
WIDE = {"description": 90.0, "value": 100.0, "note": 60.0, "citation": 45.0}

ListValue = str | bool | int | float


@dataclass(frozen=True)
class ValueList:
    """One column of the hidden ``Lists`` sheet: the choices of some drop-downs."""

    title: str
    values: tuple[ListValue, ...]


@dataclass(frozen=True)
class DropDown:
    """A list data validation on a block of cells. ``strict`` drop-downs warn (Excel's
    "warning" style: the person may still keep what they typed) when a value is not listed;
    the others only offer choices, because a rule cell may hold any unary test."""

    sheet: str
    cells: str
    values: tuple[ListValue, ...]
    strict: bool
    title: str = ""


@dataclass(frozen=True)
class Colouring:
    """Cells coloured by the output value they hold, most urgent first (``values``)."""

    sheet: str
    cells: str
    top_left: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class SheetLayout:
    sheet: str
    freeze: str | None
    widths: tuple[tuple[str, float], ...]
    note_row: int | None = None  # 1-based row of the header cells that carry notes


@dataclass
class Plan:
    dropdowns: list[DropDown] = field(default_factory=list)
    notes: dict[tuple[str, str], str] = field(default_factory=dict)  # (sheet, cell) -> text
    colourings: list[Colouring] = field(default_factory=list)
    layouts: list[SheetLayout] = field(default_factory=list)

    def lists(self) -> list[ValueList]:
        """The distinct value lists, in the order the drop-downs first use them."""
        seen: dict[tuple[ListValue, ...], ValueList] = {}
        for d in self.dropdowns:
            if d.values not in seen:
                seen[d.values] = ValueList(d.title, d.values)
        return list(seen.values())


def plan(sheets: Sequence[Sheet], model: Model) -> Plan:
    """Every helper the workbook gets. ``sheets`` are the file's sheets as read by
    :func:`engine.workbook.read_workbook`; ``model`` is built from them."""
    result = Plan()
    tables = {t.sheet: t for t in model.tables}
    for sheet in sheets:
        key = sheet.name.strip().lower()
        if sheet.name in tables:
            _table_sheet(result, sheet, tables[sheet.name], model)
        elif key == "inputs":
            _inputs_sheet(result, sheet)
        elif key == "tests":
            _tests_sheet(result, sheet, model)
        elif key == "safety":
            _safety_sheet(result, sheet, model)
        elif key == "about":
            freeze = "A2" if text_of(sheet.value(0, 0)).lower() == "field" else None
            result.layouts.append(SheetLayout(sheet.name, freeze, _widths(sheet, 0)))
    return result


# --- what a cell may hold, per name ---------------------------------------------------------


def _test_choices(model: Model, name: str) -> tuple[ListValue, ...]:
    """Choices for a cell holding a unary test on ``name`` (a rule's input cell, a Safety
    cell): its values, ``-`` (anything) and, where the value can be missing, ``null``."""
    definition = model.input(name)
    if definition is not None:
        listed: tuple[ListValue, ...] = _input_values(definition)
        nullable = not definition.required
        if not listed:
            return ()
        return (*listed, "-", *(("null",) if nullable else ()))
    output = model.output(name)
    if output is None:
        return ()
    listed = tuple(_quoted(v) for v in _output_values(output))
    return (*listed, "-", "null") if listed else ()


def _input_values(definition: InputDef) -> tuple[str, ...]:
    if definition.kind is Kind.BOOLEAN:
        return ("true", "false")
    if definition.kind is Kind.ENUM:
        return tuple(definition.allowed_values)
    return ()


def _output_values(output: OutputDef) -> tuple[ListValue, ...]:
    if output.kind is Kind.BOOLEAN:
        return (True, False)
    return tuple(v for v in output.allowed_values if isinstance(v, str | bool | int | float))


def _quoted(value: ListValue) -> ListValue:
    """A text value from another table, written as a rule cell would hold it."""
    return format_value(value) if isinstance(value, str | bool) else value


def _value_choices(model: Model, name: str) -> tuple[tuple[ListValue, ...], bool]:
    """Choices for a cell holding one value of ``name`` (a vignette's fact or expected
    result), and whether only those are right (a list-valued output takes several)."""
    definition = model.input(name)
    if definition is not None:
        if definition.kind is Kind.BOOLEAN:
            return (True, False), True
        return tuple(definition.allowed_values), True
    output = model.output(name)
    table = model.table(output.table) if output is not None else None
    if output is None or table is None:
        return (), False
    return _output_values(output), not table.returns_list


# --- the sheets ----------------------------------------------------------------------------


def _rows_to(sheet: Sheet, first: int) -> str:
    """1-based last row a drop-down reaches: at least :data:`MARGIN` rows past the content,
    rounded up to a multiple of :data:`REACH_STEP`, so that adding a row or two leaves a
    formatted workbook formatted."""
    return str((max(len(sheet.rows), first) + MARGIN) // REACH_STEP * REACH_STEP + REACH_STEP)


def _block(sheet: Sheet, col: int, first_row: int) -> str:
    letter = column_letter(col)
    return f"{letter}{first_row}:{letter}{_rows_to(sheet, first_row)}"


def _table_sheet(result: Plan, sheet: Sheet, table: Table, model: Model) -> None:
    first = HEADER_ROWS + 1  # 1-based first rule row
    width = sheet.width
    result.dropdowns.append(DropDown(sheet.name, "B2", POLICY_NAMES, True, "hit policies"))
    last = column_letter(width + 4)
    result.dropdowns.append(
        DropDown(sheet.name, f"B{KIND_ROW + 1}:{last}{KIND_ROW + 1}", KINDS, True, "column kinds")
    )
    for col in range(1, width):
        kind = text_of(sheet.value(KIND_ROW, col)).lower()
        name = text_of(sheet.value(NAME_ROW, col))
        header = cell_name(NAME_ROW, col)
        if kind == "input" and name:
            choices = _test_choices(model, name)
            if choices:
                result.dropdowns.append(
                    DropDown(sheet.name, _block(sheet, col, first), choices, False,
                             f"{name} (rule cells)")
                )
            result.notes[(sheet.name, header)] = _name_note(model, name)
            _colour(result, model, name, sheet.name, _block(sheet, col, first), first, col)
        elif kind == "output" and name:
            output = next((o for o in table.outputs if o.name == name), None)
            if output is None:
                continue
            values = _output_values(output)
            block = _block(sheet, col, HEADER_ROWS)  # the Default row too
            if values:
                result.dropdowns.append(
                    DropDown(sheet.name, block, values, True, f"{name} (values)")
                )
            result.notes[(sheet.name, header)] = _output_note(model, output, own=True)
            _colour(result, model, name, sheet.name, block, HEADER_ROWS, col)
    result.layouts.append(
        SheetLayout(sheet.name, cell_name(HEADER_ROWS, 1),
                    _widths(sheet, 3, cap=40.0, heading_row=KIND_ROW), NAME_ROW + 1)
    )


def _inputs_sheet(result: Plan, sheet: Sheet) -> None:
    result.dropdowns.append(DropDown(sheet.name, _block(sheet, 1, 2), INPUT_TYPES, True, "types"))
    result.dropdowns.append(DropDown(sheet.name, _block(sheet, 4, 2), ("yes", "no"), True,
                                     "yes or no"))
    result.layouts.append(SheetLayout(sheet.name, "B2", _widths(sheet, 0)))


def _tests_sheet(result: Plan, sheet: Sheet, model: Model) -> None:
    for col in range(1, sheet.width):
        name = text_of(sheet.value(0, col))
        if model.input(name) is None and model.output(name) is None:
            continue
        choices, strict = _value_choices(model, name)
        block = _block(sheet, col, 2)
        if choices:
            result.dropdowns.append(DropDown(sheet.name, block, choices, strict,
                                             f"{name} (values)"))
        result.notes[(sheet.name, cell_name(0, col))] = _name_note(model, name)
        _colour(result, model, name, sheet.name, block, 2, col)
    result.layouts.append(SheetLayout(sheet.name, "B2", _widths(sheet, 0, cap=30.0), 1))


def _safety_sheet(result: Plan, sheet: Sheet, model: Model) -> None:
    for col in range(1, sheet.width):
        name = text_of(sheet.value(0, col))
        if name.lower() == "severity":
            result.dropdowns.append(DropDown(sheet.name, _block(sheet, col, 3),
                                             ("error", "warning"), True, "severities"))
            continue
        if model.input(name) is None and model.output(name) is None:
            continue
        result.dropdowns.append(DropDown(sheet.name, f"{column_letter(col)}2", ("When", "Then"),
                                         True, "roles"))
        choices = _test_choices(model, name)
        if choices:
            result.dropdowns.append(DropDown(sheet.name, _block(sheet, col, 3), choices, False,
                                             f"{name} (rule cells)"))
        result.notes[(sheet.name, cell_name(0, col))] = _name_note(model, name)
    result.layouts.append(SheetLayout(sheet.name, "B3", _widths(sheet, 0, cap=30.0), 1))


# --- urgency colours -----------------------------------------------------------------------


def _colour(result: Plan, model: Model, name: str, sheet: str, block: str, first: int,
            col: int) -> None:
    """Colour ``block`` by the urgency of ``name``'s value when ``name`` is the output of a
    PRIORITY or OUTPUT ORDER table listing text values: there the list is a priority order."""
    output = model.output(name)
    table = model.table(output.table) if output is not None else None
    if output is None or table is None or output.kind is not Kind.ENUM:
        return
    if table.hit_policy not in (HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER):
        return
    values = tuple(str(v) for v in output.allowed_values)
    if values:
        result.colourings.append(Colouring(sheet, block, cell_name(first - 1, col), values))


def urgency_colour(index: int, count: int) -> tuple[str, str]:
    """(fill, font) of the ``index``-th value of ``count``, most urgent first."""
    if count <= 1:
        return URGENCY[0]
    return URGENCY[round(index * (len(URGENCY) - 1) / (count - 1))]


# --- header notes --------------------------------------------------------------------------


def _name_note(model: Model, name: str) -> str:
    definition = model.input(name)
    if definition is not None:
        return _input_note(definition)
    output = model.output(name)
    return _output_note(model, output, own=False) if output is not None else name


def _input_note(d: InputDef) -> str:
    head = f"{d.label} ({d.name})" if d.label else d.name
    facts = [d.kind.value]
    if d.unit:
        facts.append(f"in {d.unit}")
    if d.value_range is not None:
        facts.append(f"allowed {d.value_range}")
    facts.append("required" if d.required else "optional: may be missing (null)")
    lines = [head, ", ".join(facts)]
    if d.allowed_values:
        pairs = zip(d.allowed_values, d.value_labels or d.allowed_values, strict=False)
        lines.append("values: " + "; ".join(
            v if v == label else f"{v} = {label}" for v, label in pairs))
    elif d.kind is Kind.BOOLEAN and d.value_labels:
        lines.append(f"true = {d.value_labels[0]}; false = {d.value_labels[-1]}")
    if d.description:
        lines.append(d.description)
    return "\n".join(lines)


def _output_note(model: Model, output: OutputDef, own: bool) -> str:
    table = model.table(output.table)
    where = "output of this table" if own else f"output of table {output.table}"
    if table is not None and not own:
        where += f" (sheet '{table.sheet}')"
    lines = [output.name, f"{output.kind.value}, {where}"]
    if table is not None and table.returns_list:
        lines[-1] += "; a list of values"
    if output.allowed_values:
        order = " (most urgent first)" if table is not None and table.hit_policy in (
            HitPolicy.PRIORITY, HitPolicy.OUTPUT_ORDER) else ""
        pairs = zip(output.allowed_values, output.labels or output.allowed_values, strict=False)
        listed = "; ".join(
            text_of(v) if text_of(v) == text_of(label) else f"{text_of(v)} = {label}"
            for v, label in pairs
        )
        lines.append(f"values{order}: {listed}")
        if own and output.kind is Kind.ENUM:
            lines.append("A new value goes in row 7 (Output values) first.")
    return "\n".join(lines)


# --- widths --------------------------------------------------------------------------------


def _widths(
    sheet: Sheet, skip_rows: int, cap: float = 50.0, heading_row: int = 0
) -> tuple[tuple[str, float], ...]:
    """A width per column fitting its longest line (header rows included, the first
    ``skip_rows`` rows left out: a table's description runs across the sheet)."""
    longest = [0] * sheet.width
    for row in sheet.rows[skip_rows:]:
        for col, value in enumerate(row):
            if value is not None:
                text = text_of(value)
                size = max(len(line) for line in text.splitlines()) if text else 0
                longest[col] = max(longest[col], size)
    widths = []
    for col, size in enumerate(longest):
        heading = text_of(sheet.value(heading_row, col)).lower()
        limit = max(cap, WIDE.get(heading, 0.0))
        fitted = -(-(size + 2) // WIDTH_STEP) * WIDTH_STEP  # in steps: fewer changes
        widths.append((column_letter(col), float(min(limit, max(8, fitted)))))
    return tuple(widths)
