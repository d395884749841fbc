"""What the cell values do not show: merged cells, hidden sheets, rows and columns, and
formulas. Read with openpyxl (``data_only=False``, so a formula is seen as a formula and is
never evaluated) from a file :mod:`engine.filesafety` has already accepted.

* A merged range keeps its value in the top-left cell only; the other cells read as empty,
  which in a rule row means ``-`` (matches anything). Merges in the About sheet and in a
  table's title rows 1–4 change nothing and are not reported.
* A hidden rule, input or vignette still counts, but a reviewer does not see it.
* A formula counts as the result Excel last saved for it; a file written by a program other
  than Excel may hold no result at all, and the cell then reads as empty. An error value
  (``#N/A``, ``#REF!``) reads as empty too — in a rule, as ``-``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.validation.codes import finding
from engine.validation.findings import Finding
from engine.validation.problems import SheetRoles
from engine.validation.sheetref import cell_at, column_letter, split_cell
from engine.workbook import Sheet

MAX_LAYOUT_CELLS = 3_000_000  # openpyxl keeps every cell as an object


def layout_findings(path: Path, sheets: Sequence[Sheet], roles: SheetRoles) -> list[Finding]:
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return [
            _skipped(
                f"{path.suffix or 'this'} files are not checked for merged or hidden "
                "cells and formulas",
                "save the workbook as .xlsx to have them checked",
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
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():  # openpyxl warns about extensions it drops
            warnings.simplefilter("ignore")
            book = load_workbook(path, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl fails in many ways on files calamine accepts
        return [
            _skipped(
                f"merged or hidden cells and formulas not checked ({exc})",
                "open and save the workbook again in Excel",
            )
        ]
    by_name = {s.name: s for s in sheets}
    findings: list[Finding] = []
    for worksheet in book.worksheets:
        role = roles.roles.get(worksheet.title)
        sheet = by_name.get(worksheet.title)
        if role is None or sheet is None:
            continue  # not read by the engine (reported as not recognised, if it has content)
        findings.extend(_hidden(worksheet, sheet, role))
        findings.extend(_merged(worksheet, role))
        findings.extend(_formulas(worksheet, sheet))
    book.close()
    return findings


def _skipped(message: str, fix: str) -> Finding:
    return finding("TV604", message, fix)


def _hidden(worksheet: Any, sheet: Sheet, role: str) -> list[Finding]:
    name = worksheet.title
    found = []
    if worksheet.sheet_state != "visible":
        found.append(
            finding(
                "TV121",
                f"sheet '{name}' is hidden; the engine still reads it",
                "unhide it (right-click a sheet tab > Unhide), or delete it",
                sheet=name,
            )
        )
    what = {"table": "rule", "inputs": "input", "tests": "vignette"}.get(role, "row")
    rows = sorted(
        r
        for r, dim in worksheet.row_dimensions.items()
        if dim.hidden and any(v is not None for v in _row(sheet, r - 1))
    )
    for block in _blocks(rows):
        shown = f"row {block[0]} is" if len(block) == 1 else f"rows {block[0]}-{block[-1]} are"
        found.append(
            finding(
                "TV121",
                f"{shown} hidden: the {what}s in them still count, but a reviewer cannot see them"
                if len(block) > 1
                else f"{shown} hidden: the {what} in it still counts, but a reviewer cannot see it",
                "unhide the rows (select the rows around them, right-click > Unhide), or "
                "delete them",
                sheet=name,
                cells=[cell_at(r, 0) for r in block],
            )
        )
    for dim in worksheet.column_dimensions.values():
        if not dim.hidden or not dim.min:
            continue
        for col in range(dim.min - 1, dim.max):
            if any(sheet.value(r, col) is not None for r in range(len(sheet.rows))):
                found.append(
                    finding(
                        "TV121",
                        f"column {column_letter(col)} is hidden: what it holds still counts, "
                        "but a reviewer cannot see it",
                        "unhide the column (right-click the column headers > Unhide)",
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


def _row(sheet: Sheet, row: int) -> tuple[object, ...]:
    return sheet.rows[row] if 0 <= row < len(sheet.rows) else ()


def _merged(worksheet: Any, role: str) -> list[Finding]:
    found = []
    for merged in worksheet.merged_cells.ranges:
        if role == "about" or (role == "table" and merged.max_row <= 4):
            continue
        first = cell_at(merged.min_row, merged.min_col - 1)
        effect = (
            "the other cells read as empty, so their rules match anything in that column ('-')"
            if role == "table" and merged.max_row >= 9
            else "the other cells read as empty"
        )
        found.append(
            finding(
                "TV120",
                f"cells {merged.coord} are merged: only {first} holds the value; {effect}",
                "unmerge them (Home > Merge & Center) and write the value in every cell",
                sheet=worksheet.title,
                cells=[first, *_others(merged)],
            )
        )
    return found


def _others(merged: Any) -> list[str]:
    cells = [
        cell_at(r, c - 1)
        for r in range(merged.min_row, merged.max_row + 1)
        for c in range(merged.min_col, merged.max_col + 1)
    ]
    return cells[1:50]


def _formulas(worksheet: Any, sheet: Sheet) -> list[Finding]:
    found = []
    for row in worksheet.iter_rows():
        for cell in row:
            if cell.data_type == "e":
                found.append(
                    finding(
                        "TV125",
                        f"the cell holds the error {cell.value}, which reads as an empty cell",
                        "write the value the cell should hold",
                        sheet=worksheet.title,
                        cells=[cell.coordinate],
                    )
                )
                continue
            if cell.data_type != "f":
                continue
            text = str(getattr(cell.value, "text", cell.value))
            r, c = split_cell(cell.coordinate)
            saved = sheet.value(r - 1, c)
            if saved is None:
                code, message = (
                    "TV123",
                    (
                        f"the cell holds the formula '{text}' with no saved result, so it reads "
                        "as empty"
                    ),
                )
            else:
                code, message = (
                    "TV122",
                    (
                        f"the cell holds the formula '{text}'; its last saved result {saved!r} is "
                        "used and it is never recalculated"
                    ),
                )
            found.append(
                finding(
                    code,
                    message,
                    "replace the formula by the value it should hold (Copy, then Paste Special "
                    "> Values)",
                    sheet=worksheet.title,
                    cells=[cell.coordinate],
                )
            )
    return found
