"""Laying a :class:`~engine.authoring.format_plan.Plan` onto an openpyxl workbook, and the
fingerprint of everything formatting owns, which tells `triage format --check` whether a
file is formatted.

What formatting owns, and so replaces: every data validation and conditional format on the
sheets the engine reads, the notes (comments) it wrote itself on header cells (author
``triage format``), frozen panes, the widths of the columns holding content, and the
``Lists`` and ``How to edit`` sheets. A note someone else wrote on a header cell, a finding
that ``triage validate --annotate`` put there, cell fills and fonts, and every cell of the
other sheets are left alone. ``=TRUE()`` and ``=FALSE()`` (how LibreOffice saves a boolean
in ``.xlsx``) become the booleans they stand for: openpyxl would otherwise drop the results
LibreOffice saved with them, and the engine would read empty cells.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from openpyxl.comments import Comment
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import (
    column_index_from_string,
    get_column_letter,
    quote_sheetname,
    range_boundaries,
)
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation, DataValidationList
from openpyxl.worksheet.dimensions import ColumnDimension
from openpyxl.worksheet.worksheet import Worksheet

from engine.authoring.format_guide import GuideLine
from engine.authoring.format_plan import DropDown, ListValue, Plan, urgency_colour
from engine.builder import HELPER_SHEETS

AUTHOR = "triage format"
LISTS, GUIDE = "Lists", "How to edit"
_BOOLEAN_FORMULAS = {"=TRUE()": True, "=FALSE()": False}


def apply(book: Workbook, plan: Plan, guide: Sequence[GuideLine]) -> int:
    """Format ``book`` in memory; returns how many ``=TRUE()``/``=FALSE()`` formulas became
    booleans."""
    managed = {layout.sheet for layout in plan.layouts}
    fixed = sum(_booleans(book[name]) for name in managed)
    active = book.active.title if book.active is not None else None
    for ws in list(book.worksheets):
        if ws.title.strip().lower() in HELPER_SHEETS and ws.title not in managed:
            book.remove(ws)
    _guide_sheet(book.create_sheet(GUIDE), guide)
    ranges = _lists_sheet(book.create_sheet(LISTS), plan)
    for name in managed:
        ws = book[name]
        ws.data_validations = DataValidationList()
        ws.conditional_formatting = ConditionalFormattingList()
    _dropdowns(book, plan.dropdowns, ranges)
    _colourings(book, plan)
    _notes(book, plan)
    for layout in plan.layouts:
        ws = book[layout.sheet]
        ws.freeze_panes = layout.freeze
        _split_columns(ws)
        for letter, width in layout.widths:
            ws.column_dimensions[letter].width = width
    visible = [ws.title for ws in book.worksheets if ws.sheet_state == "visible"]
    if active not in visible:  # a hidden sheet must never be the one a program opens on
        active = visible[0] if visible else None
    if active is not None:
        book.active = book.sheetnames.index(active)
    return fixed


def fingerprint(book: Workbook, plan: Plan) -> Hashable:
    """Everything formatting sets, as read back from ``book``: equal before and after
    :func:`apply` exactly when the file is already formatted."""
    parts: list[Any] = [tuple(book.sheetnames)]
    layouts = {layout.sheet: layout for layout in plan.layouts}
    for ws in book.worksheets:
        layout = layouts.get(ws.title)
        if ws.title.strip().lower() in HELPER_SHEETS and layout is None:
            cells = tuple(ws.iter_rows(values_only=True))
            parts.append((ws.title, ws.sheet_state, cells, _widths(ws, None)))
        elif layout is not None:
            letters = [letter for letter, _ in layout.widths]
            notes: tuple[tuple[str, str, str], ...] = ()
            if layout.note_row is not None:
                notes = tuple(
                    (c.coordinate, c.comment.author, c.comment.text)
                    for c in ws[layout.note_row]
                    if c.comment is not None
                )
            parts.append(
                (ws.title, ws.freeze_panes, _widths(ws, letters), _validations(ws),
                 _conditional(ws), notes)
            )
    return tuple(parts)


# --- cells ---------------------------------------------------------------------------------


def _booleans(ws: Worksheet) -> int:
    count = 0
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f" and isinstance(cell.value, str):
                value = _BOOLEAN_FORMULAS.get(cell.value.replace(" ", "").upper())
                if value is not None:
                    cell.value = value
                    count += 1
    return count


def _write(ws: Worksheet, row: int, col: int, value: ListValue) -> Any:
    cell = ws.cell(row=row, column=col)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, even when it starts with '='
    return cell


# --- helper sheets -------------------------------------------------------------------------


def _lists_sheet(ws: Worksheet, plan: Plan) -> dict[tuple[ListValue, ...], str]:
    """One column per distinct list; returns the range each list's values fill."""
    ranges: dict[tuple[ListValue, ...], str] = {}
    sheet = quote_sheetname(ws.title)  # "Lists1" when a table sheet is called Lists
    for col, value_list in enumerate(plan.lists(), start=1):
        _write(ws, 1, col, value_list.title)
        for row, value in enumerate(value_list.values, start=2):
            _write(ws, row, col, value)
        letter = get_column_letter(col)
        ranges[value_list.values] = f"{sheet}!${letter}$2:${letter}${len(value_list.values) + 1}"
        ws.column_dimensions[letter].width = 30.0
    ws.sheet_state = "hidden"
    return ranges


def _guide_sheet(ws: Worksheet, guide: Sequence[GuideLine]) -> None:
    ws.column_dimensions["A"].width = 110.0
    wrap = Alignment(wrap_text=True, vertical="top")
    for row, line in enumerate(guide, start=1):
        cell = _write(ws, row, 1, line.text)
        cell.alignment = wrap
        if line.heading:
            cell.font = Font(bold=True, size=14 if row == 1 else 12)


# --- drop-downs, colours, notes ------------------------------------------------------------


def _dropdowns(book: Workbook, dropdowns: Sequence[DropDown], ranges: dict[Any, str]) -> None:
    """One validation per sheet, list and strictness, covering all its cells."""
    grouped: dict[tuple[str, tuple[ListValue, ...], bool], list[str]] = {}
    for d in dropdowns:
        grouped.setdefault((d.sheet, d.values, d.strict), []).append(d.cells)
    for (sheet, values, strict), cells in grouped.items():
        validation = DataValidation(
            type="list", formula1=ranges[values], allow_blank=True, sqref=_joined(cells)
        )
        if strict:
            validation.showErrorMessage = True
            validation.errorStyle = "warning"
            validation.errorTitle = "Not one of the listed values"
            validation.error = (
                "This value is not in the list. A new value must first be added where the "
                "list comes from (the Inputs sheet, or row 7 Output values of its table); "
                "then run triage format. See the 'How to edit' sheet."
            )
        else:
            validation.showErrorMessage = False
        book[sheet].add_data_validation(validation)


def _joined(cells: Sequence[str]) -> str:
    """Blocks side by side over the same rows as one block: ``B2 C2 D2`` -> ``B2:D2``."""
    blocks: list[list[int]] = []
    for cell in cells:
        low_col, low_row, high_col, high_row = range_boundaries(cell)
        blocks.append([low_row, high_row, low_col, high_col])
    blocks.sort()
    merged: list[list[int]] = []
    for block in blocks:
        last = merged[-1] if merged else None
        if last is not None and last[:2] == block[:2] and last[3] + 1 == block[2]:
            last[3] = block[3]
        else:
            merged.append(block)
    return " ".join(
        f"{get_column_letter(lc)}{lr}" if (lr, lc) == (hr, hc)
        else f"{get_column_letter(lc)}{lr}:{get_column_letter(hc)}{hr}"
        for lr, hr, lc, hc in merged
    )


def _colourings(book: Workbook, plan: Plan) -> None:
    for colouring in plan.colourings:
        ws = book[colouring.sheet]
        count = len(colouring.values)
        for index, value in enumerate(colouring.values):
            fill, font = urgency_colour(index, count)
            style = DifferentialStyle(
                fill=PatternFill(start_color=fill, end_color=fill, fill_type="solid"),
                font=Font(color=font),
            )
            code = value.replace('"', '""')
            formula = f'TRIM(SUBSTITUTE({colouring.top_left},CHAR(34),""))="{code}"'
            rule = Rule(type="expression", dxf=style, stopIfTrue=True, formula=[formula])
            ws.conditional_formatting.add(colouring.cells, rule)


def _notes(book: Workbook, plan: Plan) -> None:
    for layout in plan.layouts:
        if layout.note_row is None:
            continue
        for cell in book[layout.sheet][layout.note_row]:
            text = plan.notes.get((layout.sheet, cell.coordinate))
            mine = cell.comment is None or cell.comment.author == AUTHOR
            if not mine:
                continue  # a person's note, or a finding of triage validate --annotate
            if text is None:
                cell.comment = None
            elif cell.comment is None or cell.comment.text != text:
                lines = sum(1 + len(line) // 45 for line in text.splitlines())
                cell.comment = Comment(text, AUTHOR, height=min(400, 24 + 15 * lines),
                                       width=320)


# --- reading back --------------------------------------------------------------------------


def _split_columns(ws: Worksheet) -> None:
    """A width saved for a run of columns (``<col min="2" max="5">``) becomes one per
    column, so that setting one column's width leaves the others as they were."""
    for key, dim in list(ws.column_dimensions.items()):
        low, high = dim.min or 0, dim.max or 0
        if high <= low:
            continue
        for index in range(low, high + 1):
            letter = get_column_letter(index)
            ws.column_dimensions[letter] = ColumnDimension(
                ws, index=letter, width=dim.width, hidden=dim.hidden,
                outlineLevel=dim.outlineLevel, customWidth=dim.customWidth,
            )
        if ws.column_dimensions[key] is dim:
            del ws.column_dimensions[key]


def _widths(ws: Worksheet, letters: Sequence[str] | None) -> tuple[tuple[str, float], ...]:
    found: dict[str, float] = {}
    for dim in ws.column_dimensions.values():
        if not dim.width:
            continue
        low = dim.min or column_index_from_string(dim.index)
        high = dim.max or low
        for index in range(low, max(low, high) + 1):
            found[get_column_letter(index)] = float(dim.width)
    wanted = letters if letters is not None else sorted(found)
    return tuple((letter, found.get(letter, 0.0)) for letter in wanted)


def _validations(ws: Worksheet) -> tuple[Any, ...]:
    return tuple(sorted(
        (
            " ".join(sorted(str(r) for r in dv.sqref.ranges)), dv.type, dv.formula1,
            bool(dv.allow_blank), bool(dv.showErrorMessage), dv.errorStyle, dv.errorTitle,
            dv.error,
        )
        for dv in ws.data_validations.dataValidation
    ))


def _conditional(ws: Worksheet) -> tuple[Any, ...]:
    found = []
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            dxf = rule.dxf
            fill = dxf.fill.fgColor.rgb if dxf is not None and dxf.fill is not None else None
            font = (dxf.font.color.rgb if dxf is not None and dxf.font is not None
                    and dxf.font.color is not None else None)
            found.append((str(cf.sqref), rule.type, tuple(rule.formula or ()), rule.priority,
                          bool(rule.stopIfTrue), fill, font))
    return tuple(sorted(found, key=repr))
