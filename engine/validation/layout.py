"""What the cell values do not show: merged cells, hidden sheets, rows and columns, and
formulas. An ``.xlsx`` file is read with openpyxl (``data_only=False``, so a formula is seen
as a formula and is never evaluated), an ``.ods`` file by :mod:`engine.odf`; both from a
file :mod:`engine.filesafety` has already accepted, and both into the same
:class:`~engine.odf.SheetLayout`, so that each check is written once for every format.

* A merged range keeps its value in the top-left cell only; the other cells read as empty,
  which in a rule row means ``-`` (matches anything). Merges in the About sheet and in a
  table's title rows 1–4 change nothing and are not reported.
* A hidden rule, input or vignette still counts, but a reviewer does not see it.
* A formula counts as the result last saved for it; a file written by a program other than
  Excel or LibreOffice may hold no result at all, and the cell then reads as empty. An
  error value (``#N/A``, ``#REF!``) reads as empty too — in a rule, as ``-``.
* Not a formula: ``=TRUE()`` and ``=FALSE()`` with a boolean result, which is how
  LibreOffice writes a boolean cell (see :func:`engine.odf.boolean_formula`).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import ERROR_CODES

from engine.odf import CellRun, SheetLayout, boolean_formula, formula_text, read_ods_layout
from engine.validation.codes import finding
from engine.validation.findings import Finding
from engine.validation.problems import SheetRoles
from engine.validation.sheetref import cell_at, cell_name, column_letter, split_cell
from engine.workbook import Sheet

MAX_LAYOUT_CELLS = 3_000_000  # openpyxl keeps every cell as an object
MAX_CELL_FINDINGS = 10_000  # formulas or error values reported per sheet
OPENXML = (".xlsx", ".xlsm")


def layout_findings(path: Path, sheets: Sequence[Sheet], roles: SheetRoles) -> list[Finding]:
    suffix = path.suffix.lower()
    if suffix not in (*OPENXML, ".ods"):
        return [
            _skipped(
                f"{path.suffix or 'this'} files are not checked for merged or hidden "
                "cells and formulas",
                "save the workbook as .xlsx or .ods to have them checked",
            )
        ]
    cells = sum(len(s.rows) * s.width for s in sheets)
    if cells > MAX_LAYOUT_CELLS:
        return [
            _skipped(
                f"the workbook has {cells:,} cells, too many to check for merged or "
                "hidden cells and formulas",
                "split it into smaller workbooks",
            )
        ]
    by_name = {s.name: s for s in sheets}
    try:
        layouts = _openxml_layouts(path, by_name) if suffix in OPENXML else read_ods_layout(path)
    except Exception as exc:  # openpyxl fails in many ways on files calamine accepts
        return [
            _skipped(
                f"merged or hidden cells and formulas not checked ({exc})",
                "open the workbook and save it again",
            )
        ]
    findings: list[Finding] = []
    for layout in layouts:
        role = roles.roles.get(layout.name)
        sheet = by_name.get(layout.name)
        if role is None or sheet is None:
            continue  # not read by the engine (reported as not recognised, if it has content)
        findings.extend(_hidden(layout, sheet, role))
        findings.extend(_merged(layout, role))
        findings.extend(_errors(layout))
        findings.extend(_formulas(layout, sheet))
    return findings


def _openxml_layouts(path: Path, sheets: dict[str, Sheet]) -> list[SheetLayout]:
    layouts = [_openxml_layout(worksheet) for worksheet in _open(path, data_only=False)]
    unsaved = {
        (layout.name, run.row, run.col)
        for layout in layouts
        for run in layout.formulas
        if layout.name in sheets and sheets[layout.name].value(run.row, run.col) is None
    }
    if unsaved:  # is the result saved as an error (#DIV/0!, or =#N/A as LibreOffice writes)?
        for layout, worksheet in zip(layouts, _open(path, data_only=True), strict=True):
            for name, row, col in unsaved:
                value = worksheet.cell(row + 1, col + 1).value if name == layout.name else None
                if isinstance(value, str) and value in ERROR_CODES:
                    layout.errors.append(CellRun(row, col, 1, 1, value))
    return layouts


def _open(path: Path, data_only: bool) -> list[Any]:
    from openpyxl import load_workbook

    with warnings.catch_warnings():  # openpyxl warns about extensions it drops
        warnings.simplefilter("ignore")
        book = load_workbook(path, data_only=data_only, keep_links=False)
    book.close()
    return list(book.worksheets)


def _openxml_layout(worksheet: Any) -> SheetLayout:
    layout = SheetLayout(worksheet.title, worksheet.sheet_state != "visible")
    layout.hidden_rows = [(r - 1, 1) for r, dim in worksheet.row_dimensions.items() if dim.hidden]
    layout.hidden_columns = [
        (dim.min - 1, dim.max - dim.min + 1)
        for dim in worksheet.column_dimensions.values()
        if dim.hidden and dim.min
    ]
    layout.merges = [
        (m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1)
        for m in worksheet.merged_cells.ranges
    ]
    for row in worksheet.iter_rows():
        for cell in row:
            if cell.data_type == "e":
                layout.errors.append(CellRun(cell.row - 1, cell.column - 1, 1, 1, str(cell.value)))
            elif cell.data_type == "f":
                text = str(getattr(cell.value, "text", cell.value))
                layout.formulas.append(CellRun(cell.row - 1, cell.column - 1, 1, 1, text))
    return layout


def _skipped(message: str, fix: str, sheet: str | None = None) -> Finding:
    return finding("TV604", message, fix, sheet=sheet)


def _hidden(layout: SheetLayout, sheet: Sheet, role: str) -> list[Finding]:
    name = layout.name
    found = []
    if layout.hidden:
        found.append(
            finding(
                "TV121",
                f"sheet '{name}' is hidden; the engine still reads it",
                "unhide it (right-click a sheet tab > Unhide, or Show Sheet), or delete it",
                sheet=name,
            )
        )
    what = {"table": "rule", "inputs": "input", "tests": "vignette"}.get(role, "row")
    rows = sorted(
        {
            r + 1
            for first, count in layout.hidden_rows
            for r in range(first, min(first + count, len(sheet.rows)))
            if any(v is not None for v in sheet.rows[r])
        }
    )
    for block in _blocks(rows):
        shown = f"row {block[0]} is" if len(block) == 1 else f"rows {block[0]}-{block[-1]} are"
        found.append(
            finding(
                "TV121",
                f"{shown} hidden: the {what}s in them still count, but a reviewer cannot see them"
                if len(block) > 1
                else f"{shown} hidden: the {what} in it still counts, but a reviewer cannot see it",
                "unhide the rows (select the rows around them, right-click > Unhide or Show "
                "Rows), or delete them",
                sheet=name,
                cells=[cell_at(r, 0) for r in block],
            )
        )
    columns = sorted(
        {
            col
            for first, count in layout.hidden_columns
            for col in range(first, min(first + count, sheet.width))
        }
    )
    for col in columns:
        if any(sheet.value(r, col) is not None for r in range(len(sheet.rows))):
            found.append(
                finding(
                    "TV121",
                    f"column {column_letter(col)} is hidden: what it holds still counts, "
                    "but a reviewer cannot see it",
                    "unhide the column (right-click the column headers > Unhide or Show "
                    "Columns)",
                    sheet=name,
                    cells=[cell_at(1, col)],
                )
            )
    return found


def _blocks(rows: list[int]) -> list[list[int]]:
    """Consecutive row numbers together: [3, 4, 5, 9] -> [[3, 4, 5], [9]]."""
    blocks: list[list[int]] = []
    for r in rows:
        if blocks and blocks[-1][-1] == r - 1:
            blocks[-1].append(r)
        else:
            blocks.append([r])
    return blocks


def _merged(layout: SheetLayout, role: str) -> list[Finding]:
    found = []
    for first_row, first_col, last_row, last_col in layout.merges:
        if role == "about" or (role == "table" and last_row < 4):
            continue
        first = cell_name(first_row, first_col)
        area = f"{first}:{cell_name(last_row, last_col)}"
        effect = (
            "the other cells read as empty, so their rules match anything in that column ('-')"
            if role == "table" and last_row >= 8
            else "the other cells read as empty"
        )
        others = [
            cell_name(r, c)
            for r in range(first_row, last_row + 1)
            for c in range(first_col, last_col + 1)
        ][1:50]
        found.append(
            finding(
                "TV120",
                f"cells {area} are merged: only {first} holds the value; {effect}",
                "unmerge them (Home > Merge & Center, or Format > Merge and Unmerge Cells) "
                "and write the value in every cell",
                sheet=layout.name,
                cells=[first, *others],
            )
        )
    return found


def _errors(layout: SheetLayout) -> list[Finding]:
    cells, more = _cells(layout.errors)
    formulas = dict(_cells(layout.formulas)[0])
    found = []
    for cell, value in cells:
        held = f"the error {value}"
        if cell in formulas:
            held = f"the formula '{formula_text(str(formulas[cell]))}', whose result is {held}"
        found.append(
            finding(
                "TV125",
                f"the cell holds {held}, which reads as an empty cell",
                "write the value the cell should hold",
                sheet=layout.name,
                cells=[cell],
            )
        )
    return found + _more(layout.name, "error values", more)


def _formulas(layout: SheetLayout, sheet: Sheet) -> list[Finding]:
    found = []
    errors = {cell for cell, _ in _cells(layout.errors)[0]}
    cells, more = _cells(layout.formulas)
    for cell, formula in cells:
        r, c = split_cell(cell)
        saved = sheet.value(r - 1, c)
        literal = boolean_formula(str(formula))
        if cell in errors or (literal is not None and saved is literal):
            continue  # an error value is TV125; a boolean literal is a boolean
        found.append(_formula(layout.name, cell, formula_text(str(formula)), saved))
    return found + _more(layout.name, "formulas", more)


def _cells(runs: list[CellRun]) -> tuple[list[tuple[str, str | bool]], bool]:
    """Each cell of the runs with its value, at most :data:`MAX_CELL_FINDINGS` of them (a
    sheet of formulas is reported by its first cells, not by a million findings), and
    whether there are more."""
    cells: list[tuple[str, str | bool]] = []
    for run in runs:
        for r, c in run.cells(run.row + run.rows, run.col + run.cols):
            if len(cells) == MAX_CELL_FINDINGS:
                return cells, True
            cells.append((cell_name(r, c), run.value))
    return cells, False


def _more(sheet: str, what: str, more: bool) -> list[Finding]:
    if not more:
        return []
    return [
        _skipped(
            f"only the first {MAX_CELL_FINDINGS:,} cells holding {what} are reported",
            f"replace the {what} by values (Copy, then Paste Special > Values) and validate "
            "again",
            sheet=sheet,
        )
    ]


def _formula(sheet: str, cell: str, text: str, saved: object) -> Finding:
    if saved is None:
        code = "TV123"
        message = f"the cell holds the formula '{text}' with no saved result, so it reads as empty"
    else:
        code = "TV122"
        message = (
            f"the cell holds the formula '{text}'; its last saved result {saved!r} is used and "
            "it is never recalculated"
        )
    return finding(
        code,
        message,
        "replace the formula by the value it should hold (Copy, then Paste Special > Values, "
        "or Paste Only Values)",
        sheet=sheet,
        cells=[cell],
    )
